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

namespace {

Napi::Error argument_error(Napi::Error error, Napi::Env env, const std::string& argument) {
  error.Set("argument", Napi::String::New(env, argument));
  error.Set("code", Napi::String::New(env, "ERR_SEMIHARD_ARGUMENT"));
  return error;
}

}  // namespace

Napi::Error to_js_error(Napi::Env env, const CapturedError& error) {
  if (error.kind == CapturedError::Kind::kRange) return range_error(env, error.argument, error.message);
  Napi::Error e = Napi::Error::New(env, error.message);
  const char* code = error.kind == CapturedError::Kind::kTorch         ? "ERR_SEMIHARD_TORCH"
                     : error.kind == CapturedError::Kind::kDistributed ? "ERR_SEMIHARD_DISTRIBUTED"
                                                                       : "ERR_SEMIHARD_NATIVE";
  e.Set("code", Napi::String::New(env, code));
  return e;
}

Napi::Error type_error(Napi::Env env, const std::string& argument, const std::string& expected) {
  return argument_error(Napi::TypeError::New(env, "Expected " + expected + " for " + argument), env, argument);
}

Napi::Error range_error(Napi::Env env, const std::string& argument, const std::string& message) {
  return argument_error(Napi::RangeError::New(env, message), env, argument);
}

}  // namespace semihard::binding
