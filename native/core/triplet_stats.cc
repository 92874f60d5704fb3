#include "triplet_stats.h"

#include <limits>
#include <vector>

namespace semihard::core {
namespace {

double ratio(double numerator, int64_t denominator) {
  return denominator == 0 ? std::numeric_limits<double>::quiet_NaN() : numerator / static_cast<double>(denominator);
}

}  // namespace

void TripletStats::add(const TripletStats& other) {
  anchors += other.anchors;
  positive_pairs += other.positive_pairs;
  terms += other.terms;
  active_terms += other.active_terms;
  semihard_pairs += other.semihard_pairs;
  no_positive_anchors += other.no_positive_anchors;
  positive_distances += other.positive_distances;
  positive_distance_sum += other.positive_distance_sum;
  negative_distances += other.negative_distances;
  negative_distance_sum += other.negative_distance_sum;
  spread_sum += other.spread_sum;
}

TripletStatsSummary summarize_triplet_stats(const TripletStats& s) {
  return TripletStatsSummary{
      ratio(static_cast<double>(s.active_terms), s.terms),
      ratio(static_cast<double>(s.semihard_pairs), s.positive_pairs),
      ratio(s.positive_distance_sum, s.positive_distances),
      ratio(s.negative_distance_sum, s.negative_distances),
      ratio(s.spread_sum, s.anchors),
  };
}

torch::Tensor stack_triplet_stats(const std::vector<torch::Tensor>& fields) {
  TORCH_CHECK(static_cast<int64_t>(fields.size()) == kTripletStatsFields, "triplet stats: expected ",
              static_cast<int64_t>(kTripletStatsFields), " fields, got ", fields.size());
  std::vector<torch::Tensor> f64;
  f64.reserve(fields.size());
  for (const torch::Tensor& f : fields) f64.push_back(f.to(torch::kFloat64).reshape({}));
  return torch::stack(f64);
}

torch::Tensor triplet_stats_to_tensor(const TripletStats& s, const torch::Device& device) {
  const std::vector<double> values = {
      static_cast<double>(s.anchors),        static_cast<double>(s.positive_pairs),
      static_cast<double>(s.terms),          static_cast<double>(s.active_terms),
      static_cast<double>(s.semihard_pairs), static_cast<double>(s.no_positive_anchors),
      static_cast<double>(s.positive_distances), s.positive_distance_sum,
      static_cast<double>(s.negative_distances), s.negative_distance_sum,
      s.spread_sum};
  return torch::tensor(values, torch::kFloat64).to(device);
}

TripletStats read_triplet_stats(const torch::Tensor& stats) {
  TORCH_CHECK(stats.dim() == 1 && stats.numel() == kTripletStatsFields, "triplet stats: expected a vector of ",
              static_cast<int64_t>(kTripletStatsFields), " fields");
  const torch::Tensor host = stats.to(torch::kCPU, torch::kFloat64).contiguous();
  const double* v = host.data_ptr<double>();
  const auto count = [v](TripletStatsField f) { return static_cast<int64_t>(v[f]); };
  TripletStats s;
  s.anchors = count(kStatAnchors);
  s.positive_pairs = count(kStatPositivePairs);
  s.terms = count(kStatTerms);
  s.active_terms = count(kStatActiveTerms);
  s.semihard_pairs = count(kStatSemiHardPairs);
  s.no_positive_anchors = count(kStatNoPositiveAnchors);
  s.positive_distances = count(kStatPositiveDistances);
  s.positive_distance_sum = v[kStatPositiveDistanceSum];
  s.negative_distances = count(kStatNegativeDistances);
  s.negative_distance_sum = v[kStatNegativeDistanceSum];
  s.spread_sum = v[kStatSpreadSum];
  return s;
}

torch::Tensor spread_sum(const torch::Tensor& x, int64_t begin, int64_t end) {
  TORCH_CHECK(x.dim() == 2 && 0 <= begin && begin <= end && end <= x.size(0), "spread: rows out of range");
  const torch::Tensor x64 = x.to(torch::kFloat64);
  const torch::Tensor centroid = x64.mean(0, /*keepdim=*/true);
  return (x64.narrow(0, begin, end - begin) - centroid).norm(2, {1}).sum();
}

}  // namespace semihard::core
