#include "tensor_triplet_loss.h"

namespace semihard::core {

bool mines_with_tensors(const TripletOptions& options, const torch::Device& device) {
  return options.tensor_mining || !device.is_cpu();
}

// Off the CPU, blocks of about 64M distances: fewer, larger kernels (each block's temporaries
// take about 40 bytes a distance).
constexpr int64_t kDeviceBlockElements = int64_t{1} << 26;

int64_t tensor_block_rows(int64_t batch, const torch::Device& device) {
  if (device.is_cpu()) return block_rows(batch);
  return std::min(batch, std::max<int64_t>(64, kDeviceBlockElements / batch));
}

int64_t terms_in_mean(const TripletOptions& options, int64_t batch, int64_t positive_pairs) {
  return options.kind == TripletKind::kSemiHard ? positive_pairs : batch;
}

TensorLoss embeddings_loss_with_tensors(const torch::Tensor& x, const DeviceLabelGroups& groups,
                                        const TripletOptions& options, int64_t first, int64_t last, bool unit_rows) {
  const int64_t terms = terms_in_mean(options, x.size(0), groups.counts.positive_pairs);
  if (terms == 0) {
    // Semi-hard without positive pairs: nothing to mine; every anchor lacks a positive.
    torch::Tensor stats;
    if (options.stats) {
      TripletStats none;
      none.anchors = last - first;
      none.no_positive_anchors = last - first;
      stats = triplet_stats_to_tensor(none, x.device());
      stats.select(0, kStatSpreadSum).copy_(spread_sum(x, first, last));
    }
    return {torch::zeros({}, x.options()), torch::zeros_like(x), stats};
  }
  const DistanceOperands operands = prepare_distance_operands(x, options.distance, unit_rows);
  const float scale = 1.0f / static_cast<float>(terms);
  torch::Tensor grad_points = torch::zeros_like(operands.points);
  TensorMinedSums sums = mine_blocks_with_tensors(
      groups, options, first, last, [&](int64_t begin, int64_t end) { return distance_block(operands, begin, end); },
      [&](int64_t begin, const torch::Tensor& block, const torch::Tensor& weight) {
        accumulate_dense_distance_grad(operands, begin, weight * scale, block, grad_points);
      });
  if (options.stats) sums.stats.select(0, kStatSpreadSum).copy_(spread_sum(x, first, last));
  return {sums.loss_sum.div(static_cast<double>(terms)).to(torch::kFloat32),
          points_grad_to_embeddings_grad(operands, x, grad_points), sums.stats};
}

}  // namespace semihard::core
