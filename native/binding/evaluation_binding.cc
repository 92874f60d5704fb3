#include "evaluation_binding.h"

#include <memory>
#include <string>

#include "../core/device.h"
#include "../core/metrics.h"
#include "../core/projection.h"
#include "convert.h"
#include "errors.h"
#include "task_worker.h"

namespace semihard::binding {
namespace {

enum class Method { kPca, kTsne };
constexpr core::Named<Method> kMethodNames[] = {{"pca", Method::kPca}, {"tsne", Method::kTsne}};

// evaluateEmbeddings({ train: { embeddings, labels }, valid: { embeddings, labels }, dim, k, device })
// -> Promise<metrics>
Napi::Value evaluate_embeddings(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const Napi::Object o = object_arg(env, info[0], "options");
    const int64_t dim = positive_integer_option(env, o, "dim");
    const int64_t k = integer_option(env, o, "k");
    const torch::Device device = core::resolve_device(enum_option(env, o, "device", core::kDeviceNames));
    auto set = [&](const char* name) {
      const std::string path = std::string("options.") + name;
      const Napi::Object s = object_arg(env, o.Get(name), path);
      return std::make_pair(rows_to_tensor(env, s.Get("embeddings"), dim, path + ".embeddings"),
                            labels_to_tensor(env, s.Get("labels"), path + ".labels"));
    };
    auto train = std::make_shared<std::pair<torch::Tensor, torch::Tensor>>(set("train"));
    auto valid = std::make_shared<std::pair<torch::Tensor, torch::Tensor>>(set("valid"));
    auto out = std::make_shared<core::EmbeddingMetrics>();
    return TaskWorker::queue(
        env, "semihard:evaluate",
        [=] {
          *out = core::evaluate_embeddings(train->first.to(device), train->second, valid->first.to(device), valid->second, k);
        },
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

// projectEmbeddings(x, dim, method 'pca' | 'tsne', { perplexity?, iterations? }) -> Promise<Float32Array (N x 2)>
Napi::Value project_embeddings(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    auto x = std::make_shared<torch::Tensor>(rows_to_tensor(env, info[0], positive_integer(env, info[1], "dim"), "embeddings"));
    const Method method = enum_arg(env, info[2], "method", kMethodNames);
    core::TsneOptions options;
    if (!info[3].IsUndefined()) {
      const Napi::Object o = object_arg(env, info[3], "options");
      if (has_option(o, "perplexity")) options.perplexity = number_option(env, o, "perplexity");
      if (has_option(o, "iterations")) options.iterations = integer_option(env, o, "iterations");
    }
    auto out = std::make_shared<torch::Tensor>();
    return TaskWorker::queue(
        env, "semihard:project",
        [=] { *out = method == Method::kPca ? core::pca_2d(*x) : core::tsne_2d(*x, options); },
        [out](Napi::Env e) -> Napi::Value { return tensor_to_float32_array(e, *out); });
  });
}

}  // namespace

void register_evaluation_functions(Napi::Env env, Napi::Object exports) {
  exports.Set("evaluateEmbeddings", Napi::Function::New(env, evaluate_embeddings, "evaluateEmbeddings"));
  exports.Set("projectEmbeddings", Napi::Function::New(env, project_embeddings, "projectEmbeddings"));
}

}  // namespace semihard::binding
