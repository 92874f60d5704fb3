#include "network_input.h"

#include <algorithm>
#include <cmath>

namespace semihard::core {
namespace {

constexpr int64_t kEmbedChunk = 1024;
// Pixels summed at a time by pixel_statistics: 4096 images of 28 x 28.
constexpr int64_t kStatisticsChunk = 4096 * 784;

}  // namespace

void check_normalisation(const Normalisation& n, int64_t channels) {
  TORCH_CHECK(static_cast<int64_t>(n.mean.size()) == channels && static_cast<int64_t>(n.std.size()) == channels,
              "Normalisation: need ", channels, " means and standard deviations, got ", n.mean.size(), " and ", n.std.size());
  for (int64_t c = 0; c < channels; ++c) {
    TORCH_CHECK(std::isfinite(n.mean[c]) && std::isfinite(n.std[c]) && n.std[c] > 0,
                "Normalisation: channel ", c, " needs a finite mean and a finite positive standard deviation, got ",
                n.mean[c], " and ", n.std[c]);
  }
}

Normalisation pixel_statistics(const torch::Tensor& images, int64_t channels) {
  TORCH_CHECK(images.scalar_type() == torch::kUInt8 && images.dim() >= 1 && images.numel() > 0,
              "pixel_statistics: images must be non-empty uint8");
  const int64_t per_image = images.numel() / images.size(0);
  const int64_t chunk = std::max<int64_t>(1, kStatisticsChunk / std::max<int64_t>(per_image, 1));
  int64_t sum = 0, sum_sq = 0;
  for (int64_t start = 0; start < images.size(0); start += chunk) {
    const torch::Tensor part = images.narrow(0, start, std::min(chunk, images.size(0) - start)).to(torch::kInt64);
    sum += part.sum().item<int64_t>();
    sum_sq += part.square().sum().item<int64_t>();
  }
  const double n = static_cast<double>(images.numel());
  const double mean = static_cast<double>(sum) / n / 255.0;
  const double variance = static_cast<double>(sum_sq) / n / (255.0 * 255.0) - mean * mean;
  Normalisation out;
  out.mean.assign(channels, static_cast<float>(mean));
  out.std.assign(channels, static_cast<float>(std::max(std::sqrt(std::max(variance, 0.0)), 1e-6)));
  return out;
}

torch::Tensor upload(const torch::Tensor& t, const torch::Device& device) {
  if (t.device() == device) return t;
  if (device.is_cuda() && t.is_cpu()) return t.pin_memory().to(device, /*non_blocking=*/true);
  return t.to(device);
}

torch::Tensor device_resident(const torch::Tensor& images, const torch::Device& device) {
  if (!images.defined() || images.device() == device || device.is_cpu()) return images;
  if (images.numel() * images.element_size() > kDeviceImageBytes) return images;
  try {
    return images.to(device);
  } catch (const c10::OutOfMemoryError&) {
    return images;  // the host path
  }
}

torch::Tensor network_input(const torch::Tensor& images, const Normalisation& normalisation, const torch::Device& device) {
  TORCH_CHECK(images.dim() == 4, "network_input: images must be N x H x W x C");
  const int64_t n = images.size(0), height = images.size(1), width = images.size(2);
  const int64_t channels = static_cast<int64_t>(normalisation.mean.size());
  TORCH_CHECK(channels == images.size(3) || (images.size(3) == 1 && channels == 3), "network_input: images of ",
              images.size(3), " channels cannot be normalised over ", channels);
  check_normalisation(normalisation, channels);
  const torch::Tensor here = upload(images, device);
  torch::Tensor x = here.scalar_type() == torch::kUInt8 ? here.to(torch::kFloat32) / 255.0f : here.to(torch::kFloat32);
  if (channels != images.size(3)) x = x.expand({n, height, width, channels});
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat32);
  x = (x - upload(torch::tensor(normalisation.mean, f32), device)) / upload(torch::tensor(normalisation.std, f32), device);
  // N x C x H x W with the standard (row-major) strides: a permuted single channel would be
  // "contiguous" with strides that make convolutions take their channels-last kernels.
  return channels == 1 ? x.reshape({n, 1, height, width}) : x.permute({0, 3, 1, 2}).contiguous();
}

torch::Tensor training_input(const torch::Tensor& images, const Normalisation& normalisation, const torch::Device& device,
                             int64_t batch, int64_t begin, at::Generator& generator, const TrainTransform& transform) {
  TORCH_CHECK(images.dim() == 4, "training_input: images must be N x H x W x C");
  const int64_t n = images.size(0);
  const torch::Tensor theta = draw_crop_transforms(batch, begin, n, images.size(1), images.size(2), generator, transform);
  return transformed_input(images, normalisation, device, theta, transform);
}

torch::Tensor transformed_input(const torch::Tensor& images, const Normalisation& normalisation, const torch::Device& device,
                                const torch::Tensor& theta, const TrainTransform& transform) {
  TORCH_CHECK(images.dim() == 4 && theta.dim() == 3 && theta.size(0) == images.size(0),
              "transformed_input: N x H x W x C images and N x 2 x 3 transforms");
  const int64_t n = images.size(0);
  torch::NoGradGuard no_grad;
  // Eight 256 x 256 RGB images are 6 MB of floats: they stay in cache between the two steps.
  const int64_t chunk = device.is_cuda() ? std::max<int64_t>(n, 1) : 8;
  std::vector<torch::Tensor> parts;
  for (int64_t start = 0; start < n; start += chunk) {
    const int64_t k = std::min(chunk, n - start);
    parts.push_back(apply_affine(network_input(images.narrow(0, start, k), normalisation, device), theta.narrow(0, start, k),
                                 transform.height, transform.width));
  }
  if (parts.empty()) {
    const auto channels = static_cast<int64_t>(normalisation.mean.size());
    return torch::empty({0, channels, transform.height, transform.width}, torch::TensorOptions().device(device));
  }
  return parts.size() == 1 ? parts[0] : torch::cat(parts);
}

torch::Tensor embed_images(EmbeddingNet& model, const Normalisation& normalisation, const ImageGeometry& geometry,
                           const torch::Device& device, const torch::Tensor& images, int64_t dim, Precision precision) {
  TORCH_CHECK(images.dim() == 4, "embed_images: images must be N x H x W x C");
  torch::NoGradGuard no_grad;
  const AutocastGuard autocast(device, precision);
  model->eval();
  std::vector<torch::Tensor> out;
  for (int64_t start = 0; start < images.size(0); start += kEmbedChunk) {
    const int64_t n = std::min(kEmbedChunk, images.size(0) - start);
    const torch::Tensor crop = centre_crop(images.narrow(0, start, n), geometry);
    out.push_back(model->forward(network_input(crop, normalisation, device)).to(torch::kCPU, torch::kFloat32));
  }
  if (out.empty()) return torch::empty({0, dim});
  return torch::cat(out);
}

}  // namespace semihard::core
