#include "neighbours.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "errors.h"

namespace semihard::core {
namespace {

// float64 entries of one block's n x N Gram matrix (32 MiB); the candidates' differences are
// gathered in chunks of the same size.
constexpr int64_t kBlockElements = int64_t{1} << 22;
constexpr double kUnitRoundoff = 0x1p-53;  // float64's u
constexpr double kInfinity = std::numeric_limits<double>::infinity();

struct Ranked {
  torch::Tensor indices;  // n x k int64
  torch::Tensor squared;  // n x k float64 squared distances (+inf: excluded)
};

// The k nearest columns of each row of a block, ranked by the float64 squared distance of the
// rows' differences (rows[start + r] - rows[j]), ties to the smaller index. gram: n x N
// squared distances from the Gram product, +inf where a column is excluded; margin: n, a bound
// on |gram - the differences' value| for each row.
//
// The columns among a row's k nearest by the differences' values have a Gram value at most the
// k-th smallest Gram value + 2 margin (a k-th smallest value moves by at most the margin when
// every value does), so those candidates are the only ones recomputed.
Ranked exact_nearest(const torch::Tensor& rows, int64_t start, const torch::Tensor& gram, const torch::Tensor& margin,
                     int64_t k) {
  const int64_t n = gram.size(0);
  const int64_t D = rows.size(1);
  const torch::Tensor kth = std::get<0>(gram.topk(k, 1, /*largest=*/false, /*sorted=*/true)).select(1, k - 1);
  const torch::Tensor within = gram.le((kth + 2 * margin).unsqueeze(1)).logical_and_(gram.isfinite());
  const int64_t width = std::max<int64_t>(k, within.sum(1).max().item<int64_t>());
  // A row's candidates (and, where it has fewer than `width`, more of its nearest), by index.
  const torch::Tensor candidates =
      std::get<0>(std::get<1>(gram.topk(width, 1, /*largest=*/false, /*sorted=*/false)).sort(1));
  const torch::Tensor excluded = gram.gather(1, candidates).isinf();
  torch::Tensor squared = torch::empty({n, width}, rows.options());
  const int64_t chunk = std::max<int64_t>(1, kBlockElements / (width * D));
  for (int64_t r = 0; r < n; r += chunk) {
    const int64_t m = std::min(chunk, n - r);
    const torch::Tensor others = rows.index_select(0, candidates.narrow(0, r, m).reshape(-1)).view({m, width, D});
    squared.narrow(0, r, m).copy_((others - rows.narrow(0, start + r, m).unsqueeze(1)).square_().sum(2));
  }
  squared.masked_fill_(excluded, kInfinity);
  // Stable on candidates ordered by index: equal distances keep the smaller index first.
  auto [sorted, order] = squared.sort(/*stable=*/true, 1, /*descending=*/false);
  return {candidates.gather(1, order).narrow(1, 0, k), sorted.narrow(1, 0, k)};
}

}  // namespace

NeighbourTable nearest_neighbours(const torch::Tensor& x, const torch::Tensor& labels, int64_t k) {
  TORCH_CHECK(x.dim() == 2 && x.scalar_type() == torch::kFloat32, "nearest_neighbours: x must be a 2-D float32 tensor");
  const int64_t N = x.size(0);
  const int64_t D = x.size(1);
  TORCH_CHECK(D >= 1, "nearest_neighbours: x must have at least one column");
  TORCH_CHECK(labels.dim() == 1 && labels.size(0) == N, "nearest_neighbours: labels must hold one label per row of x (",
              N, "), got ", labels.numel());
  TORCH_CHECK(c10::isIntegralType(labels.scalar_type(), /*includeBool=*/false),
              "nearest_neighbours: labels must be integers, got ", labels.scalar_type());
  TORCH_CHECK(k >= 1 && k < N, "nearest_neighbours: k must be at least 1 and less than the number of rows of x (", N,
              "), got ", k);
  torch::NoGradGuard no_grad;
  if (!torch::isfinite(x).all().item<bool>()) {
    throw ArgumentError("x", "Expected finite numbers in the embeddings but found NaN or Infinity");
  }
  const torch::Tensor rows = x.to(torch::kFloat64).contiguous();
  const torch::Tensor y = labels.to(x.device(), torch::kInt64).contiguous();

  // The Gram product is taken of the centred rows c (its rounding error scales with their
  // norms, smaller than the raw rows' away from the origin). Against the squared distance of
  // the rows' differences r_ij, g_ij = s_i + s_j - 2 c_i.c_j (s = |c|^2) errs by at most
  //   centring c = fl(x - mean):          (4u + O(u^2)) (s_i + s_j)
  //   s_i, s_j and c_i.c_j (D terms each): 2 gamma_D (s_i + s_j), gamma_D ~ D u
  //   the two additions:                   4u (s_i + s_j)
  //   r_ij's own rounding (D terms):       gamma_D |x_i - x_j|^2 <= 2 gamma_D (s_i + s_j)
  // so under (4D + 16) u (s_i + max s) with room for the O(u^2) terms: the margin.
  const torch::Tensor centred = rows - rows.mean(0, /*keepdim=*/true);
  const torch::Tensor sq = centred.square().sum(1);
  const torch::Tensor margins = (4.0 * static_cast<double>(D) + 16.0) * kUnitRoundoff * (sq + sq.max());

  std::vector<torch::Tensor> nearest_indices, nearest_squared, same_squared;
  const int64_t block = std::max<int64_t>(1, kBlockElements / N);
  for (int64_t start = 0; start < N; start += block) {
    const int64_t n = std::min(block, N - start);
    torch::Tensor gram = sq.narrow(0, start, n).unsqueeze(1) + sq.unsqueeze(0);
    gram.addmm_(centred.narrow(0, start, n), centred.t(), /*beta=*/1, /*alpha=*/-2);
    gram.diagonal(/*offset=*/start, 0, 1).fill_(kInfinity);  // the row itself
    const torch::Tensor margin = margins.narrow(0, start, n);
    Ranked nearest = exact_nearest(rows, start, gram, margin, k);
    nearest_indices.push_back(nearest.indices);
    nearest_squared.push_back(nearest.squared);
    gram.masked_fill_(y.unsqueeze(0).ne(y.narrow(0, start, n).unsqueeze(1)), kInfinity);  // other labels
    same_squared.push_back(exact_nearest(rows, start, gram, margin, 1).squared.squeeze(1));
  }
  const torch::Tensor indices = torch::cat(nearest_indices);
  const torch::Tensor distances = torch::cat(nearest_squared).sqrt_();
  const torch::Tensor same = torch::cat(same_squared).sqrt_();  // +inf: no other row of the label

  // Mistakes: candidates in index order, then a stable sort by the gap, largest first.
  const torch::Tensor has_same = same.isfinite();
  const torch::Tensor mistaken =
      y.index_select(0, indices.select(1, 0)).ne(y).logical_and_(has_same).nonzero().squeeze(1);
  const torch::Tensor gap = (same - distances.select(1, 0)).index_select(0, mistaken);
  const torch::Tensor order = std::get<1>(gap.sort(/*stable=*/true, 0, /*descending=*/true));

  NeighbourTable table;
  table.indices = indices.to(torch::kCPU);
  table.distances = distances.to(torch::kCPU, torch::kFloat32);
  table.nearest_same_label =
      same.to(torch::kFloat32).masked_fill_(has_same.logical_not(), std::numeric_limits<float>::quiet_NaN()).to(torch::kCPU);
  table.mistakes = mistaken.index_select(0, order).to(torch::kCPU);
  return table;
}

}  // namespace semihard::core
