// A Node-free check and benchmark of the native losses, for machines without Node (the GPU
// machine) and for profiling. Prints a table; exits non-zero when CUDA and CPU disagree.
//
//   semihard_loss_check [--sizes 4096,16384] [--dim 128] [--per-class 16] [--device cpu|cuda]
//                       [--compare] [--repeats 3] [--breakdown]
//
// --compare: also runs each size on the CPU and prints max |loss| and |grad| differences
// (tolerance 1e-5). --breakdown: times the distance blocks and the mining separately (CPU).
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "core/distances.h"
#include "core/hard_mining.h"
#include "core/label_groups.h"
#include "core/semihard_mining.h"
#include "core/triplet_loss.h"

namespace {

using semihard::core::TripletKind;
using semihard::core::TripletOptions;

struct Args {
  std::vector<int64_t> sizes{1024, 4096};
  int64_t dim = 128;
  int64_t per_class = 16;
  std::string device = "cpu";
  bool compare = false;
  bool breakdown = false;
  int repeats = 3;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "missing value for %s\n", k.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (k == "--sizes") {
      a.sizes.clear();
      std::stringstream ss(next());
      for (std::string s; std::getline(ss, s, ',');) a.sizes.push_back(std::stoll(s));
    } else if (k == "--dim") {
      a.dim = std::stoll(next());
    } else if (k == "--per-class") {
      a.per_class = std::stoll(next());
    } else if (k == "--device") {
      a.device = next();
    } else if (k == "--repeats") {
      a.repeats = std::stoi(next());
    } else if (k == "--compare") {
      a.compare = true;
    } else if (k == "--breakdown") {
      a.breakdown = true;
    } else {
      std::fprintf(stderr, "unknown argument %s\n", k.c_str());
      std::exit(2);
    }
  }
  return a;
}

void sync(const torch::Device& d) {
  if (d.is_cuda()) torch::cuda::synchronize();
}

double median_ms(int repeats, const torch::Device& device, const std::function<void()>& fn) {
  fn();  // warm-up
  sync(device);
  std::vector<double> ms;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    sync(device);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  const torch::Device device = args.device == "cuda" ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  if (device.is_cuda() && !torch::cuda::is_available()) {
    std::fprintf(stderr, "CUDA requested but not available\n");
    return 2;
  }
  std::printf("device=%s dim=%lld per_class=%lld threads=%d torch=%s\n", args.device.c_str(), (long long)args.dim,
              (long long)args.per_class, at::get_num_threads(), TORCH_VERSION);
  std::printf("%8s %12s %12s %8s %12s %8s %14s %14s\n", "B", "gram_ms", "semihard_ms", "ratio", "hard_ms", "ratio",
              "max|dloss|", "max|dgrad|");
  bool ok = true;
  for (const int64_t batch : args.sizes) {
    torch::manual_seed(static_cast<uint64_t>(batch));
    torch::Tensor x = torch::randn({batch, args.dim});
    x = x / x.norm(2, 1, true);
    torch::Tensor labels = torch::arange(batch).div(args.per_class, "floor");
    labels = labels.index_select(0, torch::randperm(batch));
    torch::Tensor xd = x.to(device);
    torch::Tensor ld = labels.to(device);

    TripletOptions semi;
    TripletOptions hard;
    hard.kind = TripletKind::kHard;
    const double gram = median_ms(args.repeats, device, [&] { (void)xd.mm(xd.t()); });
    semihard::core::TripletResult rs, rh;
    const double semi_ms =
        median_ms(args.repeats, device, [&] { rs = semihard::core::triplet_loss_with_grad(xd, ld, semi); });
    const double hard_ms =
        median_ms(args.repeats, device, [&] { rh = semihard::core::triplet_loss_with_grad(xd, ld, hard); });
    double dloss = 0, dgrad = 0;
    if (args.compare) {
      auto cs = semihard::core::triplet_loss_with_grad(x, labels, semi);
      auto ch = semihard::core::triplet_loss_with_grad(x, labels, hard);
      dloss = std::max(std::abs(cs.loss - rs.loss), std::abs(ch.loss - rh.loss));
      dgrad = std::max((cs.grad - rs.grad.cpu()).abs().max().item<double>(),
                       (ch.grad - rh.grad.cpu()).abs().max().item<double>());
      if (!(dloss <= 1e-5 && dgrad <= 1e-5)) ok = false;
    }
    std::printf("%8lld %12.2f %12.2f %8.2f %12.2f %8.2f %14.3g %14.3g\n", (long long)batch, gram, semi_ms,
                semi_ms / gram, hard_ms, hard_ms / gram, dloss, dgrad);

    if (args.breakdown && !device.is_cuda()) {
      torch::NoGradGuard ng;
      auto ops = semihard::core::prepare_distance_operands(x, semihard::core::Distance::kL2);
      const int64_t step = semihard::core::block_rows(batch);
      const semihard::core::LabelGroups groups(labels);
      std::vector<torch::Tensor> blocks;
      const double dist_ms = median_ms(args.repeats, device, [&] {
        blocks.clear();
        for (int64_t b = 0; b < batch; b += step) blocks.push_back(semihard::core::distance_block(ops, b, std::min(batch, b + step)));
      });
      const double mine_ms = median_ms(args.repeats, device, [&] {
        for (size_t i = 0; i < blocks.size(); ++i)
          (void)semihard::core::mine_semihard_block(blocks[i], static_cast<int64_t>(i) * step, groups, 1.0f);
      });
      const double hard_mine_ms = median_ms(args.repeats, device, [&] {
        for (size_t i = 0; i < blocks.size(); ++i)
          (void)semihard::core::mine_hard_block(blocks[i], static_cast<int64_t>(i) * step, groups, 1.0f, false);
      });
      std::vector<semihard::core::MinedBlock> mined;
      for (size_t i = 0; i < blocks.size(); ++i)
        mined.push_back(semihard::core::mine_semihard_block(blocks[i], static_cast<int64_t>(i) * step, groups, 1.0f));
      const double grad_ms = median_ms(args.repeats, device, [&] {
        torch::Tensor g = torch::zeros_like(ops.points);
        for (auto& m : mined) semihard::core::accumulate_distance_grad(ops, m.row, m.col, m.weight, m.value, g);
      });
      const double pairs_ms = median_ms(args.repeats, device, [&] { (void)semihard::core::count_positive_pairs(labels); });
      std::printf("         breakdown: distance blocks %.2f ms, semi-hard mining %.2f ms, hard mining %.2f ms, "
                  "semi-hard grad %.2f ms, pair count %.2f ms\n",
                  dist_ms, mine_ms, hard_mine_ms, grad_ms, pairs_ms);
    }
  }
  if (!ok) std::printf("MISMATCH between %s and cpu\n", args.device.c_str());
  return ok ? 0 : 1;
}
