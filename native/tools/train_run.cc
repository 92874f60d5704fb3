// semihard_train_run --data DIR [options]
//
// The recipe's training and evaluation for a machine without Node (the lent GPU machine):
// reads the four MNIST-format IDX files in DIR (gzipped or not), trains with the same
// semihard::core::Trainer that train() drives (phase 1: head + BatchNorm, phase 2: all, each
// a one-cycle), then embeds both sets and prints the metrics of core/metrics.h. The batches
// are P classes x K samples drawn here with a seeded generator: the same kind of batch as
// lib/data/sampler.ts, not the same batches, so numbers match train()'s in distribution only.
//
//   --backbone convnet|convnet-spatial|resnet18|resnet34   --dim 128
//   --frozen-epochs 1 --frozen-lr 1e-2 --epochs 4 --lr 1e-3 --classes 8 --per-class 16
//   --rotation 10 --scale 0.1 --translate 0.1 --flip --no-augment
//   --device auto|cpu|cuda --threads N --seed 0 --k 5 --epoch-steps N (fewer steps an epoch: quick checks)
//   --precision fp32|bf16|fp16 (the forward's arithmetic, core/precision.h)
//   --stem small|imagenet --pool avg|concat --head-bn --dropout 0 (the network; defaults: the core's)
//   --steps N --warmup 5: a throughput run instead: N optimiser steps of the unfrozen phase (one
//     one-cycle of N steps at --lr), no validation or metrics; the steps after the first
//     --warmup are timed (the clock starts and stops on a read loss, so the device's queue is
//     empty at both ends) and one line is printed:
//     RESULT images_per_s=<x> steps=<n> precision=<p> device=<d>
//     then, on CUDA (built with the CUDA headers), 3 more steps under CUDA's sync debug mode
//     set to error: SYNCS none | SYNCS <the first synchronising call>
//   (scripts/gpu/train_reference.py runs the same network and recipe in PyTorch and prints the same line.)
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#ifdef SEMIHARD_CUDA_HEADERS
#include <c10/cuda/CUDAFunctions.h>
#endif

#include "core/device.h"
#include "core/metrics.h"
#include "core/precision.h"
#include "core/trainer.h"

namespace {

namespace core = semihard::core;

// The bytes of `path`, or of `path`.gz through `gzip -dc` when only that exists.
std::string read_maybe_gz(const std::string& path) {
  if (std::ifstream in{path, std::ios::binary}) return std::string(std::istreambuf_iterator<char>(in), {});
  const std::string gz = path + ".gz";
  if (!std::ifstream{gz}) throw std::runtime_error("neither " + path + " nor " + gz + " exists");
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(("gzip -dc '" + gz + "'").c_str(), "r"), pclose);
  if (!pipe) throw std::runtime_error("cannot run gzip on " + gz);
  std::string out;
  char buffer[1 << 16];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe.get())) > 0) out.append(buffer, n);
  return out;
}

int64_t big_endian(const std::string& bytes, size_t at) {
  int64_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(bytes.at(at + i));
  return v;
}

// An IDX file of unsigned bytes (magic 0x0801 labels, 0x0803 images) as a uint8 tensor.
torch::Tensor read_idx(const std::string& path) {
  const std::string bytes = read_maybe_gz(path);
  if (bytes.size() < 8 || bytes[0] != 0 || bytes[1] != 0 || bytes[2] != 0x08) throw std::runtime_error(path + ": not an IDX file of bytes");
  const int dims = bytes[3];
  std::vector<int64_t> shape;
  int64_t count = 1;
  for (int d = 0; d < dims; ++d) {
    shape.push_back(big_endian(bytes, 4 + 4 * static_cast<size_t>(d)));
    count *= shape.back();
  }
  const size_t offset = 4 + 4 * static_cast<size_t>(dims);
  if (bytes.size() != offset + static_cast<size_t>(count)) throw std::runtime_error(path + ": truncated or too long");
  torch::Tensor t = torch::empty(shape, torch::kUInt8);
  std::copy(bytes.begin() + static_cast<std::ptrdiff_t>(offset), bytes.end(), t.data_ptr<uint8_t>());
  return t;
}

