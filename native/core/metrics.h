// How good an embedding is, judged on held-out data:
//  - kNN accuracy: each valid embedding takes the majority label of its k nearest train
//    embeddings (Euclidean); a tie between labels goes to the label of the nearest tied one;
//  - linear accuracy: multinomial logistic regression fitted on the train embeddings
//    (L-BFGS, small L2 penalty), scored on the valid ones;
//  - SVM accuracy: scikit-learn's LinearSVC() (linear_svm.h) fitted on the train embeddings,
//    scored on the valid ones;
//  - P@1, R-precision and MAP@R of "A Metric Learning Reality Check" (Musgrave et al. 2020):
//    the valid set against itself, the query excluded, R = the other valid samples with the
//    query's label (queries with R = 0 are left out);
//  - the kNN confusion matrix: counts of (true label, kNN-predicted label) over the valid
//    samples, from the predictions of kNN accuracy.
// Exact, in blocks of queries: memory O(block x references).
#pragma once

#include <cstdint>
#include <vector>

#include <torch/types.h>

namespace semihard::core {

struct ClassMetrics {
  int64_t label = 0;
  int64_t count = 0;       // valid samples with this label
  double knn_accuracy = 0; // among them
};

struct EmbeddingMetrics {
  double knn_accuracy = 0;
  double linear_accuracy = 0;
  double svm_accuracy = 0;
  double precision_at_1 = 0;
  double r_precision = 0;
  double map_at_r = 0;
  int64_t retrieval_queries = 0;  // valid samples with R >= 1
  std::vector<ClassMetrics> per_class;
  // The sorted union of the train and valid labels, and the nonzero cells of the L x L kNN
  // confusion matrix in row-major order (at most one per valid sample, so memory stays
  // O(valid) however many classes there are): row = a valid sample's label, column = its kNN
  // prediction, both indices into confusion_labels. A train-only label has no row; the counts
  // add up to the valid samples and the diagonal's sum over them is knn_accuracy.
  std::vector<int64_t> confusion_labels;
  std::vector<int64_t> confusion_rows;
  std::vector<int64_t> confusion_columns;
  std::vector<int64_t> confusion_counts;
};

// x: N x D float32 (any device), y: N integer labels.
EmbeddingMetrics evaluate_embeddings(const torch::Tensor& train_x, const torch::Tensor& train_y,
                                     const torch::Tensor& valid_x, const torch::Tensor& valid_y, int64_t k);

// The pieces, for tests and reuse.
torch::Tensor knn_predict(const torch::Tensor& train_x, const torch::Tensor& train_y, const torch::Tensor& query_x,
                          int64_t k);
// The nonzero counts of (labels[row], predicted[column]) over the samples, on the CPU as int64
// rows, columns and counts (indices into classes, row-major order); classes (sorted int64)
// must hold every value of both.
struct SparseCounts {
  torch::Tensor rows, columns, counts;
};
SparseCounts confusion_counts(const torch::Tensor& classes, const torch::Tensor& labels, const torch::Tensor& predicted);
torch::Tensor linear_predict(const torch::Tensor& train_x, const torch::Tensor& train_y, const torch::Tensor& query_x);

}  // namespace semihard::core
