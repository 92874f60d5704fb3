#include "trainer_binding.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "../core/device.h"
#include "../core/lr_finder.h"
#include "../core/trainer.h"
#include "augment_binding.h"
#include "convert.h"
#include "errors.h"
#include "task_worker.h"

namespace semihard::binding {
namespace {

enum class RunMode { kTrain, kValid };
constexpr core::Named<RunMode> kRunModeNames[] = {{"train", RunMode::kTrain}, {"valid", RunMode::kValid}};

// Indices (an Int32Array or BigInt64Array) as steps x batch rows: the length must be a
// multiple of batch.
torch::Tensor batches_arg(Napi::Env env, const Napi::Value& value, int64_t batch, const std::string& argument) {
  const torch::Tensor indices = labels_to_tensor(env, value, argument).to(torch::kInt64);
  if (indices.numel() % batch != 0) {
    throw range_error(env, argument, "Expected " + argument + ".length (" + std::to_string(indices.numel()) +
                                         ") to be a multiple of the batch size (" + std::to_string(batch) + ")");
  }
  return indices.view({-1, batch});
}

struct StepReport {
  int64_t index;
  float loss;
  double lr;
};

// What a run of steps hands back to JS.
struct RunOutcome {
  std::vector<float> losses;
  std::vector<double> lrs;
  bool cancelled = false;
};

class TrainerWrap : public Napi::ObjectWrap<TrainerWrap> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "Trainer",
                       {InstanceMethod("setData", &TrainerWrap::set_data),
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
                        InstanceMethod("computeGradients", &TrainerWrap::compute_gradients)});
  }

  explicit TrainerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TrainerWrap>(info) {
    Napi::Env env = info.Env();
    guarded(env, [&]() -> Napi::Value {
      const Napi::Object o = object_arg(env, info[0], "options");
      core::TrainerOptions options;
      options.backbone = enum_option(env, o, "backbone", core::kBackboneNames);
      options.dim = integer_option(env, o, "dim");
      if (has_option(o, "batchNorm")) options.batch_norm = enum_option(env, o, "batchNorm", core::kBatchNormStatisticsNames);
      options.loss.kind = enum_option(env, o, "lossKind", core::kTripletKindNames);
      options.loss.margin = static_cast<float>(number_option(env, o, "margin"));
      options.loss.soft = boolean_option(env, o, "soft");
      options.loss.distance = enum_option(env, o, "distance", core::kDistanceNames);
      options.weight_decay = number_option(env, o, "weightDecay");
      options.grad_clip = number_option(env, o, "gradClip");
      options.augment = boolean_option(env, o, "augment");
      if (has_option(o, "affine")) options.affine = affine_range(env, o.Get("affine"), "options.affine");
      const int64_t device_index = has_option(o, "deviceIndex") ? integer_option(env, o, "deviceIndex") : -1;
      options.device = core::resolve_device(enum_option(env, o, "device", core::kDeviceNames), device_index);
      options.seed = static_cast<uint64_t>(integer_option(env, o, "seed"));
      trainer_ = std::make_unique<core::Trainer>(options);
      return env.Undefined();
    });
  }

 private:
  void check_idle(Napi::Env env) const {
    if (busy_) {
      Napi::Error e = Napi::Error::New(env, "the trainer is busy with another job; await it first");
      e.Set("code", Napi::String::New(env, "ERR_SEMIHARD_BUSY"));
      throw e;
    }
  }

  // Marks the trainer busy until the returned job finishes.
  TaskWorker::Finally occupy() {
    busy_ = true;
    return [this] { busy_ = false; };
  }

  Napi::Value set_data(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      check_idle(env);
      const int64_t height = positive_integer(env, info[4], "height");
      const int64_t width = positive_integer(env, info[5], "width");
      auto set = [&](const Napi::Value& images, const Napi::Value& labels, const std::string& name) {
        core::ImageSet s;
        s.labels = labels_to_tensor(env, labels, name + "Labels").to(torch::kInt64);
        s.images = images_to_tensor(env, images, s.labels.numel(), height, width, name + "Images");
        if (s.images.scalar_type() != torch::kUInt8) throw type_error(env, name + "Images", "a Uint8Array");
        return s;
      };
      core::ImageSet train = set(info[0], info[1], "train");
      core::ImageSet valid;
      if (!info[2].IsNull() && !info[2].IsUndefined()) valid = set(info[2], info[3], "valid");
      trainer_->set_data(std::move(train), std::move(valid));
      return env.Undefined();
    });
  }

  Napi::Value begin_phase(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      check_idle(env);
      const core::Freeze freeze = enum_arg(env, info[0], "freeze", core::kFreezeNames);
      if (!info[1].IsNumber()) throw type_error(env, "maxLr", "a number");
      trainer_->begin_phase(freeze, info[1].As<Napi::Number>().DoubleValue(), positive_integer(env, info[2], "totalSteps"));
      return env.Undefined();
    });
  }

  // run(mode: 'train' | 'valid', indices: Int32Array, batchSize, onStep?) -> Promise<{ losses, lrs, cancelled }>
  Napi::Value run(const Napi::CallbackInfo& info);

  Napi::Value cancel(const Napi::CallbackInfo& info) {
    cancel_ = true;
    return info.Env().Undefined();
  }

  Napi::Value embed(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      check_idle(env);
      const int64_t count = positive_integer(env, info[1], "count");
      const int64_t height = trainer_->image_height(), width = trainer_->image_width();
      TORCH_CHECK(height > 0, "Trainer::embed: the model has no image size yet (no data, no state)");
      auto images = std::make_shared<torch::Tensor>(images_to_tensor(env, info[0], count, height, width, "images"));
      auto out = std::make_shared<torch::Tensor>();
      return TaskWorker::queue(
          env, "semihard:embed", [this, images, out] { *out = trainer_->embed(*images); },
          [out](Napi::Env e) -> Napi::Value { return tensor_to_float32_array(e, *out); }, occupy(), Value());
    });
  }

  Napi::Value save_state(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      check_idle(env);
      auto bytes = std::make_shared<std::string>();
      return TaskWorker::queue(
          env, "semihard:save", [this, bytes] { *bytes = trainer_->save_state(); },
          [bytes](Napi::Env e) -> Napi::Value { return Napi::Buffer<char>::Copy(e, bytes->data(), bytes->size()); },
          occupy(), Value());
    });
  }

  Napi::Value load_state(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      check_idle(env);
      if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
        throw type_error(env, "state", "a Buffer or Uint8Array");
      }
      const Napi::Uint8Array array = info[0].As<Napi::Uint8Array>();
      auto bytes = std::make_shared<std::string>(reinterpret_cast<const char*>(array.Data()), array.ElementLength());
      const bool restore_optimizer = !(info.Length() > 1 && info[1].IsBoolean()) || info[1].As<Napi::Boolean>().Value();
      return TaskWorker::queue(
          env, "semihard:load", [this, bytes, restore_optimizer] { trainer_->load_state(*bytes, restore_optimizer); },
          [](Napi::Env e) -> Napi::Value { return e.Undefined(); }, occupy(), Value());
    });
  }

  // lrFind({ indices, batchSize, freeze, startLr, endLr }) -> Promise<{ lrs, losses, smoothed, suggestion, diverged }>
  Napi::Value lr_find(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      check_idle(env);
      const Napi::Object o = object_arg(env, info[0], "options");
      auto batches = std::make_shared<torch::Tensor>(
          batches_arg(env, o.Get("indices"), positive_integer_option(env, o, "batchSize"), "options.indices"));
      core::LrFindOptions options;
      options.freeze = enum_option(env, o, "freeze", core::kFreezeNames);
      options.start_lr = number_option(env, o, "startLr");
      options.end_lr = number_option(env, o, "endLr");
      auto out = std::make_shared<core::LrFindResult>();
      return TaskWorker::queue(
          env, "semihard:lr-find", [this, batches, options, out] { *out = core::find_learning_rate(*trainer_, *batches, options); },
          [out](Napi::Env e) -> Napi::Value {
            auto array = [&](const std::vector<double>& v) {
              Napi::Float64Array a = Napi::Float64Array::New(e, v.size());
              for (size_t i = 0; i < v.size(); ++i) a[i] = v[i];
              return a;
            };
            Napi::Object o = Napi::Object::New(e);
            o.Set("lrs", array(out->lrs));
            o.Set("losses", array(out->losses));
            o.Set("smoothed", array(out->smoothed));
            o.Set("suggestion", out->suggestion);
            o.Set("diverged", out->diverged);
            return o;
          },
          occupy(), Value());
    });
  }

  // connect({ rank, worldSize, masterAddr, masterPort, backend, timeoutMs, connectTimeoutMs })
  // -> Promise<{ rank, worldSize }>: joins the group off the event loop.
  Napi::Value connect(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      check_idle(env);
      const Napi::Object o = object_arg(env, info[0], "options");
      core::CommunicatorOptions options;
      options.rank = integer_option(env, o, "rank");
      options.world_size = integer_option(env, o, "worldSize");
      options.master_addr = string_option(env, o, "masterAddr");
      options.master_port = integer_option(env, o, "masterPort");
      options.backend = enum_option(env, o, "backend", core::kCollectiveBackendNames);
      options.timeout = std::chrono::milliseconds(integer_option(env, o, "timeoutMs"));
      options.connect_timeout = std::chrono::milliseconds(integer_option(env, o, "connectTimeoutMs"));
      return TaskWorker::queue(
          env, "semihard:connect", [this, options] { trainer_->connect(options); },
          [this](Napi::Env e) -> Napi::Value {
            Napi::Object out = Napi::Object::New(e);
            out.Set("rank", static_cast<double>(trainer_->rank()));
            out.Set("worldSize", static_cast<double>(trainer_->world_size()));
            return out;
          },
          occupy(), Value());
    });
  }

  // computeGradients(indices) -> Promise<{ loss, gradients: { [name]: Float32Array } }>
  Napi::Value compute_gradients(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      check_idle(env);
      auto indices = std::make_shared<torch::Tensor>(labels_to_tensor(env, info[0], "indices").to(torch::kInt64));
      auto loss = std::make_shared<float>(0.0f);
      auto grads = std::make_shared<std::vector<std::pair<std::string, torch::Tensor>>>();
      return TaskWorker::queue(
          env, "semihard:gradients",
          [this, indices, loss, grads] {
            *loss = trainer_->compute_gradients(*indices).loss;
            for (const auto& p : trainer_->model()->named_parameters()) {
              if (p.value().grad().defined()) grads->emplace_back(p.key(), p.value().grad().detach().flatten().to(torch::kCPU));
            }
          },
          [loss, grads](Napi::Env e) -> Napi::Value {
            Napi::Object out = Napi::Object::New(e);
            Napi::Object g = Napi::Object::New(e);
            for (const auto& [name, t] : *grads) g.Set(name, tensor_to_float32_array(e, t));
            out.Set("loss", *loss);
            out.Set("gradients", g);
            return out;
          },
          occupy(), Value());
    });
  }

  Napi::Value parameter_info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      check_idle(env);
      const auto params = trainer_->model()->named_parameters();
      const auto groups = trainer_->model()->parameter_groups();
      Napi::Array out = Napi::Array::New(env, groups.size());
      for (size_t i = 0; i < groups.size(); ++i) {
        const torch::Tensor& p = params[groups[i].first];
        Napi::Object o = Napi::Object::New(env);
        o.Set("name", groups[i].first);
        o.Set("group", groups[i].second);
        o.Set("requiresGrad", p.requires_grad());
        o.Set("numel", static_cast<double>(p.numel()));
        out.Set(static_cast<uint32_t>(i), o);
      }
      return out;
    });
  }

  Napi::Value get_parameter(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      check_idle(env);
      if (!info[0].IsString()) throw type_error(env, "name", "a string");
      const std::string name = info[0].As<Napi::String>().Utf8Value();
      const auto params = trainer_->model()->named_parameters();
      const torch::Tensor* p = params.find(name);
      if (p == nullptr) throw range_error(env, "name", "Expected the name of a parameter for name but received '" + name + "'");
      return tensor_to_float32_array(env, p->detach().flatten());
    });
  }

  std::unique_ptr<core::Trainer> trainer_;
  std::atomic<bool> busy_{false};
  std::atomic<bool> cancel_{false};

  friend class RunWorker;
};