core::ImageSet read_set(const std::string& dir, const std::string& prefix) {
  core::ImageSet s;
  s.images = read_idx(dir + "/" + prefix + "-images-idx3-ubyte");
  s.labels = read_idx(dir + "/" + prefix + "-labels-idx1-ubyte").to(torch::kInt64);
  if (s.images.dim() != 3 || s.labels.size(0) != s.images.size(0)) throw std::runtime_error(dir + ": " + prefix + " images and labels disagree");
  s.images = s.images.unsqueeze(3);  // N x H x W x 1: greyscale, stored at the network's size
  return s;
}

// P classes x K samples per batch; every sample visited about once an epoch (a shuffled
// queue per class, refilled when empty).
class BalancedSampler {
 public:
  BalancedSampler(const torch::Tensor& labels, int64_t classes, int64_t per_class, uint64_t seed)
      : classes_(classes), per_class_(per_class), random_(seed) {
    const auto* y = labels.data_ptr<int64_t>();
    for (int64_t i = 0; i < labels.numel(); ++i) members_[y[i]].push_back(i);
    for (auto& [label, m] : members_) labels_.push_back(label);
    classes_ = std::min<int64_t>(classes_, static_cast<int64_t>(labels_.size()));
  }
  int64_t batch_size() const { return classes_ * per_class_; }
  torch::Tensor next() {
    std::vector<int64_t> chosen = labels_;
    std::shuffle(chosen.begin(), chosen.end(), random_);
    std::vector<int64_t> batch;
    for (int64_t c = 0; c < classes_; ++c) {
      auto& queue = queues_[chosen[static_cast<size_t>(c)]];
      for (int64_t k = 0; k < per_class_; ++k) {
        if (queue.empty()) {
          queue = members_[chosen[static_cast<size_t>(c)]];
          std::shuffle(queue.begin(), queue.end(), random_);
        }
        batch.push_back(queue.back());
        queue.pop_back();
      }
    }
    return torch::tensor(batch, torch::kInt64);
  }

