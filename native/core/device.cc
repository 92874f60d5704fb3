#include "device.h"

#include <torch/cuda.h>

#include "errors.h"

namespace semihard::core {

bool cuda_available() { return torch::cuda::is_available(); }

torch::Device resolve_device(DeviceChoice choice, int64_t cuda_index) {
  if (choice == DeviceChoice::kCpu || (choice == DeviceChoice::kAuto && !cuda_available())) return torch::Device(torch::kCPU);
  if (!cuda_available()) {
    throw ArgumentError("device",
                        "Expected a usable CUDA device for device 'cuda' but this LibTorch build or machine "
                        "has none; use 'cpu' or 'auto'");
  }
  if (cuda_index < 0) return torch::Device(torch::kCUDA, 0);
  const auto count = static_cast<int64_t>(torch::cuda::device_count());
  if (cuda_index >= count) {
    throw ArgumentError("device", "Expected a CUDA device index below " + std::to_string(count) + " but received " +
                                      std::to_string(cuda_index));
  }
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(cuda_index));
}

torch::Device resolve_device(const std::string& name) { return resolve_device(parse_name(kDeviceNames, name, "device")); }

}  // namespace semihard::core
