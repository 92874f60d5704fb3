#include "trainer_results.h"

#include "../core/lr_finder.h"
#include "convert.h"

namespace semihard::binding {
namespace {

template <typename Array, typename T>
Array typed_array(Napi::Env env, const std::vector<T>& values) {
  Array out = Array::New(env, values.size());
  for (size_t i = 0; i < values.size(); ++i) out[i] = values[i];
  return out;
}

}  // namespace

Napi::Object run_outcome_to_js(Napi::Env env, const RunOutcome& outcome) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("losses", typed_array<Napi::Float32Array>(env, outcome.losses));
  out.Set("lrs", typed_array<Napi::Float64Array>(env, outcome.lrs));
  out.Set("cancelled", outcome.cancelled);
  return out;
}

Napi::Object lr_find_result_to_js(Napi::Env env, const core::LrFindResult& result) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("lrs", typed_array<Napi::Float64Array>(env, result.lrs));
  out.Set("losses", typed_array<Napi::Float64Array>(env, result.losses));
  out.Set("smoothed", typed_array<Napi::Float64Array>(env, result.smoothed));
  out.Set("suggestion", result.suggestion);
  out.Set("diverged", result.diverged);
  return out;
}

Napi::Object gradients_to_js(Napi::Env env, float loss, const NamedTensors& gradients) {
  Napi::Object out = Napi::Object::New(env);
  Napi::Object g = Napi::Object::New(env);
  for (const auto& [name, t] : gradients) g.Set(name, tensor_to_float32_array(env, t));
  out.Set("loss", loss);
  out.Set("gradients", g);
  return out;
}

Napi::Array parameter_info_to_js(Napi::Env env, core::EmbeddingNet& model) {
  const auto params = model->named_parameters();
  const auto groups = model->parameter_groups();
  Napi::Array out = Napi::Array::New(env, groups.size());
  for (size_t i = 0; i < groups.size(); ++i) {
    const torch::Tensor& p = params[groups[i].first];
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", groups[i].first);
    o.Set("group", groups[i].second);
    o.Set("requiresGrad", p.requires_grad());
    o.Set("numel", static_cast<double>(p.numel()));
    out.Set(static_cast<uint32_t>(i), o);
  }
  return out;
}

}  // namespace semihard::binding
