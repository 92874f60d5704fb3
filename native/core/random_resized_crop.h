// The random resized crop of training images (the algorithm of torchvision's
// RandomResizedCrop.get_params, drawn from a seeded generator): up to 10 tries of an area
// fraction s ~ U(min_scale, max_scale) and a log aspect ratio ~ U(log min_ratio, log
// max_ratio); width = round(sqrt(s * area * ratio)), height = round(sqrt(s * area / ratio))
// (half to even); the first that fits is placed at top ~ U{0..H-h}, left ~ U{0..W-w}. When
// none fits, the centre crop of the whole image clamped to the ratio range. The crop is then
// resampled to the network's size in one grid_sample with the flip and affine (augment.h).
#pragma once

#include <cstdint>

#include <ATen/core/Generator.h>
#include <torch/types.h>

#include "image_geometry.h"

namespace semihard::core {

struct CropRange {
  double min_scale = 0.08, max_scale = 1.0;          // fraction of the image's area
  double min_ratio = 3.0 / 4.0, max_ratio = 4.0 / 3.0;  // width / height
};

// Preconditions (TORCH_CHECK): 0 < min_scale <= max_scale <= 1, 0 < min_ratio <= max_ratio, finite.
void check_crop_range(const CropRange& range);

// One crop box of a height x width image, drawn from `generator` (CPU).
CropBox draw_crop(int64_t height, int64_t width, at::Generator& generator, const CropRange& range);

// Boxes (n x 4 int64: top, left, height, width) of n images of one size.
torch::Tensor draw_crops(int64_t n, int64_t height, int64_t width, at::Generator& generator, const CropRange& range);

// theta (n x 2 x 3, affine_grid's map from output to input coordinates of a crop, normalised
// to [-1, 1] with align_corners false) composed with the map from each crop's normalised
// coordinates to its height x width image's: the transforms sample the whole image.
torch::Tensor compose_crops(const torch::Tensor& theta, const torch::Tensor& boxes, int64_t height, int64_t width);

}  // namespace semihard::core
