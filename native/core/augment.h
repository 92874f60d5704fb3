// Train-time augmentation: a small random affine transform per image (rotation, scale,
// translation, optionally a horizontal flip), after a random resized crop when one is asked
// for (random_resized_crop.h), composed into one 2 x 3 transform and resampled once,
// bilinearly with reflection padding, drawn from a seeded generator.
#pragma once

#include <cstdint>
#include <optional>

#include <torch/types.h>

#include "random_resized_crop.h"

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
// images resampled through `theta` (draw_affine's), bilinear with reflection padding, to
// height x width (default: the images' own size).
torch::Tensor apply_affine(const torch::Tensor& images, const torch::Tensor& theta);
torch::Tensor apply_affine(const torch::Tensor& images, const torch::Tensor& theta, int64_t height, int64_t width);
torch::Tensor random_affine(const torch::Tensor& images, at::Generator& generator, const AffineRange& range = {});

// The training transform. Without a crop: the affine alone, on images of the network's size
// (draw_affine then apply_affine, as before crops existed). With one: a random resized crop of
// each (stored-size) image, then the flip and affine, as one transform resampled to height x
// width. The generator gives the crops of all images first, then draw_affine's parameters.
struct TrainTransform {
  AffineRange affine;
  std::optional<CropRange> crop;
  int64_t height = 0, width = 0;  // the output (network) size
};

// images: rows [begin, begin + n) of a batch of `batch` images, N x C x H x W float32 on any
// device. Every rank draws the parameters of the whole batch (so generators stay in step and
// each image is transformed as it would be in one process) and applies its rows'.
torch::Tensor train_transform(const torch::Tensor& images, int64_t batch, int64_t begin, at::Generator& generator,
                              const TrainTransform& transform);

// With a crop: the transforms (n x 2 x 3, apply_affine's theta to `transform`'s output size)
// of rows [begin, begin + n) of a batch of `batch` height x width images, drawn as
// train_transform draws them (so applying them, in any grouping of rows, gives its images).
torch::Tensor draw_crop_transforms(int64_t batch, int64_t begin, int64_t n, int64_t height, int64_t width,
                                   at::Generator& generator, const TrainTransform& transform);

}  // namespace semihard::core
