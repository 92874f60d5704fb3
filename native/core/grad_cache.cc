#include "grad_cache.h"

#include <algorithm>
#include <utility>

namespace semihard::core {

ModuleBufferSnapshot::ModuleBufferSnapshot(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (const torch::Tensor& b : module.buffers()) {
    buffers_.push_back(b);
    saved_.push_back(b.clone());
  }
}

void ModuleBufferSnapshot::restore() {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < buffers_.size(); ++i) buffers_[i].copy_(saved_[i]);
}

GradCache::GradCache(ChunkForward forward, int64_t chunk) : forward_(std::move(forward)), chunk_(chunk) {
  TORCH_CHECK(chunk > 0, "GradCache: the chunk must be positive, got ", chunk);
}

torch::Tensor GradCache::chunk_rows(int64_t rows, int64_t j) const {
  return torch::arange(j, rows, chunks(rows), torch::TensorOptions().dtype(torch::kInt64));
}

torch::Tensor GradCache::chunk_forward(const BatchInput& input, const torch::Tensor& dropout_mask, const torch::Tensor& rows) const {
  const torch::Tensor mask = dropout_mask.defined() ? dropout_mask.index_select(0, upload(rows, dropout_mask.device())) : torch::Tensor();
  return forward_(input.select(rows), mask);
}

torch::Tensor GradCache::embed_all(const BatchInput& input, const torch::Tensor& dropout_mask) const {
  const int64_t n = input.rows();
  std::vector<torch::Tensor> parts;
  std::vector<torch::Tensor> order;
  parts.reserve(chunks(n));
  order.reserve(chunks(n));
  for (int64_t j = 0; j < chunks(n); ++j) {
    order.push_back(chunk_rows(n, j));
    parts.push_back(chunk_forward(input, dropout_mask, order.back()));
  }
  // torch::cat(parts) holds row order[i] at position i: argsort puts them back.
  const torch::Tensor embeddings = torch::cat(parts);
  return embeddings.index_select(0, upload(torch::argsort(torch::cat(order)), embeddings.device()));
}

torch::Tensor GradCache::embed_without_graph(const BatchInput& input, const torch::Tensor& dropout_mask) const {
  torch::NoGradGuard no_grad;
  return embed_all(input, dropout_mask);
}

void GradCache::backward(const BatchInput& input, const torch::Tensor& dropout_mask, const torch::Tensor& grad) const {
  TORCH_CHECK(grad.defined() && grad.size(0) == input.rows(), "GradCache::backward: one gradient row per input row");
  const int64_t n = input.rows();
  for (int64_t j = 0; j < chunks(n); ++j) {
    const torch::Tensor rows = chunk_rows(n, j);
    chunk_forward(input, dropout_mask, rows).backward(grad.index_select(0, upload(rows, grad.device())));
  }
}

torch::Tensor GradCache::embed_with_graph(const BatchInput& input, const torch::Tensor& dropout_mask) const {
  return embed_all(input, dropout_mask);
}

}  // namespace semihard::core
