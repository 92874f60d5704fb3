// What a miner returns for one block of anchor rows: the loss terms' sum and the gradient
// of that sum with respect to the distance entries it touched.
#pragma once

#include <torch/types.h>

namespace semihard::core {

// The CPU miners' form: entries of any number, read on the host.
struct MinedBlock {
  double loss_sum = 0.0;  // sum of this block's per-term losses (positive pairs or anchors)
  torch::Tensor row;      // int64, global anchor row of each entry
  torch::Tensor col;      // int64, column of each entry
  torch::Tensor weight;   // float32, d(loss_sum)/dD[row, col]
  torch::Tensor value;    // float32, D[row, col]
};

// The tensor miners' form (any device): everything stays where the block is, every shape
// is the block's (or the largest class's), never the data's, so nothing is read back.
struct DeviceMinedBlock {
  torch::Tensor loss_sum;  // 0-dim float64
  torch::Tensor weight;    // rows x B, d(loss_sum)/d(block): dense, zero where untouched
};

}  // namespace semihard::core
