// The embedding network's part of a Trainer's saved state (Trainer::save_state's bytes):
// the format tag, the weights and BatchNorm buffers, the normalisation and the image size.
// The Trainer and the inference-only Embedder read it with the same code, and embed with
// the same code, so a network loaded either way gives the same embeddings.
#pragma once

#include <cstdint>
#include <string>

#include <torch/torch.h>

#include "embedding_net.h"

namespace semihard::core {

// The version of save_state's bytes; every reader checks it.
constexpr int64_t kStateFormat = 1;

// Pixels 0..1 are standardised with the train set's mean and standard deviation.
struct Normalisation {
  float mean = 0.0f;
  float std = 1.0f;
};

// What a state holds for inference besides the weights.
struct ModelState {
  Normalisation normalisation;
  int64_t height = 0, width = 0;
};

// Opens save_state's bytes, its tensors placed on `device`, and checks their format.
void open_state(const std::string& bytes, const torch::Device& device, torch::serialize::InputArchive& archive);

// Loads the network's weights and buffers from an opened state; returns the normalisation and
// image size it records.
ModelState load_model_state(torch::serialize::InputArchive& archive, EmbeddingNet& model);

// N x H x W images (uint8 0..255, or float32 0..1) -> normalised N x 1 x H x W float32 on `device`.
torch::Tensor network_input(const torch::Tensor& images, const Normalisation& normalisation, const torch::Device& device);

// Embeddings of N x H x W images in eval mode without gradients, in chunks: N x dim float32
// on the CPU, each row of unit norm. Leaves the model in eval mode.
torch::Tensor embed_images(EmbeddingNet& model, const Normalisation& normalisation, const torch::Device& device,
                           const torch::Tensor& images, int64_t dim);

}  // namespace semihard::core
