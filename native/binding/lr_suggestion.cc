#include "lr_suggestion.h"

#include <string>
#include <vector>

#include "../core/lr_finder.h"
#include "errors.h"

namespace semihard::binding {

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
