// A Node-free check and benchmark of the native losses, for machines without Node (the GPU
// machine) and for profiling. Prints tables; exits 1 when a comparison fails, 2 on bad usage.
//
//   semihard_loss_check [--device cpu|cuda] [--fixtures DIR] [--sizes 4096,16384,65536]
//                       [--dim 128] [--per-class 16] [--repeats 3] [--compare]
//
// The device's path is the tensor miners (on CUDA always; on the CPU forced), the reference
// the CPU miners on the CPU.
// --fixtures DIR: every tfa-*.json in DIR (test/fixtures), each case's loss and gradient on
//   the device's path against the reference: loss within 1e-5 relative, gradient within 1e-5
//   absolute. A case outside them whose float64 mining decisions come closer than kNearTie
//   (relative to the row's scale; decision_margin.h) is a near-tie flip: listed, not a failure.
// --sizes (empty: none): forward+backward of each loss (autograd: triplet_loss + backward) at
//   each B (D = --dim, --per-class rows a class, shuffled), median of --repeats after a
//   warm-up, next to one Gram product X Xᵀ on the same device; peak device memory of each
//   call above what was allocated before it (CUDA). --compare: also the CPU miners on the CPU
//   at each size, max |Δloss| and |Δgrad| (tolerance 1e-5).
// With --sizes, also the training call (triplet_loss_share with the labels' counts from the
//   host, labels uploaded through pinned memory, then backward, as the trainer makes it): with
//   --compare its loss and gradient against the CPU miners (1e-5), its per-call ms, and on CUDA
//   (built with the CUDA headers: SEMIHARD_CUDA_HEADERS) whether it synchronised with the
//   host, under CUDA's sync debug mode set to error: "syncs: none" or the error, which fails
//   the run. One line a size: "train-call B ...".
#include <torch/torch.h>
#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 9)
#include <ATen/DeviceAccelerator.h>
#define SEMIHARD_DEVICE_STATS 1
#endif

#ifdef SEMIHARD_CUDA_HEADERS
#include <c10/cuda/CUDAFunctions.h>
#endif

#include "core/network_input.h"
#include "core/triplet_loss.h"
#include "tools/decision_margin.h"
#include "tools/json_value.h"

namespace {

namespace core = semihard::core;
namespace tools = semihard::tools;

constexpr double kLossRelative = 1e-5;
constexpr double kGradAbsolute = 1e-5;
constexpr double kNearTie = 1e-5;  // about 170 float32 ulps of the row's largest distance

struct Args {
  std::vector<int64_t> sizes{1024, 4096};
  int64_t dim = 128;
  int64_t per_class = 16;
  std::string device = "cpu";
  std::string fixtures;
  bool compare = false;
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
    } else if (k == "--fixtures") {
      a.fixtures = next();
    } else if (k == "--repeats") {
      a.repeats = std::stoi(next());
    } else if (k == "--compare") {
      a.compare = true;
    } else {
      std::fprintf(stderr, "unknown argument %s\n", k.c_str());
      std::exit(2);
    }
  }
  if (a.device != "cpu" && a.device != "cuda") {
    std::fprintf(stderr, "--device must be cpu or cuda\n");
    std::exit(2);
  }
  return a;
}

void sync(const torch::Device& d) {
  if (d.is_cuda()) torch::cuda::synchronize();
}

// Bytes the device allocator handed out at its peak since the last reset (-1: unknown).
int64_t peak_bytes(const torch::Device& d, bool reset) {
#ifdef SEMIHARD_DEVICE_STATS
  if (d.is_cuda()) {
    if (reset) at::accelerator::resetPeakStats(d.index());
    const auto stats = at::accelerator::getDeviceStats(d.index());
    const auto& all = stats.allocated_bytes[static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE)];
    return reset ? all.current : all.peak;
  }
#endif
  (void)d;
  (void)reset;
  return -1;
}

