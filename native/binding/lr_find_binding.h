// The learning-rate range test's binding: Trainer.lrFind's argument and job (core/lr_finder.h),
// and, for tests only, lrSuggestion(lrs, smoothed) -> the range test's suggestion
// (core::valley_lr) for a given curve (two Float64Arrays of one length), so the rule can be
// checked on a hand-made curve without training.
#pragma once

#include <napi.h>
#include <torch/torch.h>

#include <memory>

#include "../core/lr_finder.h"
#include "../core/trainer.h"
#include "task_worker.h"

namespace semihard::binding {

// lrFind({ indices, batchSize, freeze, startLr, endLr })'s argument, converted on the JS thread
// (before the job slot is taken: a refused argument leaves the trainer idle).
struct LrFindArgs {
  std::shared_ptr<torch::Tensor> batches;  // steps x batchSize indices
  core::LrFindOptions options;
};
LrFindArgs lr_find_args(Napi::Env env, const Napi::Value& options);

// -> Promise<{ lrs, losses, smoothed, suggestion, diverged }>: the range test on a worker.
// `trainer` outlives the job (the caller's object is kept alive).
Napi::Promise queue_lr_find(Napi::Env env, core::Trainer* trainer, LrFindArgs args, TaskWorker::Finally release,
                            Napi::Object keep_alive);

Napi::Value lr_suggestion(const Napi::CallbackInfo& info);

}  // namespace semihard::binding
