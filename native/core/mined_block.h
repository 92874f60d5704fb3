// What a miner returns for one block of anchor rows: the loss terms' sum, the gradient of
// that sum with respect to the distance entries it touched, and what it mined (triplet_stats.h).
#pragma once

#include <torch/types.h>

#include "triplet_stats.h"

namespace semihard::core {

// The CPU miners' form: entries of any number, read on the host.
struct MinedBlock {
  double loss_sum = 0.0;  // sum of this block's per-term losses (positive pairs or anchors)
  torch::Tensor row;      // int64, global anchor row of each entry
  torch::Tensor col;      // int64, column of each entry
  torch::Tensor weight;   // float32, d(loss_sum)/dD[row, col]
  torch::Tensor value;    // float32, D[row, col]
  TripletStats stats;     // the block's anchors' sums (spread_sum left 0: the miner has no embeddings)
};

// The tensor miners' form (any device): everything stays where the block is, every shape
// is the block's (or the largest class's), never the data's, so nothing is read back.
struct DeviceMinedBlock {
  torch::Tensor loss_sum;  // 0-dim float64
  torch::Tensor weight;    // rows x B, d(loss_sum)/d(block): dense, zero where untouched
  torch::Tensor stats;     // kTripletStatsFields float64 (spread_sum 0), undefined when not asked for
};

}  // namespace semihard::core
