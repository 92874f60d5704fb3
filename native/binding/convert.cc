#include "convert.h"

#include <cmath>
#include <cstring>

namespace semihard::binding {
namespace {

constexpr double kMaxSafeInteger = 9007199254740991.0;  // Number.MAX_SAFE_INTEGER

template <typename T>
torch::Tensor copy_typed_array(const Napi::TypedArrayOf<T>& array, torch::ScalarType dtype) {
  static_assert(sizeof(T) == 1 || sizeof(T) == 4 || sizeof(T) == 8, "unexpected element size");
  const auto length = static_cast<int64_t>(array.ElementLength());
  torch::Tensor out = torch::empty({length}, torch::TensorOptions().dtype(dtype));
  if (length > 0) std::memcpy(out.data_ptr(), array.Data(), static_cast<size_t>(length) * sizeof(T));
  return out;
}

bool is_typed_array(const Napi::Value& value, napi_typedarray_type type) {
  return value.IsTypedArray() && value.As<Napi::TypedArray>().TypedArrayType() == type;
}

std::string field(const std::string& path, const char* name) { return path + "." + name; }

}  // namespace

torch::Tensor float32_array_to_tensor(Napi::Env env, const Napi::Value& value, const std::string& argument) {
  if (!is_typed_array(value, napi_float32_array)) throw type_error(env, argument, "a Float32Array");
  return copy_typed_array(value.As<Napi::Float32Array>(), torch::kFloat32);
}

torch::Tensor labels_to_tensor(Napi::Env env, const Napi::Value& value, const std::string& argument) {
  if (is_typed_array(value, napi_int32_array)) return copy_typed_array(value.As<Napi::Int32Array>(), torch::kInt32);
  if (is_typed_array(value, napi_bigint64_array)) return copy_typed_array(value.As<Napi::BigInt64Array>(), torch::kInt64);
  throw type_error(env, argument, "an Int32Array or BigInt64Array");
}

torch::Tensor uint8_array_to_tensor(Napi::Env env, const Napi::Value& value, const std::string& argument) {
  if (!is_typed_array(value, napi_uint8_array)) throw type_error(env, argument, "a Uint8Array");
  return copy_typed_array(value.As<Napi::Uint8Array>(), torch::kUInt8);
}

torch::Tensor rows_to_tensor(Napi::Env env, const Napi::Value& value, int64_t dim, const std::string& argument) {
  torch::Tensor flat = float32_array_to_tensor(env, value, argument);
  if (flat.numel() % dim != 0) {
    throw range_error(env, argument, "Expected " + argument + ".length (" + std::to_string(flat.numel()) +
                                         ") to be a multiple of dim (" + std::to_string(dim) + ")");
  }
  return flat.view({flat.numel() / dim, dim});
}

namespace {

torch::Tensor shaped_images(Napi::Env env, const torch::Tensor& flat, int64_t count, int64_t height, int64_t width,
                            int64_t channels, const std::string& argument) {
  // Each factor is a safe integer; a product past int64 cannot match a typed array's length.
  int64_t expected = 0;
  if (__builtin_mul_overflow(count, height, &expected) || __builtin_mul_overflow(expected, width, &expected) ||
      __builtin_mul_overflow(expected, channels, &expected) || flat.numel() != expected) {
    throw range_error(env, argument, "Expected " + argument + ".length to be count x height x width x channels (" +
                                         std::to_string(count) + " x " + std::to_string(height) + " x " +
                                         std::to_string(width) + " x " + std::to_string(channels) + ") but received " +
                                         std::to_string(flat.numel()));
  }
  return flat.view({count, height, width, channels});
}

}  // namespace

bool is_uint8_array(const Napi::Value& value) { return is_typed_array(value, napi_uint8_array); }

torch::Tensor images_to_tensor(Napi::Env env, const Napi::Value& value, int64_t count, int64_t height, int64_t width,
                               int64_t channels, const std::string& argument) {
  torch::Tensor flat;
  if (is_typed_array(value, napi_float32_array)) {
    flat = float32_array_to_tensor(env, value, argument);
  } else if (is_typed_array(value, napi_uint8_array)) {
    flat = uint8_array_to_tensor(env, value, argument);
  } else {
    throw type_error(env, argument, "a Uint8Array or Float32Array");
  }
  return shaped_images(env, flat, count, height, width, channels, argument);
}

torch::Tensor uint8_images_to_tensor(Napi::Env env, const Napi::Value& value, int64_t count, int64_t height,
                                     int64_t width, int64_t channels, const std::string& argument) {
  return shaped_images(env, uint8_array_to_tensor(env, value, argument), count, height, width, channels, argument);
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
  if (!(v >= 1 && v <= kMaxSafeInteger && std::floor(v) == v)) {
    throw range_error(env, argument, "Expected a positive integer for " + argument);
  }
  return static_cast<int64_t>(v);
}

Napi::Object object_arg(Napi::Env env, const Napi::Value& value, const std::string& argument) {
  if (!value.IsObject() || value.IsArray() || value.IsTypedArray()) throw type_error(env, argument, "an object");
  return value.As<Napi::Object>();
}

bool has_option(const Napi::Object& options, const char* name) { return !options.Get(name).IsUndefined(); }

std::string string_option(Napi::Env env, const Napi::Object& options, const char* name, const std::string& path) {
  const Napi::Value v = options.Get(name);
  if (!v.IsString()) throw type_error(env, field(path, name), "a string");
  return v.As<Napi::String>().Utf8Value();
}

double number_option(Napi::Env env, const Napi::Object& options, const char* name, const std::string& path) {
  const Napi::Value v = options.Get(name);
  if (!v.IsNumber()) throw type_error(env, field(path, name), "a number");
  return v.As<Napi::Number>().DoubleValue();
}

int64_t integer_option(Napi::Env env, const Napi::Object& options, const char* name, const std::string& path) {
  const double v = number_option(env, options, name, path);
  if (!(std::floor(v) == v && std::abs(v) <= kMaxSafeInteger)) {
    throw range_error(env, field(path, name), "Expected an integer for " + field(path, name));
  }
  return static_cast<int64_t>(v);
}

int64_t positive_integer_option(Napi::Env env, const Napi::Object& options, const char* name, const std::string& path) {
  return positive_integer(env, options.Get(name), field(path, name));
}

std::vector<double> number_array_option(Napi::Env env, const Napi::Object& options, const char* name,
                                        const std::string& path) {
  const Napi::Value v = options.Get(name);
  if (!v.IsArray()) throw type_error(env, field(path, name), "an array of numbers");
  const Napi::Array array = v.As<Napi::Array>();
  std::vector<double> out;
  for (uint32_t i = 0; i < array.Length(); ++i) {
    const Napi::Value item = array.Get(i);
    if (!item.IsNumber()) throw type_error(env, field(path, name), "an array of numbers");
    out.push_back(item.As<Napi::Number>().DoubleValue());
  }
  return out;
}

bool boolean_option(Napi::Env env, const Napi::Object& options, const char* name, const std::string& path) {
  const Napi::Value v = options.Get(name);
  if (!v.IsBoolean()) throw type_error(env, field(path, name), "a boolean");
  return v.As<Napi::Boolean>().Value();
}

}  // namespace semihard::binding
