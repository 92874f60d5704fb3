// The embedding network of the recipe: a CNN cut before its classifier, then
// Linear(features -> dim, bias=False) and L2 normalisation. Backbones: a small fast convnet
// for small images such as 28 x 28 digits (the CPU default; its features averaged over the
// last map, or with convnet-spatial that map pooled to 7 x 7 and kept whole) and ResNet-18 /
// ResNet-34 adapted to small inputs (3 x 3 stride-1 stem, no max-pool). Each takes 1 or 3
// input channels and any input size. Their BatchNorm layers synchronise statistics across
// processes when training in several (sync_batch_norm.h).
#pragma once

#include <string>
#include <vector>

#include <torch/torch.h>

#include "communicator.h"
#include "names.h"
#include "sync_batch_norm.h"

namespace semihard::core {

enum class Backbone { kConvNet, kConvNetSpatial, kResNet18, kResNet34 };
inline constexpr Named<Backbone> kBackboneNames[] = {{"convnet", Backbone::kConvNet},
                                                     {"convnet-spatial", Backbone::kConvNetSpatial},
                                                     {"resnet18", Backbone::kResNet18},
                                                     {"resnet34", Backbone::kResNet34}};
// For C++ callers (native/tools); a name not in kBackboneNames fails a TORCH_CHECK.
Backbone parse_backbone(const std::string& name);

// What learns: everything, or (phase 1 of the recipe) only the head and BatchNorm layers.
enum class Freeze { kNone, kBackbone };
inline constexpr Named<Freeze> kFreezeNames[] = {{"none", Freeze::kNone}, {"backbone", Freeze::kBackbone}};

// ResNet's basic block: two 3 x 3 convolutions with BatchNorm, identity or 1 x 1 shortcut.
struct BasicBlockImpl : torch::nn::Module {
  BasicBlockImpl(int64_t in_channels, int64_t out_channels, int64_t stride);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  SyncBatchNorm2d bn1{nullptr}, bn2{nullptr};
  torch::nn::Sequential shortcut{nullptr};  // empty: identity
};
TORCH_MODULE(BasicBlock);

struct EmbeddingNetImpl : torch::nn::Module {
  EmbeddingNetImpl(Backbone backbone, int64_t dim, int64_t in_channels = 1);

  // images: N x C x H x W float32 (normalised) -> N x dim, each row of unit L2 norm.
  torch::Tensor forward(const torch::Tensor& images);

  // Sets requires_grad: kBackbone keeps the head and every BatchNorm parameter learning.
  void set_freeze(Freeze freeze);
  std::vector<torch::Tensor> trainable_parameters();
  // Training in several processes: BatchNorm statistics over the global batch (null: alone).
  void set_communicator(Communicator* communicator);
  // Which statistics BatchNorm uses in training (sync_batch_norm.h).
  void set_batch_norm_statistics(BatchNormStatistics statistics);
  // The parameters' group: "head", "batchnorm" or "backbone", keyed like named_parameters().
  std::vector<std::pair<std::string, std::string>> parameter_groups();

  torch::nn::Sequential backbone{nullptr};
  torch::nn::Linear head{nullptr};
  int64_t features = 0;
};
TORCH_MODULE(EmbeddingNet);

}  // namespace semihard::core
