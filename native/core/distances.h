// Pairwise distances exactly as TensorFlow Addons computes them
// (tensorflow_addons/losses/metric_learning.py), evaluated one block of anchor rows at a
// time so that no B x B matrix has to exist, and their backward pass for a sparse
// gradient given on distance entries.
#pragma once

#include <string>

#include <torch/types.h>

#include "names.h"

namespace semihard::core {

// "L2": Euclidean (TFA's distance_metric="L_1", which calls pairwise_distance(squared=False)).
// "squared-L2": TFA's default distance_metric="L_2" (pairwise_distance(squared=True)).
// "angular": 1 - cosine of l2-normalised rows, clamped below at 0 (TFA's angular_distance).
enum class Distance { kL2, kSquaredL2, kAngular };
inline constexpr Named<Distance> kDistanceNames[] = {
    {"L2", Distance::kL2}, {"squared-L2", Distance::kSquaredL2}, {"angular", Distance::kAngular}};

// What every block needs, computed once per batch: the points the Gram matrix is taken of
// (the rows themselves, or the l2-normalised rows for "angular") and their squared norms.
//
// Where the squares of the caller's values would overflow float32 (or, for L2 and squared-L2,
// underflow it), the points are taken of the embeddings times a power of two: every step of
// TF's arithmetic commutes exactly with it, so the distances come out as float32 would give
// them with an unbounded exponent, in the caller's units (or Infinity where they truly
// exceed float32). Ordinary inputs are not scaled and give TF's bits.
struct DistanceOperands {
  Distance distance;
  torch::Tensor points;     // B x D, contiguous, float32
  torch::Tensor sq_norms;   // B, squared row norms of `points` (unused for angular)
  torch::Tensor inv_norms;  // B, TF's rsqrt(max(|x|^2, 1e-12)) of the rows normalised (angular only)
  int scale_exponent = 0;   // L2 / squared-L2: points = embeddings * 2^-scale_exponent
  torch::Tensor scaled_rows;  // angular, when some rows are scaled: x_i * 2^-e_i (else undefined)
  torch::Tensor row_scales;   // angular, with scaled_rows: 2^-e_i as float64 (1 for most rows)
};

// `unit_rows`: the caller guarantees every row's norm is at most 1 (or NaN): nothing is read
// back from the device and nothing is scaled (no square can overflow; a row whose squares
// underflow is not rescaled, its distances then lose relative precision).
DistanceOperands prepare_distance_operands(const torch::Tensor& embeddings, Distance distance, bool unit_rows = false);

// Rows [begin, end) of TFA's B x B distance matrix: (end - begin) x B, float32.
torch::Tensor distance_block(const DistanceOperands& operands, int64_t begin, int64_t end);

// CPU: accumulates into `grad_points` (B x D, CPU) the gradient of
// sum_k weight[k] * D[row[k], col[k]] with respect to `operands.points`, where `value[k]` is
// D[row[k], col[k]]. Entries TF's graph passes no gradient through (the diagonal and zero
// distances for L2 and squared-L2, entries clamped at 0 for angular) contribute nothing.
void accumulate_distance_grad(const DistanceOperands& operands, const torch::Tensor& row,
                              const torch::Tensor& col, const torch::Tensor& weight,
                              const torch::Tensor& value, torch::Tensor& grad_points);

// Any device: accumulates into `grad_points` the gradient of sum_{i,j} weight[i, j] *
// block[i, j] with respect to `operands.points`, where `block` is distance_block(operands,
// begin, begin + rows) and `weight` rows x B, dense; the same rules as above, with two
// matrix products instead of a scatter of entries.
void accumulate_dense_distance_grad(const DistanceOperands& operands, int64_t begin, const torch::Tensor& weight,
                                    const torch::Tensor& block, torch::Tensor& grad_points);

// Turns a gradient with respect to `operands.points` into one with respect to the caller's
// embeddings (identity except for angular, where it is the backward of tf.math.l2_normalize).
torch::Tensor points_grad_to_embeddings_grad(const DistanceOperands& operands,
                                             const torch::Tensor& embeddings,
                                             const torch::Tensor& grad_points);

}  // namespace semihard::core
