#include "model_state.h"

#include <algorithm>
#include <sstream>
#include <utility>
#include <vector>

namespace semihard::core {
namespace {

constexpr int64_t kEmbedChunk = 1024;

// Every parameter's and buffer's name and shape, in the module's order.
std::vector<std::pair<std::string, std::vector<int64_t>>> shapes(EmbeddingNet& model) {
  std::vector<std::pair<std::string, std::vector<int64_t>>> out;
  for (const auto& p : model->named_parameters()) out.emplace_back(p.key(), p.value().sizes().vec());
  for (const auto& b : model->named_buffers()) out.emplace_back(b.key(), b.value().sizes().vec());
  return out;
}

}  // namespace

void open_state(const std::string& bytes, const torch::Device& device, torch::serialize::InputArchive& archive) {
  std::istringstream stream(bytes);
  archive.load_from(stream, device);
  torch::Tensor format;
  archive.read("format", format);
  TORCH_CHECK(format.item<int64_t>() == kStateFormat, "unsupported native state format ", format.item<int64_t>());
}

ModelState load_model_state(torch::serialize::InputArchive& archive, EmbeddingNet& model) {
  torch::serialize::InputArchive model_archive;
  archive.read("model", model_archive);
  // Module::load takes each saved tensor as it is, whatever its shape: a state of another
  // configuration (another width or backbone) must be refused here, not run.
  const auto expected = shapes(model);
  model->load(model_archive);
  const auto loaded = shapes(model);
  for (size_t i = 0; i < expected.size(); ++i) {
    TORCH_CHECK(loaded[i].second == expected[i].second, "the state's ", expected[i].first, " has shape ",
                c10::IntArrayRef(loaded[i].second), " but this network's has ", c10::IntArrayRef(expected[i].second),
                ": the state was saved by a network of another configuration");
  }
  torch::Tensor normalisation, size;
  archive.read("normalisation", normalisation);
  archive.read("image_size", size);
  normalisation = normalisation.to(torch::kCPU);
  size = size.to(torch::kCPU);
  TORCH_CHECK(normalisation.numel() == 2 && size.numel() == 2, "the state's normalisation or image size is malformed");
  ModelState state;
  state.normalisation.mean = normalisation[0].item<float>();
  state.normalisation.std = normalisation[1].item<float>();
  state.height = size[0].item<int64_t>();
  state.width = size[1].item<int64_t>();
  return state;
}

torch::Tensor network_input(const torch::Tensor& images, const Normalisation& normalisation, const torch::Device& device) {
  torch::Tensor x = images.scalar_type() == torch::kUInt8 ? images.to(torch::kFloat32) / 255.0f
                                                          : images.to(torch::kFloat32);
  return ((x - normalisation.mean) / normalisation.std).unsqueeze(1).to(device);
}

torch::Tensor embed_images(EmbeddingNet& model, const Normalisation& normalisation, const torch::Device& device,
                           const torch::Tensor& images, int64_t dim) {
  TORCH_CHECK(images.dim() == 3, "images must be N x H x W");
  torch::NoGradGuard no_grad;
  model->eval();
  std::vector<torch::Tensor> out;
  for (int64_t start = 0; start < images.size(0); start += kEmbedChunk) {
    const int64_t n = std::min(kEmbedChunk, images.size(0) - start);
    out.push_back(model->forward(network_input(images.narrow(0, start, n), normalisation, device)).to(torch::kCPU));
  }
  if (out.empty()) return torch::empty({0, dim});
  return torch::cat(out);
}

}  // namespace semihard::core
