#include "triplet_checks.h"

#include <cmath>
#include <sstream>

#include "errors.h"

namespace semihard::core {

void check_finite(const torch::Tensor& t, const std::string& argument) {
  torch::Tensor bad = torch::isfinite(t).logical_not();
  if (!bad.any().item<bool>()) return;
  const int64_t flat = bad.flatten().nonzero().min().item<int64_t>();
  throw ArgumentError(argument, "Expected finite numbers in " + argument +
                                    " but found NaN or Infinity at index " + std::to_string(flat));
}

void check_labels(const torch::Tensor& labels, int64_t batch) {
  TORCH_CHECK(labels.dim() == 1 && c10::isIntegralType(labels.scalar_type(), /*includeBool=*/false),
              "triplet loss: labels must be a 1-D integer tensor");
  TORCH_CHECK(labels.numel() == batch, "triplet loss: ", batch, " rows need as many labels, got ", labels.numel());
}

void check_batch(int64_t batch) {
  TORCH_CHECK(batch >= 2, "triplet loss: a batch needs at least 2 rows (a triplet needs a pair), got ", batch);
}

void check_anchor_rows(int64_t anchor_begin, int64_t anchor_end, int64_t batch) {
  TORCH_CHECK(0 <= anchor_begin && anchor_begin <= anchor_end && anchor_end <= batch,
              "triplet loss: the anchor rows [", anchor_begin, ", ", anchor_end, ") must lie within [0, ", batch, ")");
}

void refuse_overflow(float loss, const torch::Tensor& grad_written, const torch::Tensor& input,
                     const std::string& argument, const std::string& distances, float margin) {
  if (std::isfinite(loss) && torch::isfinite(grad_written).all().item<bool>()) return;
  std::ostringstream message;
  message << "Expected " << argument << " whose " << distances
          << " and triplet loss fit in float32, but the distances overflow float32 (largest |entry| "
          << input.abs().max().item<float>() << ", margin " << margin << "): the loss or its gradient is not finite";
  throw ArgumentError(argument, message.str());
}

}  // namespace semihard::core
