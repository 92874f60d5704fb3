// Train-time augmentation: a small random affine transform per image (rotation, scale,
// translation) resampled bilinearly with reflection padding, drawn from a seeded generator.
#pragma once

#include <torch/types.h>

namespace semihard::core {

struct AffineRange {
  double max_rotation_degrees = 10.0;
  double min_scale = 0.9;
  double max_scale = 1.1;
  double max_translation = 0.1;  // fraction of the image side
};

// images: N x C x H x W float32 on any device; the parameters are drawn on the CPU from
// `generator`, so a seed gives the same images on every device.
torch::Tensor random_affine(const torch::Tensor& images, at::Generator& generator, const AffineRange& range = {});

}  // namespace semihard::core
