#include "semihard_mining.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include "row_gradient.h"

namespace semihard::core {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// The nearest negative seen so far among those farther than a range of positives.
struct Bucket {
  float value = kInf;
  int64_t count = 0;
  int64_t index = -1;
};

// Row statistics gathered in the same sweep as the buckets.
struct RowStats {
  float row_max = -kInf;
  float row_min = kInf;
  float max_negative = -kInf;
  int64_t negatives = 0;
};

// How many of the P sorted thresholds (padded with +inf) lie strictly below v. Small P:
// P independent compares, four lanes at a time (GCC/Clang vector extensions: SSE or NEON);
// large P: a branchless binary search.
typedef float Float4 __attribute__((vector_size(16)));
typedef int32_t Int4 __attribute__((vector_size(16)));

template <int64_t P>
inline int64_t count_below(const float* t, float v) {
  if constexpr (P < 4) {
    int64_t c = 0;
    for (int64_t k = 0; k < P; ++k) c += t[k] < v;
    return c;
  } else {
    const Float4 vv = {v, v, v, v};
    Int4 acc = {0, 0, 0, 0};
    for (int64_t k = 0; k < P; k += 4) {
      Float4 tk;
      __builtin_memcpy(&tk, t + k, sizeof(tk));
      acc += (tk < vv);  // lanes are -1 where true
    }
    return -static_cast<int64_t>(acc[0] + acc[1] + acc[2] + acc[3]);
  }
}

// Many positives: the sorted thresholds indexed by a uniform grid over their range. cell()
// is monotonic in v (a subtraction, a multiplication by a positive scale, a floor and a
// clamp, each monotonic), so a threshold in an earlier cell than v is below v and one in a
// later cell is not: only the thresholds in v's own cell are compared, and with four times as many
// cells as thresholds a cell holds one or none. Exact for any values; a cell crowded by equal
// or clustered thresholds is searched by bisection.
class ThresholdGrid {
 public:
  // False when the range cannot be gridded (all thresholds equal, or a scale that overflows).
  bool build(const float* t, int64_t count) {
    lo_ = t[0];
    const float hi = t[count - 1];
    cells_ = 4 * count;
    scale_ = static_cast<float>(cells_) / (hi - lo_);
    if (!(hi > lo_) || !std::isfinite(scale_)) return false;
    start_.assign(cells_ + 1, 0);
    int64_t k = 0;
    for (int64_t c = 0; c <= cells_; ++c) {
      while (k < count && cell(t[k]) < c) ++k;
      start_[c] = static_cast<int32_t>(k);
    }
    return true;
  }

  int64_t cell(float v) const {
    const float x = (v - lo_) * scale_;
    if (!(x > 0.0f)) return 0;
    if (x >= static_cast<float>(cells_ - 1)) return cells_ - 1;
    return static_cast<int64_t>(x);
  }

  // How many thresholds lie strictly below v.
  int64_t count_below(const float* t, float v) const {
    const int64_t c = cell(v);
    int64_t lo = start_[c], hi = start_[c + 1];
    if (hi - lo <= 2) {  // the common case, without branches (t has two +inf past its end)
      return lo + ((lo < hi) & (t[lo] < v)) + ((lo + 1 < hi) & (t[lo + 1] < v));
    }
    while (hi - lo > 8) {  // crowded cell: bisect
      const int64_t mid = lo + (hi - lo) / 2;
      if (t[mid] < v) lo = mid + 1; else hi = mid;
    }
    while (lo < hi && t[lo] < v) ++lo;
    return lo;
  }

 private:
  int64_t cells_ = 0;
  float lo_ = 0.0f, scale_ = 0.0f;
  std::vector<int32_t> start_;
};

inline int64_t count_below(const float* t, int64_t padded, float v) {
  int64_t below = 0;
  for (int64_t step = padded / 2; step >= 1; step /= 2) below += (t[below + step - 1] < v) ? step : 0;
  return below + ((t[below] < v) ? 1 : 0);
}

// One pass over the row: each negative goes into the bucket of the positives it is
// strictly farther than (buckets[i]: farther than positives 0..i-1, not than i; buckets[0]
// holds what no positive can use), and the row's extrema are taken on the way.
// P > 0: P thresholds compared at once; P == 0: bisection over `padded`; P == -1: the grid.
template <int64_t P>
RowStats sweep(const float* d, const int64_t* labels, int64_t la, int64_t B, const float* t, int64_t padded,
               const ThresholdGrid* grid, Bucket* buckets) {
  RowStats s;
  for (int64_t j = 0; j < B; ++j) {
    const float v = d[j];
    const bool negative = labels[j] != la;
    s.row_max = std::max(s.row_max, v);
    s.row_min = std::min(s.row_min, v);
    s.max_negative = std::max(s.max_negative, negative ? v : -kInf);
    s.negatives += negative;
    int64_t below;
    if constexpr (P > 0) {
      below = count_below<P>(t, v);
    } else if constexpr (P == 0) {
      below = count_below(t, padded, v);
    } else {
      below = grid->count_below(t, v);
    }
    Bucket& b = buckets[negative ? below : 0];
    if (v <= b.value) {
      if (v < b.value) {
        b.value = v;
        b.count = 1;
        b.index = j;
      } else {
        ++b.count;
      }
    }
  }
  return s;
}

// Mines one anchor row at a time; all scratch is O(B) and reused.
class SemiHardRowMiner {
 public:
  explicit SemiHardRowMiner(int64_t batch) : grad_(batch) {}

