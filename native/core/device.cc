#include "device.h"

#include <torch/cuda.h>

#include "errors.h"

namespace semihard::core {

bool cuda_available() { return torch::cuda::is_available(); }

torch::Device resolve_device(const std::string& name) {
  if (name == "cpu") return torch::Device(torch::kCPU);
  if (name == "auto") return cuda_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  if (name == "cuda") {
    if (!cuda_available()) {
      throw ArgumentError("device",
                          "Expected a usable CUDA device for device 'cuda' but this LibTorch build or machine "
                          "has none; use 'cpu' or 'auto'");
    }
    return torch::Device(torch::kCUDA, 0);
  }
  throw ArgumentError("device", "Expected one of 'cpu', 'cuda', 'auto' for device but received '" + name + "'");
}

}  // namespace semihard::core
