// Two-dimensional pictures of embeddings: PCA, and t-SNE (van der Maaten & Hinton 2008)
// with exact repulsion (every pair, in row blocks) and sparse k-nearest-neighbour input
// affinities (3 x perplexity neighbours, as Barnes-Hut t-SNE uses), early exaggeration,
// momentum and gains, initialised from the PCA. Deterministic for given input.
#pragma once

#include <cstdint>
#include <functional>

#include <torch/types.h>

namespace semihard::core {

// N x D -> N x 2: the top two principal components, signs fixed (largest loading positive).
torch::Tensor pca_2d(const torch::Tensor& x);

struct TsneOptions {
  double perplexity = 30.0;
  int64_t iterations = 750;
  int64_t exaggeration_iterations = 250;
  double exaggeration = 12.0;
  double learning_rate = 0.0;  // 0: max(N / exaggeration / 4, 50)
};

// N x D -> N x 2. `progress(iteration, iterations)` is called every 50 iterations.
torch::Tensor tsne_2d(const torch::Tensor& x, const TsneOptions& options,
                      const std::function<void(int64_t, int64_t)>& progress = {});

}  // namespace semihard::core
