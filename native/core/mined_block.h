// What a miner returns for one block of anchor rows: the loss terms' sum and the gradient
// of that sum with respect to the distance entries it touched, as sparse entries.
#pragma once

#include <torch/types.h>

namespace semihard::core {

struct MinedBlock {
  double loss_sum = 0.0;  // sum of this block's per-term losses (positive pairs or anchors)
  torch::Tensor row;      // int64, global anchor row of each entry
  torch::Tensor col;      // int64, column of each entry
  torch::Tensor weight;   // float32, d(loss_sum)/dD[row, col]
  torch::Tensor value;    // float32, D[row, col]
};

}  // namespace semihard::core
