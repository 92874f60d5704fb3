// Tests only: lrSuggestion(lrs, smoothed) -> the range test's suggestion (core::valley_lr)
// for a given curve (two Float64Arrays of one length), so the rule can be checked on a
// hand-made curve without training.
#pragma once

#include <napi.h>

namespace semihard::binding {

Napi::Value lr_suggestion(const Napi::CallbackInfo& info);

}  // namespace semihard::binding
