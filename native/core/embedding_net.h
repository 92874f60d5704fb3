// The embedding network of the recipe: a CNN body cut before its classifier, then fastai's head
// (embedding_head.h: pool, BatchNorm, Dropout, Linear(features -> dim, no bias), L2
// normalisation). Bodies: a small fast convnet for small images such as 28 x 28 digits (the CPU
// default; convnet-spatial pools its last map to 7 x 7 and keeps it whole) and torchvision's
// ResNet-18 / 34 / 50 (resnet.h), with torchvision's stem or a small-image one. The body is
// registered as `backbone`: a ResNet's keys below it are torchvision's. Each takes 1 or 3 input
// channels and any input size. BatchNorm layers synchronise statistics across processes when
// training in several (sync_batch_norm.h).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "communicator.h"
#include "embedding_head.h"
#include "names.h"
#include "resnet.h"
#include "sync_batch_norm.h"

namespace semihard::core {

enum class Backbone { kConvNet, kConvNetSpatial, kResNet18, kResNet34, kResNet50 };
inline constexpr Named<Backbone> kBackboneNames[] = {{"convnet", Backbone::kConvNet},
                                                     {"convnet-spatial", Backbone::kConvNetSpatial},
                                                     {"resnet18", Backbone::kResNet18},
                                                     {"resnet34", Backbone::kResNet34},
                                                     {"resnet50", Backbone::kResNet50}};
// For C++ callers (native/tools); a name not in kBackboneNames fails a TORCH_CHECK.
Backbone parse_backbone(const std::string& name);
inline bool is_resnet(Backbone b) { return b == Backbone::kResNet18 || b == Backbone::kResNet34 || b == Backbone::kResNet50; }

// What learns: everything, or (phase 1 of the recipe) only the head and BatchNorm layers.
enum class Freeze { kNone, kBackbone };
inline constexpr Named<Freeze> kFreezeNames[] = {{"none", Freeze::kNone}, {"backbone", Freeze::kBackbone}};

// The network's shape (what a state must have been saved by).
struct NetworkOptions {
  Backbone backbone = Backbone::kConvNet;
  Stem stem = Stem::kSmall;  // ResNets only
  int64_t dim = 128;
  int64_t in_channels = 1;  // 1 or 3
  HeadOptions head;         // pool_side is set from the backbone
};

struct EmbeddingNetImpl : torch::nn::Module {
  explicit EmbeddingNetImpl(const NetworkOptions& options);

  // images: N x C x H x W float32 (normalised) -> N x dim, each row of unit L2 norm.
  // dropout_mask: the head's (embedding_head.h).
  torch::Tensor forward(const torch::Tensor& images, const torch::Tensor& dropout_mask = {});
  // The body's feature map pooled as the head pools it (before its BatchNorm): N x features.
  torch::Tensor pooled_features(const torch::Tensor& images);

  // Sets requires_grad: kBackbone keeps the head and every BatchNorm parameter learning.
  void set_freeze(Freeze freeze);
  std::vector<torch::Tensor> trainable_parameters();
  // The trainable parameters of the body (its BatchNorm layers included) and of the head.
  std::vector<torch::Tensor> trainable_backbone_parameters();
  std::vector<torch::Tensor> trainable_head_parameters();
  // Training in several processes: BatchNorm statistics over the global batch (null: alone).
  void set_communicator(Communicator* communicator);
  // ResNets on CUDA: convolution weights and the input in channels-last memory format (the
  // layout cuDNN's fastest kernels take; the numbers are the same). Call again after loading
  // weights (loading replaces the tensors).
  void set_channels_last(bool on);
  // Which statistics BatchNorm uses in training (sync_batch_norm.h).
  void set_batch_norm_statistics(BatchNormStatistics statistics);
  // The parameters' group: "head", "batchnorm" or "backbone", keyed like named_parameters().
  std::vector<std::pair<std::string, std::string>> parameter_groups();

  // The body, registered as "backbone".
  torch::nn::Module& backbone() { return resnet_ ? static_cast<torch::nn::Module&>(*resnet_) : *convnet_; }
  const NetworkOptions& options() const { return options_; }

  EmbeddingHead head{nullptr};

 private:
  torch::Tensor feature_map(const torch::Tensor& images);

  NetworkOptions options_;
  bool channels_last_ = false;
  // One of them, registered as "backbone".
  torch::nn::Sequential convnet_{nullptr};
  ResNet resnet_{nullptr};
};
TORCH_MODULE(EmbeddingNet);

}  // namespace semihard::core
