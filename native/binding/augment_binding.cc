#include "augment_binding.h"

#include <ATen/CPUGeneratorImpl.h>

#include <memory>

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

namespace {

// augmentImages({ images, count, height, width, affine, seed }) -> Promise<Float32Array> (0..1):
// one random transform per image, drawn from a generator seeded with `seed`, on a worker.
Napi::Value augment_images(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const Napi::Object o = object_arg(env, info[0], "options");
    const int64_t count = positive_integer_option(env, o, "count");
    const int64_t height = positive_integer_option(env, o, "height");
    const int64_t width = positive_integer_option(env, o, "width");
    auto images = std::make_shared<torch::Tensor>(images_to_tensor(env, o.Get("images"), count, height, width, "options.images"));
    const core::AffineRange range = affine_range(env, o.Get("affine"), "options.affine");
    const auto seed = static_cast<uint64_t>(integer_option(env, o, "seed"));
    auto out = std::make_shared<torch::Tensor>();
    return TaskWorker::queue(
        env, "semihard:augment",
        [=] {
          const torch::Tensor& x = *images;
          const torch::Tensor pixels = x.scalar_type() == torch::kUInt8 ? x.to(torch::kFloat32) / 255.0f : x;
          at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
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
