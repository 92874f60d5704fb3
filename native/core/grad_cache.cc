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

torch::Tensor GradCache::chunk_forward(const torch::Tensor& input, const torch::Tensor& dropout_mask, int64_t begin) const {
  const int64_t n = std::min(chunk_, input.size(0) - begin);
  const torch::Tensor mask = dropout_mask.defined() ? dropout_mask.narrow(0, begin, n) : torch::Tensor();
  return forward_(input.narrow(0, begin, n), mask);
}

torch::Tensor GradCache::embed_without_graph(const torch::Tensor& input, const torch::Tensor& dropout_mask) const {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parts;
  parts.reserve(chunks(input.size(0)));
  for (int64_t begin = 0; begin < input.size(0); begin += chunk_) parts.push_back(chunk_forward(input, dropout_mask, begin));
  return torch::cat(parts);
}

void GradCache::backward(const torch::Tensor& input, const torch::Tensor& dropout_mask, const torch::Tensor& grad) const {
  TORCH_CHECK(grad.defined() && grad.size(0) == input.size(0), "GradCache::backward: one gradient row per input row");
  for (int64_t begin = 0; begin < input.size(0); begin += chunk_) {
    const torch::Tensor embeddings = chunk_forward(input, dropout_mask, begin);
    embeddings.backward(grad.narrow(0, begin, embeddings.size(0)));
  }
}

torch::Tensor GradCache::embed_with_graph(const torch::Tensor& input, const torch::Tensor& dropout_mask) const {
  std::vector<torch::Tensor> parts;
  parts.reserve(chunks(input.size(0)));
  for (int64_t begin = 0; begin < input.size(0); begin += chunk_) parts.push_back(chunk_forward(input, dropout_mask, begin));
  return torch::cat(parts);
}

}  // namespace semihard::core
