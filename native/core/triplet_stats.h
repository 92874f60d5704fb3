// What a triplet-loss call mined, for diagnostics: counts and sums gathered by the miners
// inside their existing loops (no second pass over the B x B distances), reduced over blocks.
//
// Every field is a sum over the anchors a call mined, so the stats of a partition of the
// anchors (blocks, or the shares of multi-process training) add field by field to the whole
// batch's: ranks all-reduce (sum) the stats tensor of their shares, then summarize it.
//
// Definitions (D: the loss's distance metric; "term": one term of the loss's mean):
// - positive_pairs: ordered pairs (a, p), a != p, with equal labels, a among the anchors.
// - terms: the loss's terms over these anchors: positive pairs (semi-hard), anchors (hard).
// - active_terms: terms whose value, as the loss computed it, is > 0.
// - semihard_pairs (semi-hard only, else 0): pairs that found a semi-hard negative, the
//   nearest negative strictly farther than D[a,p]; the others fell back to TF's fallback.
// - no_positive_anchors: anchors without a positive in the batch.
// - positive distances: D[a,p] of each pair (semi-hard); each anchor's hardest positive,
//   anchors with a positive only (hard).
// - negative distances: the chosen negative's D[a,n] of each pair whose anchor has a negative
//   (the semi-hard negative, else the farthest negative) (semi-hard); each anchor's hardest
//   negative, anchors with a negative only (hard). TF's row-extremum fallbacks for an anchor
//   without negatives (or positives) are no distance to a negative (a positive): not counted.
// - spread_sum: sum over the anchors of the Euclidean distance of the embedding to the
//   centroid of the whole batch (all rows, not only the anchors); NaN when the loss was given
//   distances (there are no embeddings).
#pragma once

#include <cstdint>

#include <torch/types.h>

namespace semihard::core {

struct TripletStats {
  int64_t anchors = 0;
  int64_t positive_pairs = 0;
  int64_t terms = 0;
  int64_t active_terms = 0;
  int64_t semihard_pairs = 0;
  int64_t no_positive_anchors = 0;
  int64_t positive_distances = 0;  // how many distances positive_distance_sum adds
  double positive_distance_sum = 0.0;
  int64_t negative_distances = 0;  // how many distances negative_distance_sum adds
  double negative_distance_sum = 0.0;
  double spread_sum = 0.0;

  void add(const TripletStats& other);
};

// The fractions and means users read. NaN where the denominator is 0 (no terms, no pairs,
// no distances, or spread from distances).
struct TripletStatsSummary {
  double active_fraction;         // active_terms / terms
  double semihard_fraction;       // semihard_pairs / positive_pairs
  double mean_positive_distance;  // positive_distance_sum / positive_distances
  double mean_negative_distance;  // negative_distance_sum / negative_distances
  double spread;                  // spread_sum / anchors
};
TripletStatsSummary summarize_triplet_stats(const TripletStats& stats);

// The device form: the fields above, in this order, as one 1-D float64 tensor on the device
// (counts are exact in float64 below 2^53). One tensor so that a block's stats add with one
// kernel, ranks all-reduce one buffer and a progress report reads them with one copy.
enum TripletStatsField : int64_t {
  kStatAnchors,
  kStatPositivePairs,
  kStatTerms,
  kStatActiveTerms,
  kStatSemiHardPairs,
  kStatNoPositiveAnchors,
  kStatPositiveDistances,
  kStatPositiveDistanceSum,
  kStatNegativeDistances,
  kStatNegativeDistanceSum,
  kStatSpreadSum,
  kTripletStatsFields
};

// `fields`: kTripletStatsFields 0-dim tensors (any dtype) on one device, in field order.
torch::Tensor stack_triplet_stats(const std::vector<torch::Tensor>& fields);
// The host struct as the device form, on `device`.
torch::Tensor triplet_stats_to_tensor(const TripletStats& stats, const torch::Device& device);
// Reads the device form (one copy to the host).
TripletStats read_triplet_stats(const torch::Tensor& stats);

// Sum over rows [begin, end) of |x_i - centroid|, the centroid of all rows of `x` (B x D),
// in float64: 0-dim float64 on x's device, nothing read back.
torch::Tensor spread_sum(const torch::Tensor& x, int64_t begin, int64_t end);

}  // namespace semihard::core
