// Collapse detection in training: the embeddings fall onto one point (the spread, their mean
// distance to the batch centroid, goes to 0) while the loss sits at the value every batch has
// when all distances are 0 (the margin for the hinge losses, log 2 for the soft hard loss).
// Fed the training's report windows in order (their step count, mean spread, mean loss); a
// collapse is declared once a streak of consecutive collapsed windows spans at least
// `min_steps` steps, once per streak (a window that is not collapsed ends the streak).
//
// The default thresholds, from runs (README "Diagnostics and collapse"; CPU, seed 0, per
// epoch): normal runs keep the spread at 0.6 to 0.9 of unit-norm embeddings (MNIST demo
// recipe 3 epochs, Fashion-MNIST 1 epoch, the image-folder test's recipe) and their loss well
// below the margin after their first tens of steps; runs made to collapse (lr 1.0; margin 10
// on unit vectors) drive the spread under 0.01 within a few tens of steps with the loss at
// the margin to 1e-3 of it. A spread under 0.1 (over 6x below the lowest normal epoch) with
// the loss within 5% of the margin for 50 steps separates them with room on both sides, and
// 50 steps is a tenth of an MNIST epoch at the default batch.
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
