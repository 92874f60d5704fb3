// A Promise-returning Node-API AsyncWorker for one task: `work` runs on a worker thread
// (exceptions become rejections through errors.h), `resolve` builds the value on the JS
// thread, `finally` runs on the JS thread either way. A JS object can be kept alive for the
// task's duration.
#pragma once

#include <ATen/Parallel.h>
#include <napi.h>

#include <functional>
#include <utility>

#include "errors.h"

namespace semihard::binding {

// LibTorch's OpenMP thread count is a per-thread setting that a thread takes from the global
// one (setNumThreads) on its first parallel work and keeps: a libuv pool thread first used
// while another count was set would run every later job with it, so results would depend on
// which pool thread a job lands on. Every job applies the current count to its thread first.
inline void use_current_thread_count() { at::init_num_threads(); }

class TaskWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<void()>;
  using Resolve = std::function<Napi::Value(Napi::Env)>;
  using Finally = std::function<void()>;

  static Napi::Promise queue(Napi::Env env, const char* name, Work work, Resolve resolve, Finally finally = {},
                             Napi::Object keep_alive = Napi::Object()) {
    auto* worker = new TaskWorker(env, name, std::move(work), std::move(resolve), std::move(finally));
    if (!keep_alive.IsEmpty()) worker->keep_alive_ = Napi::Persistent(keep_alive);
    Napi::Promise promise = worker->deferred_.Promise();
    worker->Queue();
    return promise;
  }

 protected:
  void Execute() override {
    try {
      use_current_thread_count();
      work_();
    } catch (...) {
      error_ = capture_current_exception();
      SetError(error_.message);
    }
  }

  void OnOK() override {
    if (finally_) finally_();
    try {
      deferred_.Resolve(resolve_(Env()));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }

  void OnError(const Napi::Error&) override {
    if (finally_) finally_();
    deferred_.Reject(to_js_error(Env(), error_).Value());
  }

 private:
  TaskWorker(Napi::Env env, const char* name, Work work, Resolve resolve, Finally finally)
      : Napi::AsyncWorker(env, name),
        deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)),
        resolve_(std::move(resolve)),
        finally_(std::move(finally)) {}

  Napi::Promise::Deferred deferred_;
  Work work_;
  Resolve resolve_;
  Finally finally_;
  Napi::ObjectReference keep_alive_;
  CapturedError error_;
};

}  // namespace semihard::binding
