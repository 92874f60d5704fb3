// Labels grouped by class: each row's positives without scanning the batch, and the number
// of ordered positive pairs TF divides by.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/types.h>

namespace semihard::core {

class LabelGroups {
 public:
  // `labels`: B integers (any integer dtype, any device).
  explicit LabelGroups(const torch::Tensor& labels);

  int64_t batch() const { return static_cast<int64_t>(labels_.size()); }
  const int64_t* labels() const { return labels_.data(); }
  // The rows sharing row i's label, i included, in increasing order.
  const int64_t* members_begin(int64_t i) const { return order_.data() + start_[group_[i]]; }
  const int64_t* members_end(int64_t i) const { return order_.data() + start_[group_[i] + 1]; }
  // Ordered pairs (a, p), a != p, with equal labels: sum over classes of n (n - 1).
  int64_t positive_pairs() const { return positive_pairs_; }

 private:
  std::vector<int64_t> labels_;
  std::vector<int64_t> order_;   // rows sorted by (label, row)
  std::vector<int64_t> start_;   // group g occupies order_[start_[g], start_[g + 1])
  std::vector<int64_t> group_;   // row -> group
  int64_t positive_pairs_ = 0;
};

}  // namespace semihard::core
