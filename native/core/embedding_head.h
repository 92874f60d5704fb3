// fastai's head on a CNN body, ending in an embedding: the feature map pooled ('avg': adaptive
// average; 'concat': [adaptive average, adaptive max] concatenated, doubling the features,
// fastai's AdaptiveConcatPool2d), flattened, BatchNorm1d (optional), Dropout (p, optional),
// Linear(features -> dim, no bias), L2 normalisation. Names: bn.{weight, bias, running_mean,
// running_var, num_batches_tracked} and linear.weight; a Python module with `bn`, `drop` and
// `linear` submodules mirrors it. The BatchNorm is a SyncBatchNorm2d over N x F x 1 x 1 (the
// same numbers as BatchNorm1d on N x F) so that it shares the body's statistics modes.
#pragma once

#include <cstdint>

#include <torch/torch.h>

#include "names.h"
#include "sync_batch_norm.h"

namespace semihard::core {

enum class Pool { kAvg, kConcat };
inline constexpr Named<Pool> kPoolNames[] = {{"avg", Pool::kAvg}, {"concat", Pool::kConcat}};

struct HeadOptions {
  Pool pool = Pool::kAvg;
  // The pooled map's side: 1, or (convnet-spatial) 7: the map pooled to 7 x 7 and kept whole.
  int64_t pool_side = 1;
  bool batch_norm = false;
  double dropout = 0.0;  // in [0, 1)
};

struct EmbeddingHeadImpl : torch::nn::Module {
  // channels: the body's feature-map channels.
  EmbeddingHeadImpl(int64_t channels, int64_t dim, const HeadOptions& options);

  // N x channels x h x w -> N x features() (pooled and flattened).
  torch::Tensor pool(const torch::Tensor& map) const;
  // The embedding (N x dim, unit rows, float32 under autocast too). dropout_mask: N x features() of 0 and 1 / (1 - p) drawn
  // by the caller (a trainer's own generator); undefined: LibTorch's dropout when training.
  torch::Tensor forward(const torch::Tensor& map, const torch::Tensor& dropout_mask = {});
  int64_t features() const { return features_; }
  const HeadOptions& options() const { return options_; }

  // States saved before the head had submodules hold the linear layer's weight as `weight`
  // (a head with no BatchNorm): loaded into linear.weight.
  void load(torch::serialize::InputArchive& archive) override;

  SyncBatchNorm2d bn{nullptr};  // null without BatchNorm
  torch::nn::Dropout drop{nullptr};
  torch::nn::Linear linear{nullptr};

 private:
  HeadOptions options_;
  int64_t features_ = 0;
};
TORCH_MODULE(EmbeddingHead);

}  // namespace semihard::core
