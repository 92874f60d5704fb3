// The Trainer's results as JS values, built on the JS thread from what a worker computed:
// losses as a Float32Array, learning rates and the range test's curves as Float64Arrays.
#pragma once

#include <napi.h>

#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

namespace semihard::core {
struct LrFindResult;
class EmbeddingNet;
}

namespace semihard::binding {

// What a run of steps hands back: one loss and one learning rate a step.
struct RunOutcome {
  std::vector<float> losses;
  std::vector<double> lrs;
  bool cancelled = false;
};

// run's { losses, lrs, cancelled }.
Napi::Object run_outcome_to_js(Napi::Env env, const RunOutcome& outcome);

// lrFind's { lrs, losses, smoothed, suggestion, diverged }.
Napi::Object lr_find_result_to_js(Napi::Env env, const core::LrFindResult& result);

// computeGradients' { loss, gradients: { [name]: Float32Array } }.
using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;
Napi::Object gradients_to_js(Napi::Env env, float loss, const NamedTensors& gradients);

// parameterInfo's [{ name, group, requiresGrad, numel }], in the network's group order.
Napi::Array parameter_info_to_js(Napi::Env env, core::EmbeddingNet& model);

}  // namespace semihard::binding
