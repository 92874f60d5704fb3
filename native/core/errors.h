// Errors raised by the core about what only native code can see: ArgumentError for a caller's
// data that cannot be computed on (NaN or Infinity in embeddings, distances that overflow
// float32, a CUDA device this machine lacks), naming the C++ parameter; the binding makes it a
// JS RangeError with that name as `argument`. DistributedError when a peer process failed,
// hung or could not be reached (a SemihardError with code ERR_SEMIHARD_DISTRIBUTED).
// Preconditions on arguments (shapes, ranges) are TORCH_CHECKs, in C++ words: callers in lib/
// validate every option before it gets here, so one failing is an internal error.
#pragma once

#include <stdexcept>
#include <string>

namespace semihard::core {

class ArgumentError : public std::invalid_argument {
 public:
  ArgumentError(std::string argument, const std::string& message)
      : std::invalid_argument(message), argument_(std::move(argument)) {}
  const std::string& argument() const noexcept { return argument_; }

 private:
  std::string argument_;
};

class DistributedError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace semihard::core