// Median wall time of `repeats` calls after one warm-up; `peak_mib`: the most device memory
// one call took above what was allocated before it.
double median_ms(int repeats, const torch::Device& device, const std::function<void()>& fn, double* peak_mib = nullptr) {
  fn();
  sync(device);
  std::vector<double> ms;
  int64_t peak = -1;
  for (int r = 0; r < repeats; ++r) {
    const int64_t before = peak_bytes(device, true);
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    sync(device);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    if (before >= 0) peak = std::max(peak, peak_bytes(device, false) - before);
  }
  if (peak_mib) *peak_mib = peak < 0 ? -1.0 : static_cast<double>(peak) / (1 << 20);
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

struct Outcome {
  bool refused = false;
  std::string message;
  core::TripletResult result;
};

Outcome run_case(const torch::Tensor& input, bool from_distances, const torch::Tensor& labels,
                 const core::TripletOptions& options) {
  Outcome o;
  try {
    o.result = from_distances ? core::triplet_loss_from_distances_with_grad(input, labels, options)
                              : core::triplet_loss_with_grad(input, labels, options);
  } catch (const std::exception& e) {
    o.refused = true;
    o.message = e.what();
  }
  return o;
}

struct FileTally {
  int cases = 0, ok = 0, near_tie = 0, mismatch = 0;
  double worst_loss = 0.0, worst_grad = 0.0;
};

// Every case of one fixture file: the device's path against the CPU miners.
FileTally check_fixture_file(const std::filesystem::path& file, const torch::Device& device) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  const tools::JsonValue fixture = tools::JsonParser(text.str()).parse();
  const std::string loss = fixture.at("loss").string;
  FileTally tally;
  for (const tools::JsonValue& c : fixture.at("cases").array) {
    core::TripletOptions options;
    options.kind = loss == "semihard" ? core::TripletKind::kSemiHard : core::TripletKind::kHard;
    options.soft = loss == "hard-soft";
    options.margin = static_cast<float>(c.at("margin").number);
    const std::string distance = c.at("distance").string;
    const bool from_distances = distance == "custom-L1";
    if (!from_distances) options.distance = core::parse_name(core::kDistanceNames, distance, "distance");
    std::vector<int64_t> labels;
    for (double v : c.at("labels").numbers()) labels.push_back(static_cast<int64_t>(v));
    const auto batch = static_cast<int64_t>(labels.size());
    const std::vector<double> values = c.at(from_distances ? "distances" : "embeddings").numbers();
    const auto cols = static_cast<int64_t>(values.size()) / batch;
    const torch::Tensor input = torch::tensor(values, torch::kFloat64).to(torch::kFloat32).view({batch, cols});
    const torch::Tensor label_tensor = torch::tensor(labels, torch::kInt64);

    core::TripletOptions on_device = options;
    on_device.tensor_mining = true;
    const Outcome ref = run_case(input, from_distances, label_tensor, options);
    const Outcome got = run_case(input.to(device), from_distances, label_tensor.to(device), on_device);
    ++tally.cases;
    double dloss = 0.0, dgrad = 0.0;
    bool agree = ref.refused == got.refused;
    if (agree && !ref.refused) {
      const double scale = std::abs(static_cast<double>(ref.result.loss));
      dloss = std::abs(static_cast<double>(got.result.loss) - ref.result.loss) / (scale > 0 ? scale : 1.0);
      dgrad = (got.result.grad.cpu().to(torch::kFloat64) - ref.result.grad.to(torch::kFloat64)).abs().max().item<double>();
      agree = (dloss <= kLossRelative || got.result.loss == ref.result.loss) && dgrad <= kGradAbsolute;
      tally.worst_loss = std::max(tally.worst_loss, dloss);
      tally.worst_grad = std::max(tally.worst_grad, dgrad);
    }
    if (agree) {
      ++tally.ok;
      continue;
    }
    const std::vector<double> d =
        from_distances ? values
                       : tools::distances64(values, batch, cols, options.distance == core::Distance::kSquaredL2,
                                            options.distance == core::Distance::kAngular);
    const double closest = tools::closest_decision(
        d, labels, options.kind == core::TripletKind::kHard ? tools::MinedKind::kHard : tools::MinedKind::kSemiHard,
        options.margin, options.soft);
    const bool near_tie = !ref.refused && !got.refused && closest < kNearTie;
    (near_tie ? tally.near_tie : tally.mismatch)++;
    std::printf("  %-14s %-40s %-9s %12.3g %12.3g %12.3g%s%s\n", near_tie ? "near-tie flip" : "MISMATCH",
                c.at("name").string.c_str(), ref.refused ? "cpu:refused" : (got.refused ? "dev:refused" : ""), dloss,
                dgrad, closest, ref.refused != got.refused ? "  " : "",
                ref.refused != got.refused ? (ref.refused ? ref.message : got.message).substr(0, 80).c_str() : "");
  }
  return tally;
}

