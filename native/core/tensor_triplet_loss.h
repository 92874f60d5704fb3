// The triplet losses through the tensor-op miners (semihard_tensor_mining.h, hard_mining.h):
// blocks of anchor rows mined where the distances are, each block's dense weight applied to
// the gradient, the loss terms' sum kept on the device. What CUDA always runs, and the CPU
// when TripletOptions::tensor_mining asks (tests, benchmarks). triplet_loss.cc's entry points
// choose between this and the CPU scan miners.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>

#include <torch/types.h>

#include "distances.h"
#include "hard_mining.h"
#include "semihard_tensor_mining.h"
#include "triplet_loss.h"
#include "triplet_stats.h"

namespace semihard::core {

// The tensor miners run off the CPU, and on it when asked (tests, benchmarks).
bool mines_with_tensors(const TripletOptions& options, const torch::Device& device);

// Anchor rows per block for the tensor miners: off the CPU about 64M distances a block.
int64_t tensor_block_rows(int64_t batch, const torch::Device& device);

// TF's mean: over positive pairs for semi-hard, over anchors for hard.
int64_t terms_in_mean(const TripletOptions& options, int64_t batch, int64_t positive_pairs);

// What the tensor miners' loop sums over its blocks, on the device.
struct TensorMinedSums {
  torch::Tensor loss_sum;  // 0-dim float64
  torch::Tensor stats;     // kTripletStatsFields float64 (spread_sum 0); undefined unless options.stats
};

// The tensor miners' loop over blocks of anchor rows [first, last): apply(begin, block,
// weight) takes each block's dense gradient. Returns the loss terms' sum and the stats, on the
// device; nothing is read back.
template <typename BlockAt, typename Apply>
TensorMinedSums mine_blocks_with_tensors(const DeviceLabelGroups& groups, const TripletOptions& options, int64_t first,
                                         int64_t last, BlockAt block_at, Apply apply) {
  const torch::Device device = groups.labels.device();
  const int64_t step = tensor_block_rows(groups.labels.numel(), device);
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64).device(device);
  TensorMinedSums sums{torch::zeros({}, f64), options.stats ? torch::zeros({kTripletStatsFields}, f64) : torch::Tensor()};
  for (int64_t begin = first; begin < last; begin += step) {
    const int64_t end = std::min(last, begin + step);
    const torch::Tensor block = block_at(begin, end);
    DeviceMinedBlock mined =
        options.kind == TripletKind::kSemiHard
            ? mine_semihard_block_tensor(block, begin, groups, options.margin, options.stats)
            : mine_hard_block_tensor(block, begin, groups.labels, options.margin, options.soft, options.stats);
    sums.loss_sum.add_(mined.loss_sum);
    if (options.stats) sums.stats.add_(mined.stats);
    apply(begin, block, mined.weight);
  }
  return sums;
}

// The tensor miners' loss for anchor rows [first, last) of the embeddings `x`: the loss
// (0-dim float32 on the device), its gradient with respect to `x`, and the stats of those
// anchors (kTripletStatsFields float64 on the device, spread included; undefined unless
// options.stats). Nothing is read back but what prepare_distance_operands reads unless
// `unit_rows`. A semi-hard batch without positive pairs gives 0 and a zero gradient (TF:
// 0 / 0 = NaN; documented deviation).
struct TensorLoss {
  torch::Tensor loss;
  torch::Tensor grad;
  torch::Tensor stats;
};
TensorLoss embeddings_loss_with_tensors(const torch::Tensor& x, const DeviceLabelGroups& groups,
                                        const TripletOptions& options, int64_t first, int64_t last, bool unit_rows);

}  // namespace semihard::core
