#include "errors.h"

#include <c10/util/Exception.h>

#include "../core/errors.h"

namespace semihard::binding {

CapturedError capture_current_exception() {
  CapturedError out;
  try {
    throw;
  } catch (const core::ArgumentError& e) {
    out.kind = CapturedError::Kind::kRange;
    out.message = e.what();
    out.argument = e.argument();
  } catch (const core::DistributedError& e) {
    out.kind = CapturedError::Kind::kDistributed;
    out.message = e.what();
  } catch (const c10::Error& e) {
    out.kind = CapturedError::Kind::kTorch;
    out.message = e.what_without_backtrace();
  } catch (const std::exception& e) {
    out.kind = CapturedError::Kind::kNative;
    out.message = e.what();
  } catch (...) {
    out.kind = CapturedError::Kind::kNative;
    out.message = "unknown native failure";
  }
  return out;
}

Napi::Error to_js_error(Napi::Env env, const CapturedError& error) {
  if (error.kind == CapturedError::Kind::kRange) {
    Napi::Error e = Napi::RangeError::New(env, error.message);
    e.Set("argument", Napi::String::New(env, error.argument));
    e.Set("code", Napi::String::New(env, "ERR_SEMIHARD_ARGUMENT"));
    return e;
  }
  Napi::Error e = Napi::Error::New(env, error.message);
  const char* code = error.kind == CapturedError::Kind::kTorch         ? "ERR_SEMIHARD_TORCH"
                     : error.kind == CapturedError::Kind::kDistributed ? "ERR_SEMIHARD_DISTRIBUTED"
                                                                       : "ERR_SEMIHARD_NATIVE";
  e.Set("code", Napi::String::New(env, code));
  return e;
}

Napi::Error type_error(Napi::Env env, const std::string& argument, const std::string& expected) {
  Napi::Error e = Napi::TypeError::New(env, "Expected " + expected + " for " + argument);
  e.Set("argument", Napi::String::New(env, argument));
  e.Set("code", Napi::String::New(env, "ERR_SEMIHARD_ARGUMENT"));
  return e;
}

}  // namespace semihard::binding
