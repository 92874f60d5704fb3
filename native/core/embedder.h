// Inference with a trained embedding network: the network of a Trainer's configuration,
// with only the weights, BatchNorm buffers, normalisation and image geometry of the Trainer's
// saved state (model_state.h): no optimiser, no data, no generator. Embeds in eval mode
// without gradients, exactly as Trainer::embed does.
#pragma once

#include <cstdint>
#include <string>

#include <torch/torch.h>

#include "embedding_net.h"
#include "image_geometry.h"
#include "model_state.h"
#include "precision.h"

namespace semihard::core {

struct EmbedderOptions {
  NetworkOptions network;  // its in_channels: the state's must be the same
  int64_t channels = 1;    // the images': the state's must be the same
  torch::Device device{torch::kCPU};
  Precision precision = Precision::kFloat32;  // of the forward (precision.h)
};

class Embedder {
 public:
  // Builds the network; its initial weights are drawn from LibTorch's global generator, as a
  // Trainer's are, until load_state replaces them.
  explicit Embedder(const EmbedderOptions& options);

  // Reads Trainer::save_state's bytes: the weights, buffers, normalisation and geometry (the
  // rest is ignored). The network's configuration must be the one that saved them.
  void load_state(const std::string& bytes);
  bool loaded() const { return state_.geometry.height > 0; }

  // Embeddings of N x stored_height x stored_width x C images of the state's geometry (uint8
  // 0..255, or float32 0..1), centre-cropped to its height x width, the forward in the
  // options' precision: N x dim float32 on the CPU, each row of unit norm. Works on the
  // options' CUDA device whichever thread calls it (ResNets channels-last, as a Trainer's).
  torch::Tensor embed(const torch::Tensor& images);

  int64_t dim() const { return options_.network.dim; }
  EmbeddingNet& model() { return model_; }
  const ImageGeometry& geometry() const { return state_.geometry; }
  // Of the network's input (after 1-channel images are replicated to a 3-channel network).
  const Normalisation& normalisation() const { return state_.normalisation; }
  const torch::Device& device() const { return options_.device; }

 private:
  EmbedderOptions options_;
  EmbeddingNet model_{nullptr};
  ModelState state_;
};

}  // namespace semihard::core
