// What the network is fed: stored-size images (N x stored_height x stored_width x C, uint8
// 0..255 or float32 0..1, channels interleaved) become N x C x height x width float32, each
// channel standardised with its mean and standard deviation of 0..1 pixels. A normalisation of
// three channels on one-channel images replicates each image to three channels first (a
// greyscale image opened as RGB, for a network pretrained on colour images). The Trainer and
// the inference-only Embedder use the same code, so a network gives the same embeddings
// whichever holds it.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include <torch/torch.h>

#include "augment.h"
#include "embedding_net.h"
#include "image_geometry.h"
#include "precision.h"

namespace semihard::core {

// Per-channel mean and standard deviation of 0..1 pixels (one value each for greyscale).
struct Normalisation {
  std::vector<float> mean{0.0f};
  std::vector<float> std{1.0f};
};

// Preconditions (TORCH_CHECK): `channels` values each, finite, std > 0.
void check_normalisation(const Normalisation& normalisation, int64_t channels);

// The mean and standard deviation of all pixels (0..1) of uint8 images of any shape, exactly
// (integer sums over chunks: no float copy of the whole set); the deviation at least 1e-6.
// The same value for each of `channels`.
Normalisation pixel_statistics(const torch::Tensor& images, int64_t channels);

// What a c10::OptionalDeviceGuard makes current for work on `device`: the CUDA device (a
// worker thread's current device is otherwise 0, where cuda:1's work must not go), or nothing.
inline std::optional<c10::Device> cuda_device(const torch::Device& device) {
  return device.is_cuda() ? std::optional<c10::Device>(device) : std::nullopt;
}

// `t` on `device`: itself when it is there; from the CPU to CUDA through pinned memory without
// waiting (the copy is ordered on the current stream, the host goes on).
torch::Tensor upload(const torch::Tensor& t, const torch::Device& device);

// Held images kept on the training device: uploaded once (uint8) when the device is not the
// CPU and they take at most kDeviceImageBytes and fit in its memory; else the host tensor
// itself (each step then gathers its rows on the host and uploads them). On the CPU, `images`.
inline constexpr int64_t kDeviceImageBytes = int64_t{8} << 30;
torch::Tensor device_resident(const torch::Tensor& images, const torch::Device& device);

// N x H x W x C images (uint8 0..255, or float32 0..1, on any device) -> standardised
// N x C' x H x W float32 (contiguous) on `device`, C' the normalisation's channels: C, or 3
// when C is 1 (replicated). The images are uploaded as they are (uint8: a quarter of the
// bytes) and converted on `device`.
torch::Tensor network_input(const torch::Tensor& images, const Normalisation& normalisation, const torch::Device& device);

// Training's input with a random resized crop: rows [begin, begin + n) of a batch of `batch`
// stored-size images (n x stored_height x stored_width x C, uint8 0..255 or float32 0..1)
// standardised and resampled through train_transform's crops, flips and affines, drawn from
// `generator` for the whole batch: n x C x height x width float32 on `device`. On the CPU a few
// images are converted and resampled at a time (a float copy of a whole batch of stored images
// costs more in memory traffic than the resampling itself); the values are those of
// network_input then train_transform on the whole batch.
torch::Tensor training_input(const torch::Tensor& images, const Normalisation& normalisation, const torch::Device& device,
                             int64_t batch, int64_t begin, at::Generator& generator, const TrainTransform& transform);
// The same with the transforms given (rows x 2 x 3 on the CPU, draw_crop_transforms' for
// these rows): training_input without the draw.
torch::Tensor transformed_input(const torch::Tensor& images, const Normalisation& normalisation, const torch::Device& device,
                                const torch::Tensor& theta, const TrainTransform& transform);

// Embeddings of N x stored_height x stored_width x C images of `geometry`, centre-cropped to
// its height x width, in eval mode without gradients, in chunks, the network's forward in
// `precision` (precision.h): N x dim float32 on the CPU, each row of unit norm. Leaves the
// model in eval mode.
torch::Tensor embed_images(EmbeddingNet& model, const Normalisation& normalisation, const ImageGeometry& geometry,
                           const torch::Device& device, const torch::Tensor& images, int64_t dim,
                           Precision precision = Precision::kFloat32);

}  // namespace semihard::core
