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

namespace {

struct DtypeEntry {
  const char* name;
  torch::ScalarType type;
  size_t bytes;
};
constexpr DtypeEntry kDtypes[] = {
    {"float32", torch::kFloat32, 4}, {"float64", torch::kFloat64, 8}, {"float16", torch::kFloat16, 2},
    {"bfloat16", torch::kBFloat16, 2}, {"int64", torch::kInt64, 8}, {"int32", torch::kInt32, 4},
    {"int16", torch::kInt16, 2}, {"int8", torch::kInt8, 1}, {"uint8", torch::kUInt8, 1},
    {"bool", torch::kBool, 1}};
static_assert(sizeof(float) == 4 && sizeof(double) == 8 && sizeof(c10::Half) == 2 && sizeof(c10::BFloat16) == 2 &&
                  sizeof(bool) == 1,
              "the dtype table's sizes");

}  // namespace

std::vector<std::pair<std::string, torch::Tensor>> named_tensors_to_tensors(Napi::Env env, const Napi::Value& value,
                                                                            const std::string& argument) {
  if (!value.IsArray()) throw type_error(env, argument, "an array of { name, dtype, shape, data }");
  const Napi::Array array = value.As<Napi::Array>();
  std::vector<std::pair<std::string, torch::Tensor>> out;
  out.reserve(array.Length());
  for (uint32_t i = 0; i < array.Length(); ++i) {
    const std::string path = argument + "[" + std::to_string(i) + "]";
    const Napi::Object o = object_arg(env, array.Get(i), path);
    const std::string name = string_option(env, o, "name", path);
    const std::string dtype = string_option(env, o, "dtype", path);
    const DtypeEntry* entry = nullptr;
    for (const DtypeEntry& e : kDtypes) {
      if (dtype == e.name) entry = &e;
    }
    if (entry == nullptr) throw range_error(env, path + ".dtype", "Expected a known dtype for " + path + ".dtype but received '" + dtype + "'");
    std::vector<int64_t> shape;
    int64_t numel = 1;
    for (double d : number_array_option(env, o, "shape", path)) {
      if (!(d >= 0 && d <= kMaxSafeInteger && std::floor(d) == d) || __builtin_mul_overflow(numel, static_cast<int64_t>(d), &numel)) {
        throw range_error(env, path + ".shape", "Expected non-negative integers for " + path + ".shape");
      }
      shape.push_back(static_cast<int64_t>(d));
    }
    const Napi::Value data = o.Get("data");
    if (!is_typed_array(data, napi_uint8_array)) throw type_error(env, path + ".data", "a Uint8Array");
    const Napi::Uint8Array bytes = data.As<Napi::Uint8Array>();
    int64_t expected = 0;
    if (__builtin_mul_overflow(numel, static_cast<int64_t>(entry->bytes), &expected) ||
        static_cast<int64_t>(bytes.ByteLength()) != expected) {
      throw range_error(env, path + ".data", "Expected " + path + ".data to hold " + std::to_string(numel) + " " + dtype +
                                                 " values (" + std::to_string(numel * static_cast<int64_t>(entry->bytes)) +
                                                 " bytes) but it holds " + std::to_string(bytes.ByteLength()) + " bytes");
    }
    torch::Tensor t = torch::empty(shape, torch::TensorOptions().dtype(entry->type));
    if (expected > 0) std::memcpy(t.data_ptr(), bytes.Data(), static_cast<size_t>(expected));
    out.emplace_back(name, std::move(t));
  }
  return out;
}

Napi::Array tensors_to_named_tensors(Napi::Env env, const std::vector<std::pair<std::string, torch::Tensor>>& tensors) {
  Napi::Array out = Napi::Array::New(env, tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const torch::Tensor t = tensors[i].second.detach().to(torch::kCPU).contiguous();
    const DtypeEntry* entry = nullptr;
    for (const DtypeEntry& e : kDtypes) {
      if (t.scalar_type() == e.type) entry = &e;
    }
    if (entry == nullptr) throw Napi::Error::New(env, "internal: no dtype name for tensor " + tensors[i].first);
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", tensors[i].first);
    o.Set("dtype", entry->name);
    Napi::Array shape = Napi::Array::New(env, static_cast<size_t>(t.dim()));
    for (int64_t d = 0; d < t.dim(); ++d) shape.Set(static_cast<uint32_t>(d), static_cast<double>(t.size(d)));
    o.Set("shape", shape);
    const size_t length = static_cast<size_t>(t.numel()) * entry->bytes;
    Napi::Uint8Array data = Napi::Uint8Array::New(env, length);
    if (length > 0) std::memcpy(data.Data(), t.data_ptr(), length);
    o.Set("data", data);
    out.Set(static_cast<uint32_t>(i), o);
  }
  return out;
}

}  // namespace semihard::binding
