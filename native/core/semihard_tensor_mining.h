// Semi-hard negative mining with tensor operations on a whole block of anchor rows, where
// the block is (CUDA, or the CPU for testing): the rules of semihard_mining.h, TF's choice of
// negative, ties and gradient splitting included, with nothing read back to the host. Every
// shape depends on the block's size and the largest class, never on the data.
//
// Per anchor row: its positives' distances, sorted, are thresholds; each negative falls in
// the bucket of the positives it is strictly farther than (searchsorted), and each bucket
// keeps its nearest negative and the count of its ties (scatter_reduce / scatter_add). The
// buckets hold disjoint, increasing ranges of distance, so positive k's semi-hard negative
// is the nearest one of the first non-empty bucket past k (a suffix minimum over the
// buckets); without one, TF's negatives_inside (the farthest negative, else the row minimum).
// The gradient is a dense rows x B weight block (ties split as TF's masked min/max split
// them). Memory: O(rows x B).
#pragma once

#include <torch/types.h>

#include "mined_block.h"

namespace semihard::core {

// What the tensor miners need to know of the labels before any kernel runs: counted on the
// host, where the labels are before they are uploaded, so that nothing is read back.
struct LabelCounts {
  int64_t largest_class = 0;   // sizes the positives' slots
  int64_t positive_pairs = 0;  // ordered pairs (a, p), a != p, with equal labels
};

// `labels`: B integers on the CPU (any integer dtype).
LabelCounts count_labels(const torch::Tensor& labels);

// The labels as the tensor miners use them, on the device, built once per batch.
struct DeviceLabelGroups {
  torch::Tensor labels;       // B, int64
  torch::Tensor order;        // B, rows sorted by (label, row)
  torch::Tensor group_start;  // B, where each row's class starts in `order`
  torch::Tensor group_size;   // B, each row's class size (the row included)
  LabelCounts counts;
};

// `labels`: B integers (any integer dtype, any device), `counts` theirs (count_labels). Sorts
// them on `device`; reads nothing back.
DeviceLabelGroups group_labels_on_device(const torch::Tensor& labels, const torch::Device& device,
                                         const LabelCounts& counts);

// `block`: rows [begin, begin + block.size(0)) of the B x B distance matrix, float32 or
// float64, on the device of `groups`. `with_stats`: the block's TripletStats as a device
// tensor (triplet_stats.h), from the miner's rows x slots intermediates.
DeviceMinedBlock mine_semihard_block_tensor(const torch::Tensor& block, int64_t begin, const DeviceLabelGroups& groups,
                                            float margin, bool with_stats = true);

}  // namespace semihard::core
