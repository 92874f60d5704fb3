// Where the numerics run: "cpu", "cuda" (an error when this LibTorch or machine has no CUDA)
// or "auto" (CUDA when available).
#pragma once

#include <cstdint>
#include <string>

#include <torch/types.h>

#include "names.h"

namespace semihard::core {

enum class DeviceChoice { kCpu, kCuda, kAuto };
inline constexpr Named<DeviceChoice> kDeviceNames[] = {
    {"cpu", DeviceChoice::kCpu}, {"cuda", DeviceChoice::kCuda}, {"auto", DeviceChoice::kAuto}};

// cuda_index: which CUDA device (-1: the first); ignored when the choice resolves to the CPU.
// Throws ArgumentError("device") when CUDA is asked for and this build or machine has none,
// or has no device of that index: a fact about the machine that only native code sees.
torch::Device resolve_device(DeviceChoice choice, int64_t cuda_index = -1);
// For C++ callers (native/tools); a name not in kDeviceNames fails a TORCH_CHECK.
torch::Device resolve_device(const std::string& name);
bool cuda_available();

}  // namespace semihard::core
