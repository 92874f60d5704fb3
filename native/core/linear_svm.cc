#include "linear_svm.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <utility>

namespace semihard::core {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

// Four partial sums: the loop vectorises without reassociation by the compiler.
double dot(const double* a, const double* b, int64_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) {
    s0 += a[j] * b[j];
    s1 += a[j + 1] * b[j + 1];
    s2 += a[j + 2] * b[j + 2];
    s3 += a[j + 3] * b[j + 3];
  }
  for (; j < n; ++j) s0 += a[j] * b[j];
  return (s0 + s1) + (s2 + s3);
}

void add_scaled(double* w, double scale, const double* x, int64_t n) {
  for (int64_t j = 0; j < n; ++j) w[j] += scale * x[j];
}

// The samples of one two-class problem, shared by every class of a one-against-the-rest fit.
struct Samples {
  const double* x;         // n x d, row-major
  int64_t n;
  int64_t d;
  double s;                // the constant feature
  std::vector<double> qd;  // |x_i|^2 + s^2 + 1/(2C): the dual Hessian's diagonal
};

// Dual coordinate descent (Hsieh et al. 2008, Algorithm 1 with shrinking) for sign (+-1 a sample). w: d + 1 weights (the last one the constant
// feature's), zero on entry. Returns the passes it took.
int64_t solve_dual(const Samples& p, const std::vector<double>& sign, const LinearSvmOptions& o, uint64_t seed,
                        double* w) {
  const double diag = 0.5 / o.c;
  std::vector<double> alpha(p.n, 0.0);
  std::vector<int64_t> order(p.n);
  for (int64_t i = 0; i < p.n; ++i) order[i] = i;
  std::mt19937_64 random(seed);
  int64_t active = p.n;
  // The extremes of the last pass's projected gradients; a sample at a_i = 0 whose gradient
  // exceeds the last pass's largest is taken out of the active set (shrinking).
  double pg_max_old = kInfinity;
  int64_t pass = 0;
  while (pass < o.max_iterations) {
    for (int64_t j = 0; j + 1 < active; ++j) {  // a random order of the active samples
      const int64_t k = j + static_cast<int64_t>(random() % static_cast<uint64_t>(active - j));
      std::swap(order[j], order[k]);
    }
    double pg_max = -kInfinity, pg_min = kInfinity;
    for (int64_t t = 0; t < active; ++t) {
      const int64_t i = order[t];
      const double* xi = p.x + i * p.d;
      const double g = sign[i] * (dot(w, xi, p.d) + w[p.d] * p.s) - 1.0 + diag * alpha[i];
      double pg = g;  // the projected gradient: 0 where the bound a_i >= 0 holds it back
      if (alpha[i] == 0.0) {
        if (o.shrinking && g > pg_max_old) {
          --active;
          std::swap(order[t], order[active]);
          --t;
          continue;
        }
        pg = std::min(g, 0.0);
      }
      pg_max = std::max(pg_max, pg);
      pg_min = std::min(pg_min, pg);
      if (std::fabs(pg) > 1e-12) {
        const double before = alpha[i];
        alpha[i] = std::max(before - g / p.qd[i], 0.0);
        const double step = (alpha[i] - before) * sign[i];
        add_scaled(w, step, xi, p.d);
        w[p.d] += step * p.s;
      }
    }
    ++pass;
    if (pg_max < pg_min) pg_max = pg_min = 0.0;  // every sample shrunk: nothing measured
    if (pg_max - pg_min <= o.tolerance && pg_max <= o.tolerance && pg_min >= -o.tolerance) {
      if (active == p.n) break;
      active = p.n;  // converged on the active set: check every sample once more
      pg_max_old = kInfinity;
      continue;
    }
    pg_max_old = pg_max <= 0.0 ? kInfinity : pg_max;
  }
  return pass;
}

