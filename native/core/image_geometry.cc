#include "image_geometry.h"

#include <cmath>

namespace semihard::core {

void check_geometry(const ImageGeometry& g) {
  TORCH_CHECK(g.channels == 1 || g.channels == 3, "ImageGeometry: channels must be 1 or 3, got ", g.channels);
  TORCH_CHECK(g.height > 0 && g.width > 0 && g.height <= g.stored_height && g.width <= g.stored_width,
              "ImageGeometry: need 0 < height x width <= stored size, got ", g.height, " x ", g.width, " of ",
              g.stored_height, " x ", g.stored_width);
}

CropBox centre_crop_box(int64_t stored_height, int64_t stored_width, int64_t height, int64_t width) {
  // std::nearbyint rounds half to even in the default rounding mode, as Python's round().
  CropBox box;
  box.top = static_cast<int64_t>(std::nearbyint(static_cast<double>(stored_height - height) / 2.0));
  box.left = static_cast<int64_t>(std::nearbyint(static_cast<double>(stored_width - width) / 2.0));
  box.height = height;
  box.width = width;
  return box;
}

torch::Tensor centre_crop(const torch::Tensor& images, const ImageGeometry& g) {
  TORCH_CHECK(images.dim() == 4 && images.size(1) == g.stored_height && images.size(2) == g.stored_width &&
                  images.size(3) == g.channels,
              "centre_crop: images must be N x ", g.stored_height, " x ", g.stored_width, " x ", g.channels, ", got ",
              images.sizes());
  if (g.height == g.stored_height && g.width == g.stored_width) return images;
  const CropBox box = centre_crop_box(g.stored_height, g.stored_width, g.height, g.width);
  return images.narrow(1, box.top, box.height).narrow(2, box.left, box.width);
}

}  // namespace semihard::core
