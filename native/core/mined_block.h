// What a miner returns for one block of anchor rows: the loss terms' sum and the gradient
// of that sum with respect to the distance entries it touched, as sparse entries.
#pragma once

#include <algorithm>

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

// The tensor miners' form (any device): everything stays where the block is, and every
// shape depends on the block's size and `capacity` only, never on the data, so nothing is
// read back per block. Each row has `capacity` entries; unused ones have weight 0.
struct DeviceMinedBlock {
  torch::Tensor loss_sum;    // 0-dim float64
  torch::Tensor row, col, weight, value;  // as MinedBlock, rows x capacity entries
  torch::Tensor widest_row;  // 0-dim int64: most non-zero weights in one row. Above capacity,
                             // entries were dropped and the block must be mined again with more.
};

// Packs a dense rows x B weight block (d(loss_sum)/d(block)) into `capacity` entries a row:
// each row's non-zero weights in column order, by a running count and a scatter (no
// nonzero(), whose shape would need the host).
inline DeviceMinedBlock pack_dense_weights(const torch::Tensor& weight, const torch::Tensor& block, int64_t begin,
                                           torch::Tensor loss_sum, int64_t capacity) {
  const int64_t rows = weight.size(0);
  const int64_t batch = weight.size(1);
  capacity = std::max<int64_t>(1, std::min(capacity, batch));
  const auto long_opts = weight.options().dtype(torch::kInt64);
  const torch::Tensor nonzero = weight != 0;
  const torch::Tensor counted = nonzero.cumsum(1);
  DeviceMinedBlock out;
  out.loss_sum = std::move(loss_sum);
  out.widest_row = counted.select(1, batch - 1).max();
  // Entry k of a row is its k-th non-zero weight; the rest go to a spare column, dropped.
  const torch::Tensor target = torch::where(nonzero & (counted <= capacity), counted - 1, capacity);
  const torch::Tensor columns = torch::arange(batch, long_opts).expand({rows, batch});
  const torch::Tensor col =
      torch::zeros({rows, capacity + 1}, long_opts).scatter_(1, target, columns).narrow(1, 0, capacity);
  const torch::Tensor w =
      torch::zeros({rows, capacity + 1}, weight.options()).scatter_(1, target, weight).narrow(1, 0, capacity);
  out.row = torch::arange(begin, begin + rows, long_opts).unsqueeze(1).expand({rows, capacity}).reshape(-1);
  out.col = col.reshape(-1);
  out.weight = w.reshape(-1);
  out.value = block.gather(1, col).reshape(-1);
  return out;
}

}  // namespace semihard::core