// Newton's method on the primal (liblinear's primal solver for this loss, which LinearSVC's
// dual='auto' picks when samples are at least as many as features). f is strongly convex
// (modulus 1) with a Lipschitz gradient; its generalised Hessian I + 2C X_A'X_A (A: samples
// with margin y w.x < 1) gives the direction by conjugate gradients, a backtracking line search
// the step. Stops when |grad f(w)| <= tolerance * max(min(#positive, #negative), 1) / n *
// |grad f(0)|, liblinear's rule, or after max_iterations Newton steps. x: n x (d + 1) with the
// constant feature, sign: n of +-1, w: d + 1 zeros on entry. Returns the Newton steps taken.
int64_t solve_primal(const torch::Tensor& x, const torch::Tensor& sign, const LinearSvmOptions& o, torch::Tensor& w) {
  const int64_t n = x.size(0);
  const double c2 = 2.0 * o.c;
  // f(v), and the margins' shortfalls 1 - y v.x (the positive ones are the active samples).
  auto objective = [&](const torch::Tensor& v, torch::Tensor& shortfall) {
    shortfall = 1.0 - sign * x.mv(v);
    const torch::Tensor hinge = shortfall.clamp_min(0);
    return 0.5 * v.dot(v).item<double>() + o.c * hinge.dot(hinge).item<double>();
  };
  auto gradient = [&](const torch::Tensor& v, const torch::Tensor& shortfall) {
    return v - c2 * x.t().mv(sign * shortfall.clamp_min(0));
  };
  torch::Tensor shortfall;
  double f = objective(w, shortfall);
  torch::Tensor g = gradient(w, shortfall);
  const int64_t positive = sign.gt(0).sum().item<int64_t>();
  const double scale = static_cast<double>(std::max<int64_t>(std::min(positive, n - positive), 1)) / static_cast<double>(n);
  const double stop = o.tolerance * scale * g.norm().item<double>();  // w = 0 on entry: this g is grad f(0)
  int64_t step = 0;
  while (step < o.max_iterations) {
    const double g_norm = g.norm().item<double>();
    if (g_norm <= stop) break;
    // Conjugate gradients on H s = -g until the residual is a tenth of |g|.
    const torch::Tensor xa = x.index_select(0, shortfall.gt(0).nonzero().squeeze(1));
    torch::Tensor s = torch::zeros_like(w), r = -g, d = r.clone();
    double rr = r.dot(r).item<double>();
    for (int64_t k = 0; k < w.size(0) + 1 && std::sqrt(rr) > 0.1 * g_norm; ++k) {
      const torch::Tensor hd = d + c2 * xa.t().mv(xa.mv(d));
      const double a = rr / d.dot(hd).item<double>();
      s.add_(d, a);
      r.sub_(hd, a);
      const double rr_next = r.dot(r).item<double>();
      d = r + (rr_next / rr) * d;
      rr = rr_next;
    }
    // Backtracking (Armijo) along s from the full Newton step.
    const double slope = g.dot(s).item<double>();
    double t = 1.0, f_next = f;
    torch::Tensor w_next, shortfall_next;
    bool accepted = false;
    for (int halvings = 0; halvings < 30 && !accepted; ++halvings, t *= 0.5) {
      w_next = w + t * s;
      f_next = objective(w_next, shortfall_next);
      accepted = f_next <= f + 0.01 * t * slope;
    }
    ++step;
    if (!accepted) break;  // no decrease left within rounding: as good as it gets
    w = w_next;
    f = f_next;
    shortfall = shortfall_next;
    g = gradient(w, shortfall);
  }
  return step;
}

}  // namespace

