#include "trainer_weights.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../core/state_dict.h"
#include "convert.h"
#include "errors.h"
#include "trainer_results.h"

namespace semihard::binding {

WeightsArg backbone_weights_arg(Napi::Env env, const Napi::Value& tensors) {
  auto data = std::make_shared<std::vector<core::NamedTensorData>>();
  for (auto& [name, tensor] : named_tensors_to_tensors(env, tensors, "tensors")) data->push_back({name, std::move(tensor)});
  return data;
}

Napi::Promise queue_load_backbone_weights(Napi::Env env, core::EmbeddingNet model, WeightsArg data,
                                          TaskWorker::Finally release, Napi::Object keep_alive) {
  return TaskWorker::queue(
      env, "semihard:load-weights", [model, data]() mutable { core::load_backbone_weights(model, *data); },
      [](Napi::Env e) -> Napi::Value { return e.Undefined(); }, std::move(release), keep_alive);
}

Napi::Promise queue_export_weights(Napi::Env env, core::EmbeddingNet model, TaskWorker::Finally release,
                                   Napi::Object keep_alive) {
  auto out = std::make_shared<std::vector<std::pair<std::string, torch::Tensor>>>();
  return TaskWorker::queue(
      env, "semihard:export-weights",
      [model, out]() mutable {
        for (auto& t : core::export_weights(model)) out->emplace_back(t.name, std::move(t.tensor));
      },
      [out](Napi::Env e) -> Napi::Value { return tensors_to_named_tensors(e, *out); }, std::move(release), keep_alive);
}

Napi::Promise queue_compute_gradients(Napi::Env env, core::Trainer* trainer, std::shared_ptr<torch::Tensor> indices,
                                      TaskWorker::Finally release, Napi::Object keep_alive) {
  auto loss = std::make_shared<float>(0.0f);
  auto grads = std::make_shared<NamedTensors>();
  return TaskWorker::queue(
      env, "semihard:gradients",
      [trainer, indices, loss, grads] {
        *loss = trainer->compute_gradients(*indices).loss_value();
        for (const auto& p : trainer->model()->named_parameters()) {
          if (p.value().grad().defined()) grads->emplace_back(p.key(), p.value().grad().detach().flatten().to(torch::kCPU));
        }
      },
      [loss, grads](Napi::Env e) -> Napi::Value { return gradients_to_js(e, *loss, *grads); }, std::move(release),
      keep_alive);
}

Napi::Value parameter_value(Napi::Env env, core::EmbeddingNet model, const Napi::Value& name_value) {
  if (!name_value.IsString()) throw type_error(env, "name", "a string");
  const std::string name = name_value.As<Napi::String>().Utf8Value();
  const auto params = model->named_parameters();
  const torch::Tensor* p = params.find(name);
  if (p == nullptr) throw range_error(env, "name", "Expected the name of a parameter for name but received '" + name + "'");
  return tensor_to_float32_array(env, p->detach().flatten());
}

Napi::Value pooled_features_for_testing(const Napi::CallbackInfo& info, core::EmbeddingNet model, const torch::Device& device) {
  Napi::Env env = info.Env();
  const int64_t count = positive_integer(env, info[1], "count");
  const int64_t channels = positive_integer(env, info[2], "channels");
  const int64_t height = positive_integer(env, info[3], "height");
  const int64_t width = positive_integer(env, info[4], "width");
  // N x C x H x W through the N x H x W x C shape check: the same element count.
  const torch::Tensor images = images_to_tensor(env, info[0], count, channels, height, width, "images");
  torch::NoGradGuard no_grad;
  model->eval();
  return tensor_to_float32_array(env, model->pooled_features(images.to(torch::kFloat32).to(device)));
}

}  // namespace semihard::binding
