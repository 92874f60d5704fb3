// Semi-hard negative mining with tensor operations on a whole block of anchor rows, where
// the block is (CUDA, or the CPU for testing): the rules of semihard_mining.h, TF's choice of
// negative, ties and gradient splitting included, with nothing read back to the host. Every
// shape depends on the block's size, the largest class and a capacity, never on the data.
//
// Per anchor row: its positives' distances, sorted, are thresholds; each negative falls in
// the bucket of the positives it is strictly farther than (searchsorted), and each bucket
// keeps its nearest negative and the count of its ties (scatter_reduce / scatter_add). The
// buckets hold disjoint, increasing ranges of distance, so positive k's semi-hard negative
// is the nearest one of the first non-empty bucket past k (a suffix minimum over the
// buckets); without one, TF's negatives_inside (the farthest negative, else the row minimum).
// The gradient is a dense rows x B weight block (ties split as TF's masked min/max split
// them), packed into `capacity` entries a row (pack_dense_weights). Memory: O(rows x B).
#pragma once

#include <torch/types.h>

#include "mined_block.h"

namespace semihard::core {

// The labels as the tensor miners use them, on the device, built once per batch.
struct DeviceLabelGroups {
  torch::Tensor labels;       // B, int64
  torch::Tensor order;        // B, rows sorted by (label, row)
  torch::Tensor group_start;  // B, where each row's class starts in `order`
  torch::Tensor group_size;   // B, each row's class size (the row included)
  int64_t largest_group = 0;  // read back once: it sizes the positives' slots
  int64_t positive_pairs = 0; // ordered pairs (a, p), a != p, with equal labels
};

// `labels`: B integers (any integer dtype, any device). Sorts them on `device`; reads back
// two numbers (the largest class, the positive pairs).
DeviceLabelGroups group_labels_on_device(const torch::Tensor& labels, const torch::Device& device);

// `block`: rows [begin, begin + block.size(0)) of the B x B distance matrix, float32 or
// float64, on the device of `groups`. Entries: `capacity` a row.
DeviceMinedBlock mine_semihard_block_tensor(const torch::Tensor& block, int64_t begin, const DeviceLabelGroups& groups,
                                            float margin, int64_t capacity);

// Entries a row of the semi-hard weights needs without ties: its positives, one negative per
// positive, a row maximum and minimum; plus room for a few ties.
int64_t semihard_entries_per_row(const DeviceLabelGroups& groups);

}  // namespace semihard::core
