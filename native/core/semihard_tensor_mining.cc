#include "semihard_tensor_mining.h"

#include <algorithm>
#include <limits>
#include <tuple>

#include "label_groups.h"

namespace semihard::core {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// TF's masked extremum value: (extreme - shift) + shift, the extreme itself where that is
// not finite (row_gradient.h, MaskedExtremum::value).
torch::Tensor tf_value(const torch::Tensor& extreme, const torch::Tensor& shift) {
  const torch::Tensor v = (extreme - shift) + shift;
  return torch::where(v.isfinite(), v, extreme);
}

// The block's TripletStats (triplet_stats.h) from what the miner computed: rows x slots
// work, no pass over the block's rows x B distances.
torch::Tensor block_stats(const DeviceLabelGroups& groups, int64_t begin, const torch::Tensor& used,
                          const torch::Tensor& threshold, const torch::Tensor& term, const torch::Tensor& outside,
                          const torch::Tensor& outside_extreme, const torch::Tensor& any_negative,
                          const torch::Tensor& max_negative) {
  const int64_t rows = used.size(0);
  const torch::Tensor zero = torch::zeros({}, threshold.options());
  const torch::Tensor pairs = used.sum();
  const torch::Tensor with_negative = used & any_negative;
  const torch::Tensor negative_value = torch::where(outside, outside_extreme, max_negative);
  return stack_triplet_stats({torch::full({}, rows, pairs.options()), pairs, pairs, (used & (term > 0)).sum(),
                              (used & outside).sum(), (groups.group_size.narrow(0, begin, rows) == 1).sum(), pairs,
                              torch::where(used, threshold, zero).sum(torch::kFloat64), with_negative.sum(),
                              torch::where(with_negative, negative_value, zero).sum(torch::kFloat64), zero});
}

}  // namespace

LabelCounts count_labels(const torch::Tensor& labels) {
  TORCH_CHECK(labels.device().is_cpu(), "count_labels: the labels must be on the CPU");
  const LabelGroups groups(labels);
  LabelCounts counts;
  counts.positive_pairs = groups.positive_pairs();
  for (int64_t i = 0; i < groups.batch(); ++i) {
    counts.largest_class = std::max<int64_t>(counts.largest_class, groups.members_end(i) - groups.members_begin(i));
  }
  return counts;
}

DeviceLabelGroups group_labels_on_device(const torch::Tensor& labels, const torch::Device& device,
                                         const LabelCounts& counts) {
  DeviceLabelGroups g;
  g.labels = labels.to(device, torch::kInt64).contiguous();
  torch::Tensor sorted;
  std::tie(sorted, g.order) = g.labels.sort(std::optional<bool>(true), /*dim=*/0, /*descending=*/false);
  g.group_start = torch::searchsorted(sorted, g.labels);
  g.group_size = torch::searchsorted(sorted, g.labels, /*out_int32=*/false, /*right=*/true) - g.group_start;
  g.counts = counts;
  return g;
}

