#include "row_gradient.h"

namespace semihard::core {

MinedBlock pack_entries(const std::vector<std::vector<GradEntry>>& rows, int64_t begin, double loss_sum) {
  int64_t total = 0;
  for (const auto& r : rows) total += static_cast<int64_t>(r.size());
  MinedBlock out;
  out.loss_sum = loss_sum;
  out.row = torch::empty({total}, torch::kInt64);
  out.col = torch::empty({total}, torch::kInt64);
  out.weight = torch::empty({total}, torch::kFloat32);
  out.value = torch::empty({total}, torch::kFloat32);
  int64_t* rp = out.row.data_ptr<int64_t>();
  int64_t* cp = out.col.data_ptr<int64_t>();
  float* wp = out.weight.data_ptr<float>();
  float* vp = out.value.data_ptr<float>();
  int64_t k = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    for (const GradEntry& e : rows[i]) {
      rp[k] = begin + static_cast<int64_t>(i);
      cp[k] = e.col;
      wp[k] = e.weight;
      vp[k] = e.value;
      ++k;
    }
  }
  return out;
}

}  // namespace semihard::core
