#include "model_state.h"

#include <sstream>
#include <utility>
#include <vector>

namespace semihard::core {
namespace {

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
  const int64_t f = format.item<int64_t>();
  TORCH_CHECK(f == 1 || f == kStateFormat, "unsupported native state format ", f);
}

ModelState read_model_meta(torch::serialize::InputArchive& archive) {
  torch::Tensor normalisation, size, geometry, input_channels;
  archive.read("normalisation", normalisation);
  archive.read("image_size", size);
  normalisation = normalisation.to(torch::kCPU, torch::kFloat32);
  size = size.to(torch::kCPU, torch::kInt64);
  TORCH_CHECK(size.numel() == 2, "the state's image size is malformed");
  // 1-D {mean, std}: a state from before colour images; 2 x C otherwise.
  if (normalisation.dim() == 1) normalisation = normalisation.view({2, normalisation.numel() / 2});
  TORCH_CHECK(normalisation.dim() == 2 && normalisation.size(0) == 2 && normalisation.size(1) >= 1,
              "the state's normalisation is malformed");
  ModelState state;
  ImageGeometry& g = state.geometry;
  g.height = size[0].item<int64_t>();
  g.width = size[1].item<int64_t>();
  if (archive.try_read("geometry", geometry)) {
    geometry = geometry.to(torch::kCPU, torch::kInt64);
    TORCH_CHECK(geometry.numel() == 5, "the state's geometry is malformed");
    g.channels = geometry[0].item<int64_t>();
    g.stored_height = geometry[1].item<int64_t>();
    g.stored_width = geometry[2].item<int64_t>();
    TORCH_CHECK(geometry[3].item<int64_t>() == g.height && geometry[4].item<int64_t>() == g.width,
                "the state's geometry disagrees with its image size");
  } else {
    g.channels = 1;
    g.stored_height = g.height;
    g.stored_width = g.width;
  }
  // A trainer saved before it had data records no size (height 0).
  if (g.height > 0) check_geometry(g);
  state.input_channels = archive.try_read("input_channels", input_channels) ? input_channels.to(torch::kCPU).item<int64_t>()
                                                                             : g.channels;
  TORCH_CHECK(state.input_channels == g.channels || (g.channels == 1 && state.input_channels == 3),
              "the state's network takes ", state.input_channels, " channels but its images have ", g.channels);
  const int64_t c = state.input_channels;
  TORCH_CHECK(normalisation.size(1) == c, "the state's normalisation has ", normalisation.size(1),
              " channels but its network takes ", c);
  const torch::Tensor n = normalisation.contiguous();
  state.normalisation.mean.assign(n[0].data_ptr<float>(), n[0].data_ptr<float>() + c);
  state.normalisation.std.assign(n[1].data_ptr<float>(), n[1].data_ptr<float>() + c);
  check_normalisation(state.normalisation, c);
  return state;
}

ModelState load_model_state(torch::serialize::InputArchive& archive, EmbeddingNet& model) {
  torch::Tensor format;
  archive.read("format", format);
  TORCH_CHECK(format.item<int64_t>() >= 2 || !is_resnet(model->options().backbone),
              "the state was saved by an older semihard with another ResNet layout (before torchvision's names); "
              "this semihard cannot load it: train the network again");
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
  return read_model_meta(archive);
}

void write_model_meta(torch::serialize::OutputArchive& archive, const ModelState& state) {
  const ImageGeometry& g = state.geometry;
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat32);
  archive.write("normalisation", torch::stack({torch::tensor(state.normalisation.mean, f32), torch::tensor(state.normalisation.std, f32)}));
  archive.write("image_size", torch::tensor({g.height, g.width}));
  archive.write("geometry", torch::tensor({g.channels, g.stored_height, g.stored_width, g.height, g.width}));
  archive.write("input_channels", torch::tensor(state.input_channels));
}

}  // namespace semihard::core
