#include "metrics.h"

#include <torch/torch.h>

#include <algorithm>
#include <map>

#include "errors.h"
#include "linear_svm.h"

namespace semihard::core {
namespace {

constexpr int64_t kBlockElements = int64_t{1} << 25;

int64_t query_block(int64_t references) {
  return std::max<int64_t>(1, kBlockElements / std::max<int64_t>(references, 1));
}

// Squared Euclidean distances of a block of queries to all references.
torch::Tensor squared_distances(const torch::Tensor& queries, const torch::Tensor& refs, const torch::Tensor& ref_sq) {
  torch::Tensor d = queries.square().sum(1, true) + ref_sq.unsqueeze(0);
  return d.addmm_(queries, refs.t(), 1, -2).clamp_min_(0);
}

void check_set(const torch::Tensor& x, const torch::Tensor& y, const char* name) {
  TORCH_CHECK(x.dim() == 2 && x.scalar_type() == torch::kFloat32, "evaluate_embeddings: ", name,
              "_x must be a 2-D float32 tensor");
  TORCH_CHECK(x.size(0) >= 1, "evaluate_embeddings: ", name, "_x has no rows");
  TORCH_CHECK(y.dim() == 1 && y.size(0) == x.size(0), "evaluate_embeddings: ", name, "_y must hold one label per row of ",
              name, "_x");
  if (!torch::isfinite(x).all().item<bool>()) {
    throw ArgumentError(name, std::string("Expected finite numbers in ") + name + " embeddings but found NaN or Infinity");
  }
}

}  // namespace

torch::Tensor knn_predict(const torch::Tensor& train_x, const torch::Tensor& train_y, const torch::Tensor& query_x,
                          int64_t k) {
  torch::NoGradGuard no_grad;
  const int64_t kk = std::min<int64_t>(k, train_x.size(0));
  const torch::Tensor ref_sq = train_x.square().sum(1);
  const torch::Tensor labels_cpu = train_y.to(torch::kCPU, torch::kInt64).contiguous();
  std::vector<int64_t> predicted;
  predicted.reserve(query_x.size(0));
  const int64_t block = query_block(train_x.size(0));
  for (int64_t start = 0; start < query_x.size(0); start += block) {
    const int64_t n = std::min(block, query_x.size(0) - start);
    torch::Tensor d = squared_distances(query_x.narrow(0, start, n), train_x, ref_sq);
    // Nearest first (the order among exactly equal distances is topk's).
    torch::Tensor nearest = std::get<1>(d.topk(kk, 1, /*largest=*/false, /*sorted=*/true)).to(torch::kCPU).contiguous();
    const int64_t* idx = nearest.data_ptr<int64_t>();
    const int64_t* lab = labels_cpu.data_ptr<int64_t>();
    for (int64_t q = 0; q < n; ++q) {
      std::map<int64_t, std::pair<int64_t, int64_t>> votes;  // label -> (count, rank of its nearest)
      for (int64_t r = 0; r < kk; ++r) {
        auto& v = votes.try_emplace(lab[idx[q * kk + r]], 0, r).first->second;
        ++v.first;
      }
      int64_t best = -1, best_count = -1, best_rank = kk;
      for (const auto& [label, v] : votes) {
        if (v.first > best_count || (v.first == best_count && v.second < best_rank)) {
          best = label;
          best_count = v.first;
          best_rank = v.second;
        }
      }
      predicted.push_back(best);
    }
  }
  return torch::tensor(predicted, torch::kInt64);
}

SparseCounts confusion_counts(const torch::Tensor& classes, const torch::Tensor& labels, const torch::Tensor& predicted) {
  const torch::Tensor c = classes.to(torch::kCPU, torch::kInt64).contiguous();
  const torch::Tensor y = labels.to(torch::kCPU, torch::kInt64).contiguous();
  const torch::Tensor p = predicted.to(torch::kCPU, torch::kInt64).contiguous();
  TORCH_CHECK(c.dim() == 1 && y.dim() == 1 && p.dim() == 1 && y.size(0) == p.size(0),
              "confusion_counts: classes, labels and predicted must be 1-D, labels and predicted of one length");
  const int64_t L = c.size(0);
  const torch::Tensor row = torch::searchsorted(c, y);
  const torch::Tensor column = torch::searchsorted(c, p);
  TORCH_CHECK(L > 0 && row.lt(L).all().item<bool>() && column.lt(L).all().item<bool>() &&
                  c.index_select(0, row).eq(y).all().item<bool>() && c.index_select(0, column).eq(p).all().item<bool>(),
              "confusion_counts: a label or prediction is missing from classes");
  // Cell codes row * L + column (L <= 2^31, so they fit int64), counted by sorting.
  const auto [cells, inverse, counts] = torch::_unique2(row * L + column, /*sorted=*/true, /*return_inverse=*/false, /*return_counts=*/true);
  return {torch::div(cells, L, "floor"), torch::remainder(cells, L), counts};
}

torch::Tensor linear_predict(const torch::Tensor& train_x, const torch::Tensor& train_y, const torch::Tensor& query_x) {
  // Labels -> 0..C-1.
  torch::Tensor classes = std::get<0>(torch::_unique(train_y.to(torch::kCPU, torch::kInt64), /*sorted=*/true));
  torch::Tensor target = torch::searchsorted(classes, train_y.to(torch::kCPU, torch::kInt64)).to(train_x.device());
  const int64_t C = classes.size(0);
  const int64_t D = train_x.size(1);
  // Standardised features keep L-BFGS well conditioned whatever the embedding's scale.
  torch::Tensor mean = train_x.mean(0, true);
  torch::Tensor scale = train_x.std(0, /*unbiased=*/false, true).clamp_min(1e-6);
  torch::Tensor xs = ((train_x - mean) / scale).detach();
  torch::Tensor weight = torch::zeros({D, C}, train_x.options()).requires_grad_(true);
  torch::Tensor bias = torch::zeros({C}, train_x.options()).requires_grad_(true);
  torch::optim::LBFGS optimizer({weight, bias},
                                torch::optim::LBFGSOptions(1.0).max_iter(300).history_size(20).line_search_fn("strong_wolfe"));
  constexpr double kL2 = 1e-4;
  auto closure = [&]() -> torch::Tensor {
    optimizer.zero_grad();
    torch::Tensor loss = torch::nn::functional::cross_entropy(xs.mm(weight) + bias, target) + kL2 * weight.square().sum();
    loss.backward();
    return loss;
  };
  optimizer.step(closure);
  torch::NoGradGuard no_grad;
  torch::Tensor logits = ((query_x - mean) / scale).mm(weight) + bias;
  return classes.index_select(0, logits.argmax(1).to(torch::kCPU));
}

EmbeddingMetrics evaluate_embeddings(const torch::Tensor& train_x, const torch::Tensor& train_y,
                                     const torch::Tensor& valid_x, const torch::Tensor& valid_y, int64_t k) {
  check_set(train_x, train_y, "train");
  check_set(valid_x, valid_y, "valid");
  TORCH_CHECK(train_x.size(1) == valid_x.size(1), "evaluate_embeddings: valid_x has ", valid_x.size(1),
              " columns where train_x has ", train_x.size(1));
  TORCH_CHECK(k >= 1, "evaluate_embeddings: k must be at least 1, got ", k);
  EmbeddingMetrics m;
  const torch::Tensor vy = valid_y.to(torch::kCPU, torch::kInt64).contiguous();

  const torch::Tensor knn = knn_predict(train_x, train_y, valid_x, k);
  const torch::Tensor knn_right = knn.eq(vy);
  m.knn_accuracy = knn_right.to(torch::kFloat64).mean().item<double>();
  torch::Tensor classes = std::get<0>(torch::_unique(vy, /*sorted=*/true));
  for (int64_t i = 0; i < classes.size(0); ++i) {
    const int64_t label = classes[i].item<int64_t>();
    const torch::Tensor in_class = vy.eq(label);
    ClassMetrics c;
    c.label = label;
    c.count = in_class.sum().item<int64_t>();
    c.knn_accuracy = knn_right.masked_select(in_class).to(torch::kFloat64).mean().item<double>();
    m.per_class.push_back(c);
  }
  {
    const torch::Tensor labels = std::get<0>(torch::_unique(torch::cat({train_y.to(torch::kCPU, torch::kInt64), vy}), /*sorted=*/true));
    const SparseCounts cells = confusion_counts(labels, vy, knn);
    const auto values = [](const torch::Tensor& t) {
      const torch::Tensor c = t.contiguous();
      return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
    };
    m.confusion_labels = values(labels);
    m.confusion_rows = values(cells.rows);
    m.confusion_columns = values(cells.columns);
    m.confusion_counts = values(cells.counts);
  }
  {
    torch::AutoGradMode grad_on(true);
    m.linear_accuracy = linear_predict(train_x, train_y, valid_x).eq(vy).to(torch::kFloat64).mean().item<double>();
  }
  m.svm_accuracy =
      linear_svm_predict(fit_linear_svm(train_x, train_y), valid_x).eq(vy).to(torch::kFloat64).mean().item<double>();

  // Retrieval within the valid set.
  torch::NoGradGuard no_grad;
  const int64_t M = valid_x.size(0);
  std::map<int64_t, int64_t> class_size;
  const int64_t* labels = vy.data_ptr<int64_t>();
  for (int64_t i = 0; i < M; ++i) ++class_size[labels[i]];
  const torch::Tensor ref_sq = valid_x.square().sum(1);
  const int64_t block = query_block(M);
  double p1 = 0, rp = 0, map = 0;
  for (int64_t start = 0; start < M; start += block) {
    const int64_t n = std::min(block, M - start);
    int64_t max_r = 0;
    for (int64_t q = start; q < start + n; ++q) max_r = std::max(max_r, class_size[labels[q]] - 1);
    if (max_r == 0) continue;
    torch::Tensor d = squared_distances(valid_x.narrow(0, start, n), valid_x, ref_sq);
    d.diagonal(start, 0, 1).fill_(std::numeric_limits<float>::infinity());  // the query itself
    torch::Tensor ranked = std::get<1>(d.topk(max_r, 1, /*largest=*/false, /*sorted=*/true)).to(torch::kCPU).contiguous();
    const int64_t* idx = ranked.data_ptr<int64_t>();
    for (int64_t q = 0; q < n; ++q) {
      const int64_t label = labels[start + q];
      const int64_t R = class_size[label] - 1;
      if (R == 0) continue;
      int64_t hits = 0;
      double ap = 0;
      for (int64_t i = 0; i < R; ++i) {
        if (labels[idx[q * max_r + i]] == label) {
          ++hits;
          ap += static_cast<double>(hits) / static_cast<double>(i + 1);
        }
      }
      p1 += labels[idx[q * max_r]] == label ? 1.0 : 0.0;
      rp += static_cast<double>(hits) / static_cast<double>(R);
      map += ap / static_cast<double>(R);
      ++m.retrieval_queries;
    }
  }
  if (m.retrieval_queries > 0) {
    m.precision_at_1 = p1 / static_cast<double>(m.retrieval_queries);
    m.r_precision = rp / static_cast<double>(m.retrieval_queries);
    m.map_at_r = map / static_cast<double>(m.retrieval_queries);
  }
  return m;
}

}  // namespace semihard::core