DeviceMinedBlock mine_semihard_block_tensor(const torch::Tensor& block, int64_t begin, const DeviceLabelGroups& groups,
                                            float margin, bool with_stats) {
  TORCH_CHECK(block.dim() == 2 && block.is_floating_point(), "mining: the block must be a 2-D floating-point tensor");
  const int64_t rows = block.size(0);
  const int64_t batch = block.size(1);
  TORCH_CHECK(batch == groups.labels.numel() && begin >= 0 && begin + rows <= batch,
              "mining: labels do not match the block");
  TORCH_CHECK(block.device() == groups.labels.device(), "mining: the block and the labels must be on one device");
  const int64_t slots = groups.counts.largest_class;  // a row's class members, the anchor's own slot unused
  const torch::Tensor d = block.contiguous();
  const auto opts = d.options();
  const auto long_opts = groups.labels.options();
  const float inv_batch = 1.0f / static_cast<float>(batch);
  const torch::Tensor anchors = torch::arange(begin, begin + rows, long_opts).unsqueeze(1);
  const torch::Tensor negative = groups.labels.narrow(0, begin, rows).unsqueeze(1) != groups.labels.unsqueeze(0);

  // Each row's positives, sorted by distance: the thresholds (unused slots at +inf, last).
  const torch::Tensor k = torch::arange(slots, long_opts);
  const torch::Tensor member = (groups.group_start.narrow(0, begin, rows).unsqueeze(1) + k).clamp_max(batch - 1);
  torch::Tensor column = groups.order.index_select(0, member.flatten()).view_as(member);
  torch::Tensor used = (k < groups.group_size.narrow(0, begin, rows).unsqueeze(1)) & (column != anchors);
  auto [threshold, by_distance] = torch::where(used, d.gather(1, column), kInf).sort(1);
  column = column.gather(1, by_distance);
  used = used.gather(1, by_distance);

  // Buckets: entry (a, j) lies strictly beyond `bucket` thresholds. Each bucket's nearest
  // negative and how many negatives tie with it (0: no negative in the bucket).
  const torch::Tensor bucket = torch::searchsorted(threshold, d);
  const torch::Tensor nearest =
      torch::full({rows, slots + 1}, kInf, opts).scatter_reduce(1, bucket, torch::where(negative, d, kInf), "amin");
  const torch::Tensor tie = negative & (d == nearest.gather(1, bucket));
  const torch::Tensor ties = torch::zeros({rows, slots + 1}, opts).scatter_add(1, bucket, tie.to(opts.dtype()));

  // Positive k: the first non-empty bucket past k (TF's negatives_outside), if any.
  const torch::Tensor bucket_index = torch::arange(slots + 1, long_opts).expand({rows, slots + 1});
  const torch::Tensor first_from =
      std::get<0>(torch::where(ties > 0, bucket_index, slots + 1).flip(1).cummin(1)).flip(1);
  torch::Tensor chosen = first_from.narrow(1, 1, slots);
  const torch::Tensor outside = chosen <= slots;
  chosen = chosen.clamp_max(slots);
  const torch::Tensor outside_extreme = nearest.gather(1, chosen);
  const torch::Tensor outside_ties = ties.gather(1, chosen);

  // Row statistics: TF's shifts (row maximum for the masked minimum, row minimum for the
  // masked maximum) and negatives_inside, the masked maximum over all negatives.
  const torch::Tensor row_max = d.amax(1, true);
  const torch::Tensor row_min = d.amin(1, true);
  const torch::Tensor at_row_max = d == row_max;
  const torch::Tensor at_row_min = d == row_min;
  const torch::Tensor any_negative = negative.any(1, true);
  const torch::Tensor max_negative = torch::where(negative, d, -kInf).amax(1, true);
  const torch::Tensor at_max_negative = negative & (d == max_negative);
  const torch::Tensor max_negative_ties = at_max_negative.sum(1, true).to(opts.dtype());
  const torch::Tensor inside_value = torch::where(any_negative, tf_value(max_negative, row_min), row_min);

  // The loss terms: max(margin + (d(a,p) - chosen), 0); gradient where the argument is >= 0.
  const torch::Tensor chosen_value = torch::where(outside, tf_value(outside_extreme, row_max), inside_value);
  const torch::Tensor term = (threshold - chosen_value) + margin;
  torch::Tensor loss_sum = torch::where(used, term.clamp_min(0), 0).sum(torch::kFloat64);
  const torch::Tensor active = used & (term >= 0);

  // d(loss_sum)/d(block): +1 on each active positive; -1 through the chosen negative, as TF's
  // reduce_min/max split it: equally over the masked ties, or (extremum equal to its shift)
  // 1/B to each masked tie and the rest over the shift's ties.
  const torch::Tensor out_active = active & outside;
  const torch::Tensor at_shift = outside_extreme == row_max;
  const torch::Tensor per_tie = torch::where(out_active, torch::where(at_shift, inv_batch, 1.0 / outside_ties), 0);
  const torch::Tensor bucket_weight = torch::zeros({rows, slots + 1}, opts).scatter_add(1, chosen, per_tie);
  const torch::Tensor max_shift =
      torch::where(out_active & at_shift, 1.0 - outside_ties / static_cast<double>(batch), 0).sum(1, true);
  const torch::Tensor inside_slots = (active & outside.logical_not()).sum(1, true).to(opts.dtype());
  const torch::Tensor inside_at_shift = max_negative == row_min;
  const torch::Tensor inside_per_tie =
      torch::where(any_negative, torch::where(inside_at_shift, inv_batch, 1.0 / max_negative_ties), 0);
  const torch::Tensor min_shift = torch::where(
      any_negative, torch::where(inside_at_shift, 1.0 - max_negative_ties / static_cast<double>(batch), 0), 1);

  torch::Tensor weight = torch::zeros_like(d).scatter_add_(1, column, active.to(opts.dtype()));
  weight.sub_(torch::where(tie, bucket_weight.gather(1, bucket), 0));
  weight.sub_(torch::where(at_max_negative, inside_slots * inside_per_tie, 0));
  weight.sub_(torch::where(at_row_min, inside_slots * min_shift / at_row_min.sum(1, true).to(opts.dtype()), 0));
  weight.sub_(torch::where(at_row_max, max_shift / at_row_max.sum(1, true).to(opts.dtype()), 0));
  return {std::move(loss_sum), std::move(weight),
          with_stats ? block_stats(groups, begin, used, threshold, term, outside, outside_extreme, any_negative,
                                   max_negative)
                     : torch::Tensor()};
}

}  // namespace semihard::core
