// The Trainer's results as JS values, built on the JS thread from what a worker computed:
// losses as a Float32Array, learning rates and the range test's curves as Float64Arrays.
#pragma once

#include <napi.h>

#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

#include "../core/collapse_detector.h"
#include "../core/triplet_loss.h"
#include "../core/triplet_stats.h"

namespace semihard::core {
struct LrFindResult;
class EmbeddingNet;
}

namespace semihard::binding {

// The stats of some training steps summed (core::TripletStats), and how many steps.
struct WindowStats {
  int64_t steps = 0;
  core::TripletStats stats;
};

// What a run of steps hands back: one loss and one learning rate a step, and its training
// steps' stats summed.
struct RunOutcome {
  std::vector<float> losses;
  std::vector<double> lrs;
  bool cancelled = false;
  bool collapsed = false;  // stopped (or ended) by a collapse under policy 'stop'
  bool has_stats = false;
  core::TripletStats stats;
  int64_t stats_steps = 0;
};

// run's { losses, lrs, cancelled, collapsed, stats } (stats: training_stats_to_js, or null).
Napi::Object run_outcome_to_js(Napi::Env env, const RunOutcome& outcome, core::TripletKind kind);

// { steps, terms, positivePairs, activePairs, semiHardPairs, noPositiveAnchors,
// meanPositiveDistance, meanNegativeDistance, spread, activeFraction, semiHardFraction }:
// the counts, and the summary of core::summarize_triplet_stats; null where a value is not
// defined (0/0; the hard loss's semi-hard counts).
Napi::Object training_stats_to_js(Napi::Env env, const WindowStats& window, core::TripletKind kind);

// { steps, spread, loss, margin }: the collapsed streak (margin: the collapsed loss).
Napi::Object collapse_alarm_to_js(Napi::Env env, const core::CollapseAlarm& alarm);

// lrFind's { lrs, losses, smoothed, suggestion, diverged }.
Napi::Object lr_find_result_to_js(Napi::Env env, const core::LrFindResult& result);

// computeGradients' { loss, gradients: { [name]: Float32Array } }.
using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;
Napi::Object gradients_to_js(Napi::Env env, float loss, const NamedTensors& gradients);

// parameterInfo's [{ name, group, requiresGrad, numel }], in the network's group order.
Napi::Array parameter_info_to_js(Napi::Env env, core::EmbeddingNet& model);

}  // namespace semihard::binding
