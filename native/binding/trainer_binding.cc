#include "trainer_binding.h"

#include <atomic>
#include <memory>
#include <string>
#include <utility>

#include "../core/trainer.h"
#include "convert.h"
#include "errors.h"
#include "job_slot.h"
#include "lr_find_binding.h"
#include "run_worker.h"
#include "task_worker.h"
#include "trainer_options.h"
#include "trainer_results.h"
#include "trainer_weights.h"

namespace semihard::binding {
namespace {

class TrainerWrap : public Napi::ObjectWrap<TrainerWrap> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "Trainer",
                       {InstanceMethod("setData", &TrainerWrap::set_data),
                        InstanceMethod("feed", &TrainerWrap::feed),
                        InstanceMethod("abortFeed", &TrainerWrap::abort_feed),
                        InstanceMethod("queued", &TrainerWrap::queued),
                        InstanceMethod("beginPhase", &TrainerWrap::begin_phase),
                        InstanceMethod("run", &TrainerWrap::run),
                        InstanceMethod("cancel", &TrainerWrap::cancel),
                        InstanceMethod("embed", &TrainerWrap::embed),
                        InstanceMethod("saveState", &TrainerWrap::save_state),
                        InstanceMethod("loadState", &TrainerWrap::load_state),
                        InstanceMethod("parameterInfo", &TrainerWrap::parameter_info),
                        InstanceMethod("getParameter", &TrainerWrap::get_parameter),
                        InstanceMethod("lrFind", &TrainerWrap::lr_find),
                        InstanceMethod("connect", &TrainerWrap::connect),
                        InstanceMethod("computeGradients", &TrainerWrap::compute_gradients),
                        InstanceMethod("loadBackboneWeights", &TrainerWrap::load_backbone_weights),
                        InstanceMethod("exportWeights", &TrainerWrap::export_weights),
                        InstanceMethod("pooledFeaturesForTesting", &TrainerWrap::pooled_features)});
  }

  explicit TrainerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TrainerWrap>(info) {
    Napi::Env env = info.Env();
    guarded(env, [&]() -> Napi::Value {
      trainer_ = std::make_unique<core::Trainer>(trainer_options(env, info[0]));
      return env.Undefined();
    });
  }

 private:
  // setData({ train: { labels, images }, valid, geometry, normalisation }).
  Napi::Value set_data(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      job_.check_idle(env);
      trainer_->set_data(data_options(env, info[0]));
      return env.Undefined();
    });
  }

  // feed(set, images: Uint8Array, count): the next batch of a streamed set (copied); allowed
  // while a job runs.
  Napi::Value feed(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      const core::Split split = enum_arg(env, info[0], "set", core::kSplitNames);
      const int64_t count = positive_integer(env, info[2], "count");
      const core::ImageGeometry& g = trainer_->geometry();
      TORCH_CHECK(trainer_->data_set(split).streamed(), "feed: the ", split == core::Split::kTrain ? "train" : "valid",
                  " set is not streamed (setData gave its images)");
      trainer_->feed(split).push(uint8_images_to_tensor(env, info[1], count, g.stored_height, g.stored_width, g.channels, "images"));
      return env.Undefined();
    });
  }

  // queued(set) -> the batches fed and not yet taken by a step.
  Napi::Value queued(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      const core::Split split = enum_arg(env, info[0], "set", core::kSplitNames);
      return Napi::Number::New(env, static_cast<double>(trainer_->feed(split).size()));
    });
  }

  // abortFeed(message): a job waiting for fed images rejects with `message`; the queues empty.
  Napi::Value abort_feed(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      if (!info[0].IsString()) throw type_error(env, "message", "a string");
      const std::string message = info[0].As<Napi::String>().Utf8Value();
      trainer_->feed(core::Split::kTrain).abort(message);
      trainer_->feed(core::Split::kValid).abort(message);
      return env.Undefined();
    });
  }

  // beginPhase(freeze, maxLr, totalSteps, backboneLrFactor = 1).
  Napi::Value begin_phase(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      job_.check_idle(env);
      const core::Freeze freeze = enum_arg(env, info[0], "freeze", core::kFreezeNames);
      if (!info[1].IsNumber()) throw type_error(env, "maxLr", "a number");
      double factor = 1.0;
      if (info.Length() > 3 && !info[3].IsUndefined()) {
        if (!info[3].IsNumber()) throw type_error(env, "backboneLrFactor", "a number");
        factor = info[3].As<Napi::Number>().DoubleValue();
      }
      trainer_->begin_phase(freeze, info[1].As<Napi::Number>().DoubleValue(), positive_integer(env, info[2], "totalSteps"),
                            factor);
      return env.Undefined();
    });
  }

  Napi::Value load_backbone_weights(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      job_.check_idle(env);
      WeightsArg tensors = backbone_weights_arg(env, info[0]);
      return queue_load_backbone_weights(env, trainer_->model(), std::move(tensors), job_.occupy(), Value());
    });
  }

  Napi::Value export_weights(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      job_.check_idle(env);
      return queue_export_weights(env, trainer_->model(), job_.occupy(), Value());
    });
  }

  Napi::Value pooled_features(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      job_.check_idle(env);
      return pooled_features_for_testing(info, trainer_->model(), trainer_->device());
    });
  }

  // run(mode: 'train' | 'valid', indices: Int32Array, batchSize, onStep?, { onCollapse? }?)
  //   -> Promise<{ losses, lrs, cancelled, collapsed, stats }>
  Napi::Value run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      job_.check_idle(env);
      const core::Split mode = enum_arg(env, info[0], "mode", core::kSplitNames);
      const int64_t batch = positive_integer(env, info[2], "batchSize");
      torch::Tensor indices = batches_arg(env, info[1], batch, "indices").flatten();
      Napi::Function on_step;
      if (info.Length() > 3 && info[3].IsFunction()) on_step = info[3].As<Napi::Function>();
      TaskWorker::Finally release = occupy_with_feeds();
      cancel_ = false;
      core::CollapsePolicy on_collapse = core::CollapsePolicy::kWarn;
      if (info.Length() > 4 && !info[4].IsUndefined()) {
        const Napi::Object options = object_arg(env, info[4], "options");
        if (has_option(options, "onCollapse")) on_collapse = enum_option(env, options, "onCollapse", core::kCollapsePolicyNames);
      }
      StepsJob steps{trainer_.get(), &cancel_, mode == core::Split::kTrain, std::move(indices), batch, on_collapse};
      return queue_steps(env, std::move(steps), on_step, [this, release] { release(); cancel_ = false; }, Value());
    });
  }

  // Stops a run between steps, and ends a wait for fed images (a run then resolves cancelled).
  Napi::Value cancel(const Napi::CallbackInfo& info) {
    cancel_ = true;
    trainer_->feed(core::Split::kTrain).cancel();
    trainer_->feed(core::Split::kValid).cancel();
    return info.Env().Undefined();
  }

  // The job slot for a job that may wait for fed images: the feeds forget an abort or cancel
  // from before it, and drop what is left in them when it ends.
  TaskWorker::Finally occupy_with_feeds() {
    TaskWorker::Finally release = job_.occupy();
    trainer_->feed(core::Split::kTrain).rearm();
    trainer_->feed(core::Split::kValid).rearm();
    return [this, release] {
      trainer_->feed(core::Split::kTrain).reset();
      trainer_->feed(core::Split::kValid).reset();
      release();
    };
  }

  Napi::Value embed(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      job_.check_idle(env);
      const int64_t count = positive_integer(env, info[1], "count");
      const core::ImageGeometry& g = trainer_->geometry();
      TORCH_CHECK(g.height > 0, "Trainer::embed: the model has no image size yet (no data, no state)");
      auto images = std::make_shared<torch::Tensor>(
          images_to_tensor(env, info[0], count, g.stored_height, g.stored_width, g.channels, "images"));
      auto out = std::make_shared<torch::Tensor>();
      return TaskWorker::queue(
          env, "semihard:embed", [this, images, out] { *out = trainer_->embed(*images); },
          [out](Napi::Env e) -> Napi::Value { return tensor_to_float32_array(e, *out); }, job_.occupy(), Value());
    });
  }

  Napi::Value save_state(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      job_.check_idle(env);
      auto bytes = std::make_shared<std::string>();
      return TaskWorker::queue(
          env, "semihard:save", [this, bytes] { *bytes = trainer_->save_state(); },
          [bytes](Napi::Env e) -> Napi::Value { return Napi::Buffer<char>::Copy(e, bytes->data(), bytes->size()); },
          job_.occupy(), Value());
    });
  }

  Napi::Value load_state(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      job_.check_idle(env);
      if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
        throw type_error(env, "state", "a Buffer or Uint8Array");
      }
      const Napi::Uint8Array array = info[0].As<Napi::Uint8Array>();
      auto bytes = std::make_shared<std::string>(reinterpret_cast<const char*>(array.Data()), array.ElementLength());
      const bool restore_optimizer = !(info.Length() > 1 && info[1].IsBoolean()) || info[1].As<Napi::Boolean>().Value();
      return TaskWorker::queue(
          env, "semihard:load", [this, bytes, restore_optimizer] { trainer_->load_state(*bytes, restore_optimizer); },
          [](Napi::Env e) -> Napi::Value { return e.Undefined(); }, job_.occupy(), Value());
    });
  }

  // lrFind({ indices, batchSize, freeze, startLr, endLr }) -> Promise<{ lrs, losses, smoothed, suggestion, diverged }>
  Napi::Value lr_find(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      job_.check_idle(env);
      LrFindArgs args = lr_find_args(env, info[0]);
      return queue_lr_find(env, trainer_.get(), std::move(args), occupy_with_feeds(), Value());
    });
  }

  // connect({ rank, worldSize, masterAddr, masterPort, backend, timeoutMs, connectTimeoutMs })
  // -> Promise<{ rank, worldSize }>: joins the group off the event loop.
  Napi::Value connect(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      job_.check_idle(env);
      const core::CommunicatorOptions options = communicator_options(env, info[0]);
      return TaskWorker::queue(
          env, "semihard:connect", [this, options] { trainer_->connect(options); },
          [this](Napi::Env e) -> Napi::Value {
            Napi::Object out = Napi::Object::New(e);
            out.Set("rank", static_cast<double>(trainer_->rank()));
            out.Set("worldSize", static_cast<double>(trainer_->world_size()));
            return out;
          },
          job_.occupy(), Value());
    });
  }

  // computeGradients(indices) -> Promise<{ loss, gradients: { [name]: Float32Array } }>
  Napi::Value compute_gradients(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      job_.check_idle(env);
      auto indices = std::make_shared<torch::Tensor>(labels_to_tensor(env, info[0], "indices").to(torch::kInt64));
      return queue_compute_gradients(env, trainer_.get(), std::move(indices), occupy_with_feeds(), Value());
    });
  }

  Napi::Value parameter_info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      job_.check_idle(env);
      return parameter_info_to_js(env, trainer_->model());
    });
  }

  Napi::Value get_parameter(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      job_.check_idle(env);
      return parameter_value(env, trainer_->model(), info[0]);
    });
  }

  std::unique_ptr<core::Trainer> trainer_;
  JobSlot job_{"the trainer"};
  std::atomic<bool> cancel_{false};
};

}  // namespace

void register_trainer(Napi::Env env, Napi::Object exports) {
  exports.Set("Trainer", TrainerWrap::define(env));
  exports.Set("lrSuggestion", Napi::Function::New(env, lr_suggestion, "lrSuggestion"));
}

}  // namespace semihard::binding
