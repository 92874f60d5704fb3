#include "convert.h"

#include <cmath>
#include <cstring>

#include "../core/errors.h"
#include "errors.h"

namespace semihard::binding {
namespace {

template <typename T>
torch::Tensor copy_typed_array(const Napi::TypedArrayOf<T>& array, torch::ScalarType dtype) {
  static_assert(sizeof(T) == 4 || sizeof(T) == 8, "unexpected element size");
  const auto length = static_cast<int64_t>(array.ElementLength());
  torch::Tensor out = torch::empty({length}, torch::TensorOptions().dtype(dtype));
  if (length > 0) std::memcpy(out.data_ptr(), array.Data(), static_cast<size_t>(length) * sizeof(T));
  return out;
}

}  // namespace

torch::Tensor float32_array_to_tensor(Napi::Env env, const Napi::Value& value, const std::string& argument) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw type_error(env, argument, "a Float32Array");
  }
  return copy_typed_array(value.As<Napi::Float32Array>(), torch::kFloat32);
}

torch::Tensor labels_to_tensor(Napi::Env env, const Napi::Value& value, const std::string& argument) {
  if (value.IsTypedArray()) {
    const napi_typedarray_type type = value.As<Napi::TypedArray>().TypedArrayType();
    if (type == napi_int32_array) return copy_typed_array(value.As<Napi::Int32Array>(), torch::kInt32);
    if (type == napi_bigint64_array) return copy_typed_array(value.As<Napi::BigInt64Array>(), torch::kInt64);
  }
  throw type_error(env, argument, "an Int32Array or BigInt64Array");
}

torch::Tensor uint8_array_to_tensor(Napi::Env env, const Napi::Value& value, const std::string& argument) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw type_error(env, argument, "a Uint8Array");
  }
  const Napi::Uint8Array array = value.As<Napi::Uint8Array>();
  torch::Tensor out = torch::empty({static_cast<int64_t>(array.ElementLength())}, torch::kUInt8);
  if (array.ElementLength() > 0) std::memcpy(out.data_ptr(), array.Data(), array.ElementLength());
  return out;
}

torch::Tensor images_to_tensor(Napi::Env env, const Napi::Value& value, int64_t count, int64_t height, int64_t width,
                               const std::string& argument) {
  torch::Tensor flat;
  if (value.IsTypedArray() && value.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array) {
    flat = float32_array_to_tensor(env, value, argument);
  } else if (value.IsTypedArray() && value.As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array) {
    flat = uint8_array_to_tensor(env, value, argument);
  } else {
    throw type_error(env, argument, "a Uint8Array or Float32Array");
  }
  if (flat.numel() != count * height * width) {
    throw core::ArgumentError(argument, "Expected " + argument + ".length to be count x height x width (" +
                                            std::to_string(count * height * width) + ") but received " +
                                            std::to_string(flat.numel()));
  }
  return flat.view({count, height, width});
}

Napi::Float32Array tensor_to_float32_array(Napi::Env env, const torch::Tensor& tensor) {
  const torch::Tensor t = tensor.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  Napi::Float32Array out = Napi::Float32Array::New(env, static_cast<size_t>(t.numel()));
  if (t.numel() > 0) std::memcpy(out.Data(), t.data_ptr<float>(), static_cast<size_t>(t.numel()) * sizeof(float));
  return out;
}

int64_t positive_integer(Napi::Env env, const Napi::Value& value, const std::string& argument) {
  if (!value.IsNumber()) throw type_error(env, argument, "a positive integer");
  const double v = value.As<Napi::Number>().DoubleValue();
  if (!(v >= 1 && v <= 9007199254740991.0 && std::floor(v) == v)) {
    Napi::Error e = Napi::RangeError::New(env, "Expected a positive integer for " + argument);
    e.Set("argument", Napi::String::New(env, argument));
    throw e;
  }
  return static_cast<int64_t>(v);
}

std::string string_option(Napi::Env env, const Napi::Object& options, const char* name) {
  Napi::Value v = options.Get(name);
  if (!v.IsString()) throw type_error(env, std::string("options.") + name, "a string");
  return v.As<Napi::String>().Utf8Value();
}

double number_option(Napi::Env env, const Napi::Object& options, const char* name) {
  Napi::Value v = options.Get(name);
  if (!v.IsNumber()) throw type_error(env, std::string("options.") + name, "a number");
  return v.As<Napi::Number>().DoubleValue();
}

int64_t integer_option(Napi::Env env, const Napi::Object& options, const char* name) {
  const double v = number_option(env, options, name);
  if (!(std::floor(v) == v && std::abs(v) <= 9007199254740991.0)) {
    throw core::ArgumentError(std::string("options.") + name, std::string("Expected an integer for options.") + name);
  }
  return static_cast<int64_t>(v);
}

bool boolean_option(Napi::Env env, const Napi::Object& options, const char* name) {
  Napi::Value v = options.Get(name);
  if (!v.IsBoolean()) throw type_error(env, std::string("options.") + name, "a boolean");
  return v.As<Napi::Boolean>().Value();
}

}  // namespace semihard::binding
