// Inference with a trained embedding network: the network of a Trainer's configuration,
// with only the weights, BatchNorm buffers, normalisation and image size of the Trainer's
// saved state (model_state.h): no optimiser, no data, no generator. Embeds in eval mode
// without gradients, exactly as Trainer::embed does.
#pragma once

#include <cstdint>
#include <string>

#include <torch/torch.h>

#include "embedding_net.h"
#include "model_state.h"

namespace semihard::core {

struct EmbedderOptions {
  Backbone backbone = Backbone::kConvNet;
  int64_t dim = 128;
  torch::Device device{torch::kCPU};
};

class Embedder {
 public:
  // Builds the network; its initial weights are drawn from LibTorch's global generator, as a
  // Trainer's are, until load_state replaces them.
  explicit Embedder(const EmbedderOptions& options);

  // Reads Trainer::save_state's bytes: the weights, buffers, normalisation and image size
  // (the rest is ignored). The network's configuration must be the one that saved them.
  void load_state(const std::string& bytes);
  bool loaded() const { return state_.height > 0; }

  // Embeddings of N x H x W images (uint8 0..255, or float32 0..1) of the state's image size:
  // N x dim float32 on the CPU, each row of unit norm.
  torch::Tensor embed(const torch::Tensor& images);

  int64_t dim() const { return options_.dim; }
  int64_t image_height() const { return state_.height; }
  int64_t image_width() const { return state_.width; }
  const torch::Device& device() const { return options_.device; }

 private:
  EmbedderOptions options_;
  EmbeddingNet model_{nullptr};
  ModelState state_;
};

}  // namespace semihard::core
