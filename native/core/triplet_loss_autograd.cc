// The autograd forms of the triplet losses (triplet_loss.h): a 0-dim loss whose backward is
// the gradient the loss call computed, for training.
#include <torch/autograd.h>

#include <limits>

#include "tensor_triplet_loss.h"
#include "triplet_checks.h"
#include "triplet_loss.h"
#include "triplet_stats.h"

namespace semihard::core {
namespace {

// `largest_class` < 0: the public path (checks and reads, triplet_loss_share_with_grad);
// otherwise the training path with the tensor miners, the labels' counts given: no read.
// `stats_out` (may be null): receives the anchors' stats as a device tensor.
class TripletLossFunction : public torch::autograd::Function<TripletLossFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& embeddings,
                               const torch::Tensor& labels, int64_t kind, double margin, bool soft,
                               int64_t distance, bool tensor_mining, int64_t anchor_begin, int64_t anchor_end,
                               int64_t largest_class, int64_t positive_pairs, torch::Tensor* stats_out) {
    TripletOptions options;
    options.kind = static_cast<TripletKind>(kind);
    options.margin = static_cast<float>(margin);
    options.soft = soft;
    options.distance = static_cast<Distance>(distance);
    options.tensor_mining = tensor_mining;
    options.stats = stats_out != nullptr;
    if (largest_class < 0) {
      TripletResult result = triplet_loss_share_with_grad(embeddings, labels, options, anchor_begin, anchor_end);
      ctx->save_for_backward({result.grad});
      if (stats_out != nullptr) *stats_out = triplet_stats_to_tensor(result.stats, embeddings.device());
      return torch::full({}, result.loss, embeddings.options());
    }
    const torch::Tensor x = embeddings.detach().contiguous();
    const DeviceLabelGroups groups = group_labels_on_device(labels, x.device(), LabelCounts{largest_class, positive_pairs});
    TensorLoss computed = embeddings_loss_with_tensors(x, groups, options, anchor_begin, anchor_end, /*unit_rows=*/true);
    ctx->save_for_backward({computed.grad});
    if (stats_out != nullptr) *stats_out = std::move(computed.stats);
    // NaN or Infinity among the embeddings: a NaN loss, refused where it is read (read_training_loss).
    return torch::where(torch::isfinite(x).all(), computed.loss, std::numeric_limits<float>::quiet_NaN());
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    torch::autograd::variable_list grads(12);
    grads[0] = ctx->get_saved_variables()[0] * grad_outputs[0];
    return grads;
  }
};

torch::Tensor training_share(const torch::Tensor& embeddings, const torch::Tensor& labels,
                             const TripletOptions& options, int64_t anchor_begin, int64_t anchor_end,
                             const LabelCounts& counts, torch::Tensor* stats) {
  if (!mines_with_tensors(options, embeddings.device())) {
    return TripletLossFunction::apply(embeddings, labels, static_cast<int64_t>(options.kind),
                                      static_cast<double>(options.margin), options.soft,
                                      static_cast<int64_t>(options.distance), options.tensor_mining, anchor_begin,
                                      anchor_end, int64_t{-1}, int64_t{0}, stats);
  }
  TORCH_CHECK(embeddings.dim() == 2 && embeddings.scalar_type() == torch::kFloat32 && embeddings.size(1) >= 1,
              "triplet loss: embeddings must be a 2-D float32 tensor with at least 1 column");
  const int64_t batch = embeddings.size(0);
  check_batch(batch);
  check_labels(labels, batch);
  check_anchor_rows(anchor_begin, anchor_end, batch);
  TORCH_CHECK(counts.largest_class >= 1 && counts.positive_pairs >= 0, "triplet loss: the label counts are not set");
  return TripletLossFunction::apply(embeddings, labels, static_cast<int64_t>(options.kind),
                                    static_cast<double>(options.margin), options.soft,
                                    static_cast<int64_t>(options.distance), options.tensor_mining, anchor_begin,
                                    anchor_end, counts.largest_class, counts.positive_pairs, stats);
}

}  // namespace

torch::Tensor triplet_loss(const torch::Tensor& embeddings, const torch::Tensor& labels,
                           const TripletOptions& options) {
  return triplet_loss_share(embeddings, labels, options, 0, embeddings.dim() == 2 ? embeddings.size(0) : 0);
}

torch::Tensor triplet_loss_share(const torch::Tensor& embeddings, const torch::Tensor& labels,
                                 const TripletOptions& options, int64_t anchor_begin, int64_t anchor_end) {
  return TripletLossFunction::apply(embeddings, labels, static_cast<int64_t>(options.kind),
                                    static_cast<double>(options.margin), options.soft,
                                    static_cast<int64_t>(options.distance), options.tensor_mining, anchor_begin,
                                    anchor_end, int64_t{-1}, int64_t{0}, static_cast<torch::Tensor*>(nullptr));
}

torch::Tensor triplet_loss_share(const torch::Tensor& embeddings, const torch::Tensor& labels,
                                 const TripletOptions& options, int64_t anchor_begin, int64_t anchor_end,
                                 const LabelCounts& counts) {
  return training_share(embeddings, labels, options, anchor_begin, anchor_end, counts, nullptr);
}

torch::Tensor triplet_loss_share(const torch::Tensor& embeddings, const torch::Tensor& labels,
                                 const TripletOptions& options, int64_t anchor_begin, int64_t anchor_end,
                                 const LabelCounts& counts, torch::Tensor& stats) {
  return training_share(embeddings, labels, options, anchor_begin, anchor_end, counts, &stats);
}

torch::Tensor triplet_semihard_loss(const torch::Tensor& embeddings, const torch::Tensor& labels, float margin,
                                    Distance distance) {
  TripletOptions options;
  options.margin = margin;
  options.distance = distance;
  return triplet_loss(embeddings, labels, options);
}

}  // namespace semihard::core
