#include "trainer_options.h"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "../core/device.h"
#include "augment_binding.h"
#include "convert.h"
#include "errors.h"
#include "image_store_binding.h"

namespace semihard::binding {

core::NetworkOptions network_options(Napi::Env env, const Napi::Object& o) {
  core::NetworkOptions network;
  network.backbone = enum_option(env, o, "backbone", core::kBackboneNames);
  network.dim = integer_option(env, o, "dim");
  if (has_option(o, "stem")) network.stem = enum_option(env, o, "stem", core::kStemNames);
  if (has_option(o, "pool")) network.head.pool = enum_option(env, o, "pool", core::kPoolNames);
  if (has_option(o, "headBatchNorm")) network.head.batch_norm = boolean_option(env, o, "headBatchNorm");
  if (has_option(o, "dropout")) network.head.dropout = number_option(env, o, "dropout");
  const int64_t channels = has_option(o, "channels") ? positive_integer_option(env, o, "channels") : 1;
  network.in_channels = has_option(o, "inputChannels") ? positive_integer_option(env, o, "inputChannels") : channels;
  return network;
}

core::TrainerOptions trainer_options(Napi::Env env, const Napi::Value& value) {
  const Napi::Object o = object_arg(env, value, "options");
  core::TrainerOptions options;
  options.network = network_options(env, o);
  if (has_option(o, "batchNorm")) options.batch_norm = enum_option(env, o, "batchNorm", core::kBatchNormStatisticsNames);
  options.loss.kind = enum_option(env, o, "lossKind", core::kTripletKindNames);
  options.loss.margin = static_cast<float>(number_option(env, o, "margin"));
  options.loss.soft = boolean_option(env, o, "soft");
  options.loss.distance = enum_option(env, o, "distance", core::kDistanceNames);
  options.weight_decay = number_option(env, o, "weightDecay");
  options.grad_clip = number_option(env, o, "gradClip");
  options.augment = boolean_option(env, o, "augment");
  if (has_option(o, "affine")) options.affine = affine_range(env, o.Get("affine"), "options.affine");
  if (has_option(o, "crop")) options.crop = crop_range(env, o.Get("crop"), "options.crop");
  if (has_option(o, "channels")) options.channels = positive_integer_option(env, o, "channels");
  const int64_t device_index = has_option(o, "deviceIndex") ? integer_option(env, o, "deviceIndex") : -1;
  options.device = core::resolve_device(enum_option(env, o, "device", core::kDeviceNames), device_index);
  options.seed = static_cast<uint64_t>(integer_option(env, o, "seed"));
  if (has_option(o, "precision")) options.precision = enum_option(env, o, "precision", core::kPrecisionNames);
  if (has_option(o, "chunk")) options.chunk = positive_integer_option(env, o, "chunk");
  // Testing hook: how a chunked step back-propagates (trainer.h, ChunkedStep).
  if (has_option(o, "chunkedStepForTesting")) {
    options.chunked_step = enum_option(env, o, "chunkedStepForTesting", core::kChunkedStepNames);
  }
  // Benchmark hook: stats: false gathers no stats (to time their cost); no stats, no collapse.
  if (has_option(o, "stats")) options.stats = boolean_option(env, o, "stats");
  // Testing hook: the loss's tensor miners (what CUDA runs) on any device.
  if (has_option(o, "tensorMining")) options.loss.tensor_mining = boolean_option(env, o, "tensorMining");
  return options;
}

namespace {

core::ImageSet data_set(Napi::Env env, const Napi::Value& value, const core::ImageGeometry& g, const std::string& path) {
  const Napi::Object o = object_arg(env, value, path);
  core::ImageSet set;
  set.labels = labels_to_tensor(env, o.Get("labels"), path + ".labels").to(torch::kInt64);
  const int64_t count = set.labels.numel();
  const Napi::Value images = o.Get("images");
  const std::string argument = path + ".images";
  if (images.IsNull()) return set;  // streamed
  if (is_uint8_array(images)) {
    set.images = uint8_images_to_tensor(env, images, count, g.stored_height, g.stored_width, g.channels, argument);
    return set;
  }
  const std::optional<torch::Tensor> store = image_store_images(images);
  if (!store) throw type_error(env, argument, "a Uint8Array, an image store or null");
  const auto expected = std::vector<int64_t>{count, g.stored_height, g.stored_width, g.channels};
  if (store->sizes().vec() != expected) {
    throw range_error(env, argument, "Expected " + argument + " to hold " + std::to_string(count) + " images of " +
                                         std::to_string(g.stored_height) + " x " + std::to_string(g.stored_width) + " x " +
                                         std::to_string(g.channels) + " (its labels' count and the geometry) but it holds " +
                                         std::to_string(store->size(0)) + " of " + std::to_string(store->size(1)) + " x " +
                                         std::to_string(store->size(2)) + " x " + std::to_string(store->size(3)));
  }
  set.images = *store;
  return set;
}

}  // namespace

core::DataOptions data_options(Napi::Env env, const Napi::Value& value) {
  const Napi::Object o = object_arg(env, value, "options");
  const std::string gpath = "options.geometry";
  const Napi::Object g = object_arg(env, o.Get("geometry"), gpath);
  core::DataOptions data;
  data.geometry.channels = positive_integer_option(env, g, "channels", gpath);
  data.geometry.stored_height = positive_integer_option(env, g, "storedHeight", gpath);
  data.geometry.stored_width = positive_integer_option(env, g, "storedWidth", gpath);
  data.geometry.height = positive_integer_option(env, g, "height", gpath);
  data.geometry.width = positive_integer_option(env, g, "width", gpath);
  data.train = data_set(env, o.Get("train"), data.geometry, "options.train");
  const Napi::Value valid = o.Get("valid");
  if (!valid.IsNull() && !valid.IsUndefined()) data.valid = data_set(env, valid, data.geometry, "options.valid");
  const Napi::Value normalisation = o.Get("normalisation");
  if (!normalisation.IsNull() && !normalisation.IsUndefined()) {
    const std::string npath = "options.normalisation";
    const Napi::Object n = object_arg(env, normalisation, npath);
    core::Normalisation out;
    out.mean.clear();
    out.std.clear();
    for (double v : number_array_option(env, n, "mean", npath)) out.mean.push_back(static_cast<float>(v));
    for (double v : number_array_option(env, n, "std", npath)) out.std.push_back(static_cast<float>(v));
    data.normalisation = out;
  }
  return data;
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