// Runs steps on a worker thread; each step's loss reaches JS through the progress queue.
class RunWorker : public Napi::AsyncProgressQueueWorker<StepReport> {
 public:
  RunWorker(Napi::Env env, TrainerWrap* owner, Napi::Object self, bool train, torch::Tensor indices, int64_t batch,
            Napi::Function on_step)
      : Napi::AsyncProgressQueueWorker<StepReport>(env, "semihard:run"),
        deferred_(Napi::Promise::Deferred::New(env)),
        owner_(owner),
        train_(train),
        indices_(std::move(indices)),
        batch_(batch) {
    self_ = Napi::Persistent(self);
    if (!on_step.IsEmpty()) on_step_ = Napi::Persistent(on_step);
  }

  Napi::Promise promise() const { return deferred_.Promise(); }

 protected:
  void Execute(const ExecutionProgress& progress) override {
    try {
      const int64_t steps = indices_.numel() / batch_;
      for (int64_t s = 0; s < steps; ++s) {
        // Several processes stop together: a wish to stop on any rank stops all of them.
        if (owner_->trainer_->any_rank_stops(owner_->cancel_.exchange(false))) {
          outcome_.cancelled = true;
          return;
        }
        const torch::Tensor batch = indices_.narrow(0, s * batch_, batch_);
        StepReport report{s, 0.0f, 0.0};
        if (train_) {
          const core::StepResult r = owner_->trainer_->train_step(batch);
          report.loss = r.loss;
          report.lr = r.lr;
        } else {
          report.loss = owner_->trainer_->valid_loss(batch);
        }
        outcome_.losses.push_back(report.loss);
        outcome_.lrs.push_back(report.lr);
        progress.Send(&report, 1);
      }
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
        owner_->cancel_ = true;
        return;
      }
    }
  }

  void OnOK() override {
    owner_->busy_ = false;
    owner_->cancel_ = false;
    Napi::Env env = Env();
    if (callback_failed_) {
      deferred_.Reject(callback_error_.Value());
      return;
    }
    Napi::Object out = Napi::Object::New(env);
    Napi::Float32Array losses = Napi::Float32Array::New(env, outcome_.losses.size());
    Napi::Float64Array lrs = Napi::Float64Array::New(env, outcome_.lrs.size());
    for (size_t i = 0; i < outcome_.losses.size(); ++i) {
      losses[i] = outcome_.losses[i];
      lrs[i] = outcome_.lrs[i];
    }
    out.Set("losses", losses);
    out.Set("lrs", lrs);
    out.Set("cancelled", outcome_.cancelled);
    deferred_.Resolve(out);
  }

  void OnError(const Napi::Error&) override {
    owner_->busy_ = false;
    owner_->cancel_ = false;
    deferred_.Reject(to_js_error(Env(), error_).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  TrainerWrap* owner_;
  Napi::ObjectReference self_;
  Napi::FunctionReference on_step_;
  bool train_;
  torch::Tensor indices_;
  int64_t batch_;
  RunOutcome outcome_;
  CapturedError error_;
  bool callback_failed_ = false;
  Napi::ObjectReference callback_error_;
};

Napi::Value TrainerWrap::run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    check_idle(env);
    const RunMode mode = enum_arg(env, info[0], "mode", kRunModeNames);
    const int64_t batch = positive_integer(env, info[2], "batchSize");
    torch::Tensor indices = batches_arg(env, info[1], batch, "indices").flatten();
    Napi::Function on_step;
    if (info.Length() > 3 && info[3].IsFunction()) on_step = info[3].As<Napi::Function>();
    busy_ = true;
    cancel_ = false;
    auto* worker = new RunWorker(env, this, Value(), mode == RunMode::kTrain, std::move(indices), batch, on_step);
    Napi::Promise promise = worker->promise();
    worker->Queue();
    return promise;
  });
}

