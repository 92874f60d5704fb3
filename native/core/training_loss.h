// Reading the training loss: the trainer's loss stays a 0-dim tensor on the device
// (triplet_loss_share with LabelCounts reads nothing), and these read it, alone or the
// losses of several steps at once, refusing a non-finite one with the loss's error.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/types.h>

namespace semihard::core {

// The loss's value; NaN or Infinity (non-finite embeddings) is refused as an ArgumentError
// on "embeddings", as the checked loss call refuses them.
float read_training_loss(const torch::Tensor& loss);

// The losses of several training steps read at once (one wait for the device), and the index
// of the first that is not finite (-1: none), which the caller refuses with read_training_loss
// once it has kept the steps before it.
struct TrainingLosses {
  std::vector<float> values;
  int64_t first_non_finite = -1;
};
TrainingLosses read_training_losses(const std::vector<torch::Tensor>& losses);

}  // namespace semihard::core
