// Benchmarks only (scripts/bench/loss.js, through the addon's benchmarkGram): the yardstick the
// loss benchmark divides by, one Gram matrix product (B x D by D x B), the least work any
// pairwise-distance method must do. Not part of the core library.
#pragma once

#include <cstdint>

#include <torch/types.h>

namespace semihard::bench {

// Median wall time in milliseconds of `repeats` products of a random B x D float32 matrix
// with its transpose on `device`, after one warm-up.
double gram_matmul_median_ms(int64_t batch, int64_t dim, int64_t repeats, const torch::Device& device);

}  // namespace semihard::bench
