#include "hard_mining.h"

#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "row_gradient.h"

namespace semihard::core {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
// Above this gap the soft term is computed as gap + log1p(exp(-gap)): equal to TF's
// log1p(exp(gap)) in float32, and finite where TF's exp overflows (Infinity, NaN gradient).
constexpr float kSoftLinear = 15.0f;

struct Term {
  float loss;
  float slope;  // d(loss)/d(gap)
};

// TF: maximum((hp - hn) + margin, 0), gradient where the argument is >= 0; or, soft,
// log1p(exp(hp - hn)) with gradient Log1pGrad then ExpGrad.
Term hard_term(float gap, float margin, bool soft) {
  if (!soft) {
    const float t = gap + margin;
    return {std::max(t, 0.0f), t >= 0.0f ? 1.0f : 0.0f};
  }
  if (gap > kSoftLinear) {
    const float e = std::exp(-gap);
    return {gap + std::log1p(e), 1.0f / (1.0f + e)};
  }
  const float e = std::exp(gap);
  return {std::log1p(e), (1.0f / (1.0f + e)) * e};
}

double mine_row(const float* d, int64_t a, const LabelGroups& groups, float margin, bool soft, RowGradient& grad,
                std::vector<GradEntry>& out, TripletStats* stats) {
  const int64_t B = grad.batch();
  const int64_t* labels = groups.labels();
  const int64_t la = labels[a];
  auto is_negative = [labels, la](int64_t j) { return labels[j] != la; };
  auto is_positive = [labels, la, a](int64_t j) { return labels[j] == la && j != a; };

  MaskedExtremum hp{false, -kInf, 0, -1, kInf};  // _masked_maximum over positives, shift = row min
  MaskedExtremum hn{false, kInf, 0, -1, -kInf};  // _masked_minimum over negatives, shift = row max
  for (int64_t j = 0; j < B; ++j) {
    const float v = d[j];
    hp.shift = std::min(hp.shift, v);
    hn.shift = std::max(hn.shift, v);
    if (labels[j] != la && v <= hn.extreme) {
      if (v < hn.extreme || !hn.any_masked) {
        hn = MaskedExtremum{true, v, 1, j, hn.shift};
      } else {
        ++hn.masked_ties;
      }
    }
  }
  for (const int64_t* p = groups.members_begin(a); p != groups.members_end(a); ++p) {
    if (*p == a) continue;
    const float v = d[*p];
    if (v >= hp.extreme) {
      if (v > hp.extreme || !hp.any_masked) {
        hp.any_masked = true;
        hp.extreme = v;
        hp.masked_ties = 1;
        hp.first_index = *p;
      } else {
        ++hp.masked_ties;
      }
    }
  }
  const Term term = hard_term(hp.value() - hn.value(), margin, soft);
  if (term.slope != 0.0f) {
    add_masked_extremum_grad(grad, d, hp, is_positive, term.slope);
    add_masked_extremum_grad(grad, d, hn, is_negative, -term.slope);
  }
  grad.flush(d, out);
  if (stats != nullptr) {
    const int64_t positives = (groups.members_end(a) - groups.members_begin(a)) - 1;
    stats->anchors = 1;
    stats->positive_pairs = positives;
    stats->terms = 1;
    stats->active_terms = term.loss > 0.0f;
    stats->no_positive_anchors = hp.any_masked ? 0 : 1;
    stats->positive_distances = hp.any_masked;
    stats->positive_distance_sum = hp.any_masked ? hp.extreme : 0.0;
    stats->negative_distances = hn.any_masked;
    stats->negative_distance_sum = hn.any_masked ? hn.extreme : 0.0;
  }
  return term.loss;
}

// d(result)/d(block) of TF's masked extremum over each row as a dense weight block, and the
// forward values (the tensor form of add_masked_extremum_grad).
struct DenseExtremum {
  torch::Tensor value;    // rows
  torch::Tensor weight;   // rows x B
  torch::Tensor extreme;  // rows, the masked extremum's distance (where any)
  torch::Tensor any;      // rows, some entry is masked in
};

DenseExtremum dense_masked_extremum(const torch::Tensor& block, const torch::Tensor& mask, bool is_min) {
  const auto batch = static_cast<float>(block.size(1));
  torch::Tensor shift = is_min ? std::get<0>(block.max(1, true)) : std::get<0>(block.min(1, true));
  torch::Tensor masked = torch::where(mask, block, torch::full({}, is_min ? kInf : -kInf, block.options()));
  torch::Tensor extreme = is_min ? std::get<0>(masked.min(1, true)) : std::get<0>(masked.max(1, true));
  torch::Tensor any = mask.any(1, true);
  torch::Tensor all_tie = any.logical_not() | (extreme == shift);
  torch::Tensor masked_ties = mask & (block == extreme);
  torch::Tensor masked_count = masked_ties.sum(1, true).to(block.scalar_type());
  torch::Tensor selected = torch::where(all_tie, torch::full({}, batch, block.options()), masked_count);
  torch::Tensor to_shift = torch::where(all_tie, 1.0f - masked_count / batch, torch::zeros_like(masked_count));
  torch::Tensor shift_ties = (block == shift).to(block.scalar_type());
  torch::Tensor weight =
      masked_ties.to(block.scalar_type()) / selected + shift_ties * (to_shift / shift_ties.sum(1, true));
  // TF's (extreme - shift) + shift; the extreme itself where that overflows (row_gradient.h).
  torch::Tensor shifted = (extreme - shift) + shift;
  torch::Tensor value = torch::where(any, torch::where(shifted.isfinite(), shifted, extreme), shift);
  return {value.squeeze(1), weight, extreme.squeeze(1), any.squeeze(1)};
}

}  // namespace

