// JS values -> C++ values, and tensors -> typed arrays. These are the binding's only checks,
// one family: the kind of a value (TypeError), a typed array's length against the shape it is
// given and a name against its enumeration's table (RangeError), all built by errors.h. What a
// value may be for the user (ranges, defaults) is lib/'s to check; the core's preconditions
// are its own TORCH_CHECKs. Inputs are copied on the JS thread (a worker never touches JS
// memory); outputs are copied into V8-owned typed arrays.
#pragma once

#include <napi.h>

#include <cstring>

#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

#include "../core/names.h"
#include "errors.h"

namespace semihard::binding {

// One row per JS typed-array kind this addon accepts; binding.d.ts types them on the JS side
// (NativeLabels for the labels).
//   Float32Array  <-> torch::kFloat32
//   Int32Array    <-> torch::kInt32   (labels, indices)
//   BigInt64Array <-> torch::kInt64   (labels, indices)
//   Uint8Array    <-> torch::kUInt8   (images, 0..255)
torch::Tensor float32_array_to_tensor(Napi::Env env, const Napi::Value& value, const std::string& argument);
torch::Tensor labels_to_tensor(Napi::Env env, const Napi::Value& value, const std::string& argument);
torch::Tensor uint8_array_to_tensor(Napi::Env env, const Napi::Value& value, const std::string& argument);
// A Float32Array as rows x dim: its length must be a multiple of dim.
torch::Tensor rows_to_tensor(Napi::Env env, const Napi::Value& value, int64_t dim, const std::string& argument);
// Images as N x H x W x C (channels interleaved): a Uint8Array (0..255) or a Float32Array
// (0..1) of count * height * width * channels.
torch::Tensor images_to_tensor(Napi::Env env, const Napi::Value& value, int64_t count, int64_t height, int64_t width,
                               int64_t channels, const std::string& argument);
// A Uint8Array of count * height * width * channels as N x H x W x C.
torch::Tensor uint8_images_to_tensor(Napi::Env env, const Napi::Value& value, int64_t count, int64_t height,
                                     int64_t width, int64_t channels, const std::string& argument);
bool is_uint8_array(const Napi::Value& value);
// A tensor's values, converted to T (float, double, int32_t: a caller converting indices
// checks first that they fit), copied into a new typed array of its element count.
template <typename T>
Napi::TypedArrayOf<T> tensor_to_typed_array(Napi::Env env, const torch::Tensor& tensor) {
  const torch::Tensor t = tensor.detach().to(torch::kCPU, c10::CppTypeToScalarType<T>::value).contiguous();
  Napi::TypedArrayOf<T> out = Napi::TypedArrayOf<T>::New(env, static_cast<size_t>(t.numel()));
  if (t.numel() > 0) std::memcpy(out.Data(), t.data_ptr<T>(), static_cast<size_t>(t.numel()) * sizeof(T));
  return out;
}
inline Napi::Float32Array tensor_to_float32_array(Napi::Env env, const torch::Tensor& tensor) {
  return tensor_to_typed_array<float>(env, tensor);
}

// Named tensors (lib/model/named-tensor.ts): an array of { name, dtype, shape, data:
// Uint8Array } <-> (name, tensor) pairs, through one dtype table (TENSOR_DTYPES' names:
// float32 float64 float16 bfloat16 int64 int32 int16 int8 uint8 bool). Checked: the kinds,
// a known dtype, each shape entry a safe integer >= 0, data's byte length = the shape's
// product x the dtype's size. The bytes are copied (little-endian, C order).
std::vector<std::pair<std::string, torch::Tensor>> named_tensors_to_tensors(Napi::Env env, const Napi::Value& value,
                                                                            const std::string& argument);
Napi::Array tensors_to_named_tensors(Napi::Env env, const std::vector<std::pair<std::string, torch::Tensor>>& tensors);

// A size the binding shapes memory with (a dimension, a count, a batch): a safe integer >= 1.
int64_t positive_integer(Napi::Env env, const Napi::Value& value, const std::string& argument);
Napi::Object object_arg(Napi::Env env, const Napi::Value& value, const std::string& argument);

// Fields of an options object, named `<path>.<name>` in errors. A field must be present
// unless the caller asks `has` first.
bool has_option(const Napi::Object& options, const char* name);
std::string string_option(Napi::Env env, const Napi::Object& options, const char* name, const std::string& path = "options");
double number_option(Napi::Env env, const Napi::Object& options, const char* name, const std::string& path = "options");
bool boolean_option(Napi::Env env, const Napi::Object& options, const char* name, const std::string& path = "options");
// An array of numbers.
std::vector<double> number_array_option(Napi::Env env, const Napi::Object& options, const char* name,
                                        const std::string& path = "options");
// A number with an integral value that int64_t holds exactly.
int64_t integer_option(Napi::Env env, const Napi::Object& options, const char* name, const std::string& path = "options");
int64_t positive_integer_option(Napi::Env env, const Napi::Object& options, const char* name,
                                const std::string& path = "options");

// A name of the core's enumeration `table` (core/names.h): a string other than those is a
// RangeError, never a default.
template <typename E, std::size_t N>
E enum_arg(Napi::Env env, const Napi::Value& value, const std::string& argument, const core::Named<E> (&table)[N]) {
  const std::string expected = "one of " + core::quoted_names(table);
  if (!value.IsString()) throw type_error(env, argument, expected);
  const std::string name = value.As<Napi::String>().Utf8Value();
  const std::optional<E> parsed = core::find_name(table, name);
  if (!parsed) throw range_error(env, argument, "Expected " + expected + " for " + argument + " but received '" + name + "'");
  return *parsed;
}

template <typename E, std::size_t N>
E enum_option(Napi::Env env, const Napi::Object& options, const char* name, const core::Named<E> (&table)[N],
              const std::string& path = "options") {
  return enum_arg(env, options.Get(name), path + "." + name, table);
}

}  // namespace semihard::binding
