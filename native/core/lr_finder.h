// The learning-rate range test (Smith 2015; fastai's lr_find): one step per learning rate,
// growing exponentially from start to end, on a fresh optimiser over the phase's trainable
// parameters; the loss is smoothed (bias-corrected exponential moving average, beta 0.98)
// and the test stops once the smoothed loss exceeds 4 x its minimum. The suggestion is the
// learning rate where the smoothed loss falls fastest against log(lr). The trainer's model,
// generator and phase are left exactly as they were.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include <torch/types.h>

#include "embedding_net.h"

namespace semihard::core {

class Trainer;

struct LrFindOptions {
  Freeze freeze = Freeze::kNone;
  double start_lr = 1e-7;
  double end_lr = 10.0;
  double smoothing = 0.98;
  double divergence = 4.0;
};

struct LrFindResult {
  std::vector<double> lrs;
  std::vector<double> losses;
  std::vector<double> smoothed;
  double suggestion = 0.0;  // 0 when fewer than 3 steps ran
  bool diverged = false;
};

// `batches`: steps x batch indices into the trainer's train set (int64, CPU).
LrFindResult find_learning_rate(Trainer& trainer, const torch::Tensor& batches, const LrFindOptions& options,
                                const std::function<void(int64_t step, double lr, double loss)>& progress = {});

// The steepest-descent suggestion for a smoothed curve (exposed for tests).
double steepest_descent_lr(const std::vector<double>& lrs, const std::vector<double>& smoothed);

}  // namespace semihard::core
