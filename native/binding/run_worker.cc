#include "run_worker.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <utility>
#include <vector>

#include "../core/trainer.h"
#include "../core/triplet_stats.h"
#include "errors.h"
#include "trainer_results.h"

namespace semihard::binding {
namespace {

struct StepReport {
  int64_t index;
  float loss;
  double lr;
  // The last step of a report window: the window's stats and any collapse alarm.
  bool has_stats = false;
  WindowStats stats;
  std::optional<core::CollapseAlarm> collapse;
};

// On a device, training steps' losses stay there and are read together this often (one wait
// for the device per report instead of one per step). On the CPU a loss is read at once: the
// step has finished when train_step returns, so reading costs nothing.
constexpr std::chrono::milliseconds kReportInterval{250};

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
        // Several processes stop together: a wish to stop on any rank stops all of them (a
        // collapse before a cancel).
        const core::StopWish cancel = job_.cancel->exchange(false) ? core::StopWish::kCancel : core::StopWish::kNone;
        const core::StopWish wish = job_.trainer->any_rank_stops(std::max(cancel, stop_wish_));
        if (wish != core::StopWish::kNone) {
          report(progress);
          if (wish == core::StopWish::kCollapse) {
            outcome_.collapsed = true;
          } else {
            outcome_.cancelled = true;
          }
          return;
        }
        const torch::Tensor batch = job_.indices.narrow(0, s * job_.batch, job_.batch);
        if (job_.train) {
          const core::StepResult r = job_.trainer->train_step(batch);
          pending_.push_back(StepReport{s, 0.0f, r.lr});
          pending_losses_.push_back(r.loss);
          if (r.stats.defined()) window_stats_ = window_stats_.defined() ? window_stats_.add_(r.stats) : r.stats.clone();
        } else {
          pending_.push_back(StepReport{s, job_.trainer->valid_loss(batch), 0.0});
        }
        const auto now = std::chrono::steady_clock::now();
        if (!job_.train || job_.trainer->device().is_cpu() || now - reported_ >= kReportInterval) report(progress);
      }
      report(progress);
      // A collapse that stops, declared by the last window: the run has ended anyway, but the
      // caller must stop too (every rank, whatever its own windows saw).
      if (job_.train && job_.trainer->any_rank_stops(stop_wish_) == core::StopWish::kCollapse) outcome_.collapsed = true;
    } catch (const core::FeedCancelled&) {
      // cancel() ended a wait for fed images: the run stops there, as between steps.
      try {
        report(progress);
        outcome_.cancelled = true;
      } catch (...) {
        error_ = capture_current_exception();
        SetError(error_.message);
      }
    } catch (...) {
      error_ = capture_current_exception();
      SetError(error_.message);
    }
  }

  // The pending steps' losses read (one wait for the device), recorded and sent to onStep.
  void report(const ExecutionProgress& progress) {
    reported_ = std::chrono::steady_clock::now();
    if (pending_.empty()) return;
    if (!pending_losses_.empty()) {
      // A non-finite loss (the device's loss call reads nothing itself) fails the run here,
      // after the steps before it are recorded and sent as they would have been one by one.
      const core::TrainingLosses read = core::read_training_losses(pending_losses_);
      for (size_t i = 0; i < pending_.size(); ++i) pending_[i].loss = read.values[i];
      if (read.first_non_finite >= 0) {
        const size_t good = static_cast<size_t>(read.first_non_finite);
        for (size_t i = 0; i < good; ++i) {
          outcome_.losses.push_back(pending_[i].loss);
          outcome_.lrs.push_back(pending_[i].lr);
        }
        if (good > 0) progress.Send(pending_.data(), good);
        const torch::Tensor bad = pending_losses_[good];
        pending_.clear();
        pending_losses_.clear();
        core::read_training_loss(bad);  // throws the loss's error
      }
    }
    if (window_stats_.defined()) close_window();
    for (const StepReport& r : pending_) {
      outcome_.losses.push_back(r.loss);
      outcome_.lrs.push_back(r.lr);
    }
    progress.Send(pending_.data(), pending_.size());
    pending_.clear();
    pending_losses_.clear();
  }

  // The pending steps' summed stats read (the device has finished them: the losses were
  // read), added to the run's, put on the window's last report, and fed to the collapse
  // detector with the window's mean loss.
  void close_window() {
    const core::TripletStats stats = core::read_triplet_stats(window_stats_);
    window_stats_ = torch::Tensor();
    const int64_t steps = static_cast<int64_t>(pending_.size());
    outcome_.stats.add(stats);
    outcome_.stats_steps += steps;
    outcome_.has_stats = true;
    StepReport& last = pending_.back();
    last.has_stats = true;
    last.stats = WindowStats{steps, stats};
    if (job_.on_collapse == core::CollapsePolicy::kIgnore) return;
    double loss = 0.0;
    for (const StepReport& r : pending_) loss += r.loss;
    const double spread = core::summarize_triplet_stats(stats).spread;
    last.collapse = job_.trainer->observe_collapse(steps, spread, loss / static_cast<double>(steps));
    if (last.collapse && job_.on_collapse == core::CollapsePolicy::kStop) stop_wish_ = core::StopWish::kCollapse;
  }

  void OnProgress(const StepReport* data, size_t count) override {
    if (on_step_.IsEmpty() || callback_failed_) return;
    Napi::Env env = Env();
    for (size_t i = 0; i < count; ++i) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("step", static_cast<double>(data[i].index));
      o.Set("loss", data[i].loss);
      o.Set("lr", data[i].lr);
      o.Set("stats", data[i].has_stats ? training_stats_to_js(env, data[i].stats, loss_kind()) : env.Null());
      if (data[i].collapse) o.Set("collapse", collapse_alarm_to_js(env, *data[i].collapse));
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
    deferred_.Resolve(run_outcome_to_js(Env(), outcome_, loss_kind()));
  }

  void OnError(const Napi::Error&) override {
    done_();
    deferred_.Reject(to_js_error(Env(), error_).Value());
  }

 private:
  core::TripletKind loss_kind() const { return job_.trainer->options().loss.kind; }

  Napi::Promise::Deferred deferred_;
  StepsJob job_;
  TaskWorker::Finally done_;
  Napi::ObjectReference keep_alive_;
  Napi::FunctionReference on_step_;
  RunOutcome outcome_;
  std::vector<StepReport> pending_;             // steps run and not yet reported
  std::vector<torch::Tensor> pending_losses_;   // their losses, on the device (train steps)
  torch::Tensor window_stats_;                  // their stats summed, on the device (undefined: none)
  core::StopWish stop_wish_ = core::StopWish::kNone;  // a collapse under policy stop
  std::chrono::steady_clock::time_point reported_ = std::chrono::steady_clock::now();
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
