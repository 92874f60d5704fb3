// Turning C++ failures into JavaScript errors. Every entry point of the addon runs its body
// through `guarded`, so no exception ever crosses a Node-API frame.
#pragma once

#include <napi.h>

#include <exception>
#include <string>

namespace semihard::binding {

// A failure captured on a worker thread, to be rethrown on the JS thread.
struct CapturedError {
  enum class Kind { kNone, kRange, kTorch, kDistributed, kNative } kind = Kind::kNone;
  std::string message;
  std::string argument;  // for kRange: the argument the message is about
};

// Classifies the exception currently being handled (call inside a catch block).
CapturedError capture_current_exception();

// The JS error for a captured failure: RangeError (with .argument) for bad arguments, Error
// with .code 'ERR_SEMIHARD_TORCH' for LibTorch failures, 'ERR_SEMIHARD_DISTRIBUTED' when a peer
// process failed or could not be reached, 'ERR_SEMIHARD_NATIVE' otherwise.
Napi::Error to_js_error(Napi::Env env, const CapturedError& error);

Napi::Error type_error(Napi::Env env, const std::string& argument, const std::string& expected);

template <typename Fn>
Napi::Value guarded(Napi::Env env, Fn&& fn) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    throw to_js_error(env, capture_current_exception());
  }
}

}  // namespace semihard::binding
