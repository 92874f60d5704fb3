// Semi-hard negative mining as TensorFlow Addons' triplet_semihard_loss defines it, for one
// block of anchor rows, in O(B log K) per anchor (K = positives of the anchor) and O(B)
// scratch per thread: never the B x B x B tensor TF tiles.
//
// For anchor a and positive p (same label, p != a), TF takes
//   the nearest negative strictly farther than D[a,p]          if one exists,
//   else the farthest negative                                  if a has negatives,
//   else the row minimum of D[a,:] (the diagonal, 0 for L2),
// loss term  max(margin + (D[a,p] - chosen), 0), and TF's gradient rules, ties included:
// its masked min/max and reduce_min/max split gradient equally between tied entries.
#pragma once

#include <torch/types.h>

#include "label_groups.h"
#include "mined_block.h"

namespace semihard::core {

// `block`: rows [begin, begin + block.size(0)) of the distance matrix, float32, CPU.
// `with_stats`: fill the block's TripletStats (triplet_stats.h) in the same sweep.
MinedBlock mine_semihard_block(const torch::Tensor& block, int64_t begin, const LabelGroups& groups,
                               float margin, bool with_stats = true);

}  // namespace semihard::core
