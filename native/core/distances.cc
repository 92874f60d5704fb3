#include "distances.h"

#include <algorithm>

#include "errors.h"

namespace semihard::core {
namespace {

// tf.math.l2_normalize's epsilon (float32).
constexpr float kNormalizeEpsilon = 1e-12f;
// Gradient entries are applied in slices so that the gathered rows stay small.
constexpr int64_t kEntrySlice = int64_t{1} << 16;

}  // namespace

Distance parse_distance(const std::string& name) {
  if (name == "L2") return Distance::kL2;
  if (name == "squared-L2") return Distance::kSquaredL2;
  if (name == "angular") return Distance::kAngular;
  throw ArgumentError("distance", "Expected one of 'L2', 'squared-L2', 'angular' for distance but received '" +
                                      name + "'");
}

const char* distance_name(Distance distance) {
  switch (distance) {
    case Distance::kL2: return "L2";
    case Distance::kSquaredL2: return "squared-L2";
    case Distance::kAngular: return "angular";
  }
  return "?";
}

DistanceOperands prepare_distance_operands(const torch::Tensor& embeddings, Distance distance) {
  TORCH_CHECK(embeddings.dim() == 2 && embeddings.scalar_type() == torch::kFloat32,
              "embeddings must be a 2-D float32 tensor");
  DistanceOperands operands;
  operands.distance = distance;
  torch::Tensor x = embeddings.contiguous();
  torch::Tensor sq = x.square().sum(1);
  if (distance == Distance::kAngular) {
    // tf.math.l2_normalize: x * rsqrt(maximum(sum(x^2), epsilon)).
    operands.inv_norms = sq.clamp_min(kNormalizeEpsilon).rsqrt();
    operands.points = (x * operands.inv_norms.unsqueeze(1)).contiguous();
  } else {
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
  return block;
}

torch::Tensor pairwise_distances(const torch::Tensor& embeddings, Distance distance) {
  DistanceOperands operands = prepare_distance_operands(embeddings, distance);
  return distance_block(operands, 0, embeddings.size(0));
}

void accumulate_distance_grad(const DistanceOperands& operands, const torch::Tensor& row,
                              const torch::Tensor& col, const torch::Tensor& weight,
                              const torch::Tensor& value, torch::Tensor& grad_points) {
  const torch::Tensor& p = operands.points;
  const int64_t n = row.numel();
  for (int64_t start = 0; start < n; start += kEntrySlice) {
    const int64_t len = std::min(kEntrySlice, n - start);
    torch::Tensor r = row.narrow(0, start, len);
    torch::Tensor c = col.narrow(0, start, len);
    torch::Tensor w = weight.narrow(0, start, len);
    torch::Tensor v = value.narrow(0, start, len);
    torch::Tensor xr = p.index_select(0, r);
    torch::Tensor xc = p.index_select(0, c);
    if (operands.distance == Distance::kAngular) {
      // d(1 - x̂_r·x̂_c): -x̂_c for row r, -x̂_r for row c; nothing where TF clamped (-0.0).
      torch::Tensor g = torch::where(torch::signbit(v), torch::zeros_like(w), -w).unsqueeze(1);
      grad_points.index_add_(0, r, xc * g);
      grad_points.index_add_(0, c, xr * g);
      continue;
    }
    // Squared: d/dx_r (|x_r|^2 + |x_c|^2 - 2 x_r·x_c) = 2 (x_r - x_c). L2 adds TF's sqrt
    // gradient 0.5 / sqrt(d2). The diagonal and zero distances pass no gradient in TF.
    torch::Tensor live = (v > 0.0f) & (r != c);
    torch::Tensor scale = operands.distance == Distance::kL2 ? w * (0.5f / v) : w;
    scale = torch::where(live, scale * 2.0f, torch::zeros_like(w)).unsqueeze(1);
    torch::Tensor diff = (xr - xc) * scale;
    grad_points.index_add_(0, r, diff);
    grad_points.index_add_(0, c, -diff);
  }
}

torch::Tensor points_grad_to_embeddings_grad(const DistanceOperands& operands,
                                             const torch::Tensor& embeddings,
                                             const torch::Tensor& grad_points) {
  if (operands.distance != Distance::kAngular) return grad_points;
  // x̂ = x·s, s = rsqrt(max(q, eps)), q = |x|^2:  dx = s·g - s^3 (g·x) x where q >= eps.
  const torch::Tensor& s = operands.inv_norms;
  torch::Tensor x = embeddings.contiguous();
  torch::Tensor q = x.square().sum(1);
  torch::Tensor gx = (grad_points * x).sum(1);
  torch::Tensor radial = torch::where(q >= kNormalizeEpsilon, s * s * s * gx, torch::zeros_like(gx));
  return grad_points * s.unsqueeze(1) - x * radial.unsqueeze(1);
}

}  // namespace semihard::core
