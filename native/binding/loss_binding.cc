#include "loss_binding.h"

#include <cmath>
#include <memory>
#include <string>
#include <utility>

#include "../core/device.h"
#include "../core/triplet_loss.h"
#include "convert.h"
#include "errors.h"
#include "task_worker.h"

namespace semihard::binding {
namespace {

// Everything one loss evaluation needs, copied out of JS values on the JS thread.
struct LossJob {
  bool from_distances = false;
  torch::Tensor input;   // B x D embeddings, or B x B distances
  torch::Tensor labels;  // B
  core::TripletOptions options;
  torch::Device device{torch::kCPU};
  core::TripletResult result;

  void run() {
    const torch::Tensor on_device = input.to(device);
    result = from_distances ? core::triplet_loss_from_distances_with_grad(on_device, labels, options)
                            : core::triplet_loss_with_grad(on_device, labels, options);
  }

  Napi::Object to_js(Napi::Env env) const {
    Napi::Object out = Napi::Object::New(env);
    out.Set("loss", Napi::Number::New(env, result.loss));
    out.Set("grad", tensor_to_float32_array(env, result.grad));
    out.Set("positivePairs", Napi::Number::New(env, static_cast<double>(result.positive_pairs)));
    if (options.stats) out.Set("stats", stats_to_js(env));
    return out;
  }

  // The stats and their summary (core::summarize_triplet_stats); a value that is not defined
  // (0 / 0, the hard loss's semi-hard counts, the spread of given distances) is null.
  Napi::Object stats_to_js(Napi::Env env) const {
    const core::TripletStats& s = result.stats;
    const core::TripletStatsSummary summary = core::summarize_triplet_stats(s);
    const bool semi_hard = options.kind == core::TripletKind::kSemiHard;
    const auto number_or_null = [env](double v) -> Napi::Value {
      return std::isnan(v) ? env.Null() : Napi::Number::New(env, v);
    };
    const auto count = [env](int64_t v) { return Napi::Number::New(env, static_cast<double>(v)); };
    Napi::Object o = Napi::Object::New(env);
    o.Set("positivePairs", count(s.positive_pairs));
    o.Set("activePairs", count(s.active_terms));
    o.Set("semiHardPairs", semi_hard ? Napi::Value(count(s.semihard_pairs)) : env.Null());
    o.Set("noPositiveAnchors", count(s.no_positive_anchors));
    o.Set("meanPositiveDistance", number_or_null(summary.mean_positive_distance));
    o.Set("meanNegativeDistance", number_or_null(summary.mean_negative_distance));
    o.Set("spread", number_or_null(summary.spread));
    o.Set("activeFraction", number_or_null(summary.active_fraction));
    o.Set("semiHardFraction", semi_hard ? number_or_null(summary.semihard_fraction) : env.Null());
    return o;
  }
};

core::TripletOptions parse_options(Napi::Env env, const Napi::Value& value, torch::Device& device) {
  const Napi::Object o = object_arg(env, value, "options");
  core::TripletOptions options;
  options.kind = enum_option(env, o, "kind", core::kTripletKindNames);
  options.margin = static_cast<float>(number_option(env, o, "margin"));
  options.soft = boolean_option(env, o, "soft");
  options.distance = enum_option(env, o, "distance", core::kDistanceNames);
  device = core::resolve_device(enum_option(env, o, "device", core::kDeviceNames));
  // Optional testing hook: mine with the tensor-operation miners (what CUDA runs) on any device.
  if (has_option(o, "tensorMining")) options.tensor_mining = boolean_option(env, o, "tensorMining");
  // Optional benchmark hook: stats: false skips gathering them (to time their cost); no stats out.
  if (has_option(o, "stats")) options.stats = boolean_option(env, o, "stats");
  return options;
}

// tripletLoss(embeddings, dim, labels, options): embeddings are B x dim.
LossJob parse_embeddings_job(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  LossJob job;
  job.input = rows_to_tensor(env, info[0], positive_integer(env, info[1], "dim"), "embeddings");
  job.labels = labels_to_tensor(env, info[2], "labels");
  job.options = parse_options(env, info[3], job.device);
  return job;
}

// tripletLossFromDistances(distances, labels, options): distances are B x B, B = labels.length.
LossJob parse_distances_job(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  LossJob job;
  job.from_distances = true;
  job.input = float32_array_to_tensor(env, info[0], "distances");
  job.labels = labels_to_tensor(env, info[1], "labels");
  const int64_t batch = job.labels.numel();
  if (job.input.numel() != batch * batch) {
    throw range_error(env, "distances", "Expected distances.length to be labels.length squared (" +
                                            std::to_string(batch * batch) + ") but received " +
                                            std::to_string(job.input.numel()));
  }
  job.input = job.input.view({batch, batch});
  job.options = parse_options(env, info[2], job.device);
  return job;
}

template <LossJob (*Parse)(const Napi::CallbackInfo&)>
Napi::Value run_sync(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    LossJob job = Parse(info);
    job.run();
    return job.to_js(info.Env());
  });
}

template <LossJob (*Parse)(const Napi::CallbackInfo&)>
Napi::Value run_async(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto job = std::make_shared<LossJob>(Parse(info));
    return TaskWorker::queue(
        info.Env(), "semihard:loss", [job] { job->run(); }, [job](Napi::Env env) -> Napi::Value { return job->to_js(env); });
  });
}

}  // namespace

void register_loss_functions(Napi::Env env, Napi::Object exports) {
  exports.Set("tripletLoss", Napi::Function::New(env, run_sync<parse_embeddings_job>, "tripletLoss"));
  exports.Set("tripletLossAsync", Napi::Function::New(env, run_async<parse_embeddings_job>, "tripletLossAsync"));
  exports.Set("tripletLossFromDistances",
              Napi::Function::New(env, run_sync<parse_distances_job>, "tripletLossFromDistances"));
  exports.Set("tripletLossFromDistancesAsync",
              Napi::Function::New(env, run_async<parse_distances_job>, "tripletLossFromDistancesAsync"));
}

}  // namespace semihard::binding
