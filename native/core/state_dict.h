// Weights in and out by name, as PyTorch state_dicts hold them. In: a torchvision ResNet's
// state_dict (its keys, no prefix; fc.* and a semihard export's head.* dropped) into the network's body, all or nothing. Out:
// the body's parameters and buffers under torchvision's keys and the head's under `head.*`
// (embedding_head.h), so that `torchvision.models.resnetXX()` with fc removed and a mirror of
// the head load them in PyTorch.
#pragma once

#include <string>
#include <vector>

#include <torch/torch.h>

#include "embedding_net.h"

namespace semihard::core {

struct NamedTensorData {
  std::string name;
  torch::Tensor tensor;  // any dtype and device
};

// Copies `tensors` into the body's parameters and buffers (converted to their dtype and
// device). fc.weight, fc.bias and head.* (a semihard export's head) are dropped; every other key must be one of the body's, with
// its shape, and every body key must be given once. Otherwise one error lists every missing,
// unexpected, repeated and mis-shaped key (shapes shown) and nothing is changed.
void load_backbone_weights(EmbeddingNet& model, const std::vector<NamedTensorData>& tensors);

// The body's parameters and buffers (torchvision's keys for a ResNet), then the head's as
// head.*: CPU, contiguous copies.
std::vector<NamedTensorData> export_weights(EmbeddingNet& model);

}  // namespace semihard::core
