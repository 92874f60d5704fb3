// The embedding network's part of a Trainer's saved state (Trainer::save_state's bytes):
// the format tag, the weights and BatchNorm buffers, the normalisation and the image
// geometry. The Trainer and the inference-only Embedder read it with the same code, and embed
// with the same code (network_input.h), so a network loaded either way gives the same
// embeddings.
//
// Keys: "normalisation" is a 2 x C float tensor (mean row, std row; states saved before
// colour images were supported hold a 1-D tensor of 2, C = 1); "image_size" the network's
// {height, width}; "geometry" int64 {channels, stored_height, stored_width, height, width}
// (older states lack it: channels 1, stored size = image_size); "input_channels" the
// network's input channels (older states lack it: the images' channels; 3 for 1-channel
// images means each is replicated to three before normalisation, network_input.h).
//
// Format 1: ResNets of semihard's own layout (backbone.N.*), head.weight; format 2: ResNets
// under torchvision's names, the head with submodules (embedding_head.h). Format-1 states of
// a convnet still load; those of a ResNet are refused.
#pragma once

#include <cstdint>
#include <string>

#include <torch/torch.h>

#include "embedding_net.h"
#include "image_geometry.h"
#include "network_input.h"

namespace semihard::core {

// The version of save_state's bytes; every reader checks it.
constexpr int64_t kStateFormat = 2;

// What a state holds for inference besides the weights.
struct ModelState {
  Normalisation normalisation;
  ImageGeometry geometry;
  int64_t input_channels = 1;  // the normalisation's channels
};

// Opens save_state's bytes, its tensors placed on `device`, and checks their format (1 or 2).
void open_state(const std::string& bytes, const torch::Device& device, torch::serialize::InputArchive& archive);

// The normalisation and geometry recorded in an opened state (checked: consistent, finite;
// height 0 when the trainer that saved it had no data yet).
ModelState read_model_meta(torch::serialize::InputArchive& archive);

// Loads the network's weights and buffers from an opened state; returns read_model_meta's.
ModelState load_model_state(torch::serialize::InputArchive& archive, EmbeddingNet& model);

// Writes the normalisation and geometry keys (above).
void write_model_meta(torch::serialize::OutputArchive& archive, const ModelState& state);

}  // namespace semihard::core
