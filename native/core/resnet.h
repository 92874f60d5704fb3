// torchvision's ResNet-18 / 34 / 50 bodies (torchvision/models/resnet.py, v1.5: a Bottleneck
// strides on its 3 x 3 conv2), cut before the average pool and fc: images -> the last feature
// map (N x 512 or 2048 x h x w). The module's parameter and buffer names are those of
// torchvision's state_dict() without fc.* (conv1.weight, bn1.running_var,
// layer1.0.downsample.1.weight, ...), so its weight files load by name. Stems: 'imagenet' is
// torchvision's (7 x 7 stride-2 conv1, 3 x 3 stride-2 max-pool); 'small' keeps the names with a
// 3 x 3 stride-1 conv1 and no max-pool, for small images such as 28 x 28 digits. BatchNorm is
// SyncBatchNorm2d (eps 1e-5, momentum 0.1, as torchvision's).
#pragma once

#include <cstdint>

#include <torch/torch.h>

#include "names.h"
#include "sync_batch_norm.h"

namespace semihard::core {

enum class Stem { kImageNet, kSmall };
inline constexpr Named<Stem> kStemNames[] = {{"imagenet", Stem::kImageNet}, {"small", Stem::kSmall}};

// Two 3 x 3 convolutions (expansion 1).
struct BasicBlockImpl : torch::nn::Module {
  BasicBlockImpl(int64_t in_channels, int64_t planes, int64_t stride);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  SyncBatchNorm2d bn1{nullptr}, bn2{nullptr};
  torch::nn::Sequential downsample{nullptr};  // null: identity shortcut
};
TORCH_MODULE(BasicBlock);

// 1 x 1 reduce, 3 x 3 (strided), 1 x 1 expand to 4 x planes.
struct BottleneckImpl : torch::nn::Module {
  BottleneckImpl(int64_t in_channels, int64_t planes, int64_t stride);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  SyncBatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  torch::nn::Sequential downsample{nullptr};
};
TORCH_MODULE(Bottleneck);

struct ResNetImpl : torch::nn::Module {
  // depth: 18, 34 or 50.
  ResNetImpl(int64_t depth, Stem stem, int64_t in_channels);
  // N x in_channels x H x W -> N x channels() x h x w.
  torch::Tensor forward(const torch::Tensor& images);
  int64_t channels() const { return channels_; }

  torch::nn::Conv2d conv1{nullptr};
  SyncBatchNorm2d bn1{nullptr};
  torch::nn::Sequential layer1{nullptr}, layer2{nullptr}, layer3{nullptr}, layer4{nullptr};

 private:
  bool max_pool_ = true;
  int64_t channels_ = 0;
};
TORCH_MODULE(ResNet);

}  // namespace semihard::core
