// Module entry: registers the addon's functions. Typed by binding.d.ts; loaded only by
// lib/binding.ts.
#include <napi.h>

#include <ATen/Parallel.h>
#include <torch/version.h>

#include "../core/cuda_info.h"
#include "../core/device.h"
#include "../bench/gram_baseline.h"
#include "augment_binding.h"
#include "convert.h"
#include "embedder_binding.h"
#include "errors.h"
#include "evaluation_binding.h"
#include "image_store_binding.h"
#include "loss_binding.h"
#include "trainer_binding.h"
#include "weight_file_binding.h"

namespace semihard::binding {
namespace {

Napi::Value info(const Napi::CallbackInfo& call) {
  Napi::Env env = call.Env();
  return guarded(env, [&]() -> Napi::Value {
    Napi::Object out = Napi::Object::New(env);
    out.Set("torchVersion", Napi::String::New(env, TORCH_VERSION));
    out.Set("cudaAvailable", Napi::Boolean::New(env, core::cuda_available()));
    out.Set("threads", Napi::Number::New(env, at::get_num_threads()));
    out.Set("parallelBackend", Napi::String::New(env, at::get_parallel_info()));
    const core::CudaInfo cuda = core::cuda_info();
    const auto optional_string = [&](const std::optional<std::string>& s) -> Napi::Value {
      return s ? Napi::Value(Napi::String::New(env, *s)) : env.Null();
    };
    out.Set("cudaVersion", optional_string(cuda.cuda_version));
    out.Set("cudnnVersion", optional_string(cuda.cudnn_version));
    Napi::Array devices = Napi::Array::New(env, cuda.devices.size());
    for (size_t i = 0; i < cuda.devices.size(); ++i) {
      const core::CudaDevice& d = cuda.devices[i];
      Napi::Object device = Napi::Object::New(env);
      device.Set("index", Napi::Number::New(env, static_cast<double>(d.index)));
      device.Set("name", d.name.empty() ? env.Null() : Napi::Value(Napi::String::New(env, d.name)));
      device.Set("totalMemory", d.total_memory > 0 ? Napi::Value(Napi::Number::New(env, static_cast<double>(d.total_memory))) : env.Null());
      device.Set("capability", d.capability.empty() ? env.Null() : Napi::Value(Napi::String::New(env, d.capability)));
      devices.Set(static_cast<uint32_t>(i), device);
    }
    out.Set("cudaDevices", devices);
    return out;
  });
}

Napi::Value set_num_threads(const Napi::CallbackInfo& call) {
  Napi::Env env = call.Env();
  return guarded(env, [&]() -> Napi::Value {
    at::set_num_threads(static_cast<int>(positive_integer(env, call[0], "threads")));
    return env.Undefined();
  });
}

// Benchmarks only: the Gram-product yardstick timed in this process.
Napi::Value benchmark_gram(const Napi::CallbackInfo& call) {
  Napi::Env env = call.Env();
  return guarded(env, [&]() -> Napi::Value {
    const int64_t batch = positive_integer(env, call[0], "batch");
    const int64_t dim = positive_integer(env, call[1], "dim");
    const int64_t repeats = positive_integer(env, call[2], "repeats");
    const torch::Device device = core::resolve_device(enum_arg(env, call[3], "device", core::kDeviceNames));
    return Napi::Number::New(env, bench::gram_matmul_median_ms(batch, dim, repeats, device));
  });
}

Napi::Object init(Napi::Env env, Napi::Object exports) {
  register_loss_functions(env, exports);
  register_trainer(env, exports);
  register_embedder(env, exports);
  register_evaluation_functions(env, exports);
  register_augment_functions(env, exports);
  register_image_store(env, exports);
  register_weight_file_functions(env, exports);
  exports.Set("info", Napi::Function::New(env, info, "info"));
  exports.Set("setNumThreads", Napi::Function::New(env, set_num_threads, "setNumThreads"));
  exports.Set("benchmarkGram", Napi::Function::New(env, benchmark_gram, "benchmarkGram"));
  return exports;
}

}  // namespace
}  // namespace semihard::binding

// NODE_API_MODULE pastes its second argument into an identifier: it must be unqualified.
static Napi::Object InitSemihardAddon(Napi::Env env, Napi::Object exports) {
  return semihard::binding::init(env, exports);
}
NODE_API_MODULE(semihard, InitSemihardAddon)
