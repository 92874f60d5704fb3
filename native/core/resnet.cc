#include "resnet.h"

#include <vector>

namespace semihard::core {
namespace {

namespace nn = torch::nn;

nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(false));
}

// torchvision's shortcut when the shape changes: Sequential(conv1x1(stride), BatchNorm).
nn::Sequential downsample_or_null(int64_t in, int64_t out, int64_t stride) {
  if (stride == 1 && in == out) return nullptr;
  return nn::Sequential(conv(in, out, 1, stride), SyncBatchNorm2d(out));
}

}  // namespace

BasicBlockImpl::BasicBlockImpl(int64_t in_channels, int64_t planes, int64_t stride) {
  conv1 = register_module("conv1", conv(in_channels, planes, 3, stride));
  bn1 = register_module("bn1", SyncBatchNorm2d(planes));
  conv2 = register_module("conv2", conv(planes, planes, 3, 1));
  bn2 = register_module("bn2", SyncBatchNorm2d(planes));
  downsample = downsample_or_null(in_channels, planes, stride);
  if (downsample) register_module("downsample", downsample);
}

torch::Tensor BasicBlockImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = torch::relu(bn1(conv1(x)));
  y = bn2(conv2(y));
  return torch::relu(y + (downsample ? downsample->forward(x) : x));
}

BottleneckImpl::BottleneckImpl(int64_t in_channels, int64_t planes, int64_t stride) {
  conv1 = register_module("conv1", conv(in_channels, planes, 1, 1));
  bn1 = register_module("bn1", SyncBatchNorm2d(planes));
  conv2 = register_module("conv2", conv(planes, planes, 3, stride));
  bn2 = register_module("bn2", SyncBatchNorm2d(planes));
  conv3 = register_module("conv3", conv(planes, planes * 4, 1, 1));
  bn3 = register_module("bn3", SyncBatchNorm2d(planes * 4));
  downsample = downsample_or_null(in_channels, planes * 4, stride);
  if (downsample) register_module("downsample", downsample);
}

torch::Tensor BottleneckImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = torch::relu(bn1(conv1(x)));
  y = torch::relu(bn2(conv2(y)));
  y = bn3(conv3(y));
  return torch::relu(y + (downsample ? downsample->forward(x) : x));
}

ResNetImpl::ResNetImpl(int64_t depth, Stem stem, int64_t in_channels) {
  std::vector<int64_t> blocks;
  switch (depth) {
    case 18: blocks = {2, 2, 2, 2}; break;
    case 34:
    case 50: blocks = {3, 4, 6, 3}; break;
    default: TORCH_CHECK(false, "ResNet: depth must be 18, 34 or 50, got ", depth);
  }
  const bool bottleneck = depth == 50;
  max_pool_ = stem == Stem::kImageNet;
  conv1 = register_module("conv1", stem == Stem::kImageNet ? conv(in_channels, 64, 7, 2) : conv(in_channels, 64, 3, 1));
  bn1 = register_module("bn1", SyncBatchNorm2d(64));
  int64_t channels = 64;
  const int64_t planes[] = {64, 128, 256, 512};
  nn::Sequential* layers[] = {&layer1, &layer2, &layer3, &layer4};
  for (size_t stage = 0; stage < 4; ++stage) {
    nn::Sequential layer;
    for (int64_t b = 0; b < blocks[stage]; ++b) {
      const int64_t stride = (stage > 0 && b == 0) ? 2 : 1;
      if (bottleneck) {
        layer->push_back(Bottleneck(channels, planes[stage], stride));
        channels = planes[stage] * 4;
      } else {
        layer->push_back(BasicBlock(channels, planes[stage], stride));
        channels = planes[stage];
      }
    }
    *layers[stage] = register_module("layer" + std::to_string(stage + 1), layer);
  }
  channels_ = channels;
}

torch::Tensor ResNetImpl::forward(const torch::Tensor& images) {
  torch::Tensor x = torch::relu(bn1(conv1(images)));
  if (max_pool_) x = torch::max_pool2d(x, 3, 2, 1);
  return layer4->forward(layer3->forward(layer2->forward(layer1->forward(x))));
}

}  // namespace semihard::core
