// Making c10d's Gloo and NCCL backends. This is the one file compiled with the backends'
// headers (CMakeLists.txt: USE_C10D_GLOO with Gloo's include folder; USE_C10D_NCCL with
// nccl.h); it touches Gloo and NCCL types only through pointers, so the headers need not be
// the exact copy LibTorch was built with.
#include "communicator.h"

#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>

#include <cstdlib>

#if defined(SEMIHARD_WITH_GLOO)
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#if defined(SEMIHARD_WITH_NCCL)
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "errors.h"

namespace semihard::core {

bool collective_backend_available(CollectiveBackend backend) {
#if defined(SEMIHARD_WITH_GLOO)
  if (backend == CollectiveBackend::kGloo) return true;
#endif
#if defined(SEMIHARD_WITH_NCCL)
  if (backend == CollectiveBackend::kNccl) return true;
#endif
  (void)backend;
  return false;
}

c10::intrusive_ptr<c10d::Backend> make_collective_backend(CollectiveBackend kind,
                                                          const c10::intrusive_ptr<c10d::Store>& store,
                                                          int64_t rank, int64_t world_size,
                                                          const std::string& master_addr,
                                                          std::chrono::milliseconds timeout) {
#if defined(SEMIHARD_WITH_GLOO)
  if (kind == CollectiveBackend::kGloo) {
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    // The interface: GLOO_SOCKET_IFNAME when set (as in PyTorch); on one machine the
    // loopback; across machines the address this host's name resolves to.
    const char* interface = std::getenv("GLOO_SOCKET_IFNAME");
    if (interface != nullptr && *interface != '\0') {
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(interface));
    } else if (master_addr == "127.0.0.1" || master_addr == "localhost") {
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    } else {
      options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    }
    return c10::make_intrusive<c10d::ProcessGroupGloo>(store, static_cast<int>(rank), static_cast<int>(world_size),
                                                       options);
  }
#endif
#if defined(SEMIHARD_WITH_NCCL)
  if (kind == CollectiveBackend::kNccl) {
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = timeout;
    return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, static_cast<int>(rank), static_cast<int>(world_size),
                                                       options);
  }
#endif
  (void)store, (void)rank, (void)world_size, (void)master_addr, (void)timeout;
  throw DistributedError("no " + name_of(kCollectiveBackendNames, kind) + " backend in this build");
}

}  // namespace semihard::core
