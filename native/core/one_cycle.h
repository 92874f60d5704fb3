// The one-cycle schedule of fastai's fit_one_cycle, per phase: the learning rate rises from
// max_lr / div to max_lr over the first pct_start of the steps and anneals to
// max_lr / final_div, both along half cosines; Adam's beta1 moves the opposite way
// (0.95 -> 0.85 -> 0.95).
#pragma once

#include <cstdint>

namespace semihard::core {

struct OneCycle {
  double max_lr = 1e-3;
  int64_t total_steps = 1;
  double pct_start = 0.25;
  double div = 25.0;
  double final_div = 1e5;
  double beta1_max = 0.95;
  double beta1_min = 0.85;

  double lr(int64_t step) const;
  double beta1(int64_t step) const;
};

}  // namespace semihard::core
