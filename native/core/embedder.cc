#include "embedder.h"

#include <ATen/Context.h>
#include <c10/core/DeviceGuard.h>

namespace semihard::core {

Embedder::Embedder(const EmbedderOptions& options) : options_(options) {
  TORCH_CHECK(options.network.dim > 0, "the embedding width must be positive");
  TORCH_CHECK(options.channels == 1 || options.channels == 3, "Embedder: channels must be 1 or 3, got ", options.channels);
  model_ = EmbeddingNet(options.network);
  const c10::OptionalDeviceGuard guard(cuda_device(options.device));
  model_->to(options.device);
  if (options.device.is_cuda()) at::globalContext().setBenchmarkCuDNN(true);
  model_->eval();
  for (torch::Tensor p : model_->parameters()) p.set_requires_grad(false);
}

void Embedder::load_state(const std::string& bytes) {
  const c10::OptionalDeviceGuard guard(cuda_device(options_.device));
  torch::serialize::InputArchive archive;
  open_state(bytes, options_.device, archive);
  const ModelState state = load_model_state(archive, model_);
  model_->set_channels_last(options_.device.is_cuda() && is_resnet(options_.network.backbone));
  TORCH_CHECK(state.geometry.height > 0 && state.geometry.width > 0, "the state records no image size");
  TORCH_CHECK(state.geometry.channels == options_.channels && state.input_channels == options_.network.in_channels,
              "the state is of images of ", state.geometry.channels, " channels on a network of ", state.input_channels,
              " but this embedder's are of ", options_.channels, " on ", options_.network.in_channels);
  state_ = state;
}

torch::Tensor Embedder::embed(const torch::Tensor& images) {
  TORCH_CHECK(loaded(), "load_state must come before embed");
  const ImageGeometry& g = state_.geometry;
  TORCH_CHECK(images.dim() == 4 && images.size(1) == g.stored_height && images.size(2) == g.stored_width &&
                  images.size(3) == g.channels,
              "images must be N x ", g.stored_height, " x ", g.stored_width, " x ", g.channels);
  TORCH_CHECK(images.scalar_type() == torch::kUInt8 || images.scalar_type() == torch::kFloat32,
              "images must be uint8 or float32");
  const c10::OptionalDeviceGuard guard(cuda_device(options_.device));
  return embed_images(model_, state_.normalisation, g, options_.device, images, options_.network.dim, options_.precision);
}

}  // namespace semihard::core
