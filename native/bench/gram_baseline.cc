#include "gram_baseline.h"

#include <torch/cuda.h>

#include <algorithm>
#include <chrono>
#include <vector>

namespace semihard::bench {

double gram_matmul_median_ms(int64_t batch, int64_t dim, int64_t repeats, const torch::Device& device) {
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::randn({batch, dim}, torch::TensorOptions().device(device));
  auto sync = [&] {
    if (device.is_cuda()) torch::cuda::synchronize();
  };
  (void)x.mm(x.t());
  sync();
  std::vector<double> ms;
  for (int64_t r = 0; r < std::max<int64_t>(repeats, 1); ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    (void)x.mm(x.t());
    sync();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace semihard::bench
