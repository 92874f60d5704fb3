#include "distances.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <vector>


namespace semihard::core {
namespace {

// tf.math.l2_normalize's epsilon (float32).
constexpr float kNormalizeEpsilon = 1e-12f;
// On the CPU, a block whose entries exceed 1/kDenseShare of its rows x B is applied densely.
constexpr int64_t kDenseShare = 16;
// L2 / squared-L2: every entry of (|a|^2 + |b|^2) - 2 a.b is at most 4 max |x|^2, so the
// largest squared norm must stay below FLT_MAX / 4 (2^126); above 2^-100 the squares that
// underflow are below float32's resolution of the distances.
constexpr float kLargestPlainSquare = 0x1p124f;
constexpr float kSmallestPlainSquare = 0x1p-100f;
// Angular: the backward pass multiplies by rsqrt(|x|^2)^3, which underflows float32 from
// |x|^2 > 2^84; rows above 2^64 are normalised from x_i * 2^-e_i.
constexpr float kLargestPlainRowSquare = 0x1p64f;

// t * 2^exponent, rounded to float32 once (exact but where it overflows or underflows).
torch::Tensor times_power_of_two(const torch::Tensor& t, int exponent) {
  return t.to(torch::kFloat64).mul_(std::ldexp(1.0, exponent)).to(torch::kFloat32);
}

// The binary exponent e of m > 0: m * 2^-e lies in [0.5, 1).
int binary_exponent(double m) {
  int e = 0;
  std::frexp(m, &e);
  return e;
}

// Angular: rows whose squared norm exceeds kLargestPlainRowSquare (or overflows) scaled by
// 2^-e_i, e_i the binary exponent of the row's largest |entry|; other rows by 1.
void scale_large_rows(const torch::Tensor& x, const torch::Tensor& sq, DistanceOperands& operands) {
  const torch::Tensor large = (sq > kLargestPlainRowSquare).to(torch::kCPU);
  const torch::Tensor peak = x.abs().amax(1).to(torch::kCPU, torch::kFloat64);
  torch::Tensor scales = torch::ones({x.size(0)}, torch::kFloat64);
  const bool* l = large.data_ptr<bool>();
  const double* m = peak.data_ptr<double>();
  double* out = scales.data_ptr<double>();
  for (int64_t i = 0; i < x.size(0); ++i) {
    if (l[i]) out[i] = std::ldexp(1.0, -binary_exponent(m[i]));
  }
  operands.row_scales = scales.to(x.device());
  operands.scaled_rows = x.to(torch::kFloat64).mul_(operands.row_scales.unsqueeze(1)).to(torch::kFloat32);
}

// The exponent the distances' values carry relative to the points' units.
int value_exponent(const DistanceOperands& operands) {
  return operands.distance == Distance::kSquaredL2 ? 2 * operands.scale_exponent : operands.scale_exponent;
}

}  // namespace

DistanceOperands prepare_distance_operands(const torch::Tensor& embeddings, Distance distance, bool unit_rows) {
  TORCH_CHECK(embeddings.dim() == 2 && embeddings.scalar_type() == torch::kFloat32,
              "embeddings must be a 2-D float32 tensor");
  DistanceOperands operands;
  operands.distance = distance;
  torch::Tensor x = embeddings.contiguous();
  torch::Tensor sq = x.square().sum(1);
  const float max_sq = unit_rows ? 1.0f : sq.max().item<float>();
  if (distance == Distance::kAngular) {
    if (!(max_sq <= kLargestPlainRowSquare)) {
      scale_large_rows(x, sq, operands);
      x = operands.scaled_rows;
      sq = x.square().sum(1);
    }
    // tf.math.l2_normalize: x * rsqrt(maximum(sum(x^2), epsilon)).
    operands.inv_norms = sq.clamp_min(kNormalizeEpsilon).rsqrt();
    operands.points = (x * operands.inv_norms.unsqueeze(1)).contiguous();
  } else {
    if (!unit_rows && (!(max_sq <= kLargestPlainSquare) || max_sq < kSmallestPlainSquare)) {
      const double peak = x.abs().max().item<double>();
      if (peak > 0.0) {
        operands.scale_exponent = binary_exponent(peak);
        x = times_power_of_two(x, -operands.scale_exponent).contiguous();
        sq = x.square().sum(1);
      }
    }
    operands.points = x;
    operands.sq_norms = sq;
  }
  return operands;
}

torch::Tensor distance_block(const DistanceOperands& operands, int64_t begin, int64_t end) {
  const torch::Tensor& p = operands.points;
  const int64_t rows = end - begin;
  torch::Tensor anchors = p.narrow(0, begin, rows);
  if (operands.distance == Distance::kAngular) {
    // 1 - x̂ x̂ᵀ in one rounding, then TF's tf.maximum(·, 0.0); TF leaves the diagonal as
    // computed. tf.maximum passes gradient where 1 - x̂ x̂ᵀ >= 0, which a clamped 0 no longer
    // tells, so entries clamped from below are stored as -0.0: equal to 0 in every
    // comparison the miners make, and told apart by their sign bit in the backward pass.
    torch::Tensor block = torch::ones({rows, p.size(0)}, p.options());
    block.addmm_(anchors, p.t(), /*beta=*/1, /*alpha=*/-1);
    return block.masked_fill_(block < 0.0f, -0.0f);
  }
  // (|a|^2 + |b|^2) - 2 a·b, clamped at 0, as TF orders it; -2·(a·b) is exact so addmm
  // rounds once like TF's subtraction.
  torch::Tensor block =
      operands.sq_norms.narrow(0, begin, rows).unsqueeze(1) + operands.sq_norms.unsqueeze(0);
  block.addmm_(anchors, p.t(), /*beta=*/1, /*alpha=*/-2);
  block.clamp_min_(0.0f);
  // TF: sqrt(d2 + 1e-16·[d2 <= 0]) · [d2 > 0], i.e. sqrt where positive, else exactly 0.
  if (operands.distance == Distance::kL2) block.sqrt_();
  block.diagonal(/*offset=*/begin, 0, 1).zero_();
  return operands.scale_exponent == 0 ? block : times_power_of_two(block, value_exponent(operands));
}

namespace {

// CPU: each entry is listed under both its endpoints (a symmetric CSR), then every point's
// gradient is summed from its own list in parallel, with no write conflicts.
void accumulate_on_cpu(const DistanceOperands& operands, const torch::Tensor& row, const torch::Tensor& col,
                       const torch::Tensor& weight, const torch::Tensor& value, torch::Tensor& grad_points) {
  const torch::Tensor r_t = row.contiguous(), c_t = col.contiguous(), w_t = weight.contiguous(),
                      v_t = value.contiguous();
  const int64_t* r = r_t.data_ptr<int64_t>();
  const int64_t* c = c_t.data_ptr<int64_t>();
  const float* w = w_t.data_ptr<float>();
  const float* v = v_t.data_ptr<float>();
  const int64_t n = row.numel();
  const int64_t B = operands.points.size(0);
  const int64_t D = operands.points.size(1);
  const bool angular = operands.distance == Distance::kAngular;

  // The coefficient of the other endpoint's point in each endpoint's gradient:
  //   L2 / squared:  g_i += s (x_i - x_o), s = 2w (squared) or 2w * 0.5 / D (L2), only where
  //                  TF passes gradient (off the diagonal, D > 0);
  //   angular:       g_i += -w x̂_o, except where TF clamped (stored as -0.0).
  std::vector<float> coef(n);
  std::vector<int64_t> offsets(B + 1, 0);
  for (int64_t e = 0; e < n; ++e) {
    float s;
    if (angular) {
      s = std::signbit(v[e]) ? 0.0f : -w[e];
    } else {
      const bool live = v[e] > 0.0f && r[e] != c[e];
      s = live ? 2.0f * (operands.distance == Distance::kL2 ? w[e] * (0.5f / v[e]) : w[e]) : 0.0f;
    }
    coef[e] = s;
    if (s != 0.0f) {
      ++offsets[r[e] + 1];
      ++offsets[c[e] + 1];
    }
  }
  for (int64_t i = 0; i < B; ++i) offsets[i + 1] += offsets[i];

  // Many entries (classes with many members): a dense weight block over the columns the
  // block touches and two matrix products beat gathering rows one entry at a time. With rows
  // grouped by class (triplet_loss.cc sorts them) a block touches its classes' members and
  // a few negatives, not the whole batch.
  const int64_t first_row = *std::min_element(r, r + n);
  const int64_t rows = *std::max_element(r, r + n) - first_row + 1;
  std::vector<int64_t> used;
  std::vector<int32_t> slot(B, -1);
  for (int64_t e = 0; e < n; ++e) {
    if (coef[e] != 0.0f && slot[c[e]] < 0) {
      slot[c[e]] = static_cast<int32_t>(used.size());
      used.push_back(c[e]);
    }
  }
  const auto u = static_cast<int64_t>(used.size());
  if (u > 0 && n * kDenseShare > rows * u) {
    torch::Tensor w_block = torch::zeros({rows, u}, torch::kFloat32);
    float* wb = w_block.data_ptr<float>();
    for (int64_t e = 0; e < n; ++e) {
      if (coef[e] != 0.0f) wb[(r[e] - first_row) * u + slot[c[e]]] += coef[e];
    }
    const torch::Tensor cols = torch::from_blob(used.data(), {u}, torch::kInt64).clone();
    const torch::Tensor x_all = operands.points.contiguous();
    const torch::Tensor x_rows = x_all.narrow(0, first_row, rows);
    const torch::Tensor x_cols = x_all.index_select(0, cols);
    torch::Tensor g_rows = grad_points.narrow(0, first_row, rows);
    if (angular) {
      // g_r += sum_c w_rc x̂_c ;  g_c += sum_r w_rc x̂_r
      g_rows.add_(w_block.mm(x_cols));
      grad_points.index_add_(0, cols, w_block.t().mm(x_rows));
    } else {
      // g_r += sum_c s_rc (x_r - x_c) ;  g_c += sum_r s_rc (x_c - x_r)
      g_rows.add_(w_block.sum(1, true) * x_rows - w_block.mm(x_cols));
      grad_points.index_add_(0, cols, w_block.sum(0).unsqueeze(1) * x_cols - w_block.t().mm(x_rows));
    }
    return;
  }
  std::vector<int64_t> other(offsets[B]);
  std::vector<float> other_coef(offsets[B]);
  std::vector<int64_t> fill(offsets.begin(), offsets.end() - 1);
  for (int64_t e = 0; e < n; ++e) {
    if (coef[e] == 0.0f) continue;
    other[fill[r[e]]] = c[e];
    other_coef[fill[r[e]]++] = coef[e];
    other[fill[c[e]]] = r[e];
    other_coef[fill[c[e]]++] = coef[e];
  }

  const torch::Tensor points = operands.points.contiguous();
  const float* x = points.data_ptr<float>();
  TORCH_CHECK(grad_points.is_contiguous(), "grad_points must be contiguous");
  float* g = grad_points.data_ptr<float>();
  at::parallel_for(0, B, /*grain_size=*/64, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      if (offsets[i] == offsets[i + 1]) continue;
      float* gi = g + i * D;
      const float* xi = x + i * D;
      float self = 0.0f;
      for (int64_t k = offsets[i]; k < offsets[i + 1]; ++k) {
        const float s = other_coef[k];
        const float* xo = x + other[k] * D;
        self += s;
        if (angular) {
          for (int64_t t = 0; t < D; ++t) gi[t] += s * xo[t];
        } else {
          for (int64_t t = 0; t < D; ++t) gi[t] -= s * xo[t];
        }
      }
      if (!angular) {
        for (int64_t t = 0; t < D; ++t) gi[t] += self * xi[t];
      }
    }
  });
}

}  // namespace

