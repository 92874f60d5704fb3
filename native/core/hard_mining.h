// Batch-hard mining as TensorFlow Addons' triplet_hard_loss defines it, for one block of
// anchor rows, with tensor operations only (so it runs on CPU and CUDA alike).
//
// Per anchor a: hardest positive  = max_{p: same label, p != a} D[a,p], else the row minimum;
//               hardest negative  = min_{n: other label} D[a,n], else the row maximum;
// term = max((hp - hn) + margin, 0), or log1p(exp(hp - hn)) when soft. TF's gradient rules,
// ties included, are reproduced. The soft term stays finite where TF's exp overflows.
#pragma once

#include <torch/types.h>

#include "mined_block.h"

namespace semihard::core {

// `block`: rows [begin, begin + block.size(0)) of the distance matrix, float32.
// `labels`: all B labels, int64, on the block's device.
MinedBlock mine_hard_block(const torch::Tensor& block, int64_t begin, const torch::Tensor& labels,
                           float margin, bool soft);

}  // namespace semihard::core
