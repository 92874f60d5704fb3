// Weights in and out of a network held by a Trainer or an Embedder (core/state_dict.h), as
// lib/model/named-tensor.ts's NamedTensor arrays: converted on the JS thread, loaded and
// exported on a worker. And the tests' window on a network's pooled body features.
#pragma once

#include <napi.h>

#include <memory>
#include <vector>

#include "../core/embedding_net.h"
#include "../core/state_dict.h"
#include "../core/trainer.h"
#include "task_worker.h"

namespace semihard::binding {

// loadBackboneWeights(tensors)'s argument, converted and copied (before the job slot is taken:
// a refused argument leaves the object idle).
using WeightsArg = std::shared_ptr<std::vector<core::NamedTensorData>>;
WeightsArg backbone_weights_arg(Napi::Env env, const Napi::Value& tensors);

// loadBackboneWeights(tensors) -> Promise<void>: loads the copied tensors on a worker.
Napi::Promise queue_load_backbone_weights(Napi::Env env, core::EmbeddingNet model, WeightsArg tensors,
                                          TaskWorker::Finally release, Napi::Object keep_alive);

// exportWeights() -> Promise<NamedTensor[]>.
Napi::Promise queue_export_weights(Napi::Env env, core::EmbeddingNet model, TaskWorker::Finally release,
                                   Napi::Object keep_alive);

// computeGradients(indices) -> Promise<{ loss, gradients: { [name]: Float32Array } }>: one
// step's gradients on the batch `indices` (no update), on a worker. `trainer` outlives the job
// (the caller's object is kept alive).
Napi::Promise queue_compute_gradients(Napi::Env env, core::Trainer* trainer, std::shared_ptr<torch::Tensor> indices,
                                      TaskWorker::Finally release, Napi::Object keep_alive);

// getParameter(name) -> Float32Array: a parameter's values, flattened; RangeError for an
// unknown name.
Napi::Value parameter_value(Napi::Env env, core::EmbeddingNet model, const Napi::Value& name);

// pooledFeaturesForTesting(images: Float32Array, count, channels, height, width) -> Float32Array
// of count x features: the body's map pooled as the head pools it, in eval mode (the network is
// left in eval mode), on the JS thread (tests' small inputs only). Images N x C x H x W, as the
// network takes them (already normalised).
Napi::Value pooled_features_for_testing(const Napi::CallbackInfo& info, core::EmbeddingNet model, const torch::Device& device);

}  // namespace semihard::binding
