// BatchNorm2d with a choice of training-mode statistics:
//  - kSync (default): those of the global batch when the model trains in several processes:
//    mean and variance come from sums all-reduced over ranks (differentiably), so forward
//    and backward are those of one process holding the whole batch (up to float summation
//    order, which a near-constant channel can amplify);
//  - kLocal: each process's own batch (PyTorch DDP without SyncBatchNorm);
//  - kFrozen: the running statistics, neither batch's nor updated (a per-sample forward;
//    the affine weight and bias still learn when trainable).
// Alone (one process, or eval mode) kSync and kLocal are torch::nn::BatchNorm2d exactly. The
// parameter and buffer names are BatchNorm2d's: checkpoints do not depend on the choice.
#pragma once

#include <memory>
#include <string>

#include <torch/torch.h>

#include "communicator.h"
#include "names.h"

namespace semihard::core {

enum class BatchNormStatistics { kSync, kLocal, kFrozen };
inline constexpr Named<BatchNormStatistics> kBatchNormStatisticsNames[] = {
    {"sync", BatchNormStatistics::kSync}, {"local", BatchNormStatistics::kLocal}, {"frozen", BatchNormStatistics::kFrozen}};

struct SyncBatchNorm2dImpl : torch::nn::BatchNorm2dImpl {
  explicit SyncBatchNorm2dImpl(int64_t features) : torch::nn::BatchNorm2dImpl(features) {}
  torch::Tensor forward(const torch::Tensor& input);

  // Not owned; set by EmbeddingNet::set_communicator, null when training alone.
  Communicator* communicator = nullptr;
  BatchNormStatistics statistics = BatchNormStatistics::kSync;
};
TORCH_MODULE(SyncBatchNorm2d);

}  // namespace semihard::core
