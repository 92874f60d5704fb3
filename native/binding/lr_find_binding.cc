#include "lr_find_binding.h"

#include <string>
#include <utility>
#include <vector>

#include "convert.h"
#include "errors.h"
#include "trainer_options.h"
#include "trainer_results.h"

namespace semihard::binding {

LrFindArgs lr_find_args(Napi::Env env, const Napi::Value& value) {
  const Napi::Object o = object_arg(env, value, "options");
  auto batches = std::make_shared<torch::Tensor>(
      batches_arg(env, o.Get("indices"), positive_integer_option(env, o, "batchSize"), "options.indices"));
  return {std::move(batches), lr_find_options(env, o)};
}

Napi::Promise queue_lr_find(Napi::Env env, core::Trainer* trainer, LrFindArgs args, TaskWorker::Finally release,
                            Napi::Object keep_alive) {
  auto out = std::make_shared<core::LrFindResult>();
  return TaskWorker::queue(
      env, "semihard:lr-find",
      [trainer, args = std::move(args), out] { *out = core::find_learning_rate(*trainer, *args.batches, args.options); },
      [out](Napi::Env e) -> Napi::Value { return lr_find_result_to_js(e, *out); }, std::move(release), keep_alive);
}

Napi::Value lr_suggestion(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    auto doubles = [&](const Napi::Value& value, const char* argument) {
      if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
        throw type_error(env, argument, "a Float64Array");
      }
      const Napi::Float64Array a = value.As<Napi::Float64Array>();
      return std::vector<double>(a.Data(), a.Data() + a.ElementLength());
    };
    const std::vector<double> lrs = doubles(info[0], "lrs");
    const std::vector<double> smoothed = doubles(info[1], "smoothed");
    if (lrs.size() != smoothed.size()) {
      throw range_error(env, "smoothed", "Expected smoothed.length to equal lrs.length (" + std::to_string(lrs.size()) +
                                             ") but received " + std::to_string(smoothed.size()));
    }
    return Napi::Number::New(env, core::valley_lr(lrs, smoothed));
  });
}

}  // namespace semihard::binding
