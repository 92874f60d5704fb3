// Collectives that autograd differentiates through, for a loss over all ranks' samples whose
// gradient reaches every sample that shaped it, on whatever rank that sample lives.
#pragma once

#include <torch/types.h>

#include "communicator.h"

namespace semihard::core {

// Every rank's n rows, rank-major. Backward: the gradient of the global rows is summed over
// ranks and each rank keeps its own n rows (a reduce-scatter): rows another rank's loss used
// get that rank's gradient too.
torch::Tensor gather_rows(Communicator& communicator, const torch::Tensor& local);

// The sum over ranks. Backward: the sum over ranks of the incoming gradients, since every
// rank's output depends on every rank's input.
torch::Tensor all_reduce_sum(Communicator& communicator, const torch::Tensor& local);

}  // namespace semihard::core
