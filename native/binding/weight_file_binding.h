// Weight files users already have, read natively: readTorchFile(path) for a PyTorch .pth
// (core/torch_file.h). Safetensors is read and written in lib/model/safetensors.ts.
#pragma once

#include <napi.h>

namespace semihard::binding {

void register_weight_file_functions(Napi::Env env, Napi::Object exports);

}  // namespace semihard::binding
