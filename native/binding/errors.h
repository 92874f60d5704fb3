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

// The binding's own argument errors, thrown on the JS thread (convert.h's guards build them):
// a TypeError "Expected <expected> for <argument>" for a value of the wrong kind or a missing
// field, a RangeError with the whole message for a length that does not fit its shape or a
// name outside its enumeration. Both carry .argument and code 'ERR_SEMIHARD_ARGUMENT'.
Napi::Error type_error(Napi::Env env, const std::string& argument, const std::string& expected);
Napi::Error range_error(Napi::Env env, const std::string& argument, const std::string& message);

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
