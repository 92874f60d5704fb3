#include "lr_finder.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "errors.h"
#include "trainer.h"

namespace semihard::core {

double valley_lr(const std::vector<double>& lrs, const std::vector<double>& smoothed) {
  size_t n = std::min(lrs.size(), smoothed.size());
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(smoothed[i])) {
      n = i;
      break;
    }
  }
  if (n < 3) return 0.0;
  // Longest strictly falling subsequence in O(n log n): tails[k] is the highest last value of
  // a falling subsequence of k + 1 points seen so far (so tails itself falls strictly).
  std::vector<double> tails;
  size_t longest = 0, end = 0;
  for (size_t i = 0; i < n; ++i) {
    const auto at = std::lower_bound(tails.begin(), tails.end(), smoothed[i], std::greater<double>());
    const size_t length = static_cast<size_t>(at - tails.begin()) + 1;
    if (at == tails.end()) {
      tails.push_back(smoothed[i]);
    } else {
      *at = smoothed[i];
    }
    if (length > longest) {
      longest = length;
      end = i;
    }
  }
  if (longest < 2) return 0.0;
  return lrs[end - (longest - 1) / 2];
}

namespace {

// The steps of the test, appended to `r`; stops at the first diverged step.
void run_range(Trainer& trainer, const torch::Tensor& batches, const LrFindOptions& o,
               const std::function<void(int64_t, double, double)>& progress, LrFindResult& r) {
  const int64_t steps = batches.size(0);
  double average = 0.0, best = std::numeric_limits<double>::infinity();
  for (int64_t i = 0; i < steps; ++i) {
    const double lr = o.start_lr * std::pow(o.end_lr / o.start_lr, static_cast<double>(i) / static_cast<double>(steps - 1));
    double loss = 0.0;
    try {
      loss = trainer.train_step(batches[i], lr).loss_value();
    } catch (const ArgumentError& e) {
      // The loss refuses non-finite embeddings. After a step of the test they are the
      // network's output blown up by the previous rate: the run diverged there (the bounded
      // triplet loss itself never does). Before any step they were broken already.
      if (i == 0 || e.argument() != "embeddings") throw;
      r.diverged = true;
      return;
    }
    average = o.smoothing * average + (1.0 - o.smoothing) * loss;
    const double smoothed = average / (1.0 - std::pow(o.smoothing, static_cast<double>(i + 1)));
    r.lrs.push_back(lr);
    r.losses.push_back(loss);
    r.smoothed.push_back(smoothed);
    if (progress) progress(i, lr, loss);
    if (!std::isfinite(loss) || (i > 0 && smoothed > o.divergence * best)) {
      r.diverged = true;
      return;
    }
    best = std::min(best, smoothed);
  }
}

}  // namespace

LrFindResult find_learning_rate(Trainer& trainer, const torch::Tensor& batches, const LrFindOptions& o,
                                const std::function<void(int64_t, double, double)>& progress) {
  TORCH_CHECK(batches.dim() == 2 && batches.size(0) >= 2, "find_learning_rate: batches must be steps x batch with at least 2 steps");
  TORCH_CHECK(o.start_lr > 0 && o.end_lr > o.start_lr, "find_learning_rate: need 0 < start_lr < end_lr, got ", o.start_lr,
              " and ", o.end_lr);
  const Trainer::PhaseInfo phase = trainer.phase_info();
  const std::string saved = trainer.save_state();
  trainer.begin_phase(o.freeze, o.start_lr, batches.size(0));
  LrFindResult r;
  try {
    run_range(trainer, batches, o, progress, r);
  } catch (...) {
    trainer.restore(saved, phase);
    throw;
  }
  r.suggestion = valley_lr(r.lrs, r.smoothed);
  trainer.restore(saved, phase);
  return r;
}

}  // namespace semihard::core
