#include "augment_binding.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cstring>
#include <memory>

#include "../core/network_input.h"
#include "convert.h"
#include "errors.h"
#include "task_worker.h"

namespace semihard::binding {

core::AffineRange affine_range(Napi::Env env, const Napi::Value& value, const std::string& argument) {
  const Napi::Object a = object_arg(env, value, argument);
  core::AffineRange range;
  range.max_rotation_degrees = number_option(env, a, "rotation", argument);
  const double scale = number_option(env, a, "scale", argument);
  range.min_scale = 1.0 - scale;
  range.max_scale = 1.0 + scale;
  range.max_translation = number_option(env, a, "translate", argument);
  range.horizontal_flip = boolean_option(env, a, "flip", argument);
  return range;
}

core::CropRange crop_range(Napi::Env env, const Napi::Value& value, const std::string& argument) {
  const Napi::Object c = object_arg(env, value, argument);
  core::CropRange range;
  range.min_scale = number_option(env, c, "minScale", argument);
  range.max_scale = number_option(env, c, "maxScale", argument);
  range.min_ratio = number_option(env, c, "minRatio", argument);
  range.max_ratio = number_option(env, c, "maxRatio", argument);
  return range;
}

namespace {

// augmentImages({ images, count, height, width, channels?, affine, crop?, outHeight?, outWidth?,
// seed }) -> Promise<Float32Array> (0..1, count x outHeight x outWidth x channels): the
// training transform of each image (core::train_transform: the random resized crop when
// `crop` is given, else the centre crop of the output size, then the flip and affine), drawn
// from a generator seeded with `seed`, on a worker.
Napi::Value augment_images(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const Napi::Object o = object_arg(env, info[0], "options");
    const int64_t count = positive_integer_option(env, o, "count");
    core::ImageGeometry geometry;
    geometry.stored_height = positive_integer_option(env, o, "height");
    geometry.stored_width = positive_integer_option(env, o, "width");
    geometry.channels = has_option(o, "channels") ? positive_integer_option(env, o, "channels") : 1;
    geometry.height = has_option(o, "outHeight") ? positive_integer_option(env, o, "outHeight") : geometry.stored_height;
    geometry.width = has_option(o, "outWidth") ? positive_integer_option(env, o, "outWidth") : geometry.stored_width;
    auto images = std::make_shared<torch::Tensor>(images_to_tensor(env, o.Get("images"), count, geometry.stored_height,
                                                                   geometry.stored_width, geometry.channels, "options.images"));
    core::TrainTransform transform;
    transform.affine = affine_range(env, o.Get("affine"), "options.affine");
    if (has_option(o, "crop")) transform.crop = crop_range(env, o.Get("crop"), "options.crop");
    transform.height = geometry.height;
    transform.width = geometry.width;
    const auto seed = static_cast<uint64_t>(integer_option(env, o, "seed"));
    auto out = std::make_shared<torch::Tensor>();
    return TaskWorker::queue(
        env, "semihard:augment",
        [=] {
          core::check_geometry(geometry);
          at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
          // Pixels 0..1 as they are: the identity normalisation.
          core::Normalisation identity;
          identity.mean.assign(geometry.channels, 0.0f);
          identity.std.assign(geometry.channels, 1.0f);
          torch::Tensor nchw;
          if (transform.crop) {
            nchw = core::training_input(*images, identity, torch::kCPU, count, 0, generator, transform);
          } else {
            nchw = core::train_transform(core::network_input(core::centre_crop(*images, geometry), identity, torch::kCPU), count, 0,
                                         generator, transform);
          }
          *out = nchw.permute({0, 2, 3, 1}).contiguous();
        },
        [out](Napi::Env e) -> Napi::Value { return tensor_to_float32_array(e, *out); });
  });
}

// Tests only. cropBoxesForTesting({ count, height, width, crop, seed }) -> Int32Array of count x
// (top, left, height, width): the boxes augmentImages draws first with that seed.
Napi::Value crop_boxes_for_testing(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const Napi::Object o = object_arg(env, info[0], "options");
    const int64_t count = positive_integer_option(env, o, "count");
    const int64_t height = positive_integer_option(env, o, "height");
    const int64_t width = positive_integer_option(env, o, "width");
    const core::CropRange range = crop_range(env, o.Get("crop"), "options.crop");
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(integer_option(env, o, "seed")));
    const torch::Tensor boxes = core::draw_crops(count, height, width, generator, range).to(torch::kInt32).contiguous();
    Napi::Int32Array out = Napi::Int32Array::New(env, static_cast<size_t>(boxes.numel()));
    std::memcpy(out.Data(), boxes.data_ptr<int32_t>(), static_cast<size_t>(boxes.numel()) * sizeof(int32_t));
    return out;
  });
}

// Tests only. networkInputForTesting({ images, count, geometry, normalisation }) ->
// Float32Array of count x channels x height x width: what validation and embedding feed the
// network (core::centre_crop then core::network_input).
Napi::Value network_input_for_testing(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const Napi::Object o = object_arg(env, info[0], "options");
    const int64_t count = positive_integer_option(env, o, "count");
    const Napi::Object g = object_arg(env, o.Get("geometry"), "options.geometry");
    core::ImageGeometry geometry;
    geometry.channels = positive_integer_option(env, g, "channels", "options.geometry");
    geometry.stored_height = positive_integer_option(env, g, "storedHeight", "options.geometry");
    geometry.stored_width = positive_integer_option(env, g, "storedWidth", "options.geometry");
    geometry.height = positive_integer_option(env, g, "height", "options.geometry");
    geometry.width = positive_integer_option(env, g, "width", "options.geometry");
    const torch::Tensor images = images_to_tensor(env, o.Get("images"), count, geometry.stored_height, geometry.stored_width,
                                                  geometry.channels, "options.images");
    const Napi::Object n = object_arg(env, o.Get("normalisation"), "options.normalisation");
    core::Normalisation normalisation;
    normalisation.mean.clear();
    normalisation.std.clear();
    for (double v : number_array_option(env, n, "mean", "options.normalisation")) normalisation.mean.push_back(static_cast<float>(v));
    for (double v : number_array_option(env, n, "std", "options.normalisation")) normalisation.std.push_back(static_cast<float>(v));
    core::check_geometry(geometry);
    return tensor_to_float32_array(env, core::network_input(core::centre_crop(images, geometry), normalisation, torch::kCPU));
  });
}

}  // namespace

void register_augment_functions(Napi::Env env, Napi::Object exports) {
  exports.Set("augmentImages", Napi::Function::New(env, augment_images, "augmentImages"));
  exports.Set("cropBoxesForTesting", Napi::Function::New(env, crop_boxes_for_testing, "cropBoxesForTesting"));
  exports.Set("networkInputForTesting", Napi::Function::New(env, network_input_for_testing, "networkInputForTesting"));
}

}  // namespace semihard::binding
