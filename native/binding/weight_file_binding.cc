#include "weight_file_binding.h"

#include <memory>
#include <string>

#include "../core/torch_file.h"
#include "convert.h"
#include "errors.h"
#include "task_worker.h"

namespace semihard::binding {
namespace {

// readTorchFile(path: string) -> Promise<NativeNamedTensor[]>: the file is read on a worker
// thread; the tensors are copied into Uint8Arrays on the JS thread.
Napi::Value read_torch_file(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    if (!info[0].IsString()) throw type_error(env, "path", "a string");
    const std::string path = info[0].As<Napi::String>().Utf8Value();
    auto out = std::make_shared<core::NamedWeights>();
    return TaskWorker::queue(
        env, "semihard:readTorchFile", [=] { *out = core::read_torch_file(path); },
        [out](Napi::Env e) -> Napi::Value {
          Napi::Value tensors = tensors_to_named_tensors(e, *out);
          out->clear();
          return tensors;
        });
  });
}

}  // namespace

void register_weight_file_functions(Napi::Env env, Napi::Object exports) {
  exports.Set("readTorchFile", Napi::Function::New(env, read_torch_file, "readTorchFile"));
}

}  // namespace semihard::binding
