// Where the numerics run: "cpu", "cuda" (an error when this LibTorch or machine has no CUDA)
// or "auto" (CUDA when available).
#pragma once

#include <string>

#include <torch/types.h>

namespace semihard::core {

torch::Device resolve_device(const std::string& name);
bool cuda_available();

}  // namespace semihard::core
