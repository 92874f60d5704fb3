#include "trainer_results.h"

#include <cmath>

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

Napi::Value number_or_null(Napi::Env env, double value) {
  return std::isnan(value) ? env.Null() : Napi::Number::New(env, value);
}

}  // namespace

Napi::Object run_outcome_to_js(Napi::Env env, const RunOutcome& outcome, core::TripletKind kind) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("losses", typed_array<Napi::Float32Array>(env, outcome.losses));
  out.Set("lrs", typed_array<Napi::Float64Array>(env, outcome.lrs));
  out.Set("cancelled", outcome.cancelled);
  out.Set("collapsed", outcome.collapsed);
  out.Set("stats", outcome.has_stats ? Napi::Value(training_stats_to_js(env, WindowStats{outcome.stats_steps, outcome.stats}, kind))
                                     : env.Null());
  return out;
}

Napi::Object training_stats_to_js(Napi::Env env, const WindowStats& window, core::TripletKind kind) {
  const core::TripletStats& s = window.stats;
  const core::TripletStatsSummary summary = core::summarize_triplet_stats(s);
  const bool semihard = kind == core::TripletKind::kSemiHard;
  Napi::Object o = Napi::Object::New(env);
  o.Set("steps", static_cast<double>(window.steps));
  o.Set("terms", static_cast<double>(s.terms));
  o.Set("positivePairs", static_cast<double>(s.positive_pairs));
  o.Set("activePairs", static_cast<double>(s.active_terms));
  o.Set("semiHardPairs", semihard ? Napi::Value(Napi::Number::New(env, static_cast<double>(s.semihard_pairs))) : env.Null());
  o.Set("noPositiveAnchors", static_cast<double>(s.no_positive_anchors));
  o.Set("meanPositiveDistance", number_or_null(env, summary.mean_positive_distance));
  o.Set("meanNegativeDistance", number_or_null(env, summary.mean_negative_distance));
  o.Set("spread", number_or_null(env, summary.spread));
  o.Set("activeFraction", number_or_null(env, summary.active_fraction));
  o.Set("semiHardFraction", semihard ? number_or_null(env, summary.semihard_fraction) : env.Null());
  return o;
}

Napi::Object collapse_alarm_to_js(Napi::Env env, const core::CollapseAlarm& alarm) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("steps", static_cast<double>(alarm.steps));
  o.Set("spread", alarm.spread);
  o.Set("loss", alarm.loss);
  o.Set("margin", alarm.collapsed_loss);
  return o;
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
