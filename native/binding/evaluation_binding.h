// Evaluation entry points of the addon: embedding metrics, nearest neighbours and 2-D
// projections, as Promises.
#pragma once

#include <napi.h>

namespace semihard::binding {

void register_evaluation_functions(Napi::Env env, Napi::Object exports);

}  // namespace semihard::binding
