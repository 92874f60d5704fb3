// Typed arrays <-> tensors. Inputs are copied on the JS thread (a worker never touches JS
// memory); outputs are copied into V8-owned typed arrays.
#pragma once

#include <napi.h>

#include <string>

#include <torch/types.h>

namespace semihard::binding {

// One row per JS typed-array kind this addon accepts; mirrored by lib/dtypes.ts.
//   Float32Array  <-> torch::kFloat32
//   Int32Array    <-> torch::kInt32   (labels)
//   BigInt64Array <-> torch::kInt64   (labels)
torch::Tensor float32_array_to_tensor(Napi::Env env, const Napi::Value& value, const std::string& argument);
torch::Tensor labels_to_tensor(Napi::Env env, const Napi::Value& value, const std::string& argument);
//   Uint8Array    <-> torch::kUInt8   (images, 0..255)
torch::Tensor uint8_array_to_tensor(Napi::Env env, const Napi::Value& value, const std::string& argument);
// Images as N x H x W: a Uint8Array (0..255) or a Float32Array (0..1) of count * height * width.
torch::Tensor images_to_tensor(Napi::Env env, const Napi::Value& value, int64_t count, int64_t height, int64_t width,
                               const std::string& argument);
Napi::Float32Array tensor_to_float32_array(Napi::Env env, const torch::Tensor& tensor);

int64_t positive_integer(Napi::Env env, const Napi::Value& value, const std::string& argument);
std::string string_option(Napi::Env env, const Napi::Object& options, const char* name);
double number_option(Napi::Env env, const Napi::Object& options, const char* name);
bool boolean_option(Napi::Env env, const Napi::Object& options, const char* name);
int64_t integer_option(Napi::Env env, const Napi::Object& options, const char* name);

}  // namespace semihard::binding
