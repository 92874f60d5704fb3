// The one size rule every layer shares (docs: design of image folders): images are given at a
// stored size, N x stored_height x stored_width x channels uint8 (row-major, channels
// interleaved), and the network sees height x width <= that. Validation and embedding take
// the centre crop of the network's size (torchvision's CenterCrop offsets); training takes a
// random resized crop (random_resized_crop.h) or, without one, the same centre crop.
#pragma once

#include <cstdint>

#include <torch/types.h>

namespace semihard::core {

struct ImageGeometry {
  int64_t channels = 1;
  int64_t stored_height = 0, stored_width = 0;
  int64_t height = 0, width = 0;

  bool operator==(const ImageGeometry& o) const {
    return channels == o.channels && stored_height == o.stored_height && stored_width == o.stored_width &&
           height == o.height && width == o.width;
  }
  bool operator!=(const ImageGeometry& o) const { return !(*this == o); }
  int64_t stored_bytes() const { return stored_height * stored_width * channels; }
};

// A rectangle of an image, in pixels.
struct CropBox {
  int64_t top = 0, left = 0, height = 0, width = 0;
};

// Preconditions (TORCH_CHECK): channels 1 or 3, 0 < height <= stored_height, 0 < width <= stored_width.
void check_geometry(const ImageGeometry& geometry);

// The centre height x width box of a stored_height x stored_width image: top =
// round((stored_height - height) / 2), rounding half to even as Python's round (torchvision).
CropBox centre_crop_box(int64_t stored_height, int64_t stored_width, int64_t height, int64_t width);

// The centre crop of N x stored_height x stored_width x C images (a view, no copy; the images
// themselves when the sizes are equal).
torch::Tensor centre_crop(const torch::Tensor& images, const ImageGeometry& geometry);

}  // namespace semihard::core
