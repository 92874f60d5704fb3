#include "collapse_detector.h"

#include <c10/util/Exception.h>

#include <cmath>

namespace semihard::core {

CollapseDetector::CollapseDetector(CollapseThresholds thresholds) : thresholds_(thresholds) {
  TORCH_CHECK(thresholds.max_spread >= 0 && thresholds.loss_band >= 0 && thresholds.min_steps > 0,
              "CollapseDetector: thresholds must be non-negative and min_steps positive");
}

bool CollapseDetector::collapsed(const CollapseWindow& w) const {
  if (!std::isfinite(w.spread) || !std::isfinite(w.loss)) return false;
  return w.spread < thresholds_.max_spread &&
         std::abs(w.loss - w.collapsed_loss) <= thresholds_.loss_band * std::abs(w.collapsed_loss);
}

std::optional<CollapseAlarm> CollapseDetector::observe(const CollapseWindow& w) {
  if (w.steps <= 0) return std::nullopt;
  if (!collapsed(w)) {
    reset();
    return std::nullopt;
  }
  streak_steps_ += w.steps;
  spread_sum_ += w.spread * static_cast<double>(w.steps);
  loss_sum_ += w.loss * static_cast<double>(w.steps);
  if (raised_ || streak_steps_ < thresholds_.min_steps) return std::nullopt;
  raised_ = true;
  const double n = static_cast<double>(streak_steps_);
  return CollapseAlarm{streak_steps_, spread_sum_ / n, loss_sum_ / n, w.collapsed_loss};
}

void CollapseDetector::reset() {
  streak_steps_ = 0;
  spread_sum_ = 0.0;
  loss_sum_ = 0.0;
  raised_ = false;
}

}  // namespace semihard::core
