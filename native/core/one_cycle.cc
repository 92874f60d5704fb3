#include "one_cycle.h"

#include <algorithm>
#include <cmath>

namespace semihard::core {
namespace {

constexpr double kPi = 3.14159265358979323846;

// fastai's SchedCos: from start to end as pos goes 0 -> 1.
double cosine(double start, double end, double pos) { return start + (1.0 + std::cos(kPi * (1.0 - pos))) * (end - start) / 2.0; }

// Which half of the cycle `step` is in, and how far along it.
struct Position {
  bool warming;
  double pos;
};

Position locate(const OneCycle& s, int64_t step) {
  const double p = std::clamp(static_cast<double>(step) / static_cast<double>(std::max<int64_t>(s.total_steps, 1)), 0.0, 1.0);
  if (s.pct_start > 0 && p < s.pct_start) return {true, p / s.pct_start};
  return {false, s.pct_start >= 1.0 ? 1.0 : (p - s.pct_start) / (1.0 - s.pct_start)};
}

}  // namespace

double OneCycle::lr(int64_t step) const {
  const Position at = locate(*this, step);
  return at.warming ? cosine(max_lr / div, max_lr, at.pos) : cosine(max_lr, max_lr / final_div, at.pos);
}

double OneCycle::beta1(int64_t step) const {
  const Position at = locate(*this, step);
  return at.warming ? cosine(beta1_max, beta1_min, at.pos) : cosine(beta1_min, beta1_max, at.pos);
}

}  // namespace semihard::core