LinearSvm fit_linear_svm(const torch::Tensor& x, const torch::Tensor& y, const LinearSvmOptions& options) {
  TORCH_CHECK(x.dim() == 2 && x.is_floating_point(), "fit_linear_svm: x must be a 2-D floating-point tensor");
  TORCH_CHECK(x.size(0) >= 1, "fit_linear_svm: x has no rows");
  TORCH_CHECK(y.dim() == 1 && y.size(0) == x.size(0), "fit_linear_svm: y must hold one label per row of x");
  TORCH_CHECK(options.c > 0 && std::isfinite(options.c), "fit_linear_svm: c must be positive, got ", options.c);
  TORCH_CHECK(options.tolerance > 0, "fit_linear_svm: tolerance must be positive, got ", options.tolerance);
  TORCH_CHECK(options.max_iterations >= 1, "fit_linear_svm: max_iterations must be at least 1, got ",
              options.max_iterations);
  TORCH_CHECK(options.intercept_scaling >= 0, "fit_linear_svm: intercept_scaling must be >= 0, got ",
              options.intercept_scaling);
  const torch::Tensor xd = x.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  const torch::Tensor labels = y.to(torch::kCPU, torch::kInt64).contiguous();
  LinearSvm svm;
  svm.classes = std::get<0>(at::_unique(labels, /*sorted=*/true));
  const torch::Tensor target = at::searchsorted(svm.classes, labels).contiguous();
  const int64_t C = svm.classes.size(0);
  const int64_t K = C == 2 ? 1 : (C == 1 ? 0 : C);
  const int64_t n = xd.size(0), d = xd.size(1);

  torch::Tensor w = torch::zeros({K, d + 1}, torch::kFloat64);
  svm.iterations.assign(K, 0);
  const bool dual = options.solver == LinearSvmSolver::kDual || (options.solver == LinearSvmSolver::kAuto && n < d);
  if (dual) {
    Samples p{xd.data_ptr<double>(), n, d, options.intercept_scaling, std::vector<double>(n)};
    for (int64_t i = 0; i < n; ++i) {
      const double* xi = p.x + i * d;
      p.qd[i] = dot(xi, xi, d) + p.s * p.s + 0.5 / options.c;
    }
    const int64_t* t = target.data_ptr<int64_t>();
    double* wp = w.data_ptr<double>();
    at::parallel_for(0, K, 1, [&](int64_t begin, int64_t end) {
      for (int64_t k = begin; k < end; ++k) {
        const int64_t positive = C == 2 ? 1 : k;
        std::vector<double> sign(n);
        for (int64_t i = 0; i < n; ++i) sign[i] = t[i] == positive ? 1.0 : -1.0;
        svm.iterations[k] = solve_dual(p, sign, options, options.seed + static_cast<uint64_t>(k), wp + k * (d + 1));
      }
    });
  } else {
    const torch::Tensor xa = torch::cat({xd, torch::full({n, 1}, options.intercept_scaling, xd.options())}, 1);
    for (int64_t k = 0; k < K; ++k) {
      const torch::Tensor sign = target.eq(C == 2 ? 1 : k).to(torch::kFloat64).mul(2).sub(1);
      torch::Tensor wk = torch::zeros({d + 1}, torch::kFloat64);
      svm.iterations[k] = solve_primal(xa, sign, options, wk);
      w[k].copy_(wk);
    }
  }
  svm.weight = w.narrow(1, 0, d).contiguous();
  svm.bias = w.select(1, d).mul(options.intercept_scaling).contiguous();
  return svm;
}

torch::Tensor linear_svm_decision(const LinearSvm& svm, const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 2 && x.size(1) == svm.weight.size(1), "linear_svm_decision: x must have ",
              svm.weight.size(1), " columns");
  const torch::Tensor xd = x.detach().to(torch::kCPU, torch::kFloat64);
  return at::addmm(svm.bias.unsqueeze(0), xd, svm.weight.t());
}

torch::Tensor linear_svm_predict(const LinearSvm& svm, const torch::Tensor& x) {
  const int64_t C = svm.classes.size(0);
  if (C == 1) return svm.classes.expand({x.size(0)}).contiguous();
  const torch::Tensor decision = linear_svm_decision(svm, x);
  const torch::Tensor index = C == 2 ? decision.select(1, 0).gt(0).to(torch::kInt64) : decision.argmax(1);
  return svm.classes.index_select(0, index);
}

}  // namespace semihard::core
