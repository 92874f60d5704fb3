// One process's place in a group of training processes, on PyTorch's distributed engine
// (c10d): a TCPStore for the rendezvous (rank 0 hosts it) and a Gloo (CPU) or NCCL (CUDA)
// backend for the collectives. Every collective is called in the same order on every rank.
// A peer that dies makes the pending collective fail at once (its sockets close); one that
// hangs makes it fail after `timeout`. Both raise DistributedError naming the operation.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <torch/types.h>

#include "names.h"

namespace c10d {
class Backend;
class Store;
}  // namespace c10d

namespace semihard::core {

// kAuto: NCCL for a CUDA device, Gloo otherwise (what a Communicator resolves it to).
enum class CollectiveBackend { kGloo, kNccl, kAuto };
inline constexpr Named<CollectiveBackend> kCollectiveBackendNames[] = {
    {"gloo", CollectiveBackend::kGloo}, {"nccl", CollectiveBackend::kNccl}, {"auto", CollectiveBackend::kAuto}};
// Whether this build can make the backend (Gloo needs its headers at build time; NCCL a
// CUDA LibTorch and SEMIHARD_WITH_NCCL).
bool collective_backend_available(CollectiveBackend backend);

struct CommunicatorOptions {
  int64_t rank = 0;
  int64_t world_size = 1;
  std::string master_addr = "127.0.0.1";
  int64_t master_port = 29500;
  CollectiveBackend backend = CollectiveBackend::kAuto;
  torch::Device device{torch::kCPU};
  std::chrono::milliseconds timeout{60000};          // any one collective
  std::chrono::milliseconds connect_timeout{300000};  // the rendezvous
};

class Communicator {
 public:
  // Blocks until all world_size processes have joined (or connect_timeout passes).
  explicit Communicator(const CommunicatorOptions& options);
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int64_t rank() const { return rank_; }
  int64_t world_size() const { return world_size_; }
  CollectiveBackend backend() const { return backend_kind_; }

  // local: n x ... on every rank (the same n) -> (world_size * n) x ..., rank-major.
  torch::Tensor all_gather_rows(const torch::Tensor& local);
  // global: (world_size * n) x ... -> this rank's n rows of the sum over ranks.
  torch::Tensor reduce_scatter_rows(const torch::Tensor& global);
  // In place, over all ranks.
  void all_reduce_sum_(torch::Tensor& tensor);
  void all_reduce_max_(torch::Tensor& tensor);
  void broadcast_(torch::Tensor& tensor, int64_t root = 0);

 private:
  void wait(const std::string& operation, const std::function<void()>& run) const;

  int64_t rank_ = 0, world_size_ = 1;
  CollectiveBackend backend_kind_ = CollectiveBackend::kGloo;
  std::chrono::milliseconds timeout_;
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<c10d::Backend> backend_;
};

// native/core/process_group_backends.cc: the only file that includes the backends' headers.
c10::intrusive_ptr<c10d::Backend> make_collective_backend(CollectiveBackend kind,
                                                          const c10::intrusive_ptr<c10d::Store>& store,
                                                          int64_t rank, int64_t world_size,
                                                          const std::string& master_addr,
                                                          std::chrono::milliseconds timeout);

}  // namespace semihard::core