void accumulate_distance_grad(const DistanceOperands& operands, const torch::Tensor& row, const torch::Tensor& col,
                              const torch::Tensor& weight, const torch::Tensor& value, torch::Tensor& grad_points) {
  if (row.numel() == 0) return;
  // The backward pass works in the points' units: distances scaled back (exactly) to them.
  const torch::Tensor v =
      operands.scale_exponent == 0 ? value : times_power_of_two(value, -value_exponent(operands));
  TORCH_CHECK(grad_points.device().is_cpu(), "accumulate_distance_grad: the CPU miners' entries are on the CPU");
  accumulate_on_cpu(operands, row, col, weight, v, grad_points);
}

void accumulate_dense_distance_grad(const DistanceOperands& operands, int64_t begin, const torch::Tensor& weight,
                                    const torch::Tensor& block, torch::Tensor& grad_points) {
  const torch::Tensor& p = operands.points;
  const int64_t rows = weight.size(0);
  const torch::Tensor anchors = p.narrow(0, begin, rows);
  torch::Tensor g_rows = grad_points.narrow(0, begin, rows);
  if (operands.distance == Distance::kAngular) {
    // g_r += sum_c s_rc x̂_c ;  g_c += sum_r s_rc x̂_r ;  s = -w except where TF clamped (-0.0).
    const torch::Tensor s = torch::where(torch::signbit(block), 0.0f, -weight);
    g_rows.add_(s.mm(p));
    grad_points.addmm_(s.t(), anchors);
    return;
  }
  // In the points' units: the distances scaled back (exactly) to them.
  const torch::Tensor v =
      operands.scale_exponent == 0 ? block : times_power_of_two(block, -value_exponent(operands));
  // s = 2w (squared) or 2w * 0.5 / D (L2), only where D > 0 (the diagonal is 0);
  // g_r += sum_c s_rc (x_r - x_c) ;  g_c += sum_r s_rc (x_c - x_r).
  const torch::Tensor s = operands.distance == Distance::kL2
                              ? torch::where(v > 0.0f, weight * (0.5f / v) * 2.0f, 0.0f)
                              : torch::where(v > 0.0f, weight * 2.0f, 0.0f);
  g_rows.add_(s.sum(1, true) * anchors).sub_(s.mm(p));
  grad_points.addcmul_(s.sum(0).unsqueeze(1), p).sub_(s.t().mm(anchors));
}

