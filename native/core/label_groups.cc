#include "label_groups.h"

#include <algorithm>
#include <numeric>

namespace semihard::core {

LabelGroups::LabelGroups(const torch::Tensor& labels) {
  const torch::Tensor l = labels.to(torch::kCPU, torch::kInt64).contiguous().flatten();
  labels_.assign(l.data_ptr<int64_t>(), l.data_ptr<int64_t>() + l.numel());
  const auto n = static_cast<int64_t>(labels_.size());
  order_.resize(n);
  std::iota(order_.begin(), order_.end(), int64_t{0});
  std::stable_sort(order_.begin(), order_.end(), [&](int64_t x, int64_t y) { return labels_[x] < labels_[y]; });
  group_.resize(n);
  for (int64_t i = 0; i < n;) {
    int64_t j = i;
    while (j < n && labels_[order_[j]] == labels_[order_[i]]) ++j;
    const auto g = static_cast<int64_t>(start_.size());
    start_.push_back(i);
    for (int64_t k = i; k < j; ++k) group_[order_[k]] = g;
    positive_pairs_ += (j - i) * (j - i - 1);
    i = j;
  }
  start_.push_back(n);
}

}  // namespace semihard::core
