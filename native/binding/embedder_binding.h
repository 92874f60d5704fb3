// createEmbedder: a core::Embedder (inference only) held by a JS object, made and loaded off
// the event loop; its embed() runs on a worker. One job at a time per embedder.
#pragma once

#include <napi.h>

namespace semihard::binding {

void register_embedder(Napi::Env env, Napi::Object exports);

}  // namespace semihard::binding