torch::Tensor points_grad_to_embeddings_grad(const DistanceOperands& operands,
                                             const torch::Tensor& embeddings,
                                             const torch::Tensor& grad_points) {
  if (operands.distance != Distance::kAngular) {
    // d(2^2e D')/dx = 2^e dD'/dx' for squared-L2; L2's 2^e cancels (x' = x 2^-e).
    if (operands.distance == Distance::kL2 || operands.scale_exponent == 0) return grad_points;
    return times_power_of_two(grad_points, operands.scale_exponent);
  }
  // x̂ = x·s, s = rsqrt(max(q, eps)), q = |x|^2:  dx = s·g - s^3 (g·x) x where q >= eps.
  // A row normalised from x' = x 2^-e: dx = 2^-e (s'·g - s'^3 (g·x') x').
  const torch::Tensor& s = operands.inv_norms;
  torch::Tensor x = operands.scaled_rows.defined() ? operands.scaled_rows : embeddings.contiguous();
  torch::Tensor q = x.square().sum(1);
  torch::Tensor gx = (grad_points * x).sum(1);
  torch::Tensor radial = torch::where(q >= kNormalizeEpsilon, s * s * s * gx, torch::zeros_like(gx));
  torch::Tensor grad = grad_points * s.unsqueeze(1) - x * radial.unsqueeze(1);
  if (!operands.row_scales.defined()) return grad;
  return grad.to(torch::kFloat64).mul_(operands.row_scales.unsqueeze(1)).to(torch::kFloat32);
}

}  // namespace semihard::core
