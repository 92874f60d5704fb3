// Errors raised by the core on bad caller input. The binding maps ArgumentError to a JS
// RangeError naming `argument()`; anything else becomes a SemihardError.
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

}  // namespace semihard::core
