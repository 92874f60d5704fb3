#include "image_store_binding.h"

#include <cstring>
#include <memory>
#include <string>

#include "../core/image_store.h"
#include "convert.h"
#include "errors.h"

namespace semihard::binding {
namespace {

// Tags store objects (a random 128-bit value of this addon's own).
constexpr napi_type_tag kImageStoreTag = {0x6c1f4f0a9b2e4d37ULL, 0xa5d3e8c1f06b7294ULL};

class ImageStoreWrap : public Napi::ObjectWrap<ImageStoreWrap> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "ImageStore",
                       {InstanceAccessor("count", &ImageStoreWrap::count, nullptr),
                        InstanceAccessor("storedHeight", &ImageStoreWrap::stored_height, nullptr),
                        InstanceAccessor("storedWidth", &ImageStoreWrap::stored_width, nullptr),
                        InstanceAccessor("channels", &ImageStoreWrap::channels, nullptr),
                        InstanceAccessor("bytes", &ImageStoreWrap::bytes, nullptr),
                        InstanceMethod("write", &ImageStoreWrap::write),
                        InstanceMethod("read", &ImageStoreWrap::read)});
  }

  // new ImageStore(count, storedHeight, storedWidth, channels): only createImageStore calls it.
  explicit ImageStoreWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ImageStoreWrap>(info) {
    Napi::Env env = info.Env();
    guarded(env, [&]() -> Napi::Value {
      const int64_t count = positive_integer(env, info[0], "count");
      const int64_t height = positive_integer(env, info[1], "storedHeight");
      const int64_t width = positive_integer(env, info[2], "storedWidth");
      const int64_t channels = positive_integer(env, info[3], "channels");
      store_ = std::make_unique<core::ImageStore>(count, height, width, channels);
      Napi::MemoryManagement::AdjustExternalMemory(env, store_->bytes());
      info.This().As<Napi::Object>().TypeTag(&kImageStoreTag);
      return env.Undefined();
    });
  }

  void Finalize(Napi::Env env) override {
    if (store_) Napi::MemoryManagement::AdjustExternalMemory(env, -store_->bytes());
  }

  const core::ImageStore& store() const { return *store_; }

 private:
  Napi::Value count(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(store_->count())); }
  Napi::Value stored_height(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(store_->stored_height()));
  }
  Napi::Value stored_width(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(store_->stored_width()));
  }
  Napi::Value channels(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(store_->channels())); }
  Napi::Value bytes(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(store_->bytes())); }

  int64_t index_arg(Napi::Env env, const Napi::Value& value) const {
    if (!value.IsNumber()) throw type_error(env, "index", "an integer");
    const double v = value.As<Napi::Number>().DoubleValue();
    if (!(v >= 0 && v < static_cast<double>(store_->count()) && static_cast<double>(static_cast<int64_t>(v)) == v)) {
      throw range_error(env, "index", "Expected an integer from 0 to " + std::to_string(store_->count() - 1) +
                                          " for index but received " + value.ToString().Utf8Value());
    }
    return static_cast<int64_t>(v);
  }

  // write(index, pixels: Uint8Array of storedHeight x storedWidth x channels)
  Napi::Value write(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      const int64_t index = index_arg(env, info[0]);
      if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
        throw type_error(env, "pixels", "a Uint8Array");
      }
      const Napi::Uint8Array pixels = info[1].As<Napi::Uint8Array>();
      if (static_cast<int64_t>(pixels.ElementLength()) != store_->image_bytes()) {
        throw range_error(env, "pixels", "Expected pixels.length to be storedHeight x storedWidth x channels (" +
                                             std::to_string(store_->image_bytes()) + ") but received " +
                                             std::to_string(pixels.ElementLength()));
      }
      store_->write(index, pixels.Data());
      return env.Undefined();
    });
  }

  // read(index) -> Uint8Array (a copy)
  Napi::Value read(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      const torch::Tensor image = store_->read(index_arg(env, info[0]));
      Napi::Uint8Array out = Napi::Uint8Array::New(env, static_cast<size_t>(image.numel()));
      std::memcpy(out.Data(), image.data_ptr<uint8_t>(), static_cast<size_t>(image.numel()));
      return out;
    });
  }

  std::unique_ptr<core::ImageStore> store_;
};

}  // namespace

std::optional<torch::Tensor> image_store_images(const Napi::Value& value) {
  if (!value.IsObject() || value.IsTypedArray() || value.IsArray()) return std::nullopt;
  const Napi::Object object = value.As<Napi::Object>();
  if (!object.CheckTypeTag(&kImageStoreTag)) return std::nullopt;
  return ImageStoreWrap::Unwrap(object)->store().images();
}

void register_image_store(Napi::Env env, Napi::Object exports) {
  auto constructor = std::make_shared<Napi::FunctionReference>(Napi::Persistent(ImageStoreWrap::define(env)));
  exports.Set("createImageStore",
              Napi::Function::New(
                  env,
                  [constructor](const Napi::CallbackInfo& info) -> Napi::Value {
                    return constructor->New({info[0], info[1], info[2], info[3]});
                  },
                  "createImageStore"));
}

}  // namespace semihard::binding
