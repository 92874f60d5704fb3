#include "random_resized_crop.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <mutex>

namespace semihard::core {
namespace {

// A double uniform in [lo, hi) from the generator's next 53 random bits.
double uniform(at::CPUGeneratorImpl* g, double lo, double hi) {
  const double u = static_cast<double>(g->random64() >> 11) * 0x1.0p-53;
  return lo + u * (hi - lo);
}

// An integer uniform in [0, count).
int64_t uniform_index(at::CPUGeneratorImpl* g, int64_t count) {
  const double u = static_cast<double>(g->random64() >> 11) * 0x1.0p-53;
  return std::min(count - 1, static_cast<int64_t>(u * static_cast<double>(count)));
}

int64_t round_half_even(double v) { return static_cast<int64_t>(std::nearbyint(v)); }

}  // namespace

void check_crop_range(const CropRange& r) {
  const bool finite = std::isfinite(r.min_scale) && std::isfinite(r.max_scale) && std::isfinite(r.min_ratio) &&
                      std::isfinite(r.max_ratio);
  TORCH_CHECK(finite && r.min_scale > 0 && r.min_scale <= r.max_scale && r.max_scale <= 1,
              "CropRange: need 0 < min_scale <= max_scale <= 1, got ", r.min_scale, " and ", r.max_scale);
  TORCH_CHECK(r.min_ratio > 0 && r.min_ratio <= r.max_ratio, "CropRange: need 0 < min_ratio <= max_ratio, got ",
              r.min_ratio, " and ", r.max_ratio);
}

CropBox draw_crop(int64_t height, int64_t width, at::Generator& generator, const CropRange& range) {
  check_crop_range(range);
  TORCH_CHECK(height > 0 && width > 0, "draw_crop: the image is empty");
  auto* g = generator.get<at::CPUGeneratorImpl>();
  std::lock_guard<std::mutex> lock(generator.mutex());
  const double area = static_cast<double>(height * width);
  const double log_min = std::log(range.min_ratio), log_max = std::log(range.max_ratio);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target = area * uniform(g, range.min_scale, range.max_scale);
    const double ratio = std::exp(uniform(g, log_min, log_max));
    const int64_t w = round_half_even(std::sqrt(target * ratio));
    const int64_t h = round_half_even(std::sqrt(target / ratio));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      CropBox box;
      box.top = uniform_index(g, height - h + 1);
      box.left = uniform_index(g, width - w + 1);
      box.height = h;
      box.width = w;
      return box;
    }
  }
  // The whole image, cut to the nearest allowed ratio, centred (floor division, as torchvision).
  const double ratio = static_cast<double>(width) / static_cast<double>(height);
  CropBox box{0, 0, height, width};
  if (ratio < range.min_ratio) {
    box.height = std::clamp<int64_t>(round_half_even(static_cast<double>(width) / range.min_ratio), 1, height);
  } else if (ratio > range.max_ratio) {
    box.width = std::clamp<int64_t>(round_half_even(static_cast<double>(height) * range.max_ratio), 1, width);
  }
  box.top = (height - box.height) / 2;
  box.left = (width - box.width) / 2;
  return box;
}

torch::Tensor draw_crops(int64_t n, int64_t height, int64_t width, at::Generator& generator, const CropRange& range) {
  torch::Tensor boxes = torch::empty({n, 4}, torch::TensorOptions().dtype(torch::kInt64));
  auto a = boxes.accessor<int64_t, 2>();
  for (int64_t i = 0; i < n; ++i) {
    const CropBox b = draw_crop(height, width, generator, range);
    a[i][0] = b.top;
    a[i][1] = b.left;
    a[i][2] = b.height;
    a[i][3] = b.width;
  }
  return boxes;
}

torch::Tensor compose_crops(const torch::Tensor& theta, const torch::Tensor& boxes, int64_t height, int64_t width) {
  TORCH_CHECK(theta.dim() == 3 && theta.size(1) == 2 && theta.size(2) == 3, "compose_crops: theta must be n x 2 x 3");
  TORCH_CHECK(boxes.dim() == 2 && boxes.size(0) == theta.size(0) && boxes.size(1) == 4,
              "compose_crops: one box (top, left, height, width) per transform");
  // A crop's normalised x_c in [-1, 1] is its pixel coordinate u_c = ((x_c + 1) w - 1) / 2,
  // the image's u = left + u_c, whose normalised coordinate (2u + 1) / W - 1 is
  // x_c * w / W + (2 left + w) / W - 1. The same for y.
  const torch::Tensor b = boxes.to(torch::kFloat64);
  const torch::Tensor sy = b.select(1, 2) / static_cast<double>(height);
  const torch::Tensor sx = b.select(1, 3) / static_cast<double>(width);
  const torch::Tensor ty = (2.0 * b.select(1, 0) + b.select(1, 2)) / static_cast<double>(height) - 1.0;
  const torch::Tensor tx = (2.0 * b.select(1, 1) + b.select(1, 3)) / static_cast<double>(width) - 1.0;
  const torch::Tensor t = theta.to(torch::kFloat64);
  const torch::Tensor row_x = t.select(1, 0) * sx.unsqueeze(1) + torch::stack({torch::zeros_like(tx), torch::zeros_like(tx), tx}, 1);
  const torch::Tensor row_y = t.select(1, 1) * sy.unsqueeze(1) + torch::stack({torch::zeros_like(ty), torch::zeros_like(ty), ty}, 1);
  return torch::stack({row_x, row_y}, 1).to(theta.scalar_type());
}

}  // namespace semihard::core
