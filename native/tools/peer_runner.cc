// semihard_peer_runner INPUT_PREFIX [--repeats R] [--threads T] [--margin M]
//
// The C++ tensor API's side of the peer benchmark (scripts/bench/peers/): reads the batch
// make_inputs.py wrote at INPUT_PREFIX (.json header, .f32 embeddings, .i32 labels), calls
// semihard::core::triplet_semihard_loss on a tensor that requires grad and runs backward()
// (what a LibTorch user writes), 1 warm-up then the median of R calls, and prints one JSON
// line shaped like run_peer.py's. No Node: the binding's cost is what the difference from
// the `semihard` peer shows.
#include <torch/torch.h>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>
#include <vector>

#include "core/triplet_loss.h"

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

int64_t header_int(const std::string& json, const std::string& key) {
  std::smatch m;
  if (!std::regex_search(json, m, std::regex("\"" + key + "\"\\s*:\\s*(\\d+)"))) throw std::runtime_error("header has no " + key);
  return std::stoll(m[1]);
}

double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // KiB on Linux
}

}  // namespace

int main(int argc, char** argv) {
  std::string prefix;
  int repeats = 3, threads = 2;
  double margin = 1.0;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (k == "--repeats" && i + 1 < argc) repeats = std::stoi(argv[++i]);
    else if (k == "--threads" && i + 1 < argc) threads = std::stoi(argv[++i]);
    else if (k == "--margin" && i + 1 < argc) margin = std::stod(argv[++i]);
    else if (prefix.empty()) prefix = k;
    else {
      std::fprintf(stderr, "usage: semihard_peer_runner INPUT_PREFIX [--repeats R] [--threads T] [--margin M]\n");
      return 2;
    }
  }
  const std::string json = read_file(prefix + ".json");
  const int64_t B = header_int(json, "B"), D = header_int(json, "D"), classes = header_int(json, "classes");
  std::string out = "{\"peer\": \"semihard-cpp\", \"B\": " + std::to_string(B) + ", \"classes\": " + std::to_string(classes);
  try {
    torch::set_num_threads(threads);
    std::string f32 = read_file(prefix + ".f32"), i32 = read_file(prefix + ".i32");
    if (static_cast<int64_t>(f32.size()) != B * D * 4 || static_cast<int64_t>(i32.size()) != B * 4) {
      throw std::runtime_error("input does not match its header");
    }
    const torch::Tensor x0 = torch::from_blob(f32.data(), {B, D}, torch::kFloat32).clone();
    const torch::Tensor labels = torch::from_blob(i32.data(), {B}, torch::kInt32).clone();
    const double rss_before = peak_rss_mib();
    float loss = 0.0f;
    auto call = [&] {
      torch::Tensor x = x0.detach().requires_grad_(true);
      torch::Tensor l = semihard::core::triplet_semihard_loss(x, labels, static_cast<float>(margin));
      l.backward();
      loss = l.item<float>();
      return x.grad();
    };
    call();  // warm-up
    std::vector<double> ms;
    for (int r = 0; r < repeats; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      call();
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    const size_t n = ms.size();
    const double median = n % 2 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2.0;
    char buf[512];
    std::snprintf(buf, sizeof(buf),
                  ", \"loss\": %.9g, \"median_ms\": %.3f, \"repeats\": %d, \"rss_before_mib\": %.1f, \"version\": \"LibTorch %s (C++)\", "
                  "\"note\": \"semihard::core::triplet_semihard_loss + backward() on a LibTorch tensor, no Node\"",
                  loss, median, repeats, rss_before, TORCH_VERSION);
    out += buf;
  } catch (const std::exception& e) {
    std::string msg = e.what();
    msg = msg.substr(0, msg.find('\n'));
    for (char& c : msg) if (c == '"' || c == '\\') c = '\'';
    const bool oom = msg.find("alloc") != std::string::npos || msg.find("memory") != std::string::npos;
    out += std::string(", \"loss\": null, \"median_ms\": null, \"error\": \"") + (oom ? "OOM" : "error") + "\", \"message\": \"" + msg + "\"";
  }
  char rss[64];
  std::snprintf(rss, sizeof(rss), ", \"peak_rss_mib\": %.1f}", peak_rss_mib());
  out += rss;
  std::printf("%s\n", out.c_str());
  return out.find("\"error\"") != std::string::npos ? 3 : 0;
}
