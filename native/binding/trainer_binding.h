// The Trainer class of the addon: a core::Trainer held by a JS object. Long work (steps,
// embedding, state) runs off the event loop; steps report progress through a thread-safe
// queue and can be cancelled between steps. One job at a time per trainer.
#pragma once

#include <napi.h>

namespace semihard::binding {

void register_trainer(Napi::Env env, Napi::Object exports);

}  // namespace semihard::binding
