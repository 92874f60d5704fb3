#include "triplet_loss.h"

#include <algorithm>
#include <limits>
#include <utility>
#include <vector>

#include "hard_mining.h"
#include "label_groups.h"
#include "semihard_mining.h"
#include "semihard_tensor_mining.h"
#include "tensor_triplet_loss.h"
#include "triplet_checks.h"
#include "triplet_stats.h"

namespace semihard::core {
namespace {

constexpr int64_t kBlockElements = int64_t{1} << 22;

// The CPU miners' step for one CPU block.
MinedBlock mine_block_on_cpu(const torch::Tensor& block, int64_t begin, const LabelGroups& groups,
                             const TripletOptions& options) {
  if (options.kind == TripletKind::kSemiHard) {
    return mine_semihard_block(block, begin, groups, options.margin, options.stats);
  }
  return mine_hard_block(block, begin, groups, options.margin, options.soft, options.stats);
}

constexpr int64_t kGroupedBlockRows = 512;
constexpr int64_t kGroupingPositives = 32;  // mean positives per anchor from which grouping pays

bool labels_in_order(const torch::Tensor& labels) {
  const int64_t batch = labels.numel();
  const torch::Tensor l = labels.to(torch::kCPU);
  return batch < 2 || !(l.narrow(0, 1, batch - 1) < l.narrow(0, 0, batch - 1)).any().item<bool>();
}

// Anchor rows per block: with rows grouped by class, blocks of kGroupedBlockRows so that a
// block touches few classes; otherwise block_rows().
int64_t anchor_block_rows(int64_t batch, bool grouped) {
  return grouped ? std::min(block_rows(batch), kGroupedBlockRows) : block_rows(batch);
}

// The loss from the blocks' sum, and the gradient with respect to the embeddings.
void finish_embeddings_result(TripletResult& result, double loss_sum, int64_t terms, const DistanceOperands& operands,
                              const torch::Tensor& x, const torch::Tensor& grad_points, const TripletOptions& options) {
  result.loss = static_cast<float>(loss_sum / static_cast<double>(terms));
  result.grad = points_grad_to_embeddings_grad(operands, x, grad_points);
  refuse_overflow(result.loss, result.grad, x, "embeddings", name_of(kDistanceNames, options.distance) + " distances",
                  options.margin);
}

}  // namespace

int64_t count_positive_pairs(const torch::Tensor& labels) { return LabelGroups(labels).positive_pairs(); }

int64_t block_rows(int64_t batch) {
  return std::min(batch, std::max<int64_t>(64, kBlockElements / std::max<int64_t>(batch, 1)));
}

TripletResult triplet_loss_with_grad(const torch::Tensor& embeddings, const torch::Tensor& labels,
                                     const TripletOptions& options) {
  return triplet_loss_share_with_grad(embeddings, labels, options, 0, embeddings.dim() == 2 ? embeddings.size(0) : 0);
}

TripletResult triplet_loss_share_with_grad(const torch::Tensor& embeddings, const torch::Tensor& labels,
                                           const TripletOptions& options, int64_t anchor_begin, int64_t anchor_end) {
  TORCH_CHECK(embeddings.dim() == 2 && embeddings.scalar_type() == torch::kFloat32,
              "triplet loss: embeddings must be a 2-D float32 tensor");
  const int64_t batch = embeddings.size(0);
  check_batch(batch);
  TORCH_CHECK(embeddings.size(1) >= 1, "triplet loss: embeddings must have at least 1 column");
  check_anchor_rows(anchor_begin, anchor_end, batch);
  check_finite(embeddings, "embeddings");
  check_labels(labels, batch);

  torch::NoGradGuard no_grad;
  const torch::Tensor x = embeddings.detach().contiguous();
  if (mines_with_tensors(options, x.device())) {
    // The labels counted on the host (read back if they are on the device), grouped on the
    // device; distances and weights stay there (tensor miners). The loss is read once.
    const DeviceLabelGroups groups = group_labels_on_device(labels, x.device(), count_labels(labels.to(torch::kCPU)));
    TripletResult result;
    result.positive_pairs = groups.counts.positive_pairs;
    TensorLoss computed = embeddings_loss_with_tensors(x, groups, options, anchor_begin, anchor_end, /*unit_rows=*/false);
    result.loss = computed.loss.item<float>();
    result.grad = std::move(computed.grad);
    if (options.stats) result.stats = read_triplet_stats(computed.stats);
    refuse_overflow(result.loss, result.grad, x, "embeddings", name_of(kDistanceNames, options.distance) + " distances",
                    options.margin);
    return result;
  }

  const bool grouped = labels_in_order(labels);
  if (anchor_begin == 0 && anchor_end == batch && batch > kGroupedBlockRows && !grouped &&
      count_positive_pairs(labels) >= kGroupingPositives * batch) {
    // Many positives per anchor: rows grouped by class make a block of anchors touch few
    // classes, and the gradient's dense path then works on those columns only (distances.cc).
    // The loss does not depend on the order of the rows; the gradient is put back in the
    // caller's order.
    const torch::Tensor order = std::get<1>(labels.to(torch::kCPU).sort(std::optional<bool>(true), /*dim=*/0, /*descending=*/false));
    TripletResult by_class = triplet_loss_share_with_grad(x.index_select(0, order), labels.index_select(0, order.to(labels.device())),
                                                         options, 0, batch);
    by_class.grad = torch::empty_like(by_class.grad).index_copy_(0, order, by_class.grad);
    return by_class;
  }
  TripletResult result;
  const LabelGroups groups(labels);
  result.positive_pairs = groups.positive_pairs();
  if (options.stats) {
    result.stats.spread_sum = spread_sum(x, anchor_begin, anchor_end).item<double>();
  }
  if (options.kind == TripletKind::kSemiHard && result.positive_pairs == 0) {
    result.grad = torch::zeros_like(x);
    result.stats.anchors = anchor_end - anchor_begin;  // nothing to mine: no anchor has a positive
    result.stats.no_positive_anchors = anchor_end - anchor_begin;
    return result;  // TF: 0 / 0 = NaN; semihard: 0 (documented deviation)
  }
  const DistanceOperands operands = prepare_distance_operands(x, options.distance);
  const int64_t terms = terms_in_mean(options, batch, result.positive_pairs);
  const float scale = 1.0f / static_cast<float>(terms);
  torch::Tensor grad_points = torch::zeros_like(operands.points);
  double loss_sum = 0.0;
  const int64_t step = anchor_block_rows(batch, grouped);
  for (int64_t begin = anchor_begin; begin < anchor_end; begin += step) {
    const int64_t end = std::min(anchor_end, begin + step);
    MinedBlock mined = mine_block_on_cpu(distance_block(operands, begin, end), begin, groups, options);
    loss_sum += mined.loss_sum;
    result.stats.add(mined.stats);
    accumulate_distance_grad(operands, mined.row, mined.col, mined.weight * scale, mined.value, grad_points);
  }
  finish_embeddings_result(result, loss_sum, terms, operands, x, grad_points, options);
  return result;
}

TripletResult triplet_loss_from_distances_with_grad(const torch::Tensor& distances, const torch::Tensor& labels,
                                                    const TripletOptions& options) {
  TORCH_CHECK(distances.dim() == 2 && distances.scalar_type() == torch::kFloat32 && distances.size(0) == distances.size(1),
              "triplet loss: distances must be a square B x B float32 matrix");
  const int64_t batch = distances.size(0);
  check_batch(batch);
  check_finite(distances, "distances");
  check_labels(labels, batch);

  torch::NoGradGuard no_grad;
  const torch::Tensor d = distances.detach().contiguous();
  TripletResult result;
  result.grad = torch::zeros_like(d);
  // Without embeddings there is no spread; a batch with no term has nothing mined but its anchors.
  result.stats.spread_sum = std::numeric_limits<double>::quiet_NaN();
  const auto nothing_mined = [&] {
    if (!options.stats) return;
    result.stats.anchors = batch;
    result.stats.no_positive_anchors = batch;
  };
  const auto scatter = [&](const torch::Tensor& row, const torch::Tensor& col, const torch::Tensor& weight) {
    result.grad.index_put_({row, col}, weight, /*accumulate=*/true);
  };
  if (mines_with_tensors(options, d.device())) {
    const DeviceLabelGroups groups = group_labels_on_device(labels, d.device(), count_labels(labels.to(torch::kCPU)));
    result.positive_pairs = groups.counts.positive_pairs;
    const int64_t terms = terms_in_mean(options, batch, result.positive_pairs);
    if (terms == 0) {
      nothing_mined();
      return result;
    }
    const float scale = 1.0f / static_cast<float>(terms);
    const TensorMinedSums sums = mine_blocks_with_tensors(
        groups, options, 0, batch, [&](int64_t begin, int64_t end) { return d.narrow(0, begin, end - begin); },
        [&](int64_t begin, const torch::Tensor& block, const torch::Tensor& weight) {
          result.grad.narrow(0, begin, block.size(0)).add_(weight * scale);
        });
    result.loss = static_cast<float>(sums.loss_sum.item<double>() / static_cast<double>(terms));
    if (options.stats) {
      result.stats = read_triplet_stats(sums.stats);
      result.stats.spread_sum = std::numeric_limits<double>::quiet_NaN();
    }
    refuse_overflow(result.loss, result.grad, d, "distances", "margin + d(a, p) - d(a, n)", options.margin);
    return result;
  }
  const LabelGroups groups(labels);
  result.positive_pairs = groups.positive_pairs();
  if (options.kind == TripletKind::kSemiHard && result.positive_pairs == 0) {
    nothing_mined();
    return result;
  }
  const int64_t terms = terms_in_mean(options, batch, result.positive_pairs);
  const float scale = 1.0f / static_cast<float>(terms);
  double loss_sum = 0.0;
  const int64_t step = block_rows(batch);
  std::vector<torch::Tensor> written_rows, written_cols;
  for (int64_t begin = 0; begin < batch; begin += step) {
    const int64_t rows = std::min(batch - begin, step);
    MinedBlock mined = mine_block_on_cpu(d.narrow(0, begin, rows), begin, groups, options);
    loss_sum += mined.loss_sum;
    result.stats.add(mined.stats);
    if (mined.row.numel() == 0) continue;
    written_rows.push_back(mined.row);
    written_cols.push_back(mined.col);
    scatter(mined.row, mined.col, mined.weight * scale);
  }
  result.loss = static_cast<float>(loss_sum / static_cast<double>(terms));
  const torch::Tensor written = written_rows.empty()
                                    ? torch::zeros({0}, d.options())
                                    : result.grad.index({torch::cat(written_rows), torch::cat(written_cols)});
  refuse_overflow(result.loss, written, d, "distances", "margin + d(a, p) - d(a, n)", options.margin);
  return result;
}

}  // namespace semihard::core
