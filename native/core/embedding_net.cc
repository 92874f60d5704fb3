#include "embedding_net.h"

namespace semihard::core {
namespace {

namespace nn = torch::nn;

nn::Conv2d conv3x3(int64_t in, int64_t out, int64_t stride = 1) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false));
}

// conv-BN-ReLU x 2 then 2 x 2 max-pool, twice, then one more conv-BN-ReLU: 28 -> 14 -> 7.
// The features: the 7 x 7 map averaged (128), or `spatial`, pooled to 7 x 7 whatever the input
// size and kept whole (128 x 7 x 7), so the head can tell where in the image a feature is.
nn::Sequential convnet(int64_t in_channels, bool spatial, int64_t& features) {
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
  const int64_t side = spatial ? 7 : 1;
  s->push_back(nn::AdaptiveAvgPool2d(nn::AdaptiveAvgPool2dOptions(side)));
  s->push_back(nn::Flatten());
  features = 128 * side * side;
  return s;
}

nn::Sequential resnet(const std::vector<int64_t>& blocks, int64_t in_channels, int64_t& features) {
  nn::Sequential s;
  s->push_back(conv3x3(in_channels, 64));
  s->push_back(SyncBatchNorm2d(64));
  s->push_back(nn::ReLU(nn::ReLUOptions().inplace(true)));
  int64_t channels = 64;
  const int64_t widths[] = {64, 128, 256, 512};
  for (size_t stage = 0; stage < blocks.size(); ++stage) {
    for (int64_t b = 0; b < blocks[stage]; ++b) {
      const int64_t stride = (stage > 0 && b == 0) ? 2 : 1;
      s->push_back(BasicBlock(channels, widths[stage], stride));
      channels = widths[stage];
    }
  }
  s->push_back(nn::AdaptiveAvgPool2d(nn::AdaptiveAvgPool2dOptions(1)));
  s->push_back(nn::Flatten());
  features = channels;
  return s;
}

}  // namespace

Backbone parse_backbone(const std::string& name) { return parse_name(kBackboneNames, name, "backbone"); }

BasicBlockImpl::BasicBlockImpl(int64_t in_channels, int64_t out_channels, int64_t stride) {
  conv1 = register_module("conv1", conv3x3(in_channels, out_channels, stride));
  bn1 = register_module("bn1", SyncBatchNorm2d(out_channels));
  conv2 = register_module("conv2", conv3x3(out_channels, out_channels));
  bn2 = register_module("bn2", SyncBatchNorm2d(out_channels));
  torch::nn::Sequential sc;
  if (stride != 1 || in_channels != out_channels) {
    sc->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels, out_channels, 1).stride(stride).bias(false)));
    sc->push_back(SyncBatchNorm2d(out_channels));
  }
  shortcut = register_module("shortcut", sc);
}

torch::Tensor BasicBlockImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = torch::relu(bn1(conv1(x)));
  y = bn2(conv2(y));
  return torch::relu(y + (shortcut->is_empty() ? x : shortcut->forward(x)));
}

EmbeddingNetImpl::EmbeddingNetImpl(Backbone kind, int64_t dim, int64_t in_channels) {
  TORCH_CHECK(dim >= 1, "EmbeddingNet: dim must be at least 1, got ", dim);
  switch (kind) {
    case Backbone::kConvNet: backbone = convnet(in_channels, false, features); break;
    case Backbone::kConvNetSpatial: backbone = convnet(in_channels, true, features); break;
    case Backbone::kResNet18: backbone = resnet({2, 2, 2, 2}, in_channels, features); break;
    case Backbone::kResNet34: backbone = resnet({3, 4, 6, 3}, in_channels, features); break;
  }
  register_module("backbone", backbone);
  head = register_module("head", torch::nn::Linear(torch::nn::LinearOptions(features, dim).bias(false)));
}

torch::Tensor EmbeddingNetImpl::forward(const torch::Tensor& images) {
  namespace F = torch::nn::functional;
  return F::normalize(head(backbone->forward(images)), F::NormalizeFuncOptions().p(2).dim(1));
}

std::vector<std::pair<std::string, std::string>> EmbeddingNetImpl::parameter_groups() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& item : named_modules("", /*include_self=*/false)) {
    const bool is_bn = item.value()->as<torch::nn::BatchNorm2d>() != nullptr;
    for (const auto& p : item.value()->named_parameters(/*recurse=*/false)) {
      const std::string name = item.key() + "." + p.key();
      const bool in_head = name.rfind("head.", 0) == 0;
      out.emplace_back(name, in_head ? "head" : is_bn ? "batchnorm" : "backbone");
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

}  // namespace semihard::core
