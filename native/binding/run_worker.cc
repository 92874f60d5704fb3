#include "run_worker.h"

#include <utility>

#include "../core/trainer.h"
#include "errors.h"
#include "trainer_results.h"

namespace semihard::binding {
namespace {

struct StepReport {
  int64_t index;
  float loss;
  double lr;
};

class RunWorker : public Napi::AsyncProgressQueueWorker<StepReport> {
 public:
  RunWorker(Napi::Env env, StepsJob job, Napi::Function on_step, TaskWorker::Finally done, Napi::Object keep_alive)
      : Napi::AsyncProgressQueueWorker<StepReport>(env, "semihard:run"),
        deferred_(Napi::Promise::Deferred::New(env)),
        job_(std::move(job)),
        done_(std::move(done)) {
    keep_alive_ = Napi::Persistent(keep_alive);
    if (!on_step.IsEmpty()) on_step_ = Napi::Persistent(on_step);
  }

  Napi::Promise promise() const { return deferred_.Promise(); }

 protected:
  void Execute(const ExecutionProgress& progress) override {
    try {
      use_current_thread_count();
      const int64_t steps = job_.indices.numel() / job_.batch;
      for (int64_t s = 0; s < steps; ++s) {
        // Several processes stop together: a wish to stop on any rank stops all of them.
        if (job_.trainer->any_rank_stops(job_.cancel->exchange(false))) {
          outcome_.cancelled = true;
          return;
        }
        const torch::Tensor batch = job_.indices.narrow(0, s * job_.batch, job_.batch);
        StepReport report{s, 0.0f, 0.0};
        if (job_.train) {
          const core::StepResult r = job_.trainer->train_step(batch);
          report.loss = r.loss;
          report.lr = r.lr;
        } else {
          report.loss = job_.trainer->valid_loss(batch);
        }
        outcome_.losses.push_back(report.loss);
        outcome_.lrs.push_back(report.lr);
        progress.Send(&report, 1);
      }
    } catch (const core::FeedCancelled&) {
      // cancel() ended a wait for fed images: the run stops there, as between steps.
      outcome_.cancelled = true;
    } catch (...) {
      error_ = capture_current_exception();
      SetError(error_.message);
    }
  }

  void OnProgress(const StepReport* data, size_t count) override {
    if (on_step_.IsEmpty() || callback_failed_) return;
    Napi::Env env = Env();
    for (size_t i = 0; i < count; ++i) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("step", static_cast<double>(data[i].index));
      o.Set("loss", data[i].loss);
      o.Set("lr", data[i].lr);
      try {
        on_step_.Call({o});
      } catch (const Napi::Error& e) {
        callback_failed_ = true;
        callback_error_ = Napi::Persistent(e.Value());
        *job_.cancel = true;
        return;
      }
    }
  }

  void OnOK() override {
    done_();
    if (callback_failed_) {
      deferred_.Reject(callback_error_.Value());
      return;
    }
    deferred_.Resolve(run_outcome_to_js(Env(), outcome_));
  }

  void OnError(const Napi::Error&) override {
    done_();
    deferred_.Reject(to_js_error(Env(), error_).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  StepsJob job_;
  TaskWorker::Finally done_;
  Napi::ObjectReference keep_alive_;
  Napi::FunctionReference on_step_;
  RunOutcome outcome_;
  CapturedError error_;
  bool callback_failed_ = false;
  Napi::ObjectReference callback_error_;
};

}  // namespace

Napi::Promise queue_steps(Napi::Env env, StepsJob job, Napi::Function on_step, TaskWorker::Finally done,
                          Napi::Object keep_alive) {
  auto* worker = new RunWorker(env, std::move(job), on_step, std::move(done), keep_alive);
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

}  // namespace semihard::binding
