// The arithmetic precision of a network's forward pass: 'fp32' (float32 throughout), 'bf16'
// or 'fp16' (LibTorch's autocast: convolutions and matrix products in bfloat16 or float16,
// the ops autocast keeps in float32 in float32; parameters, gradients and the optimiser stay
// float32). The same on CUDA and on the CPU (fp16 on a CPU without AVX512-FP16 is emulated
// and slow: it is there to run fp16's code path anywhere, not to be fast there). fp16 needs a
// gradient scaler in training (grad_scaler.h); bf16 has float32's range and needs none.
#pragma once

#include <optional>
#include <string>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include "names.h"

namespace semihard::core {

enum class Precision { kFloat32, kBFloat16, kFloat16 };
inline constexpr Named<Precision> kPrecisionNames[] = {
    {"fp32", Precision::kFloat32}, {"bf16", Precision::kBFloat16}, {"fp16", Precision::kFloat16}};

// For C++ callers (native/tools); a name not in kPrecisionNames fails a TORCH_CHECK.
Precision parse_precision(const std::string& name);

// The lower precision autocast computes in; none for kFloat32.
std::optional<c10::ScalarType> autocast_dtype(Precision precision);

// Autocast on `device`'s type in `precision` for this thread while it lives (nothing for
// kFloat32); restores the thread's previous autocast setting and, leaving the outermost
// autocast region, frees autocast's cache of lower-precision weight copies (they are stale
// once the optimiser steps). Autocast state is per thread: a worker thread sets its own.
class AutocastGuard {
 public:
  AutocastGuard(const c10::Device& device, Precision precision);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool active_ = false;
  c10::DeviceType device_type_ = c10::DeviceType::CPU;
  bool previous_enabled_ = false;
  c10::ScalarType previous_dtype_ = c10::ScalarType::Undefined;
};

}  // namespace semihard::core
