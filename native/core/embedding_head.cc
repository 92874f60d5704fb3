#include "embedding_head.h"

namespace semihard::core {

EmbeddingHeadImpl::EmbeddingHeadImpl(int64_t channels, int64_t dim, const HeadOptions& options) : options_(options) {
  TORCH_CHECK(dim >= 1, "EmbeddingHead: dim must be at least 1, got ", dim);
  TORCH_CHECK(options.dropout >= 0.0 && options.dropout < 1.0, "EmbeddingHead: dropout must be in [0, 1), got ",
              options.dropout);
  TORCH_CHECK(options.pool_side >= 1, "EmbeddingHead: the pooled side must be at least 1");
  features_ = channels * options.pool_side * options.pool_side * (options.pool == Pool::kConcat ? 2 : 1);
  if (options.batch_norm) bn = register_module("bn", SyncBatchNorm2d(features_));
  drop = register_module("drop", torch::nn::Dropout(options.dropout));
  linear = register_module("linear", torch::nn::Linear(torch::nn::LinearOptions(features_, dim).bias(false)));
}

torch::Tensor EmbeddingHeadImpl::pool(const torch::Tensor& map) const {
  TORCH_CHECK(map.dim() == 4, "EmbeddingHead: the feature map must be N x C x h x w");
  const int64_t side = options_.pool_side;
  torch::Tensor avg = torch::adaptive_avg_pool2d(map, {side, side}).flatten(1);
  if (options_.pool == Pool::kAvg) return avg;
  return torch::cat({avg, std::get<0>(torch::adaptive_max_pool2d(map, {side, side})).flatten(1)}, 1);
}

torch::Tensor EmbeddingHeadImpl::forward(const torch::Tensor& map, const torch::Tensor& dropout_mask) {
  torch::Tensor x = pool(map);
  if (bn) x = bn(x.view({x.size(0), features_, 1, 1})).view({x.size(0), features_});
  if (is_training() && options_.dropout > 0.0) {
    x = dropout_mask.defined() ? x * dropout_mask : drop(x);
  }
  namespace F = torch::nn::functional;
  // Normalised in float32 whatever precision autocast ran the linear layer in.
  return F::normalize(linear(x).to(torch::kFloat32), F::NormalizeFuncOptions().p(2).dim(1));
}

void EmbeddingHeadImpl::load(torch::serialize::InputArchive& archive) {
  torch::Tensor weight;
  if (!archive.try_read("weight", weight)) {
    torch::nn::Module::load(archive);
    return;
  }
  TORCH_CHECK(!bn, "the state's head has no BatchNorm but this network's has one: the state was saved by a network of "
                   "another configuration");
  TORCH_CHECK(weight.sizes() == linear->weight.sizes(), "the state's head.weight has shape ", weight.sizes(),
              " but this network's head.linear.weight has ", linear->weight.sizes(),
              ": the state was saved by a network of another configuration");
  torch::NoGradGuard no_grad;
  linear->weight.copy_(weight);
}

}  // namespace semihard::core
