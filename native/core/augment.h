// Train-time augmentation: a small random affine transform per image (rotation, scale,
// translation, optionally a horizontal flip) resampled bilinearly with reflection padding,
// drawn from a seeded generator.
#pragma once

#include <torch/types.h>

namespace semihard::core {

struct AffineRange {
  double max_rotation_degrees = 10.0;
  double min_scale = 0.9;
  double max_scale = 1.1;
  double max_translation = 0.1;  // fraction of the image side
  // Mirror left-right with probability 1/2 (clothes, faces; not digits). When false no flip is
  // drawn, so the generator's stream is that of the transforms without flips.
  bool horizontal_flip = false;
};

// The preconditions of the transforms (TORCH_CHECK): rotation 0..180 degrees, scale
// 0 < min <= 1 <= max, translation 0..1 image sides. The narrower ranges users may ask for
// (scale 1 +- 0.9 at most) are lib/augment.ts's to enforce.
void check_affine_range(const AffineRange& range);

// images: N x C x H x W float32 on any device; the parameters are drawn on the CPU from
// `generator`, so a seed gives the same images on every device.
// The transforms of n images: n x 2 x 3 float32 on the CPU, drawn from `generator`.
torch::Tensor draw_affine(int64_t n, at::Generator& generator, const AffineRange& range = {});
// images resampled through `theta` (draw_affine's), bilinear with reflection padding.
torch::Tensor apply_affine(const torch::Tensor& images, const torch::Tensor& theta);
torch::Tensor random_affine(const torch::Tensor& images, at::Generator& generator, const AffineRange& range = {});

}  // namespace semihard::core
