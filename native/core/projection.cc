#include "projection.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "errors.h"

namespace semihard::core {
namespace {

constexpr int64_t kBlockElements = int64_t{1} << 24;

void check_points(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 2 && x.scalar_type() == torch::kFloat32 && x.size(0) >= 2,
              "projection: the points must be a 2-D float32 tensor of at least 2 rows");
  if (!torch::isfinite(x).all().item<bool>()) {
    throw ArgumentError("embeddings", "Expected finite numbers in embeddings but found NaN or Infinity");
  }
}

// Conditional affinities p(j|i) over each row's neighbours with the Gaussian width that
// gives the wanted perplexity (binary search on beta = 1 / 2 sigma^2).
void row_affinities(const float* d2, int64_t k, double perplexity, float* p) {
  const double target = std::log(perplexity);
  double beta = 1.0, lo = 0.0, hi = std::numeric_limits<double>::infinity();
  const double d0 = d2[0];
  std::vector<double> w(k);
  for (int iteration = 0; iteration < 100; ++iteration) {
    double sum = 0, weighted = 0;
    for (int64_t j = 0; j < k; ++j) {
      w[j] = std::exp(-beta * (d2[j] - d0));
      sum += w[j];
      weighted += w[j] * (d2[j] - d0);
    }
    const double entropy = std::log(sum) + beta * weighted / sum;
    if (std::abs(entropy - target) < 1e-5) break;
    if (entropy > target) {
      lo = beta;
      beta = std::isinf(hi) ? beta * 2 : (beta + hi) / 2;
    } else {
      hi = beta;
      beta = (beta + lo) / 2;
    }
  }
  double sum = 0;
  for (int64_t j = 0; j < k; ++j) sum += w[j];
  for (int64_t j = 0; j < k; ++j) p[j] = static_cast<float>(w[j] / sum);
}

}  // namespace

torch::Tensor pca_2d(const torch::Tensor& x_in) {
  check_points(x_in);
  torch::NoGradGuard no_grad;
  const torch::Tensor x = x_in.to(torch::kFloat64);
  const torch::Tensor centred = x - x.mean(0, true);
  const torch::Tensor cov = centred.t().mm(centred) / static_cast<double>(x.size(0));
  auto [values, vectors] = torch::linalg_eigh(cov);  // ascending eigenvalues
  const int64_t D = vectors.size(1);
  torch::Tensor top = vectors.narrow(1, std::max<int64_t>(D - 2, 0), std::min<int64_t>(D, 2)).flip({1});
  // Fix each component's sign: its largest-magnitude loading positive.
  torch::Tensor pick = top.abs().argmax(0);
  torch::Tensor signs = top.gather(0, pick.unsqueeze(0)).sign();
  top = top * torch::where(signs == 0, torch::ones_like(signs), signs);
  torch::Tensor out = centred.mm(top);
  if (out.size(1) < 2) out = torch::cat({out, torch::zeros({out.size(0), 2 - out.size(1)}, out.options())}, 1);
  return out.to(torch::kFloat32);
}

