// The semi-hard and hard triplet losses of TensorFlow Addons on torch::Tensor: the public
// C++ surface of semihard (the Node binding and training use it).
//
// Deviation from TF, the only one: a semi-hard batch without any positive pair gives loss 0
// and a zero gradient where TF divides 0 by 0 (NaN).
#pragma once

#include <vector>

#include <torch/types.h>

#include "distances.h"
#include "names.h"
#include "semihard_tensor_mining.h"
#include "training_loss.h"
#include "triplet_stats.h"

namespace semihard::core {

enum class TripletKind { kSemiHard, kHard };
inline constexpr Named<TripletKind> kTripletKindNames[] = {{"semihard", TripletKind::kSemiHard}, {"hard", TripletKind::kHard}};

struct TripletOptions {
  TripletKind kind = TripletKind::kSemiHard;
  float margin = 1.0f;
  bool soft = false;  // hard loss only: log1p(exp(hp - hn)) without margin
  Distance distance = Distance::kL2;
  // Mine with the tensor-operation miners (semihard_tensor_mining.h, hard_mining.h) on the
  // CPU too; off the CPU (CUDA) they always run. For testing and timing that path where no
  // GPU exists; results agree with the CPU miners' to float32 rounding.
  bool tensor_mining = false;
  // Gather what was mined (TripletResult::stats). On by default; off only to time its cost.
  bool stats = true;
};

struct TripletResult {
  float loss = 0.0f;
  torch::Tensor grad;           // d(loss)/d(input), shaped and placed like the input
  int64_t positive_pairs = 0;   // ordered pairs (a, p), a != p, with equal labels
  TripletStats stats;           // what the anchors mined (triplet_stats.h); zeros unless options.stats
};

// embeddings: B x D float32 (CPU or CUDA), finite, B >= 2. labels: B integers (any integer
// dtype, any device). Computes the loss and its gradient in one pass over blocks of anchors:
// O(B^2) time, O(B * block) memory. With the tensor miners (always off the CPU) nothing
// of B x B size leaves the device and nothing is read back per block; each block's gradient
// is a dense weight block applied by two matrix products. Reads: the labels (if on the
// device), the checks of the embeddings (finite, their scale) and the loss at the end.
TripletResult triplet_loss_with_grad(const torch::Tensor& embeddings, const torch::Tensor& labels,
                                     const TripletOptions& options);

// The share of the anchors in rows [anchor_begin, anchor_end): their loss terms divided by
// the whole batch's number of terms, and the gradient of that with respect to every row. The
// shares of a partition of the anchors add up to the loss and its gradient (multi-process
// training: each rank takes the share of its own rows of the gathered global batch), and
// their stats field by field to the batch's (TripletStats::add; spread over the whole batch's
// centroid). `positive_pairs` is the whole batch's, `stats.positive_pairs` the share's.
TripletResult triplet_loss_share_with_grad(const torch::Tensor& embeddings, const torch::Tensor& labels,
                                           const TripletOptions& options, int64_t anchor_begin, int64_t anchor_end);

// TF's callable distance_metric: `distances` is the caller's B x B matrix (used as given);
// the gradient is with respect to it. options.distance is ignored. stats.spread_sum is NaN
// (no embeddings).
TripletResult triplet_loss_from_distances_with_grad(const torch::Tensor& distances,
                                                    const torch::Tensor& labels,
                                                    const TripletOptions& options);

// Autograd forms for training: a 0-dim loss whose backward is the gradient computed above.
torch::Tensor triplet_semihard_loss(const torch::Tensor& embeddings, const torch::Tensor& labels,
                                    float margin = 1.0f, Distance distance = Distance::kL2);
torch::Tensor triplet_loss(const torch::Tensor& embeddings, const torch::Tensor& labels,
                           const TripletOptions& options);
torch::Tensor triplet_loss_share(const torch::Tensor& embeddings, const torch::Tensor& labels,
                                 const TripletOptions& options, int64_t anchor_begin, int64_t anchor_end);

// The training call: the same loss with no read from the device when the tensor miners run
// (off the CPU, or tensor_mining). `counts`: count_labels() of the labels on the host. The
// embeddings must be rows of norm at most 1 (the embedding head's output): nothing checks
// them; a NaN or Infinity among them makes the loss NaN, which read_training_loss refuses.
// With the CPU miners, the call above (its checks and reads are free on the CPU).
torch::Tensor triplet_loss_share(const torch::Tensor& embeddings, const torch::Tensor& labels,
                                 const TripletOptions& options, int64_t anchor_begin, int64_t anchor_end,
                                 const LabelCounts& counts);

// The training call above, and in `stats` what its anchors mined: kTripletStatsFields float64
// on the embeddings' device (triplet_stats.h), nothing read back (with the CPU miners, made
// from the host stats). Sum it over steps (add_) and ranks (all-reduce, sum), read it once
// per report with read_triplet_stats, then summarize_triplet_stats. options.stats is ignored.
torch::Tensor triplet_loss_share(const torch::Tensor& embeddings, const torch::Tensor& labels,
                                 const TripletOptions& options, int64_t anchor_begin, int64_t anchor_end,
                                 const LabelCounts& counts, torch::Tensor& stats);

// Number of ordered positive pairs: sum over classes of n_c (n_c - 1).
int64_t count_positive_pairs(const torch::Tensor& labels);

// Anchor rows per block for a batch of B: bounds a block to about 4M distances.
int64_t block_rows(int64_t batch);

}  // namespace semihard::core
