// The loss entry points of the addon: sync and Promise-returning twins for embeddings and
// for caller-given distance matrices. Arguments are validated and defaulted by lib/; here
// they are only re-checked where memory depends on them.
#pragma once

#include <napi.h>

namespace semihard::binding {

void register_loss_functions(Napi::Env env, Napi::Object exports);

}  // namespace semihard::binding
