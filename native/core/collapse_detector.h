// Collapse detection in training: the embeddings fall onto one point (the spread, their mean
// distance to the batch centroid, goes to 0) while the loss sits at the value every batch has
// when all distances are 0 (the margin for the hinge losses, log 2 for the soft hard loss).
// Fed the training's report windows in order (their step count, mean spread, mean loss); a
// collapse is declared once a streak of consecutive collapsed windows spans at least
// `min_steps` steps, once per streak (a window that is not collapsed ends the streak).
//
// The default thresholds, from runs (CPU, seed 0, every step its own window; README
// "Diagnostics and collapse" has the table). Normal runs: the MNIST demo recipe (1 frozen + 3
// epochs, 256 steps), Fashion-MNIST (1 + 1 epochs, 938 steps) and the image-folder test's
// recipe never put a step's spread below 0.11, 0.27 and 0.28, and every stretch of 20 steps
// holds a step of spread >= 0.45 (demo) / 0.60 (Fashion-MNIST). Runs pushed towards collapse
// that recover: semi-hard at lr 1.0 (lowest step 0.24); margin 10 at lr 4e-3 (lowest step
// 0.066, every 20 steps a step >= 0.44, the loss within 2.6% of the margin throughout: the
// band alone cannot tell, the spread does); margin 10 at lr 1.0 (10 steps below 0.143, every
// 20 steps a step >= 0.47). A run that collapses: the hard loss at lr 0.1 (MNIST), spread
// under 0.05 from its 6th step and under 0.01 from its 18th, the loss within 4.3% of the
// margin from its 6th step and 0.1% later, for good (epoch spreads 0.018, 0.0015). So: a
// spread below 0.05 (under half of any normal step's, 9x under what a normal run holds over
// 20 steps), the loss within 5% of the collapsed loss, for 20 consecutive steps (the
// collapsing run raises at its 25th step; on CUDA a report window spans about 250 ms of
// steps, so the alarm comes at the first window that completes the 20).
#pragma once

#include <cstdint>
#include <optional>

#include "names.h"

namespace semihard::core {

// What a training run does when a collapse is declared: report it, report it and stop, or
// neither (the caller acts on it).
enum class CollapsePolicy { kWarn, kStop, kIgnore };
inline constexpr Named<CollapsePolicy> kCollapsePolicyNames[] = {
    {"warn", CollapsePolicy::kWarn}, {"stop", CollapsePolicy::kStop}, {"ignore", CollapsePolicy::kIgnore}};

struct CollapseThresholds {
  double max_spread = 0.05;  // the spread (of unit-norm embeddings) below which they are collapsed
  double loss_band = 0.05;   // |loss - collapsed loss| <= loss_band * collapsed loss
  int64_t min_steps = 20;    // consecutive collapsed steps before the alarm
};

// One report window: `steps` training steps, their stats' spread (summed stats' mean) and
// their mean loss; `collapsed_loss`: the loss of a batch whose distances are all 0.
struct CollapseWindow {
  int64_t steps = 0;
  double spread = 0.0;
  double loss = 0.0;
  double collapsed_loss = 0.0;
};

// The streak that raised the alarm: its steps, its step-weighted mean spread and loss.
struct CollapseAlarm {
  int64_t steps = 0;
  double spread = 0.0;
  double loss = 0.0;
  double collapsed_loss = 0.0;
};

class CollapseDetector {
 public:
  explicit CollapseDetector(CollapseThresholds thresholds = {});

  // Whether one window looks collapsed (a NaN spread or loss does not).
  bool collapsed(const CollapseWindow& window) const;
  // Feeds the next window; the alarm when this window makes its streak reach min_steps.
  std::optional<CollapseAlarm> observe(const CollapseWindow& window);
  // Forgets the streak (a new phase).
  void reset();
  const CollapseThresholds& thresholds() const { return thresholds_; }

 private:
  CollapseThresholds thresholds_;
  int64_t streak_steps_ = 0;
  double spread_sum_ = 0.0;  // step-weighted sums over the streak
  double loss_sum_ = 0.0;
  bool raised_ = false;
};

}  // namespace semihard::core
