#include "evaluation_binding.h"

#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "../core/device.h"
#include "../core/linear_svm.h"
#include "../core/metrics.h"
#include "../core/neighbours.h"
#include "../core/projection.h"
#include "convert.h"
#include "errors.h"
#include "task_worker.h"

namespace semihard::binding {
namespace {

enum class Method { kPca, kTsne };
constexpr core::Named<Method> kMethodNames[] = {{"pca", Method::kPca}, {"tsne", Method::kTsne}};

// Labels and counts as JS numbers (exact below 2^53).
Napi::Array int64_vector_to_array(Napi::Env env, const std::vector<int64_t>& values) {
  Napi::Array out = Napi::Array::New(env, values.size());
  for (size_t i = 0; i < values.size(); ++i) out.Set(static_cast<uint32_t>(i), static_cast<double>(values[i]));
  return out;
}

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
          o.Set("svmAccuracy", out->svm_accuracy);
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
          Napi::Object confusion = Napi::Object::New(e);
          confusion.Set("labels", int64_vector_to_array(e, out->confusion_labels));
          confusion.Set("rows", int64_vector_to_array(e, out->confusion_rows));
          confusion.Set("columns", int64_vector_to_array(e, out->confusion_columns));
          confusion.Set("counts", int64_vector_to_array(e, out->confusion_counts));
          o.Set("confusion", confusion);
          return o;
        });
  });
}

// nearestNeighbours({ embeddings, labels, dim, k, device }) -> Promise<{ indices (N x k),
// distances (N x k), nearestSameLabel (N), mistakes }>.
Napi::Value nearest_neighbours(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const Napi::Object o = object_arg(env, info[0], "options");
    const int64_t dim = positive_integer_option(env, o, "dim");
    const int64_t k = integer_option(env, o, "k");
    const torch::Device device = core::resolve_device(enum_option(env, o, "device", core::kDeviceNames));
    auto x = std::make_shared<torch::Tensor>(rows_to_tensor(env, o.Get("embeddings"), dim, "options.embeddings"));
    auto y = std::make_shared<torch::Tensor>(labels_to_tensor(env, o.Get("labels"), "options.labels"));
    if (x->size(0) > std::numeric_limits<int32_t>::max()) {
      throw range_error(env, "options.embeddings",
                        "Expected at most 2147483647 embeddings for options.embeddings (indices are an Int32Array) but received " +
                            std::to_string(x->size(0)));
    }
    auto out = std::make_shared<core::NeighbourTable>();
    return TaskWorker::queue(
        env, "semihard:neighbours", [=] { *out = core::nearest_neighbours(x->to(device), *y, k); },
        [out](Napi::Env e) -> Napi::Value {
          Napi::Object r = Napi::Object::New(e);
          r.Set("indices", tensor_to_typed_array<int32_t>(e, out->indices));
          r.Set("distances", tensor_to_float32_array(e, out->distances));
          r.Set("nearestSameLabel", tensor_to_float32_array(e, out->nearest_same_label));
          r.Set("mistakes", tensor_to_typed_array<int32_t>(e, out->mistakes));
          return r;
        });
  });
}

// Tests only. linearSvmForTesting({ train: { embeddings, labels }, query, dim }) ->
// Promise<{ classes, decision (query rows x K), predicted, iterations }>: the SVM of svmAccuracy.
Napi::Value linear_svm_for_testing(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const Napi::Object o = object_arg(env, info[0], "options");
    const int64_t dim = positive_integer_option(env, o, "dim");
    const Napi::Object train = object_arg(env, o.Get("train"), "options.train");
    auto x = std::make_shared<torch::Tensor>(rows_to_tensor(env, train.Get("embeddings"), dim, "options.train.embeddings"));
    auto y = std::make_shared<torch::Tensor>(labels_to_tensor(env, train.Get("labels"), "options.train.labels"));
    auto query = std::make_shared<torch::Tensor>(rows_to_tensor(env, o.Get("query"), dim, "options.query"));
    auto svm = std::make_shared<core::LinearSvm>();
    auto decision = std::make_shared<torch::Tensor>();
    auto predicted = std::make_shared<torch::Tensor>();
    return TaskWorker::queue(
        env, "semihard:linearSvm",
        [=] {
          *svm = core::fit_linear_svm(*x, *y);
          *decision = core::linear_svm_decision(*svm, *query);
          *predicted = core::linear_svm_predict(*svm, *query);
        },
        [=](Napi::Env e) -> Napi::Value {
          Napi::Object r = Napi::Object::New(e);
          r.Set("classes", tensor_to_typed_array<double>(e, svm->classes));
          r.Set("decision", tensor_to_typed_array<double>(e, *decision));
          r.Set("predicted", tensor_to_typed_array<double>(e, *predicted));
          Napi::Array iterations = Napi::Array::New(e, svm->iterations.size());
          for (size_t i = 0; i < svm->iterations.size(); ++i) iterations.Set(static_cast<uint32_t>(i), static_cast<double>(svm->iterations[i]));
          r.Set("iterations", iterations);
          return r;
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
  exports.Set("nearestNeighbours", Napi::Function::New(env, nearest_neighbours, "nearestNeighbours"));
  exports.Set("linearSvmForTesting", Napi::Function::New(env, linear_svm_for_testing, "linearSvmForTesting"));
  exports.Set("projectEmbeddings", Napi::Function::New(env, project_embeddings, "projectEmbeddings"));
}

}  // namespace semihard::binding
