// The Trainer's options objects -> the core's option structs, through convert.h's guards (the
// kind of each field, a name through the core's table, an index array's length against its
// batch). lib/train/ builds these objects with every user-facing value already checked and
// defaulted; the core checks its own preconditions.
#pragma once

#include <napi.h>

#include <string>

#include <torch/types.h>

#include "../core/communicator.h"
#include "../core/lr_finder.h"
#include "../core/trainer.h"

namespace semihard::binding {

// The network fields of a Trainer's or an Embedder's options: { backbone, dim, stem?, pool?,
// headBatchNorm?, dropout?, channels?, inputChannels? } (inputChannels: default channels).
core::NetworkOptions network_options(Napi::Env env, const Napi::Object& options);

// new Trainer({ <network_options'>, batchNorm?, lossKind, margin, soft, distance, weightDecay,
// gradClip, augment, affine?, crop?, device, deviceIndex?, seed, precision?, chunk?,
// chunkedStepForTesting?, tensorMining?, stats? }).
core::TrainerOptions trainer_options(Napi::Env env, const Napi::Value& value);

// setData({ train: { labels, images }, valid, geometry, normalisation }): images a Uint8Array
// (copied), an image store (shared) or null (streamed); each held set's length or store shape
// checked against its labels and the geometry.
core::DataOptions data_options(Napi::Env env, const Napi::Value& value);

// lrFind's { freeze, startLr, endLr } (its indices and batchSize are batches_arg's).
core::LrFindOptions lr_find_options(Napi::Env env, const Napi::Object& options);

// connect({ rank, worldSize, masterAddr, masterPort, backend, timeoutMs, connectTimeoutMs }).
core::CommunicatorOptions communicator_options(Napi::Env env, const Napi::Value& value);

// Indices (an Int32Array or BigInt64Array) as steps x batch rows: the length must be a
// multiple of batch.
torch::Tensor batches_arg(Napi::Env env, const Napi::Value& value, int64_t batch, const std::string& argument);

}  // namespace semihard::binding
