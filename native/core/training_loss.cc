#include "training_loss.h"

#include <cmath>

#include "errors.h"

namespace semihard::core {

namespace {

void refuse_non_finite_training_loss(float value) {
  if (!std::isfinite(value)) {
    throw ArgumentError("embeddings", "Expected finite numbers in embeddings but found NaN or Infinity: the "
                                      "training loss is not finite");
  }
}

}  // namespace

float read_training_loss(const torch::Tensor& loss) {
  const float value = loss.item<float>();
  refuse_non_finite_training_loss(value);
  return value;
}

TrainingLosses read_training_losses(const std::vector<torch::Tensor>& losses) {
  TrainingLosses read;
  if (losses.empty()) return read;
  const torch::Tensor host = torch::stack(losses).to(torch::kCPU, torch::kFloat32).contiguous();
  const float* data = host.data_ptr<float>();
  read.values.assign(data, data + host.numel());
  for (size_t i = 0; i < read.values.size(); ++i) {
    if (!std::isfinite(read.values[i])) {
      read.first_non_finite = static_cast<int64_t>(i);
      break;
    }
  }
  return read;
}

}  // namespace semihard::core
