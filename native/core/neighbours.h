// Exact nearest neighbours of every row of a set among the other rows (Euclidean), the
// nearest row with the same label, and the rows whose nearest neighbour has another label.
//
// Exact: candidates come from a float64 Gram product of the centred rows, in blocks of rows
// (memory O(block x N), never N x N at once), with a margin that bounds its rounding error;
// the candidates' distances are then recomputed from the rows' differences in float64 and
// ranked, so rankings agree with a float64 brute force except at true ties, which go to the
// smaller index (exact duplicates are at distance 0, tied).
#pragma once

#include <cstdint>

#include <torch/types.h>

namespace semihard::core {

// All on the CPU.
struct NeighbourTable {
  torch::Tensor indices;             // N x k int64: each row's k nearest other rows, nearest first
  torch::Tensor distances;           // N x k float32: their Euclidean distances
  torch::Tensor nearest_same_label;  // N float32: distance to the nearest other row of the label; NaN if none
  // int64: rows whose nearest neighbour has another label and that have another row of their
  // label, by (nearest_same_label - distance to the nearest neighbour) descending, then index.
  torch::Tensor mistakes;
};

// x: N x D float32 (any device), labels: N integers, 1 <= k < N. Throws ArgumentError("x")
// for NaN or infinity in x.
NeighbourTable nearest_neighbours(const torch::Tensor& x, const torch::Tensor& labels, int64_t k);

}  // namespace semihard::core
