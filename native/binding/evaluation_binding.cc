#include "evaluation_binding.h"

#include <memory>
#include <string>

#include "../core/device.h"
#include "../core/errors.h"
#include "../core/metrics.h"
#include "../core/projection.h"
#include "convert.h"
#include "errors.h"
#include "task_worker.h"

namespace semihard::binding {
namespace {

torch::Tensor embeddings_arg(Napi::Env env, const Napi::Value& value, int64_t dim, const std::string& name) {
  torch::Tensor x = float32_array_to_tensor(env, value, name);
  if (x.numel() % dim != 0) {
    throw core::ArgumentError(name, "Expected " + name + ".length to be a multiple of dim (" + std::to_string(dim) + ")");
  }
  return x.view({x.numel() / dim, dim});
}

// evaluateEmbeddings(trainX, trainY, validX, validY, dim, k, device) -> Promise<metrics>
Napi::Value evaluate_embeddings(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const int64_t dim = positive_integer(env, info[4], "dim");
    const int64_t k = positive_integer(env, info[5], "k");
    if (!info[6].IsString()) throw type_error(env, "device", "a string");
    const torch::Device device = core::resolve_device(info[6].As<Napi::String>().Utf8Value());
    auto train_x = std::make_shared<torch::Tensor>(embeddings_arg(env, info[0], dim, "train.embeddings"));
    auto train_y = std::make_shared<torch::Tensor>(labels_to_tensor(env, info[1], "train.labels"));
    auto valid_x = std::make_shared<torch::Tensor>(embeddings_arg(env, info[2], dim, "valid.embeddings"));
    auto valid_y = std::make_shared<torch::Tensor>(labels_to_tensor(env, info[3], "valid.labels"));
    auto out = std::make_shared<core::EmbeddingMetrics>();
    return TaskWorker::queue(
        env, "semihard:evaluate",
        [=] { *out = core::evaluate_embeddings(train_x->to(device), *train_y, valid_x->to(device), *valid_y, k); },
        [out](Napi::Env e) -> Napi::Value {
          Napi::Object o = Napi::Object::New(e);
          o.Set("knnAccuracy", out->knn_accuracy);
          o.Set("linearAccuracy", out->linear_accuracy);
          o.Set("precisionAt1", out->precision_at_1);
          o.Set("rPrecision", out->r_precision);
          o.Set("mapAtR", out->map_at_r);
          o.Set("retrievalQueries", static_cast<double>(out->retrieval_queries));
          Napi::Array per_class = Napi::Array::New(e, out->per_class.size());
          for (size_t i = 0; i < out->per_class.size(); ++i) {
            Napi::Object c = Napi::Object::New(e);
            c.Set("label", static_cast<double>(out->per_class[i].label));
            c.Set("knnAccuracy", out->per_class[i].knn_accuracy);
            c.Set("count", static_cast<double>(out->per_class[i].count));
            per_class.Set(static_cast<uint32_t>(i), c);
          }
          o.Set("perClass", per_class);
          return o;
        });
  });
}

// projectEmbeddings(x, dim, method 'pca' | 'tsne', { perplexity, iterations }) -> Promise<Float32Array (N x 2)>
Napi::Value project_embeddings(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const int64_t dim = positive_integer(env, info[1], "dim");
    auto x = std::make_shared<torch::Tensor>(embeddings_arg(env, info[0], dim, "embeddings"));
    if (!info[2].IsString()) throw type_error(env, "method", "'pca' or 'tsne'");
    const std::string method = info[2].As<Napi::String>().Utf8Value();
    if (method != "pca" && method != "tsne") throw core::ArgumentError("method", "Expected 'pca' or 'tsne' for method");
    core::TsneOptions options;
    if (info[3].IsObject()) {
      const Napi::Object o = info[3].As<Napi::Object>();
      if (o.Has("perplexity")) options.perplexity = number_option(env, o, "perplexity");
      if (o.Has("iterations")) options.iterations = integer_option(env, o, "iterations");
    }
    auto out = std::make_shared<torch::Tensor>();
    return TaskWorker::queue(
        env, "semihard:project",
        [=] { *out = method == "pca" ? core::pca_2d(*x) : core::tsne_2d(*x, options); },
        [out](Napi::Env e) -> Napi::Value { return tensor_to_float32_array(e, *out); });
  });
}

}  // namespace

void register_evaluation_functions(Napi::Env env, Napi::Object exports) {
  exports.Set("evaluateEmbeddings", Napi::Function::New(env, evaluate_embeddings, "evaluateEmbeddings"));
  exports.Set("projectEmbeddings", Napi::Function::New(env, project_embeddings, "projectEmbeddings"));
}

}  // namespace semihard::binding
