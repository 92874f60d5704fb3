// What this LibTorch build and machine offer on CUDA: the CUDA runtime and cuDNN versions
// the build carries and the visible devices. Answers on any build: a CPU LibTorch reports no
// versions and no devices, a CUDA LibTorch on a machine without a GPU its versions and no
// devices.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace semihard::core {

struct CudaDevice {
  int64_t index = 0;
  std::string name;             // "" where this build has no CUDA headers to ask with
  int64_t total_memory = 0;     // bytes; 0 where unknown
  std::string capability;       // "9.0"; "" where unknown
};

struct CudaInfo {
  std::optional<std::string> cuda_version;   // the CUDA runtime's, "13.0"
  std::optional<std::string> cudnn_version;  // "9.24.0"
  std::vector<CudaDevice> devices;
};

CudaInfo cuda_info();

}  // namespace semihard::core
