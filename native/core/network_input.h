// What the network is fed: stored-size images (N x stored_height x stored_width x C, uint8
// 0..255 or float32 0..1, channels interleaved) become N x C x height x width float32, each
// channel standardised with its mean and standard deviation of 0..1 pixels. A normalisation of
// three channels on one-channel images replicates each image to three channels first (a
// greyscale image opened as RGB, for a network pretrained on colour images). The Trainer and
// the inference-only Embedder use the same code, so a network gives the same embeddings
// whichever holds it.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "augment.h"
#include "embedding_net.h"
#include "image_geometry.h"

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

// N x H x W x C images (uint8 0..255, or float32 0..1) -> standardised N x C' x H x W float32
// (contiguous) on `device`, C' the normalisation's channels: C, or 3 when C is 1 (replicated).
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

// Embeddings of N x stored_height x stored_width x C images of `geometry`, centre-cropped to
// its height x width, in eval mode without gradients, in chunks: N x dim float32 on the CPU,
// each row of unit norm. Leaves the model in eval mode.
torch::Tensor embed_images(EmbeddingNet& model, const Normalisation& normalisation, const ImageGeometry& geometry,
                           const torch::Device& device, const torch::Tensor& images, int64_t dim);

}  // namespace semihard::core
