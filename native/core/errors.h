// Errors raised by the core. The binding maps ArgumentError (bad caller input) to a JS
// RangeError naming `argument()`, DistributedError (a peer process failed, hung or could not
// be reached) to a SemihardError with code ERR_SEMIHARD_DISTRIBUTED; anything else becomes a
// SemihardError too.
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
