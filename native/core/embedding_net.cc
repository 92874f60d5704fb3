#include "embedding_net.h"

namespace semihard::core {
namespace {

namespace nn = torch::nn;

nn::Conv2d conv3x3(int64_t in, int64_t out) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(1).bias(false));
}

// conv-BN-ReLU x 2 then 2 x 2 max-pool, twice, then one more conv-BN-ReLU: 28 -> 14 -> 7; a
// map of 128 channels (the head pools it).
nn::Sequential convnet(int64_t in_channels) {
  nn::Sequential s;
  auto stage = [&](int64_t in, int64_t out) {
    s->push_back(conv3x3(in, out));
    s->push_back(SyncBatchNorm2d(out));
    s->push_back(nn::ReLU(nn::ReLUOptions().inplace(true)));
  };
  stage(in_channels, 32);
  stage(32, 32);
  s->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(2)));
  stage(32, 64);
  stage(64, 64);
  s->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(2)));
  stage(64, 128);
  return s;
}

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

Backbone parse_backbone(const std::string& name) { return parse_name(kBackboneNames, name, "backbone"); }

EmbeddingNetImpl::EmbeddingNetImpl(const NetworkOptions& options) : options_(options) {
  TORCH_CHECK(options.dim >= 1, "EmbeddingNet: dim must be at least 1, got ", options.dim);
  TORCH_CHECK(options.in_channels == 1 || options.in_channels == 3, "EmbeddingNet: in_channels must be 1 or 3, got ",
              options.in_channels);
  int64_t channels = 128;
  options_.head.pool_side = options.backbone == Backbone::kConvNetSpatial ? 7 : 1;
  switch (options.backbone) {
    case Backbone::kConvNet:
    case Backbone::kConvNetSpatial: convnet_ = register_module("backbone", convnet(options.in_channels)); break;
    case Backbone::kResNet18:
    case Backbone::kResNet34:
    case Backbone::kResNet50: {
      const int64_t depth = options.backbone == Backbone::kResNet18 ? 18 : options.backbone == Backbone::kResNet34 ? 34 : 50;
      resnet_ = register_module("backbone", ResNet(depth, options.stem, options.in_channels));
      channels = resnet_->channels();
      break;
    }
  }
  head = register_module("head", EmbeddingHead(channels, options.dim, options_.head));
}

torch::Tensor EmbeddingNetImpl::feature_map(const torch::Tensor& images) {
  if (!resnet_) return convnet_->forward(images);
  return resnet_->forward(channels_last_ ? images.contiguous(at::MemoryFormat::ChannelsLast) : images);
}

void EmbeddingNetImpl::set_channels_last(bool on) {
  channels_last_ = on;
  const auto format = on ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
  torch::NoGradGuard no_grad;
  for (torch::Tensor& p : parameters()) {
    if (p.dim() == 4) p.set_data(p.data().contiguous(format));
  }
}

torch::Tensor EmbeddingNetImpl::forward(const torch::Tensor& images, const torch::Tensor& dropout_mask) {
  return head->forward(feature_map(images), dropout_mask);
}

torch::Tensor EmbeddingNetImpl::pooled_features(const torch::Tensor& images) { return head->pool(feature_map(images)); }

std::vector<std::pair<std::string, std::string>> EmbeddingNetImpl::parameter_groups() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& item : named_modules("", /*include_self=*/false)) {
    const bool is_bn = item.value()->as<torch::nn::BatchNorm2d>() != nullptr;
    for (const auto& p : item.value()->named_parameters(/*recurse=*/false)) {
      const std::string name = item.key() + "." + p.key();
      out.emplace_back(name, starts_with(name, "head.") ? "head" : is_bn ? "batchnorm" : "backbone");
    }
  }
  return out;
}

void EmbeddingNetImpl::set_freeze(Freeze freeze) {
  const auto params = named_parameters();
  for (const auto& [name, group] : parameter_groups()) {
    params[name].set_requires_grad(freeze == Freeze::kNone || group != "backbone");
  }
}

void EmbeddingNetImpl::set_communicator(Communicator* communicator) {
  for (const auto& module : modules(/*include_self=*/false)) {
    if (auto* bn = module->as<SyncBatchNorm2dImpl>()) bn->communicator = communicator;
  }
}

void EmbeddingNetImpl::set_batch_norm_statistics(BatchNormStatistics statistics) {
  for (const auto& module : modules(/*include_self=*/false)) {
    if (auto* bn = module->as<SyncBatchNorm2dImpl>()) bn->statistics = statistics;
  }
}

std::vector<torch::Tensor> EmbeddingNetImpl::trainable_parameters() {
  std::vector<torch::Tensor> out;
  for (const auto& p : parameters()) {
    if (p.requires_grad()) out.push_back(p);
  }
  return out;
}

std::vector<torch::Tensor> EmbeddingNetImpl::trainable_backbone_parameters() {
  std::vector<torch::Tensor> out;
  for (const auto& p : backbone().parameters()) {
    if (p.requires_grad()) out.push_back(p);
  }
  return out;
}

std::vector<torch::Tensor> EmbeddingNetImpl::trainable_head_parameters() {
  std::vector<torch::Tensor> out;
  for (const auto& p : head->parameters()) {
    if (p.requires_grad()) out.push_back(p);
  }
  return out;
}

}  // namespace semihard::core
