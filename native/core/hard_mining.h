// Batch-hard mining as TensorFlow Addons' triplet_hard_loss defines it, for one block of
// anchor rows.
//
// Per anchor a: hardest positive  = max_{p: same label, p != a} D[a,p], else the row minimum;
//               hardest negative  = min_{n: other label} D[a,n], else the row maximum;
// term = max((hp - hn) + margin, 0), or log1p(exp(hp - hn)) when soft. TF's gradient rules,
// ties included, are reproduced. The soft term stays finite where TF's exp overflows.
#pragma once

#include <torch/types.h>

#include "label_groups.h"
#include "mined_block.h"

namespace semihard::core {

// CPU: one pass per anchor row. `block`: rows [begin, begin + block.size(0)), float32, CPU.
// `with_stats`: fill the block's TripletStats (triplet_stats.h) on the way.
MinedBlock mine_hard_block(const torch::Tensor& block, int64_t begin, const LabelGroups& groups, float margin,
                           bool soft, bool with_stats = true);

// Any device: the same with tensor operations on the whole block (used on CUDA), nothing
// read back to the host. `labels`: all B labels, int64, on the block's device.
// `with_stats`: the block's stats as a device tensor (DeviceMinedBlock::stats).
DeviceMinedBlock mine_hard_block_tensor(const torch::Tensor& block, int64_t begin, const torch::Tensor& labels,
                                        float margin, bool soft, bool with_stats = true);

}  // namespace semihard::core