MinedBlock mine_hard_block(const torch::Tensor& block, int64_t begin, const LabelGroups& groups, float margin,
                           bool soft, bool with_stats) {
  const int64_t B = groups.batch();
  std::vector<TripletStats> row_stats(with_stats ? block.size(0) : 0);
  MinedBlock mined = mine_rows_in_parallel(block, begin, B, [&] {
    return [grad = std::make_shared<RowGradient>(B), &groups, &row_stats, begin, margin, soft](
               const float* d, int64_t a, std::vector<GradEntry>& out) {
      return mine_row(d, a, groups, margin, soft, *grad, out, row_stats.empty() ? nullptr : &row_stats[a - begin]);
    };
  });
  for (const TripletStats& r : row_stats) mined.stats.add(r);  // in row order: the same sums on any thread count
  return mined;
}

DeviceMinedBlock mine_hard_block_tensor(const torch::Tensor& block, int64_t begin, const torch::Tensor& labels,
                                        float margin, bool soft, bool with_stats) {
  const int64_t rows = block.size(0);
  const auto long_opts = labels.options();
  torch::Tensor anchors = torch::arange(begin, begin + rows, long_opts);
  torch::Tensor columns = torch::arange(block.size(1), long_opts);
  torch::Tensor same = labels.narrow(0, begin, rows).unsqueeze(1) == labels.unsqueeze(0);
  torch::Tensor positive = same & (anchors.unsqueeze(1) != columns.unsqueeze(0));
  torch::Tensor negative = same.logical_not();

  DenseExtremum hp = dense_masked_extremum(block, positive, /*is_min=*/false);
  DenseExtremum hn = dense_masked_extremum(block, negative, /*is_min=*/true);
  torch::Tensor gap = hp.value - hn.value;
  torch::Tensor term, slope;
  if (soft) {
    torch::Tensor e = gap.exp();
    torch::Tensor far = gap > kSoftLinear;
    torch::Tensor e_neg = (-gap).exp();
    term = torch::where(far, gap + e_neg.log1p(), e.log1p());
    slope = torch::where(far, 1.0f / (1.0f + e_neg), (1.0f / (1.0f + e)) * e);
  } else {
    torch::Tensor t = gap + margin;
    term = t.clamp_min(0.0f);
    slope = (t >= 0.0f).to(t.scalar_type());
  }
  torch::Tensor weight = (hp.weight - hn.weight) * slope.unsqueeze(1);
  torch::Tensor stats;
  if (with_stats) {
    const torch::Tensor zero = torch::zeros({}, block.options());
    const torch::Tensor positives = positive.sum();
    const torch::Tensor rows_here = torch::full({}, rows, long_opts);
    stats = stack_triplet_stats({rows_here, positives, rows_here, (term > 0).sum(), torch::zeros({}, long_opts),
                                 hp.any.logical_not().sum(), hp.any.sum(),
                                 torch::where(hp.any, hp.extreme, zero).sum(torch::kFloat64), hn.any.sum(),
                                 torch::where(hn.any, hn.extreme, zero).sum(torch::kFloat64), zero});
  }
  return {term.sum(torch::kFloat64), std::move(weight), std::move(stats)};
}

}  // namespace semihard::core