 private:
  int64_t classes_, per_class_;
  std::mt19937_64 random_;
  std::map<int64_t, std::vector<int64_t>> members_, queues_;
  std::vector<int64_t> labels_;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

constexpr int kSyncProbeSteps = 3;

bool sync_probe_available(const torch::Device& device) {
#ifdef SEMIHARD_CUDA_HEADERS
  return device.is_cuda();
#else
  (void)device;
  return false;
#endif
}

// kSyncProbeSteps training steps under CUDA's sync debug mode set to error: "none", or the
// first line of the error the first synchronising call raised.
template <typename Sampler>
std::string sync_probe(core::Trainer& trainer, Sampler& sampler) {
  std::string outcome = "none";
#ifdef SEMIHARD_CUDA_HEADERS
  c10::cuda::device_synchronize();
  c10::cuda::warning_state().set_sync_debug_mode(c10::cuda::SyncDebugMode::L_ERROR);
  try {
    for (int i = 0; i < kSyncProbeSteps; ++i) (void)trainer.train_step(sampler.next());
  } catch (const std::exception& e) {
    const std::string what = e.what();
    outcome = what.substr(0, what.find('\n'));
  }
  c10::cuda::warning_state().set_sync_debug_mode(c10::cuda::SyncDebugMode::L_DISABLED);
#else
  (void)trainer, (void)sampler;
#endif
  return outcome;
}

int main(int argc, char** argv) {
  std::map<std::string, std::string> a = {
      {"backbone", "convnet"}, {"dim", "128"}, {"frozen-epochs", "1"}, {"frozen-lr", "1e-2"}, {"epochs", "4"},
      {"lr", "1e-3"}, {"classes", "8"}, {"per-class", "16"}, {"rotation", "10"}, {"scale", "0.1"},
      {"translate", "0.1"}, {"device", "auto"}, {"seed", "0"}, {"k", "5"}, {"epoch-steps", "0"}, {"threads", "0"},
      {"precision", "fp32"}, {"steps", "0"}, {"warmup", "5"}, {"stem", "small"}, {"pool", "avg"}, {"dropout", "0"}};
  bool flip = false, augment = true, head_bn = false;
  std::string data;
  for (int i = 1; i < argc; ++i) {
    const std::string key = argv[i];
    if (key == "--flip") flip = true;
    else if (key == "--no-augment") augment = false;
    else if (key == "--head-bn") head_bn = true;
    else if (key == "--data" && i + 1 < argc) data = argv[++i];
    else if (key.rfind("--", 0) == 0 && a.count(key.substr(2)) && i + 1 < argc) a[key.substr(2)] = argv[++i];
    else {
      std::fprintf(stderr, "semihard_train_run: unknown argument %s (see the comment at the top of native/tools/train_run.cc)\n", key.c_str());
      return 2;
    }
  }
  if (data.empty()) {
    std::fprintf(stderr, "usage: semihard_train_run --data DIR [options]\n");
    return 2;
  }
  try {
    if (std::stoi(a["threads"]) > 0) torch::set_num_threads(std::stoi(a["threads"]));
    core::TrainerOptions o;
    o.network.backbone = core::parse_backbone(a["backbone"]);
    o.network.dim = std::stoll(a["dim"]);
    o.network.stem = core::parse_name(core::kStemNames, a["stem"], "stem");
    o.network.head.pool = core::parse_name(core::kPoolNames, a["pool"], "pool");
    o.network.head.batch_norm = head_bn;
    o.network.head.dropout = std::stod(a["dropout"]);
    o.precision = core::parse_precision(a["precision"]);
    o.augment = augment;
    o.affine.max_rotation_degrees = std::stod(a["rotation"]);
    o.affine.min_scale = 1.0 - std::stod(a["scale"]);
    o.affine.max_scale = 1.0 + std::stod(a["scale"]);
    o.affine.max_translation = std::stod(a["translate"]);
    o.affine.horizontal_flip = flip;
    o.device = core::resolve_device(a["device"]);
    o.seed = std::stoull(a["seed"]);
    const auto t_load = std::chrono::steady_clock::now();
    core::ImageSet train = read_set(data, "train"), valid = read_set(data, "t10k");
    std::printf("data: %lld train, %lld valid images of %lld x %lld (%.1f s); device %s\n",
                static_cast<long long>(train.images.size(0)), static_cast<long long>(valid.images.size(0)),
                static_cast<long long>(train.images.size(1)), static_cast<long long>(train.images.size(2)),
                seconds_since(t_load), o.device.str().c_str());
    const torch::Tensor train_images = train.images, train_labels = train.labels;
    const torch::Tensor valid_images = valid.images, valid_labels = valid.labels;
    core::Trainer trainer(o);
    core::DataOptions data;
    data.train = train;
    data.valid = valid;
    data.geometry.channels = 1;
    data.geometry.stored_height = data.geometry.height = train.images.size(1);
    data.geometry.stored_width = data.geometry.width = train.images.size(2);
    trainer.set_data(data);
    BalancedSampler sampler(train_labels, std::stoll(a["classes"]), std::stoll(a["per-class"]), o.seed);
    const int64_t batch = sampler.batch_size();
    const int64_t steps_per_epoch = (train_labels.numel() + batch - 1) / batch;
    const int64_t max_steps = std::stoll(a["epoch-steps"]);
    if (std::stoll(a["steps"]) > 0) {
      const int64_t steps = std::stoll(a["steps"]);
      const int64_t warmup = std::min<int64_t>(std::stoll(a["warmup"]), steps - 1);
      // On CUDA, kSyncProbeSteps more steps after the timed ones run under CUDA's sync debug
      // mode set to error: "SYNCS none", or the first synchronising call (fp16 has one by design:
      // the scaler's decision to skip a step).
      const bool probe = sync_probe_available(o.device);
      trainer.begin_phase(core::Freeze::kNone, std::stod(a["lr"]), steps + (probe ? kSyncProbeSteps : 0));
      auto t0 = std::chrono::steady_clock::now();
      float loss = 0.0f;
      for (int64_t s = 0; s < steps; ++s) {
        const core::StepResult r = trainer.train_step(sampler.next());
        if (s + 1 == warmup) {
          loss = r.loss_value();  // waits for the device: the timed steps start on an empty queue
          t0 = std::chrono::steady_clock::now();
        }
        if (s + 1 == steps) loss = r.loss_value();
      }
      const double seconds = seconds_since(t0);
      std::printf("last loss %.4f\n", loss);
      std::printf("RESULT images_per_s=%.1f steps=%lld precision=%s device=%s\n",
                  static_cast<double>((steps - std::max<int64_t>(warmup, 0)) * batch) / seconds, static_cast<long long>(steps),
                  a["precision"].c_str(), o.device.str().c_str());
      std::printf("SYNCS %s\n", probe ? sync_probe(trainer, sampler).c_str() : "n/a (not CUDA, or built without the CUDA headers)");
      return 0;
    }
    const torch::Tensor valid_order = torch::randperm(valid_labels.numel(), torch::TensorOptions().dtype(torch::kInt64));
    struct Phase { core::Freeze freeze; int64_t epochs; double lr; };
    const Phase phases[] = {{core::Freeze::kBackbone, std::stoll(a["frozen-epochs"]), std::stod(a["frozen-lr"])},
                            {core::Freeze::kNone, std::stoll(a["epochs"]), std::stod(a["lr"])}};
    const auto t_train = std::chrono::steady_clock::now();
    int64_t total_steps = 0;
    for (int p = 0; p < 2; ++p) {
      if (phases[p].epochs <= 0) continue;
      const int64_t epoch_steps = max_steps > 0 ? std::min(max_steps, steps_per_epoch) : steps_per_epoch;
      trainer.begin_phase(phases[p].freeze, phases[p].lr, epoch_steps * phases[p].epochs);
      for (int64_t e = 0; e < phases[p].epochs; ++e) {
        const auto t_epoch = std::chrono::steady_clock::now();
        double sum = 0;
        for (int64_t s = 0; s < epoch_steps; ++s) sum += trainer.train_step(sampler.next()).loss_value();
        total_steps += epoch_steps;
        double valid_sum = 0;
        int64_t valid_batches = 0;
        for (int64_t start = 0; start + batch <= valid_order.numel(); start += batch, ++valid_batches) {
          valid_sum += trainer.valid_loss(valid_order.narrow(0, start, batch));
        }
        std::printf("phase %d epoch %lld: train loss %.4f, valid loss %.4f (%.1f s)\n", p + 1, static_cast<long long>(e + 1),
                    sum / static_cast<double>(epoch_steps), valid_batches ? valid_sum / static_cast<double>(valid_batches) : 0.0,
                    seconds_since(t_epoch));
        std::fflush(stdout);
      }
    }
    std::printf("trained %lld steps in %.1f s\n", static_cast<long long>(total_steps), seconds_since(t_train));
    const auto t_eval = std::chrono::steady_clock::now();
    const torch::Tensor train_x = trainer.embed(train_images).to(o.device);
    const torch::Tensor valid_x = trainer.embed(valid_images).to(o.device);
    const core::EmbeddingMetrics m = core::evaluate_embeddings(train_x, train_labels, valid_x, valid_labels, std::stoll(a["k"]));
    std::printf("kNN accuracy (k=%s) %.2f%%  linear %.2f%%  P@1 %.2f%%  R-precision %.2f%%  MAP@R %.2f%%  (%.1f s)\n",
                a["k"].c_str(), 100 * m.knn_accuracy, 100 * m.linear_accuracy, 100 * m.precision_at_1, 100 * m.r_precision,
                100 * m.map_at_r, seconds_since(t_eval));
    for (const auto& c : m.per_class) {
      std::printf("  class %lld: kNN %.2f%% of %lld\n", static_cast<long long>(c.label), 100 * c.knn_accuracy,
                  static_cast<long long>(c.count));
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "semihard_train_run: %s\n", e.what());
    return 1;
  }
}