// Tests only: lrSuggestion(lrs, smoothed) -> the range test's suggestion for a given curve
// (two Float64Arrays of one length), so the rule can be checked on a hand-made curve.
Napi::Value lr_suggestion(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    auto doubles = [&](const Napi::Value& value, const char* argument) {
      if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
        throw type_error(env, argument, "a Float64Array");
      }
      const Napi::Float64Array a = value.As<Napi::Float64Array>();
      return std::vector<double>(a.Data(), a.Data() + a.ElementLength());
    };
    const std::vector<double> lrs = doubles(info[0], "lrs");
    const std::vector<double> smoothed = doubles(info[1], "smoothed");
    if (lrs.size() != smoothed.size()) {
      throw range_error(env, "smoothed", "Expected smoothed.length to equal lrs.length (" + std::to_string(lrs.size()) +
                                             ") but received " + std::to_string(smoothed.size()));
    }
    return Napi::Number::New(env, core::valley_lr(lrs, smoothed));
  });
}

}  // namespace

void register_trainer(Napi::Env env, Napi::Object exports) {
  exports.Set("Trainer", TrainerWrap::define(env));
  exports.Set("lrSuggestion", Napi::Function::New(env, lr_suggestion, "lrSuggestion"));
}

}  // namespace semihard::binding
