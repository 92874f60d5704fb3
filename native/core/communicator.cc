#include "communicator.h"

#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <limits>

#include "errors.h"

namespace semihard::core {

Communicator::Communicator(const CommunicatorOptions& options)
    : rank_(options.rank), world_size_(options.world_size), timeout_(options.timeout) {
  TORCH_CHECK(world_size_ >= 1, "Communicator: world_size must be at least 1, got ", world_size_);
  TORCH_CHECK(rank_ >= 0 && rank_ < world_size_, "Communicator: rank must be within [0, world_size = ", world_size_,
              "), got ", rank_);
  TORCH_CHECK(options.master_port >= 1 && options.master_port <= std::numeric_limits<uint16_t>::max(),
              "Communicator: master_port must be a TCP port (1..65535), got ", options.master_port);
  backend_kind_ = options.backend != CollectiveBackend::kAuto ? options.backend
                  : options.device.is_cuda()                 ? CollectiveBackend::kNccl
                                                             : CollectiveBackend::kGloo;
  if (backend_kind_ == CollectiveBackend::kNccl && !options.device.is_cuda()) {
    throw DistributedError("the nccl backend needs the cuda device (gloo runs on the CPU)");
  }
  if (!collective_backend_available(backend_kind_)) {
    throw DistributedError("this build of semihard has no " + name_of(kCollectiveBackendNames, backend_kind_) +
                           " backend: " +
                           (backend_kind_ == CollectiveBackend::kGloo
                                ? "rebuild with Gloo's headers (npm rebuild; see scripts/gloo-headers.js)"
                                : "rebuild against a CUDA LibTorch with SEMIHARD_NCCL=1"));
  }
  if (world_size_ == 1) return;  // nothing to talk to: every collective is the identity
  c10d::TCPStoreOptions store_options;
  store_options.port = static_cast<uint16_t>(options.master_port);
  store_options.isServer = rank_ == 0;
  store_options.numWorkers = static_cast<size_t>(world_size_);
  store_options.waitWorkers = true;
  store_options.timeout = options.connect_timeout;
  const std::string where = options.master_addr + ":" + std::to_string(options.master_port);
  wait("rendezvous at " + where, [&] {
    store_ = c10::make_intrusive<c10d::TCPStore>(options.master_addr, store_options);
    backend_ = make_collective_backend(backend_kind_, store_, rank_, world_size_, options.master_addr, timeout_);
  });
}

Communicator::~Communicator() = default;

void Communicator::wait(const std::string& operation, const std::function<void()>& run) const {
  try {
    run();
  } catch (const std::exception& e) {
    std::string message = e.what();
    if (const auto* c10 = dynamic_cast<const c10::Error*>(&e)) message = c10->what_without_backtrace();
    const size_t newline = message.find('\n');
    if (newline != std::string::npos) message.resize(newline);
    throw DistributedError("rank " + std::to_string(rank_) + " of " + std::to_string(world_size_) + ": " + operation +
                           " failed (a peer process exited, hung past the " + std::to_string(timeout_.count()) +
                           " ms timeout, or could not be reached): " + message);
  }
}

torch::Tensor Communicator::all_gather_rows(const torch::Tensor& local) {
  if (world_size_ == 1) return local;
  std::vector<int64_t> shape = local.sizes().vec();
  shape[0] *= world_size_;
  torch::Tensor input = local.contiguous();
  torch::Tensor out = torch::empty(shape, input.options());
  wait("all-gather", [&] { backend_->_allgather_base(out, input)->wait(); });
  return out;
}

torch::Tensor Communicator::reduce_scatter_rows(const torch::Tensor& global) {
  if (world_size_ == 1) return global;
  TORCH_CHECK(global.size(0) % world_size_ == 0, "reduce_scatter_rows: rows must divide by the world size");
  std::vector<int64_t> shape = global.sizes().vec();
  shape[0] /= world_size_;
  torch::Tensor input = global.contiguous();
  torch::Tensor out = torch::empty(shape, input.options());
  wait("reduce-scatter", [&] { backend_->_reduce_scatter_base(out, input)->wait(); });
  return out;
}

void Communicator::all_reduce_sum_(torch::Tensor& tensor) {
  if (world_size_ == 1) return;
  TORCH_CHECK(tensor.is_contiguous(), "all_reduce_sum_: the tensor must be contiguous");
  std::vector<torch::Tensor> tensors{tensor};
  wait("all-reduce", [&] { backend_->allreduce(tensors)->wait(); });
}

void Communicator::all_reduce_max_(torch::Tensor& tensor) {
  if (world_size_ == 1) return;
  TORCH_CHECK(tensor.is_contiguous(), "all_reduce_max_: the tensor must be contiguous");
  std::vector<torch::Tensor> tensors{tensor};
  c10d::AllreduceOptions o;
  o.reduceOp = c10d::ReduceOp::MAX;
  wait("all-reduce (max)", [&] { backend_->allreduce(tensors, o)->wait(); });
}

void Communicator::broadcast_(torch::Tensor& tensor, int64_t root) {
  if (world_size_ == 1) return;
  TORCH_CHECK(tensor.is_contiguous(), "broadcast_: the tensor must be contiguous");
  std::vector<torch::Tensor> tensors{tensor};
  c10d::BroadcastOptions o;
  o.rootRank = root;
  wait("broadcast", [&] { backend_->broadcast(tensors, o)->wait(); });
}

}  // namespace semihard::core