bool check_fixtures(const std::string& dir, const torch::Device& device) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("tfa-", 0) == 0 && entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    std::printf("fixtures: no tfa-*.json in %s\n", dir.c_str());
    return false;
  }
  std::printf("fixtures: %s on %s (tensor miners) against the CPU miners on cpu; loss %.0e relative, gradient "
              "%.0e absolute; near-tie: a decision within %.0e of its row's scale in float64\n",
              dir.c_str(), device.str().c_str(), kLossRelative, kGradAbsolute, kNearTie);
  std::printf("  %-14s %-40s %-9s %12s %12s %12s\n", "row", "case", "refused", "|dloss|rel", "max|dgrad|",
              "closest");
  std::vector<std::pair<std::string, FileTally>> tallies;
  bool ok = true;
  for (const auto& file : files) {
    const FileTally t = check_fixture_file(file, device);
    tallies.emplace_back(file.filename().string(), t);
    ok = ok && t.mismatch == 0;
  }
  std::printf("%-22s %6s %6s %14s %9s %14s %14s\n", "file", "cases", "ok", "near-tie flip", "MISMATCH",
              "max|dloss|rel", "max|dgrad|");
  for (const auto& [name, t] : tallies) {
    std::printf("%-22s %6d %6d %14d %9d %14.3g %14.3g\n", name.c_str(), t.cases, t.ok, t.near_tie, t.mismatch,
                t.worst_loss, t.worst_grad);
  }
  return ok;
}

bool time_sizes(const Args& args, const torch::Device& device) {
  if (args.sizes.empty()) return true;
  std::printf("forward+backward (triplet_loss + backward), median of %d; ratio = loss / one Gram product X Xt "
              "(B x %lld) on %s; peak MiB = device memory one call took above what was allocated before it\n",
              args.repeats, (long long)args.dim, device.str().c_str());
  std::printf("%8s %10s %12s %8s %10s %12s %8s %10s %12s %12s\n", "B", "gram_ms", "semihard_ms", "ratio",
              "peak_MiB", "hard_ms", "ratio", "peak_MiB", "max|dloss|", "max|dgrad|");
  bool ok = true;
  for (const int64_t batch : args.sizes) {
    torch::manual_seed(static_cast<uint64_t>(batch));
    torch::Tensor x = torch::randn({batch, args.dim});
    x = x / x.norm(2, 1, true);
    torch::Tensor labels = torch::arange(batch).div(args.per_class, "floor");
    labels = labels.index_select(0, torch::randperm(batch));
    const torch::Tensor xd = x.to(device), ld = labels.to(device);
    core::TripletOptions semi, hard;
    hard.kind = core::TripletKind::kHard;
    semi.tensor_mining = hard.tensor_mining = true;
    const double gram = median_ms(args.repeats, device, [&] { (void)xd.mm(xd.t()); });
    float loss[2] = {0, 0};
    torch::Tensor grad[2];
    double ms[2], peak[2];
    for (int k = 0; k < 2; ++k) {
      ms[k] = median_ms(args.repeats, device, [&] {
        torch::Tensor leaf = xd.detach().requires_grad_(true);
        torch::Tensor l = core::triplet_loss(leaf, ld, k == 0 ? semi : hard);
        l.backward();
        loss[k] = l.item<float>();
        grad[k] = leaf.grad();
      }, &peak[k]);
    }
    double dloss = 0, dgrad = 0;
    if (args.compare) {
      for (int k = 0; k < 2; ++k) {
        core::TripletOptions reference = k == 0 ? semi : hard;
        reference.tensor_mining = false;
        const core::TripletResult r = core::triplet_loss_with_grad(x, labels, reference);
        dloss = std::max(dloss, static_cast<double>(std::abs(r.loss - loss[k])));
        dgrad = std::max(dgrad, (r.grad - grad[k].cpu()).abs().max().item<double>());
      }
      if (!(dloss <= kGradAbsolute && dgrad <= kGradAbsolute)) ok = false;
    }
    auto mib = [](double v) { return v < 0 ? std::string("n/a") : std::to_string(static_cast<int64_t>(v + 0.5)); };
    std::printf("%8lld %10.2f %12.2f %8.2f %10s %12.2f %8.2f %10s %12.3g %12.3g\n", (long long)batch, gram, ms[0],
                ms[0] / gram, mib(peak[0]).c_str(), ms[1], ms[1] / gram, mib(peak[1]).c_str(), dloss, dgrad);
  }
  return ok;
}