  // The row's loss sum; its gradient entries are appended to `out`, what it mined to `stats`
  // (when not null).
  double mine(const float* d, int64_t a, const LabelGroups& groups, float margin, std::vector<GradEntry>& out,
              TripletStats* stats) {
    const int64_t B = grad_.batch();
    const int64_t* labels = groups.labels();
    const int64_t la = labels[a];
    auto is_negative = [labels, la](int64_t j) { return labels[j] != la; };

    positives_.clear();
    for (const int64_t* p = groups.members_begin(a); p != groups.members_end(a); ++p) {
      if (*p != a) positives_.emplace_back(d[*p], *p);
    }
    if (stats != nullptr) {
      stats->anchors = 1;
      stats->no_positive_anchors = positives_.empty() ? 1 : 0;
    }
    if (positives_.empty()) return 0.0;
    std::sort(positives_.begin(), positives_.end());
    const auto K = static_cast<int64_t>(positives_.size());
    int64_t padded = 1;
    while (padded < K) padded *= 2;
    thresholds_.assign(std::max(padded, K + 2), kInf);  // the grid reads up to two past the end
    for (int64_t k = 0; k < K; ++k) thresholds_[k] = positives_[k].first;
    buckets_.assign(padded + 1, Bucket{});

    const float* t = thresholds_.data();
    RowStats s;
    switch (padded) {
      case 1: s = sweep<1>(d, labels, la, B, t, padded, nullptr, buckets_.data()); break;
      case 2: s = sweep<2>(d, labels, la, B, t, padded, nullptr, buckets_.data()); break;
      case 4: s = sweep<4>(d, labels, la, B, t, padded, nullptr, buckets_.data()); break;
      case 8: s = sweep<8>(d, labels, la, B, t, padded, nullptr, buckets_.data()); break;
      case 16: s = sweep<16>(d, labels, la, B, t, padded, nullptr, buckets_.data()); break;
      case 32: s = sweep<32>(d, labels, la, B, t, padded, nullptr, buckets_.data()); break;
      default:
        if (grid_.build(t, K)) {
          s = sweep<-1>(d, labels, la, B, t, padded, &grid_, buckets_.data());
        } else {
          s = sweep<0>(d, labels, la, B, t, padded, nullptr, buckets_.data());
        }
        break;
    }
    // Suffix minimum: a negative farther than positive i-1 is farther than all before it.
    for (int64_t i = K - 1; i >= 1; --i) {
      const Bucket& next = buckets_[i + 1];
      Bucket& b = buckets_[i];
      if (next.count == 0) continue;
      if (next.value < b.value) {
        b = next;
      } else if (next.value == b.value) {
        b.count += next.count;
      }
    }

    MaskedExtremum inside{s.negatives > 0, s.max_negative, -1, -1, s.row_min};  // ties found on first need
    double loss = 0.0;
    for (int64_t k = 0; k < K; ++k) {
      const float positive = thresholds_[k];
      const Bucket& b = buckets_[k + 1];
      // TF's negatives_outside (_masked_minimum over negatives farther than the positive),
      // else negatives_inside (_masked_maximum over all negatives, the row minimum if none).
      const bool outside = b.count > 0;
      if (!outside && inside.any_masked && inside.masked_ties < 0) find_ties(d, is_negative, inside);
      const MaskedExtremum chosen = outside ? MaskedExtremum{true, b.value, b.count, b.index, s.row_max} : inside;
      const float term = margin + (positive - chosen.value());
      loss += std::max(term, 0.0f);
      if (stats != nullptr) {
        stats->active_terms += term > 0.0f;
        stats->semihard_pairs += outside;
        stats->positive_distance_sum += positive;
        if (inside.any_masked) {  // the anchor has negatives: the chosen one's distance
          ++stats->negative_distances;
          stats->negative_distance_sum += outside ? b.value : s.max_negative;
        }
      }
      if (!(term >= 0.0f)) continue;  // tf.maximum passes gradient where x >= y
      grad_.add(positives_[k].second, 1.0f);
      add_masked_extremum_grad(grad_, d, chosen, is_negative, -1.0f);
    }
    grad_.flush(d, out);
    if (stats != nullptr) {
      stats->positive_pairs = K;
      stats->terms = K;
      stats->positive_distances = K;
    }
    return loss;
  }

 private:
  template <typename Mask>
  void find_ties(const float* d, Mask mask, MaskedExtremum& e) {
    e.masked_ties = 0;
    for (int64_t j = 0; j < grad_.batch(); ++j) {
      if (d[j] == e.extreme && mask(j)) {
        if (e.masked_ties++ == 0) e.first_index = j;
      }
    }
  }

  RowGradient grad_;
  std::vector<std::pair<float, int64_t>> positives_;
  std::vector<float> thresholds_;
  std::vector<Bucket> buckets_;
  ThresholdGrid grid_;
};

}  // namespace

MinedBlock mine_semihard_block(const torch::Tensor& block, int64_t begin, const LabelGroups& groups, float margin,
                               bool with_stats) {
  const int64_t B = groups.batch();
  std::vector<TripletStats> row_stats(with_stats ? block.size(0) : 0);
  MinedBlock mined = mine_rows_in_parallel(block, begin, B, [&] {
    return [miner = std::make_shared<SemiHardRowMiner>(B), &groups, &row_stats, begin, margin](
               const float* d, int64_t a, std::vector<GradEntry>& out) {
      return miner->mine(d, a, groups, margin, out, row_stats.empty() ? nullptr : &row_stats[a - begin]);
    };
  });
  for (const TripletStats& r : row_stats) mined.stats.add(r);  // in row order: the same sums on any thread count
  return mined;
}

}  // namespace semihard::core
