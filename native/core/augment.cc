#include "augment.h"

#include <torch/nn/functional/vision.h>

#include <cmath>

#include "network_input.h"

namespace semihard::core {

void check_affine_range(const AffineRange& range) {
  auto within = [](double v, double lo, double hi) { return std::isfinite(v) && v >= lo && v <= hi; };
  TORCH_CHECK(within(range.max_rotation_degrees, 0.0, 180.0),
              "AffineRange: max_rotation_degrees must be within [0, 180], got ", range.max_rotation_degrees);
  TORCH_CHECK(within(range.min_scale, 1e-6, 1.0) && within(range.max_scale, 1.0, 1e6),
              "AffineRange: need 0 < min_scale <= 1 <= max_scale, got min_scale ", range.min_scale, ", max_scale ",
              range.max_scale);
  TORCH_CHECK(within(range.max_translation, 0.0, 1.0), "AffineRange: max_translation must be within [0, 1], got ",
              range.max_translation);
}

torch::Tensor draw_affine(int64_t n, at::Generator& generator, const AffineRange& range) {
  check_affine_range(range);
  const auto cpu = torch::TensorOptions().dtype(torch::kFloat32);
  auto uniform = [&](double lo, double hi) { return torch::rand({n}, generator, cpu) * (hi - lo) + lo; };
  const double max_angle = range.max_rotation_degrees * 3.14159265358979323846 / 180.0;
  torch::Tensor angle = uniform(-max_angle, max_angle);
  torch::Tensor scale = uniform(range.min_scale, range.max_scale);
  // Normalised coordinates span [-1, 1]: a shift of t image sides is 2t.
  torch::Tensor tx = uniform(-2.0 * range.max_translation, 2.0 * range.max_translation);
  torch::Tensor ty = uniform(-2.0 * range.max_translation, 2.0 * range.max_translation);
  torch::Tensor c = torch::cos(angle) / scale;
  torch::Tensor s = torch::sin(angle) / scale;
  // The grid maps output (x, y) to input coordinates; a flip reads the input at -x.
  torch::Tensor fx = range.horizontal_flip ? torch::where(torch::rand({n}, generator, cpu) < 0.5, -1.0f, 1.0f)
                                           : torch::ones({n}, cpu);
  return torch::stack({torch::stack({c * fx, -s, tx}, 1), torch::stack({s * fx, c, ty}, 1)}, 1);
}

torch::Tensor apply_affine(const torch::Tensor& images, const torch::Tensor& theta) {
  return apply_affine(images, theta, images.size(2), images.size(3));
}

torch::Tensor apply_affine(const torch::Tensor& images, const torch::Tensor& theta, int64_t height, int64_t width) {
  namespace F = torch::nn::functional;
  TORCH_CHECK(images.dim() == 4 && theta.size(0) == images.size(0), "apply_affine: images must be N x C x H x W, one theta each");
  torch::Tensor grid =
      F::affine_grid(upload(theta, images.device()), {images.size(0), images.size(1), height, width}, /*align_corners=*/false);
  return F::grid_sample(images, grid,
                        F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kReflection).align_corners(false));
}

torch::Tensor random_affine(const torch::Tensor& images, at::Generator& generator, const AffineRange& range) {
  return apply_affine(images, draw_affine(images.size(0), generator, range));
}

torch::Tensor train_transform(const torch::Tensor& images, int64_t batch, int64_t begin, at::Generator& generator,
                              const TrainTransform& transform) {
  const int64_t n = images.size(0);
  TORCH_CHECK(begin >= 0 && begin + n <= batch, "train_transform: rows [", begin, ", ", begin + n, ") are not in a batch of ", batch);
  if (!transform.crop) {
    TORCH_CHECK(images.size(2) == transform.height && images.size(3) == transform.width,
                "train_transform: without a crop the images must be of the output size");
    return apply_affine(images, draw_affine(batch, generator, transform.affine).narrow(0, begin, n));
  }
  const torch::Tensor theta = draw_crop_transforms(batch, begin, n, images.size(2), images.size(3), generator, transform);
  return apply_affine(images, theta, transform.height, transform.width);
}

torch::Tensor draw_crop_transforms(int64_t batch, int64_t begin, int64_t n, int64_t height, int64_t width,
                                   at::Generator& generator, const TrainTransform& transform) {
  TORCH_CHECK(transform.crop.has_value(), "draw_crop_transforms: the transform has no crop");
  TORCH_CHECK(begin >= 0 && n >= 0 && begin + n <= batch, "draw_crop_transforms: rows [", begin, ", ", begin + n, ") are not in a batch of ", batch);
  const torch::Tensor boxes = draw_crops(batch, height, width, generator, *transform.crop).narrow(0, begin, n);
  const torch::Tensor theta = draw_affine(batch, generator, transform.affine).narrow(0, begin, n);
  return compose_crops(theta, boxes, height, width);
}

}  // namespace semihard::core
