#include "augment_binding.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <memory>

#include "../core/errors.h"
#include "convert.h"
#include "errors.h"
#include "task_worker.h"

namespace semihard::binding {

core::AffineRange affine_range(Napi::Env env, const Napi::Value& value, const std::string& argument) {
  if (!value.IsObject()) throw type_error(env, argument, "an object");
  const Napi::Object a = value.As<Napi::Object>();
  core::AffineRange range;
  range.max_rotation_degrees = number_option(env, a, "rotation");
  const double scale = number_option(env, a, "scale");
  range.min_scale = 1.0 - scale;
  range.max_scale = 1.0 + scale;
  range.max_translation = number_option(env, a, "translate");
  range.horizontal_flip = boolean_option(env, a, "flip");
  core::check_affine_range(range);
  return range;
}

namespace {

// augmentImages(images, count, height, width, affine, seed) -> Promise<Float32Array> (0..1):
// one random transform per image, drawn from a generator seeded with `seed`, on a worker.
Napi::Value augment_images(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const int64_t count = positive_integer(env, info[1], "count");
    const int64_t height = positive_integer(env, info[2], "height");
    const int64_t width = positive_integer(env, info[3], "width");
    auto images = std::make_shared<torch::Tensor>(images_to_tensor(env, info[0], count, height, width, "images"));
    const core::AffineRange range = affine_range(env, info[4], "affine");
    if (!info[5].IsNumber()) throw type_error(env, "seed", "a non-negative integer");
    const double seed = info[5].As<Napi::Number>().DoubleValue();
    if (!(seed >= 0 && seed <= 9007199254740991.0 && seed == std::floor(seed))) {
      throw core::ArgumentError("seed", "Expected a non-negative integer for seed");
    }
    auto out = std::make_shared<torch::Tensor>();
    return TaskWorker::queue(
        env, "semihard:augment",
        [=] {
          const torch::Tensor& x = *images;
          const torch::Tensor pixels = x.scalar_type() == torch::kUInt8 ? x.to(torch::kFloat32) / 255.0f : x;
          at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(seed));
          *out = core::random_affine(pixels.unsqueeze(1), generator, range).squeeze(1);
        },
        [out](Napi::Env e) -> Napi::Value { return tensor_to_float32_array(e, *out); });
  });
}

}  // namespace

void register_augment_functions(Napi::Env env, Napi::Object exports) {
  exports.Set("augmentImages", Napi::Function::New(env, augment_images, "augmentImages"));
}

}  // namespace semihard::binding
