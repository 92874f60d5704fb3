#include "state_dict.h"

#include <map>
#include <set>
#include <sstream>

namespace semihard::core {
namespace {

std::map<std::string, torch::Tensor> backbone_entries(EmbeddingNet& model) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : model->backbone().named_parameters()) out.emplace(p.key(), p.value());
  for (const auto& b : model->backbone().named_buffers()) out.emplace(b.key(), b.value());
  return out;
}

std::string shape_text(c10::IntArrayRef shape) {
  std::ostringstream s;
  s << shape;
  return s.str();
}

void list(std::ostringstream& message, const char* what, const std::vector<std::string>& items) {
  if (items.empty()) return;
  message << "\n  " << what << " (" << items.size() << "):";
  for (const std::string& item : items) message << " " << item;
}

}  // namespace

void load_backbone_weights(EmbeddingNet& model, const std::vector<NamedTensorData>& tensors) {
  std::map<std::string, torch::Tensor> entries = backbone_entries(model);
  std::set<std::string> given;
  std::vector<std::string> unexpected, repeated, misshaped, missing;
  std::vector<std::pair<torch::Tensor, const torch::Tensor*>> copies;
  for (const NamedTensorData& t : tensors) {
    // The file's own task's output layers: torchvision's classifier, or the head of a network
    // semihard exported (a new task gets a new head, as fastai's cnn_learner does).
    if (t.name == "fc.weight" || t.name == "fc.bias" || t.name.rfind("head.", 0) == 0) continue;
    const auto found = entries.find(t.name);
    if (found == entries.end()) {
      unexpected.push_back(t.name);
      continue;
    }
    if (!given.insert(t.name).second) {
      repeated.push_back(t.name);
      continue;
    }
    if (t.tensor.sizes() != found->second.sizes()) {
      misshaped.push_back(t.name + " (given " + shape_text(t.tensor.sizes()) + ", the network's " +
                          shape_text(found->second.sizes()) + ")");
      continue;
    }
    copies.emplace_back(found->second, &t.tensor);
  }
  for (const auto& [name, tensor] : entries) {
    if (given.count(name) == 0) missing.push_back(name);
  }
  if (!unexpected.empty() || !repeated.empty() || !misshaped.empty() || !missing.empty()) {
    std::ostringstream message;
    message << "the weights do not fit this " << name_of(kBackboneNames, model->options().backbone)
            << " backbone (torchvision's state_dict keys expected; nothing was loaded):";
    list(message, "missing", missing);
    list(message, "unexpected", unexpected);
    list(message, "given more than once", repeated);
    list(message, "mis-shaped", misshaped);
    TORCH_CHECK(false, message.str());
  }
  torch::NoGradGuard no_grad;
  for (auto& [target, source] : copies) target.copy_(source->to(target.device(), target.scalar_type()));
}

std::vector<NamedTensorData> export_weights(EmbeddingNet& model) {
  std::vector<NamedTensorData> out;
  auto add = [&](const std::string& name, const torch::Tensor& t) {
    out.push_back({name, t.detach().to(torch::kCPU).contiguous().clone()});
  };
  for (const auto& p : model->backbone().named_parameters()) add(p.key(), p.value());
  for (const auto& b : model->backbone().named_buffers()) add(b.key(), b.value());
  for (const auto& p : model->head->named_parameters()) add("head." + p.key(), p.value());
  for (const auto& b : model->head->named_buffers()) add("head." + b.key(), b.value());
  return out;
}

}  // namespace semihard::core
