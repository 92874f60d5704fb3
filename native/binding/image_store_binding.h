// The ImageStore class of the addon (createImageStore): decoded images in native memory that
// JS writes image by image and a Trainer trains on without a copy. Store objects carry a
// Node-API type tag, so only a real store is ever unwrapped.
#pragma once

#include <napi.h>

#include <optional>

#include <torch/types.h>

namespace semihard::binding {

void register_image_store(Napi::Env env, Napi::Object exports);

// The images of `value` when it is an image store (count x stored_height x stored_width x
// channels uint8, sharing the store's memory); nothing when it is anything else.
std::optional<torch::Tensor> image_store_images(const Napi::Value& value);

}  // namespace semihard::binding
