#include "embedder_binding.h"

#include <memory>
#include <string>

#include "../core/device.h"
#include "../core/embedder.h"
#include "convert.h"
#include "errors.h"
#include "job_slot.h"
#include "task_worker.h"
#include "trainer_options.h"
#include "trainer_weights.h"

namespace semihard::binding {
namespace {

class EmbedderWrap : public Napi::ObjectWrap<EmbedderWrap> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "Embedder",
                       {InstanceMethod("embed", &EmbedderWrap::embed),
                        InstanceMethod("exportWeights", &EmbedderWrap::export_weights),
                        InstanceAccessor("geometry", &EmbedderWrap::geometry, nullptr),
                        InstanceAccessor("normalisation", &EmbedderWrap::normalisation, nullptr)});
  }

  // new Embedder({ backbone, dim, stem?, pool?, headBatchNorm?, dropout?, channels?,
  // inputChannels?, device, precision? }): the network with its initial weights, built on
  // the JS thread (as a Trainer's is: its weights are drawn from LibTorch's global generator).
  explicit EmbedderWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EmbedderWrap>(info) {
    Napi::Env env = info.Env();
    guarded(env, [&]() -> Napi::Value {
      const Napi::Object o = object_arg(env, info[0], "options");
      core::EmbedderOptions options;
      options.network = network_options(env, o);
      if (has_option(o, "channels")) options.channels = positive_integer_option(env, o, "channels");
      options.device = core::resolve_device(enum_option(env, o, "device", core::kDeviceNames));
      if (has_option(o, "precision")) options.precision = enum_option(env, o, "precision", core::kPrecisionNames);
      embedder_ = std::make_unique<core::Embedder>(options);
      return env.Undefined();
    });
  }

  // Loads save_state's bytes on a worker; resolves with this object.
  Napi::Promise load(Napi::Env env, std::shared_ptr<std::string> bytes) {
    return TaskWorker::queue(
        env, "semihard:embedder-load", [this, bytes] { embedder_->load_state(*bytes); },
        [this](Napi::Env) -> Napi::Value { return Value(); }, job_.occupy(), Value());
  }

 private:
  // geometry: the state's { channels, storedHeight, storedWidth, height, width }.
  Napi::Value geometry(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const core::ImageGeometry& g = embedder_->geometry();
    Napi::Object out = Napi::Object::New(env);
    out.Set("channels", static_cast<double>(g.channels));
    out.Set("storedHeight", static_cast<double>(g.stored_height));
    out.Set("storedWidth", static_cast<double>(g.stored_width));
    out.Set("height", static_cast<double>(g.height));
    out.Set("width", static_cast<double>(g.width));
    return out;
  }

  // normalisation: the state's { mean, std }, one value per channel of the network's input.
  Napi::Value normalisation(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const core::Normalisation& n = embedder_->normalisation();
    auto values = [&](const std::vector<float>& v) {
      Napi::Array out = Napi::Array::New(env, v.size());
      for (size_t i = 0; i < v.size(); ++i) out.Set(static_cast<uint32_t>(i), static_cast<double>(v[i]));
      return out;
    };
    Napi::Object out = Napi::Object::New(env);
    out.Set("mean", values(n.mean));
    out.Set("std", values(n.std));
    return out;
  }

  // embed(images, count) -> Promise<Float32Array> of count x dim: images count x storedHeight x
  // storedWidth x channels of the state's geometry.
  Napi::Value embed(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      job_.check_idle(env);
      const int64_t count = positive_integer(env, info[1], "count");
      const core::ImageGeometry& g = embedder_->geometry();
      auto images = std::make_shared<torch::Tensor>(
          images_to_tensor(env, info[0], count, g.stored_height, g.stored_width, g.channels, "images"));
      auto out = std::make_shared<torch::Tensor>();
      return TaskWorker::queue(
          env, "semihard:embedder-embed", [this, images, out] { *out = embedder_->embed(*images); },
          [out](Napi::Env e) -> Napi::Value { return tensor_to_float32_array(e, *out); }, job_.occupy(), Value());
    });
  }

  // exportWeights() -> Promise<NamedTensor[]> (state_dict.h's export_weights).
  Napi::Value export_weights(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      job_.check_idle(env);
      return queue_export_weights(env, embedder_->model(), job_.occupy(), Value());
    });
  }

  std::unique_ptr<core::Embedder> embedder_;
  JobSlot job_{"the embedder"};
};

// createEmbedder(options, state: Uint8Array) -> Promise<Embedder>: the state is copied here and
// read on a worker; the object reaches JS only once it holds the weights.
Napi::Value create_embedder(const Napi::CallbackInfo& info, const Napi::FunctionReference& constructor) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      throw type_error(env, "state", "a Buffer or Uint8Array");
    }
    const Napi::Uint8Array array = info[1].As<Napi::Uint8Array>();
    auto bytes = std::make_shared<std::string>(reinterpret_cast<const char*>(array.Data()), array.ElementLength());
    Napi::Object object = constructor.New({info[0]});
    return EmbedderWrap::Unwrap(object)->load(env, bytes);
  });
}

}  // namespace

void register_embedder(Napi::Env env, Napi::Object exports) {
  auto constructor = std::make_shared<Napi::FunctionReference>(Napi::Persistent(EmbedderWrap::define(env)));
  exports.Set("createEmbedder",
              Napi::Function::New(
                  env, [constructor](const Napi::CallbackInfo& info) { return create_embedder(info, *constructor); },
                  "createEmbedder"));
}

}  // namespace semihard::binding