torch::Tensor tsne_2d(const torch::Tensor& x_in, const TsneOptions& o, const std::function<void(int64_t, int64_t)>& progress) {
  check_points(x_in);
  TORCH_CHECK(o.perplexity > 0, "tsne_2d: perplexity must be positive, got ", o.perplexity);
  torch::NoGradGuard no_grad;
  const torch::Tensor x = x_in.to(torch::kCPU).contiguous();
  const int64_t N = x.size(0);
  const int64_t k = std::min<int64_t>(N - 1, static_cast<int64_t>(std::ceil(3 * o.perplexity)));
  const double perplexity = std::min(o.perplexity, std::max(1.0, (N - 1) / 3.0));

  // k nearest neighbours (squared distances) of every point, in blocks of rows.
  torch::Tensor nbr_index = torch::empty({N, k}, torch::kInt64);
  torch::Tensor nbr_p = torch::empty({N, k}, torch::kFloat32);
  const torch::Tensor sq = x.square().sum(1);
  const int64_t block = std::max<int64_t>(1, kBlockElements / N);
  for (int64_t start = 0; start < N; start += block) {
    const int64_t n = std::min(block, N - start);
    torch::Tensor d = (sq.narrow(0, start, n).unsqueeze(1) + sq.unsqueeze(0)).addmm_(x.narrow(0, start, n), x.t(), 1, -2);
    d.clamp_min_(0).diagonal(start, 0, 1).fill_(std::numeric_limits<float>::infinity());
    auto [dist, idx] = d.topk(k, 1, /*largest=*/false, /*sorted=*/true);
    dist = dist.contiguous();
    nbr_index.narrow(0, start, n).copy_(idx);
    for (int64_t i = 0; i < n; ++i) {
      row_affinities(dist.data_ptr<float>() + i * k, k, perplexity, nbr_p.data_ptr<float>() + (start + i) * k);
    }
  }
  // Symmetric joint affinities P = (P_j|i + P_i|j) / 2N as sparse entries (both directions).
  torch::Tensor rows = torch::arange(N).unsqueeze(1).expand({N, k}).reshape({-1});
  torch::Tensor cols = nbr_index.reshape({-1});
  torch::Tensor vals = nbr_p.reshape({-1}) / (2.0 * static_cast<double>(N));
  torch::Tensor p_row = torch::cat({rows, cols});
  torch::Tensor p_col = torch::cat({cols, rows});
  torch::Tensor p_val = torch::cat({vals, vals});

  // Initialise from the PCA, scaled to a standard deviation of 1e-4 (as scikit-learn).
  torch::Tensor y = pca_2d(x).to(torch::kFloat32);
  y = y / y.select(1, 0).std().clamp_min(1e-12) * 1e-4;
  torch::Tensor update = torch::zeros_like(y);
  torch::Tensor gains = torch::ones_like(y);
  const double lr = o.learning_rate > 0 ? o.learning_rate : std::max(static_cast<double>(N) / o.exaggeration / 4.0, 50.0);
  const int64_t yblock = std::max<int64_t>(1, kBlockElements / N);
  for (int64_t it = 0; it < o.iterations; ++it) {
    const double exaggeration = it < o.exaggeration_iterations ? o.exaggeration : 1.0;
    const double momentum = it < o.exaggeration_iterations ? 0.5 : 0.8;
    const torch::Tensor ysq = y.square().sum(1);
    // Repulsion: sum_j q_ij^2 (y_i - y_j) / Z with q_ij = 1 / (1 + |y_i - y_j|^2), in blocks.
    torch::Tensor repulsion = torch::empty_like(y);
    double z = 0;
    for (int64_t start = 0; start < N; start += yblock) {
      const int64_t n = std::min(yblock, N - start);
      torch::Tensor q = (ysq.narrow(0, start, n).unsqueeze(1) + ysq.unsqueeze(0)).addmm_(y.narrow(0, start, n), y.t(), 1, -2);
      q.clamp_min_(0).add_(1).reciprocal_();
      q.diagonal(start, 0, 1).zero_();
      z += q.sum().item<double>();
      q.square_();
      repulsion.narrow(0, start, n).copy_(q.sum(1, true) * y.narrow(0, start, n) - q.mm(y));
    }
    // Attraction over the sparse P: sum_j p_ij q_ij (y_i - y_j).
    torch::Tensor diff = y.index_select(0, p_row) - y.index_select(0, p_col);
    torch::Tensor q_sparse = 1.0 / (1.0 + diff.square().sum(1));
    torch::Tensor attraction = torch::zeros_like(y).index_add_(0, p_row, diff * (p_val * q_sparse).unsqueeze(1));
    torch::Tensor grad = 4.0 * (exaggeration * attraction - repulsion / z);
    // Gains (delta-bar-delta) and momentum.
    torch::Tensor same_sign = (grad > 0) == (update > 0);
    gains = torch::where(same_sign, gains * 0.8, gains + 0.2).clamp_min_(0.01);
    update = momentum * update - lr * gains * grad;
    y = y + update;
    y = y - y.mean(0, true);
    if (progress && (it % 50 == 0 || it == o.iterations - 1)) progress(it + 1, o.iterations);
  }
  return y;
}

}  // namespace semihard::core
