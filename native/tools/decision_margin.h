// How close a batch's mining decisions come to flipping, in float64: loss_check reports a
// mismatch between two devices as a near-tie flip when some decision is closer than float32
// can tell apart. For every anchor: which negatives lie beyond each positive (semi-hard),
// the nearest such negative against the next, the farthest negative against the next, the
// hardest positive and negative against the next (hard), the chosen extremum against TF's
// shift (the row's maximum or minimum, which changes how the gradient splits) and the hinge
// margin + d(a,p) - d(a,n) against 0. Returns the smallest gap relative to its row's largest
// |distance| (1 where there is no decision).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace semihard::tools {

enum class MinedKind { kSemiHard, kHard };

// Float64 distances of row-major B x dim embeddings as TF-Addons defines them.
inline std::vector<double> distances64(const std::vector<double>& x, int64_t batch, int64_t dim, bool squared,
                                       bool angular) {
  std::vector<double> d(batch * batch, 0.0), norm(batch, 0.0);
  for (int64_t i = 0; i < batch; ++i) {
    for (int64_t k = 0; k < dim; ++k) norm[i] += x[i * dim + k] * x[i * dim + k];
  }
  for (int64_t i = 0; i < batch; ++i) {
    for (int64_t j = 0; j < batch; ++j) {
      double dot = 0.0, sq = 0.0;
      for (int64_t k = 0; k < dim; ++k) {
        dot += x[i * dim + k] * x[j * dim + k];
        sq += (x[i * dim + k] - x[j * dim + k]) * (x[i * dim + k] - x[j * dim + k]);
      }
      if (angular) {
        d[i * batch + j] = std::max(0.0, 1.0 - dot / std::sqrt(std::max(norm[i], 1e-12) * std::max(norm[j], 1e-12)));
      } else {
        d[i * batch + j] = i == j ? 0.0 : (squared ? sq : std::sqrt(sq));
      }
    }
  }
  return d;
}

inline double closest_decision(const std::vector<double>& d, const std::vector<int64_t>& labels, MinedKind kind,
                               double margin, bool soft) {
  const auto batch = static_cast<int64_t>(labels.size());
  constexpr double kInf = std::numeric_limits<double>::infinity();
  double closest = kInf;
  // The two smallest of `values` (kInf where missing).
  auto two_smallest = [](const std::vector<double>& values) {
    double a = kInf, b = kInf;
    for (double v : values) {
      if (v < a) {
        b = a;
        a = v;
      } else if (v < b) {
        b = v;
      }
    }
    return std::make_pair(a, b);
  };
  for (int64_t a = 0; a < batch; ++a) {
    const double* row = d.data() + a * batch;
    double scale = 0.0, row_max = -kInf, row_min = kInf;
    std::vector<double> pos, neg, neg_flipped;
    for (int64_t j = 0; j < batch; ++j) {
      scale = std::max(scale, std::abs(row[j]));
      row_max = std::max(row_max, row[j]);
      row_min = std::min(row_min, row[j]);
      if (labels[j] != labels[a]) {
        neg.push_back(row[j]);
        neg_flipped.push_back(-row[j]);
      } else if (j != a) {
        pos.push_back(row[j]);
      }
    }
    if (scale == 0.0) scale = 1.0;
    auto gap = [&](double x, double y) {
      if (std::isfinite(x) && std::isfinite(y)) closest = std::min(closest, std::abs(x - y) / scale);
    };
    const auto [far1, far2] = two_smallest(neg_flipped);  // farthest negatives, negated
    gap(-far1, -far2);
    if (kind == MinedKind::kHard) {
      std::vector<double> pos_flipped;
      for (double p : pos) pos_flipped.push_back(-p);
      const auto [hp1, hp2] = two_smallest(pos_flipped);
      const auto [hn1, hn2] = two_smallest(neg);
      gap(-hp1, -hp2);
      gap(hn1, hn2);
      gap(-hp1, row_min);
      gap(hn1, row_max);
      if (!soft) gap(-hp1 - hn1 + margin, 0.0);
      continue;
    }
    for (double t : pos) {
      std::vector<double> beyond;
      for (double n : neg) {
        gap(n, t);
        if (n > t) beyond.push_back(n);
      }
      const auto [near1, near2] = two_smallest(beyond);
      gap(near1, near2);
      const double chosen = !beyond.empty() ? near1 : (!neg.empty() ? -far1 : row_min);
      if (!neg.empty()) gap(chosen, beyond.empty() ? row_min : row_max);
      gap(margin + t - chosen, 0.0);
    }
  }
  return std::isfinite(closest) ? closest : 1.0;
}

}  // namespace semihard::tools
