// The learning-rate range test (Smith 2015; fastai's lr_find): one step per learning rate,
// growing exponentially from start to end, on a fresh optimiser over the phase's trainable
// parameters; the loss is smoothed (bias-corrected exponential moving average, beta 0.98)
// and the test stops, diverged, once the smoothed loss exceeds 4 x its minimum or the
// network's output stops being finite (that step is not recorded). The suggestion is the
// middle of the valley (valley_lr below). The trainer's model, generator and phase are left
// exactly as they were.
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
  double suggestion = 0.0;  // valley_lr: 0 when fewer than 3 steps ran or the loss never fell
  bool diverged = false;
};

// `batches`: steps x batch indices into the trainer's train set (int64, CPU). A streamed train
// set gives each step's images from its feed, as train_step does; a diverged test leaves the
// later batches unread.
LrFindResult find_learning_rate(Trainer& trainer, const torch::Tensor& batches, const LrFindOptions& options,
                                const std::function<void(int64_t step, double lr, double loss)>& progress = {});

// The suggestion for a smoothed curve, after fastai's `valley`. The valley is the longest
// strictly falling subsequence of the smoothed loss: L points, the first such to end, at step
// b. The flat, noisy start of a curve adds only scattered points to it, so the valley is
// taken as the L steps ending at b, and the suggestion is the rate at its middle, step
// b - floor((L - 1) / 2). Unlike the steepest descent of the smoothed loss it does not need
// the loss to blow up past the good rates: the triplet loss on unit vectors is bounded, so
// its curve flattens instead, and the moving average's lag puts its steepest point there.
// Only the finite prefix of the curve counts. 0 when that has fewer than 3 points or never
// falls (L = 1).
double valley_lr(const std::vector<double>& lrs, const std::vector<double>& smoothed);

}  // namespace semihard::core