// Runs `fn` with CUDA's sync debug mode set to error (on CUDA, with its headers): "none",
// the error's first line, or "unchecked" where the mode is not available.
std::string syncs_in(const torch::Device& device, const std::function<void()>& fn) {
#ifdef SEMIHARD_CUDA_HEADERS
  if (device.is_cuda()) {
    sync(device);
    c10::cuda::warning_state().set_sync_debug_mode(c10::cuda::SyncDebugMode::L_ERROR);
    std::string outcome = "none";
    try {
      fn();
    } catch (const std::exception& e) {
      const std::string what = e.what();
      outcome = what.substr(0, what.find('\n'));
    }
    c10::cuda::warning_state().set_sync_debug_mode(c10::cuda::SyncDebugMode::L_DISABLED);
    return outcome;
  }
#endif
  fn();
  return device.is_cuda() ? "unchecked (built without the CUDA headers)" : "n/a on the CPU";
}

// The trainer's loss call (forward + backward, the labels counted on the host and uploaded
// without waiting) at each size: agreement with the CPU miners, ms per call, host syncs.
bool check_training_call(const Args& args, const torch::Device& device) {
  bool ok = true;
  for (const int64_t batch : args.sizes) {
    torch::manual_seed(static_cast<uint64_t>(batch) + 1);
    torch::Tensor x = torch::randn({batch, args.dim});
    x = x / x.norm(2, 1, true);
    torch::Tensor labels = torch::arange(batch).div(args.per_class, "floor");
    labels = labels.index_select(0, torch::randperm(batch));
    const core::LabelCounts counts = core::count_labels(labels);
    const torch::Tensor xd = x.to(device);
    std::printf("train-call B %lld:", (long long)batch);
    for (int k = 0; k < 2; ++k) {
      core::TripletOptions options;
      options.kind = k == 0 ? core::TripletKind::kSemiHard : core::TripletKind::kHard;
      options.tensor_mining = true;
      torch::Tensor loss, grad;
      const auto call = [&] {
        const torch::Tensor leaf = xd.detach().requires_grad_(true);
        const torch::Tensor labels_here = core::upload(labels, device);
        loss = core::triplet_loss_share(leaf, labels_here, options, 0, batch, counts);
        loss.backward();
        grad = leaf.grad();
      };
      const double ms = median_ms(args.repeats, device, call);  // warm: allocator, library handles
      const std::string syncs = syncs_in(device, call);
      const float value = core::read_training_loss(loss);
      double dloss = 0.0, dgrad = 0.0;  // against the CPU miners, with --compare
      if (args.compare) {
        core::TripletOptions reference = options;
        reference.tensor_mining = false;
        const core::TripletResult r = core::triplet_loss_with_grad(x, labels, reference);
        dloss = std::abs(static_cast<double>(r.loss) - value);
        dgrad = (r.grad - grad.cpu()).abs().max().item<double>();
      }
      const bool agree = dloss <= kGradAbsolute && dgrad <= kGradAbsolute;
      const bool synced = syncs != "none" && syncs.rfind("n/a", 0) != 0 && syncs.rfind("unchecked", 0) != 0;
      ok = ok && agree && !synced;
      char diff[64] = "|dloss| n/a |dgrad| n/a";
      if (args.compare) std::snprintf(diff, sizeof diff, "|dloss| %.3g |dgrad| %.3g", dloss, dgrad);
      std::printf(" %s %.2f ms %s%s syncs: %s;", k == 0 ? "semihard" : "hard", ms, diff, agree ? "" : " MISMATCH",
                  syncs.c_str());
    }
    std::printf("\n");
  }
  return ok;
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
  bool ok = true;
  if (!args.fixtures.empty()) ok = check_fixtures(args.fixtures, device) && ok;
  ok = time_sizes(args, device) && ok;
  ok = check_training_call(args, device) && ok;
  std::printf("%s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
