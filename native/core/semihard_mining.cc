#include "semihard_mining.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <limits>
#include <utility>
#include <vector>

namespace semihard::core {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

struct Entry {
  int64_t col;
  float weight;
  float value;
};

// The nearest negative seen so far for a range of positives, with its tie count.
struct Bucket {
  float value = kInf;
  int64_t count = 0;
  int64_t index = -1;
};

// Mines one anchor row at a time. Scratch is sized once per thread: O(B).
class RowMiner {
 public:
  explicit RowMiner(int64_t batch) : batch_(batch), acc_(batch, 0.0f), touched_(batch, 0) {}

  // Returns the row's loss sum and appends its gradient entries (d(sum)/dD[a, j]) to `out`.
  double mine(const float* d, int64_t a, const int64_t* labels, float margin, std::vector<Entry>& out) {
    const int64_t B = batch_;
    const int64_t la = labels[a];
    float row_max = -kInf, row_min = kInf;
    for (int64_t j = 0; j < B; ++j) {
      row_max = std::max(row_max, d[j]);
      row_min = std::min(row_min, d[j]);
    }
    positives_.clear();
    int64_t negatives = 0;
    float max_negative = -kInf;
    for (int64_t j = 0; j < B; ++j) {
      if (labels[j] == la) {
        if (j != a) positives_.emplace_back(d[j], j);
      } else {
        ++negatives;
        max_negative = std::max(max_negative, d[j]);
      }
    }
    if (positives_.empty()) return 0.0;
    std::sort(positives_.begin(), positives_.end());
    const int64_t K = static_cast<int64_t>(positives_.size());
    thresholds_.resize(K);
    for (int64_t k = 0; k < K; ++k) thresholds_[k] = positives_[k].first;
    buckets_.assign(K, Bucket{});

    // A negative at distance v is strictly farther than the positives before
    // lower_bound(v): it is a candidate for all of them. Bucket it at the last one ...
    if (negatives > 0) {
      const float* t = thresholds_.data();
      for (int64_t j = 0; j < B; ++j) {
        if (labels[j] == la) continue;
        const float v = d[j];
        const int64_t farther_than = std::lower_bound(t, t + K, v) - t;
        if (farther_than == 0) continue;
        Bucket& b = buckets_[farther_than - 1];
        if (v < b.value) {
          b = Bucket{v, 1, j};
        } else if (v == b.value) {
          ++b.count;
        }
      }
      // ... and a suffix minimum hands it down to every nearer positive.
      for (int64_t k = K - 2; k >= 0; --k) {
        const Bucket& next = buckets_[k + 1];
        Bucket& b = buckets_[k];
        if (next.count == 0) continue;
        if (next.value < b.value) {
          b = next;
        } else if (next.value == b.value) {
          b.count += next.count;
        }
      }
    }

    const float inv_batch = 1.0f / static_cast<float>(B);
    double loss = 0.0;
    for (int64_t k = 0; k < K; ++k) {
      const float positive = thresholds_[k];
      const Bucket& b = buckets_[k];
      float chosen;
      if (b.count > 0) {
        chosen = (b.value - row_max) + row_max;  // TF's _masked_minimum arithmetic
      } else if (negatives > 0) {
        chosen = (max_negative - row_min) + row_min;  // TF's _masked_maximum arithmetic
      } else {
        chosen = row_min;
      }
      const float term = margin + (positive - chosen);
      loss += std::max(term, 0.0f);
      if (!(term >= 0.0f)) continue;  // tf.maximum passes gradient where x >= y
      add(positives_[k].second, 1.0f);

      if (b.count > 0 && b.value < row_max) {
        // The nearest farther negative(s); ties share the gradient equally.
        if (b.count == 1) {
          add(b.index, -1.0f);
        } else {
          add_where(d, labels, la, Side::kNegatives, b.value, -1.0f / static_cast<float>(b.count));
        }
      } else if (b.count > 0) {
        // Chosen == row max: in TF's masked minimum every entry ties at 0, so the chosen
        // negatives get 1/B each and the rest flows to the row maximum.
        add_where(d, labels, la, Side::kNegatives, row_max, -inv_batch);
        const float rest = 1.0f - static_cast<float>(b.count) * inv_batch;
        add_where(d, labels, la, Side::kAll, row_max, -rest / static_cast<float>(count_equal(d, row_max)));
      } else if (negatives > 0 && max_negative > row_min) {
        const int64_t ties = count_where(d, labels, la, Side::kNegatives, max_negative);
        add_where(d, labels, la, Side::kNegatives, max_negative, -1.0f / static_cast<float>(ties));
      } else if (negatives > 0) {
        // Every negative sits at the row minimum: TF's masked maximum ties everything at 0.
        add_where(d, labels, la, Side::kNegatives, max_negative, -inv_batch);
        const float rest = 1.0f - static_cast<float>(negatives) * inv_batch;
        add_where(d, labels, la, Side::kAll, row_min, -rest / static_cast<float>(count_equal(d, row_min)));
      } else {
        add_where(d, labels, la, Side::kAll, row_min, -1.0f / static_cast<float>(count_equal(d, row_min)));
      }
    }

    for (int64_t j : touched_list_) {
      out.push_back(Entry{j, acc_[j], d[j]});
      acc_[j] = 0.0f;
      touched_[j] = 0;
    }
    touched_list_.clear();
    return loss;
  }

