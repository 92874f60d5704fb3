// The Trainer's run(): training or validation steps on a worker thread. Each step's loss
// reaches JS through a progress queue (onStep): on a CUDA device the losses of the steps run
// in the last quarter second are read from the device together (no wait for it every step),
// on the CPU each as its step ends; a stop wished by cancel() or a throwing
// onStep is honoured between steps, on every rank together, or, when a step waits for fed
// images, at once on this rank (other ranks then fail at their next collective). One job at a time: the caller
// marks its trainer busy and `done` runs on the JS thread before the Promise settles.
#pragma once

#include <napi.h>

#include <atomic>
#include <cstdint>

#include <torch/types.h>

#include "task_worker.h"

#include "../core/collapse_detector.h"

namespace semihard::core {
class Trainer;
}

namespace semihard::binding {

struct StepsJob {
  core::Trainer* trainer;
  std::atomic<bool>* cancel;  // set to stop after the current step; read and cleared between steps
  bool train;                 // train steps, or validation losses only
  torch::Tensor indices;      // flat int64, a whole number of batches
  int64_t batch;
  core::CollapsePolicy on_collapse = core::CollapsePolicy::kWarn;
};

// Training steps' stats (core::Trainer's StepResult::stats) are summed on the device over
// each report window and read with its losses: the window's last step report carries their
// summary (the others null), the window feeds the trainer's collapse detector, and an alarm
// rides on that report ('warn'); 'stop' also stops the run at the next step, on every rank.
// -> Promise<{ losses: Float32Array, lrs: Float64Array, cancelled, collapsed, stats }>
// (stats: the summary of all the run's steps, null without), rejected with onStep's error if
// it threw. `on_step` may be empty; `keep_alive` is held until the job settles.
Napi::Promise queue_steps(Napi::Env env, StepsJob job, Napi::Function on_step, TaskWorker::Finally done,
                          Napi::Object keep_alive);

}  // namespace semihard::binding
