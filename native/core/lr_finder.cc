#include "lr_finder.h"

#include <cmath>
#include <limits>

#include "errors.h"
#include "trainer.h"

namespace semihard::core {

double steepest_descent_lr(const std::vector<double>& lrs, const std::vector<double>& smoothed) {
  const size_t n = std::min(lrs.size(), smoothed.size());
  if (n < 3) return 0.0;
  double best_slope = std::numeric_limits<double>::infinity();
  size_t best = 0;
  // Central differences of the smoothed loss against log(lr), skipping the ends.
  for (size_t i = 1; i + 1 < n; ++i) {
    const double slope = (smoothed[i + 1] - smoothed[i - 1]) / (std::log(lrs[i + 1]) - std::log(lrs[i - 1]));
    if (slope < best_slope) {
      best_slope = slope;
      best = i;
    }
  }
  return lrs[best];
}

LrFindResult find_learning_rate(Trainer& trainer, const torch::Tensor& batches, const LrFindOptions& o,
                                const std::function<void(int64_t, double, double)>& progress) {
  if (batches.dim() != 2 || batches.size(0) < 2) throw ArgumentError("steps", "Expected at least 2 steps for the range test");
  if (!(o.start_lr > 0 && o.end_lr > o.start_lr)) {
    throw ArgumentError("startLr", "Expected 0 < startLr < endLr for the range test");
  }
  const Trainer::PhaseInfo phase = trainer.phase_info();
  const std::string saved = trainer.save_state();
  const int64_t steps = batches.size(0);
  trainer.begin_phase(o.freeze, o.start_lr, steps);
  LrFindResult r;
  double average = 0.0, best = std::numeric_limits<double>::infinity();
  for (int64_t i = 0; i < steps; ++i) {
    const double lr = o.start_lr * std::pow(o.end_lr / o.start_lr, static_cast<double>(i) / static_cast<double>(steps - 1));
    const double loss = trainer.train_step(batches[i], lr).loss;
    average = o.smoothing * average + (1.0 - o.smoothing) * loss;
    const double smoothed = average / (1.0 - std::pow(o.smoothing, static_cast<double>(i + 1)));
    r.lrs.push_back(lr);
    r.losses.push_back(loss);
    r.smoothed.push_back(smoothed);
    if (progress) progress(i, lr, loss);
    if (!std::isfinite(loss) || (i > 0 && smoothed > o.divergence * best)) {
      r.diverged = true;
      break;
    }
    best = std::min(best, smoothed);
  }
  r.suggestion = steepest_descent_lr(r.lrs, r.smoothed);
  trainer.restore(saved, phase);
  return r;
}

}  // namespace semihard::core
