// One job at a time for a native object (a Trainer, an Embedder): while a queued job runs,
// another call is refused on the JS thread with an Error of code 'ERR_SEMIHARD_BUSY'.
#pragma once

#include <napi.h>

#include <atomic>
#include <string>

#include "task_worker.h"

namespace semihard::binding {

class JobSlot {
 public:
  // `holder` names the object in the refusal: "<holder> is busy with another job; await it first".
  explicit JobSlot(const char* holder) : holder_(holder) {}

  void check_idle(Napi::Env env) const {
    if (busy_) {
      Napi::Error e = Napi::Error::New(env, std::string(holder_) + " is busy with another job; await it first");
      e.Set("code", Napi::String::New(env, "ERR_SEMIHARD_BUSY"));
      throw e;
    }
  }

  // Marks the object busy until the returned function runs (a TaskWorker's `finally`).
  TaskWorker::Finally occupy() {
    busy_ = true;
    return [this] { busy_ = false; };
  }

 private:
  const char* holder_;
  std::atomic<bool> busy_{false};
};

}  // namespace semihard::binding
