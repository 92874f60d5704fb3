#include "cuda_info.h"

#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/cuda.h>

// Device properties need the CUDA runtime's headers: CMakeLists.txt defines
// SEMIHARD_CUDA_HEADERS for this file only when LibTorch is a CUDA build and they were found.
#if defined(SEMIHARD_CUDA_HEADERS)
#include <ATen/cuda/CUDAContextLight.h>
#endif

namespace semihard::core {
namespace {

// CUDA encodes versions as major * 1000 + minor * 10; cuDNN 9 as major * 10000 + minor * 100 + patch.
std::string cuda_version_string(long v) { return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10); }
std::string cudnn_version_string(long v) {
  const long major = v >= 90000 ? v / 10000 : v / 1000;
  const long rest = v >= 90000 ? v % 10000 : (v % 1000) * 10;
  return std::to_string(major) + "." + std::to_string(rest / 100) + "." + std::to_string(rest % 100);
}

}  // namespace

CudaInfo cuda_info() {
  CudaInfo info;
  const at::CUDAHooksInterface& hooks = at::detail::getCUDAHooks();
  // The CPU build's hooks throw ("without ATen_cuda library"): that means "no version". The
  // runtime's version needs no GPU and no driver.
  try {
    info.cuda_version = cuda_version_string(hooks.versionCUDART());
  } catch (const std::exception&) {
  }
  try {
    if (hooks.compiledWithCuDNN()) info.cudnn_version = cudnn_version_string(hooks.versionCuDNN());
  } catch (const std::exception&) {
  }
  const int64_t count = torch::cuda::is_available() ? static_cast<int64_t>(torch::cuda::device_count()) : 0;
  for (int64_t i = 0; i < count; ++i) {
    CudaDevice device;
    device.index = i;
#if defined(SEMIHARD_CUDA_HEADERS)
    const cudaDeviceProp* props = at::cuda::getDeviceProperties(static_cast<c10::DeviceIndex>(i));
    device.name = props->name;
    device.total_memory = static_cast<int64_t>(props->totalGlobalMem);
    device.capability = std::to_string(props->major) + "." + std::to_string(props->minor);
#endif
    info.devices.push_back(device);
  }
  return info;
}

}  // namespace semihard::core
