#include "embedder.h"

#include <cmath>

namespace semihard::core {

Embedder::Embedder(const EmbedderOptions& options) : options_(options) {
  TORCH_CHECK(options.dim > 0, "the embedding width must be positive");
  model_ = EmbeddingNet(options.backbone, options.dim);
  model_->to(options.device);
  model_->eval();
  for (torch::Tensor p : model_->parameters()) p.set_requires_grad(false);
}

void Embedder::load_state(const std::string& bytes) {
  torch::serialize::InputArchive archive;
  open_state(bytes, options_.device, archive);
  const ModelState state = load_model_state(archive, model_);
  TORCH_CHECK(state.height > 0 && state.width > 0, "the state records no image size");
  TORCH_CHECK(std::isfinite(state.normalisation.mean) && std::isfinite(state.normalisation.std) && state.normalisation.std > 0,
              "the state's normalisation is not finite and positive");
  state_ = state;
}

torch::Tensor Embedder::embed(const torch::Tensor& images) {
  TORCH_CHECK(loaded(), "load_state must come before embed");
  TORCH_CHECK(images.dim() == 3 && images.size(1) == state_.height && images.size(2) == state_.width,
              "images must be N x ", state_.height, " x ", state_.width);
  TORCH_CHECK(images.scalar_type() == torch::kUInt8 || images.scalar_type() == torch::kFloat32,
              "images must be uint8 or float32");
  return embed_images(model_, state_.normalisation, options_.device, images, options_.dim);
}

}  // namespace semihard::core
