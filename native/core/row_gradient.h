// The gradient of one anchor row's loss terms with respect to that row's distances, built
// entry by entry by a CPU miner and flushed as sparse entries, plus TF's rule for the
// gradient of its masked extrema (`_masked_minimum` / `_masked_maximum` in triplet.py).
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include <ATen/Parallel.h>
#include <torch/types.h>

#include "mined_block.h"

namespace semihard::core {

struct GradEntry {
  int64_t col;
  float weight;
  float value;
};

// Accumulates weights on the columns of one row; O(B) scratch, reused row after row.
class RowGradient {
 public:
  explicit RowGradient(int64_t batch) : batch_(batch), acc_(batch, 0.0f), touched_(batch, 0) {}

  int64_t batch() const { return batch_; }

  void add(int64_t j, float w) {
    if (!touched_[j]) {
      touched_[j] = 1;
      list_.push_back(j);
    }
    acc_[j] += w;
  }

  // Adds `w` to every column j with d[j] == target and keep(j).
  template <typename Keep>
  void add_where(const float* d, float target, float w, Keep keep) {
    for (int64_t j = 0; j < batch_; ++j) {
      if (d[j] == target && keep(j)) add(j, w);
    }
  }

  template <typename Keep>
  int64_t count_where(const float* d, float target, Keep keep) const {
    int64_t n = 0;
    for (int64_t j = 0; j < batch_; ++j) n += (d[j] == target && keep(j));
    return n;
  }

  // Appends the row's entries (weight and distance value) to `out` and resets the scratch.
  void flush(const float* d, std::vector<GradEntry>& out) {
    for (int64_t j : list_) {
      out.push_back(GradEntry{j, acc_[j], d[j]});
      acc_[j] = 0.0f;
      touched_[j] = 0;
    }
    list_.clear();
  }

 private:
  int64_t batch_;
  std::vector<float> acc_;
  std::vector<uint8_t> touched_;
  std::vector<int64_t> list_;
};

// A masked extremum of one row as TF computes it: reduce over (d - shift) * mask, plus shift,
// where shift is the row's unmasked maximum (for a minimum) or minimum (for a maximum).
struct MaskedExtremum {
  bool any_masked;       // some entry is masked in
  float extreme;         // the masked extremum's distance (when any_masked)
  int64_t masked_ties;   // masked entries at `extreme`
  int64_t first_index;   // one of them
  float shift;           // the row maximum (minimum) TF shifts by

  // The value TF's arithmetic produces: (extreme - shift) + shift, or shift when none; the
  // extreme itself where extreme - shift overflows float32 (TF: Infinity or NaN).
  float value() const {
    if (!any_masked) return shift;
    const float v = (extreme - shift) + shift;
    return std::isfinite(v) ? v : extreme;
  }
};

// Adds `w` times d(extremum)/d(row) to `g`: TF's reduce_min/max split their gradient
// equally over the tied entries of (d - shift) * mask, which are the masked ties, or every
// entry of the row when the extremum equals the shift (all are then 0); what the masked
// entries leave flows through the shift to the row's tied maxima (minima).
template <typename Mask>
void add_masked_extremum_grad(RowGradient& g, const float* d, const MaskedExtremum& e, Mask mask, float w) {
  auto all = [](int64_t) { return true; };
  const auto batch = static_cast<float>(g.batch());
  if (!e.any_masked) {
    g.add_where(d, e.shift, w / static_cast<float>(g.count_where(d, e.shift, all)), all);
    return;
  }
  if (e.extreme != e.shift) {
    if (e.masked_ties == 1) {
      g.add(e.first_index, w);
    } else {
      g.add_where(d, e.extreme, w / static_cast<float>(e.masked_ties), mask);
    }
    return;
  }
  g.add_where(d, e.extreme, w / batch, mask);
  const float rest = 1.0f - static_cast<float>(e.masked_ties) / batch;
  g.add_where(d, e.shift, w * rest / static_cast<float>(g.count_where(d, e.shift, all)), all);
}

// Packs per-row entries (rows begin, begin + 1, ...) into a MinedBlock.
MinedBlock pack_entries(const std::vector<std::vector<GradEntry>>& rows, int64_t begin, double loss_sum);

// Mines every row of a CPU block of distances (rows begin, begin + 1, ... of a B-wide
// matrix) in parallel. Each thread makes one miner with make_miner() (its O(B) scratch) and
// calls miner(row distances, anchor, entries) -> the row's loss sum.
template <typename MakeMiner>
MinedBlock mine_rows_in_parallel(const torch::Tensor& block, int64_t begin, int64_t batch, MakeMiner make_miner) {
  TORCH_CHECK(block.device().is_cpu() && block.scalar_type() == torch::kFloat32 && block.dim() == 2,
              "mining: the block must be a 2-D float32 CPU tensor");
  TORCH_CHECK(block.size(1) == batch, "mining: labels do not match the block width");
  const torch::Tensor d = block.contiguous();
  const int64_t rows = d.size(0);
  const float* dp = d.data_ptr<float>();
  std::vector<std::vector<GradEntry>> entries(rows);
  std::vector<double> row_loss(rows, 0.0);
  at::parallel_for(0, rows, /*grain_size=*/1, [&](int64_t lo, int64_t hi) {
    auto miner = make_miner();
    for (int64_t i = lo; i < hi; ++i) row_loss[i] = miner(dp + i * batch, begin + i, entries[i]);
  });
  double loss_sum = 0.0;
  for (double l : row_loss) loss_sum += l;
  return pack_entries(entries, begin, loss_sum);
}

}  // namespace semihard::core
