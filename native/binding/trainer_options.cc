#include "trainer_options.h"

#include <chrono>

#include "../core/device.h"
#include "augment_binding.h"
#include "convert.h"
#include "errors.h"

namespace semihard::binding {

core::TrainerOptions trainer_options(Napi::Env env, const Napi::Value& value) {
  const Napi::Object o = object_arg(env, value, "options");
  core::TrainerOptions options;
  options.backbone = enum_option(env, o, "backbone", core::kBackboneNames);
  options.dim = integer_option(env, o, "dim");
  if (has_option(o, "batchNorm")) options.batch_norm = enum_option(env, o, "batchNorm", core::kBatchNormStatisticsNames);
  options.loss.kind = enum_option(env, o, "lossKind", core::kTripletKindNames);
  options.loss.margin = static_cast<float>(number_option(env, o, "margin"));
  options.loss.soft = boolean_option(env, o, "soft");
  options.loss.distance = enum_option(env, o, "distance", core::kDistanceNames);
  options.weight_decay = number_option(env, o, "weightDecay");
  options.grad_clip = number_option(env, o, "gradClip");
  options.augment = boolean_option(env, o, "augment");
  if (has_option(o, "affine")) options.affine = affine_range(env, o.Get("affine"), "options.affine");
  const int64_t device_index = has_option(o, "deviceIndex") ? integer_option(env, o, "deviceIndex") : -1;
  options.device = core::resolve_device(enum_option(env, o, "device", core::kDeviceNames), device_index);
  options.seed = static_cast<uint64_t>(integer_option(env, o, "seed"));
  return options;
}

core::LrFindOptions lr_find_options(Napi::Env env, const Napi::Object& o) {
  core::LrFindOptions options;
  options.freeze = enum_option(env, o, "freeze", core::kFreezeNames);
  options.start_lr = number_option(env, o, "startLr");
  options.end_lr = number_option(env, o, "endLr");
  return options;
}

core::CommunicatorOptions communicator_options(Napi::Env env, const Napi::Value& value) {
  const Napi::Object o = object_arg(env, value, "options");
  core::CommunicatorOptions options;
  options.rank = integer_option(env, o, "rank");
  options.world_size = integer_option(env, o, "worldSize");
  options.master_addr = string_option(env, o, "masterAddr");
  options.master_port = integer_option(env, o, "masterPort");
  options.backend = enum_option(env, o, "backend", core::kCollectiveBackendNames);
  options.timeout = std::chrono::milliseconds(integer_option(env, o, "timeoutMs"));
  options.connect_timeout = std::chrono::milliseconds(integer_option(env, o, "connectTimeoutMs"));
  return options;
}

torch::Tensor batches_arg(Napi::Env env, const Napi::Value& value, int64_t batch, const std::string& argument) {
  const torch::Tensor indices = labels_to_tensor(env, value, argument).to(torch::kInt64);
  if (indices.numel() % batch != 0) {
    throw range_error(env, argument, "Expected " + argument + ".length (" + std::to_string(indices.numel()) +
                                         ") to be a multiple of the batch size (" + std::to_string(batch) + ")");
  }
  return indices.view({-1, batch});
}

}  // namespace semihard::binding
