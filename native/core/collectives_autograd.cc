#include "collectives_autograd.h"

#include <torch/autograd.h>

namespace semihard::core {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

Communicator& communicator_of(AutogradContext* ctx) {
  return *reinterpret_cast<Communicator*>(ctx->saved_data["communicator"].toInt());
}

class GatherRows : public torch::autograd::Function<GatherRows> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& local, Communicator* communicator) {
    ctx->saved_data["communicator"] = reinterpret_cast<int64_t>(communicator);
    return communicator->all_gather_rows(local);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    return {communicator_of(ctx).reduce_scatter_rows(grad_outputs[0].contiguous()), torch::Tensor()};
  }
};

class AllReduceSum : public torch::autograd::Function<AllReduceSum> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& local, Communicator* communicator) {
    ctx->saved_data["communicator"] = reinterpret_cast<int64_t>(communicator);
    torch::Tensor out = local.clone(at::MemoryFormat::Contiguous);
    communicator->all_reduce_sum_(out);
    return out;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    torch::Tensor grad = grad_outputs[0].clone(at::MemoryFormat::Contiguous);
    communicator_of(ctx).all_reduce_sum_(grad);
    return {grad, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor gather_rows(Communicator& communicator, const torch::Tensor& local) {
  return GatherRows::apply(local, &communicator);
}

torch::Tensor all_reduce_sum(Communicator& communicator, const torch::Tensor& local) {
  return AllReduceSum::apply(local, &communicator);
}

}  // namespace semihard::core