 private:
  enum class Side { kNegatives, kAll };

  void add(int64_t j, float w) {
    if (!touched_[j]) {
      touched_[j] = 1;
      touched_list_.push_back(j);
    }
    acc_[j] += w;
  }

  bool on_side(const int64_t* labels, int64_t la, Side side, int64_t j) const {
    return side == Side::kAll || labels[j] != la;
  }

  void add_where(const float* d, const int64_t* labels, int64_t la, Side side, float target, float w) {
    for (int64_t j = 0; j < batch_; ++j) {
      if (d[j] == target && on_side(labels, la, side, j)) add(j, w);
    }
  }

  int64_t count_where(const float* d, const int64_t* labels, int64_t la, Side side, float target) const {
    int64_t n = 0;
    for (int64_t j = 0; j < batch_; ++j) n += (d[j] == target && on_side(labels, la, side, j));
    return n;
  }

  int64_t count_equal(const float* d, float target) const {
    int64_t n = 0;
    for (int64_t j = 0; j < batch_; ++j) n += (d[j] == target);
    return n;
  }

  int64_t batch_;
  std::vector<float> acc_;
  std::vector<uint8_t> touched_;
  std::vector<int64_t> touched_list_;
  std::vector<std::pair<float, int64_t>> positives_;
  std::vector<float> thresholds_;
  std::vector<Bucket> buckets_;
};

}  // namespace

MinedBlock mine_semihard_block(const torch::Tensor& block, int64_t begin, const torch::Tensor& labels,
                               float margin) {
  TORCH_CHECK(block.device().is_cpu() && block.scalar_type() == torch::kFloat32 && block.dim() == 2,
              "mine_semihard_block: block must be a 2-D float32 CPU tensor");
  TORCH_CHECK(labels.device().is_cpu() && labels.scalar_type() == torch::kInt64 && labels.is_contiguous(),
              "mine_semihard_block: labels must be contiguous int64 on CPU");
  const torch::Tensor d = block.contiguous();
  const int64_t rows = d.size(0);
  const int64_t B = d.size(1);
  TORCH_CHECK(labels.numel() == B, "mine_semihard_block: labels do not match the block width");
  const float* dp = d.data_ptr<float>();
  const int64_t* lp = labels.data_ptr<int64_t>();

  std::vector<std::vector<Entry>> entries(rows);
  std::vector<double> row_loss(rows, 0.0);
  at::parallel_for(0, rows, /*grain_size=*/1, [&](int64_t lo, int64_t hi) {
    RowMiner miner(B);
    for (int64_t i = lo; i < hi; ++i) {
      row_loss[i] = miner.mine(dp + i * B, begin + i, lp, margin, entries[i]);
    }
  });

  int64_t total = 0;
  for (const auto& e : entries) total += static_cast<int64_t>(e.size());
  MinedBlock out;
  for (double l : row_loss) out.loss_sum += l;
  out.row = torch::empty({total}, torch::kInt64);
  out.col = torch::empty({total}, torch::kInt64);
  out.weight = torch::empty({total}, torch::kFloat32);
  out.value = torch::empty({total}, torch::kFloat32);
  int64_t* rp = out.row.data_ptr<int64_t>();
  int64_t* cp = out.col.data_ptr<int64_t>();
  float* wp = out.weight.data_ptr<float>();
  float* vp = out.value.data_ptr<float>();
  int64_t k = 0;
  for (int64_t i = 0; i < rows; ++i) {
    for (const Entry& e : entries[i]) {
      rp[k] = begin + i;
      cp[k] = e.col;
      wp[k] = e.weight;
      vp[k] = e.value;
      ++k;
    }
  }
  return out;
}

}  // namespace semihard::core
