#include "hard_mining.h"

#include <limits>

namespace semihard::core {
namespace {

// d(result)/d(block) of TF's masked extremum (`_masked_minimum` when `is_min`, else
// `_masked_maximum`) over each row, as a dense weight block: TF's reduce_min/max split the
// gradient equally among tied entries, and the shift by the row extremum it subtracts and
// adds back gets the part the masked entries leave. Also returns the forward values.
struct MaskedExtremum {
  torch::Tensor value;   // rows
  torch::Tensor weight;  // rows x B
};

MaskedExtremum masked_extremum(const torch::Tensor& block, const torch::Tensor& mask, bool is_min) {
  const float inf = std::numeric_limits<float>::infinity();
  const auto batch = static_cast<float>(block.size(1));
  // TF shifts by the unmasked row maximum for a minimum, by the row minimum for a maximum.
  torch::Tensor shift = is_min ? std::get<0>(block.max(1, true)) : std::get<0>(block.min(1, true));
  torch::Tensor masked = torch::where(mask, block, torch::full({}, is_min ? inf : -inf, block.options()));
  torch::Tensor extreme = is_min ? std::get<0>(masked.min(1, true)) : std::get<0>(masked.max(1, true));
  torch::Tensor any = mask.any(1, true);
  // Entries of TF's reduce over (D - shift)·mask that equal its result: the masked ties, plus
  // every entry (value 0) when the masked extremum equals the shift or nothing is masked.
  torch::Tensor all_tie = any.logical_not() | (extreme == shift);
  torch::Tensor masked_ties = mask & (block == extreme);
  torch::Tensor masked_count = masked_ties.sum(1, true).to(block.scalar_type());
  torch::Tensor selected = torch::where(all_tie, torch::full({}, batch, block.options()), masked_count);
  torch::Tensor to_shift = torch::where(all_tie, 1.0f - masked_count / batch, torch::zeros_like(masked_count));
  torch::Tensor shift_ties = (block == shift).to(block.scalar_type());
  torch::Tensor weight = masked_ties.to(block.scalar_type()) / selected +
                         shift_ties * (to_shift / shift_ties.sum(1, true));
  torch::Tensor value = torch::where(any, (extreme - shift) + shift, shift);
  return {value.squeeze(1), weight};
}

}  // namespace

MinedBlock mine_hard_block(const torch::Tensor& block, int64_t begin, const torch::Tensor& labels,
                           float margin, bool soft) {
  const int64_t rows = block.size(0);
  const auto long_opts = labels.options();
  torch::Tensor anchors = torch::arange(begin, begin + rows, long_opts);
  torch::Tensor columns = torch::arange(block.size(1), long_opts);
  torch::Tensor same = labels.narrow(0, begin, rows).unsqueeze(1) == labels.unsqueeze(0);
  torch::Tensor positive = same & (anchors.unsqueeze(1) != columns.unsqueeze(0));
  torch::Tensor negative = same.logical_not();

  MaskedExtremum hardest_positive = masked_extremum(block, positive, /*is_min=*/false);
  MaskedExtremum hardest_negative = masked_extremum(block, negative, /*is_min=*/true);
  torch::Tensor gap = hardest_positive.value - hardest_negative.value;
  torch::Tensor term, slope;
  if (soft) {
    // TF's log1p(exp(gap)) and its gradient (Log1pGrad then ExpGrad) where exp cannot
    // overflow; above kSoftLinear the same values in a form that stays finite where TF's
    // exp overflows to Infinity (loss) and NaN (gradient).
    constexpr float kSoftLinear = 15.0f;
    torch::Tensor e = gap.exp();
    torch::Tensor far = gap > kSoftLinear;
    torch::Tensor e_neg = (-gap).exp();
    term = torch::where(far, gap + e_neg.log1p(), e.log1p());
    slope = torch::where(far, 1.0f / (1.0f + e_neg), (1.0f / (1.0f + e)) * e);
  } else {
    torch::Tensor t = gap + margin;
    term = t.clamp_min(0.0f);
    slope = (t >= 0.0f).to(t.scalar_type());  // tf.maximum passes gradient where x >= y
  }
  torch::Tensor weight = hardest_positive.weight * slope.unsqueeze(1) -
                         hardest_negative.weight * slope.unsqueeze(1);
  torch::Tensor nz = weight.nonzero();
  MinedBlock out;
  out.loss_sum = term.sum(at::kDouble).item<double>();
  torch::Tensor local_row = nz.select(1, 0);
  out.col = nz.select(1, 1).contiguous();
  out.row = (local_row + begin).contiguous();
  out.weight = weight.index({local_row, out.col});
  out.value = block.index({local_row, out.col});
  return out;
}

}  // namespace semihard::core
