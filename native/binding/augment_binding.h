// The training augmentation as the addon exposes it: the ranges read from a JS object, and a
// preview that applies them to a few images (what a user checks before training on them).
#pragma once

#include <napi.h>

#include "../core/augment.h"

namespace semihard::binding {

// { rotation, scale, translate, flip } -> the core's ranges (scale s: 1 - s .. 1 + s); the
// core checks them where it draws transforms (core::check_affine_range).
core::AffineRange affine_range(Napi::Env env, const Napi::Value& value, const std::string& argument);
// { minScale, maxScale, minRatio, maxRatio } -> the core's crop range (core::check_crop_range
// checks it).
core::CropRange crop_range(Napi::Env env, const Napi::Value& value, const std::string& argument);

void register_augment_functions(Napi::Env env, Napi::Object exports);

}  // namespace semihard::binding
