#include "trainer.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "errors.h"

namespace semihard::core {
namespace {

constexpr int64_t kStateFormat = 1;
constexpr int64_t kEmbedChunk = 1024;

void check_images(const ImageSet& set, const char* which) {
  TORCH_CHECK(set.images.dim() == 3 && set.images.scalar_type() == torch::kUInt8,
              which, " images must be N x H x W uint8");
  TORCH_CHECK(set.labels.dim() == 1 && set.labels.size(0) == set.images.size(0), which,
              " labels must be one per image");
}

}  // namespace

Trainer::Trainer(const TrainerOptions& options)
    : options_(options), generator_(at::make_generator<at::CPUGeneratorImpl>(options.seed + 1)) {
  torch::manual_seed(options.seed);  // the model's initial weights
  model_ = EmbeddingNet(options.backbone, options.dim);
  model_->to(options.device);
}

void Trainer::set_data(ImageSet train, ImageSet valid) {
  check_images(train, "train");
  if (valid.images.defined()) check_images(valid, "valid");
  TORCH_CHECK(train.images.size(0) > 0, "the train set is empty");
  height_ = train.images.size(1);
  width_ = train.images.size(2);
  // Mean and standard deviation of the train pixels (0..1), exactly, in integer sums over
  // chunks of images: no float copy of the whole set.
  int64_t sum = 0, sum_sq = 0;
  constexpr int64_t kChunk = 4096;
  for (int64_t start = 0; start < train.images.size(0); start += kChunk) {
    const torch::Tensor chunk = train.images.narrow(0, start, std::min(kChunk, train.images.size(0) - start)).to(torch::kInt64);
    sum += chunk.sum().item<int64_t>();
    sum_sq += chunk.square().sum().item<int64_t>();
  }
  const double n = static_cast<double>(train.images.numel());
  const double mean = static_cast<double>(sum) / n / 255.0;
  const double variance = static_cast<double>(sum_sq) / n / (255.0 * 255.0) - mean * mean;
  mean_ = static_cast<float>(mean);
  std_ = static_cast<float>(std::max(std::sqrt(std::max(variance, 0.0)), 1e-6));
  train_ = std::move(train);
  valid_ = std::move(valid);
}

torch::Tensor Trainer::to_input(const torch::Tensor& images) const {
  torch::Tensor x = images.scalar_type() == torch::kUInt8 ? images.to(torch::kFloat32) / 255.0f
                                                          : images.to(torch::kFloat32);
  return ((x - mean_) / std_).unsqueeze(1).to(options_.device);
}

void Trainer::begin_phase(Freeze freeze, double max_lr, int64_t total_steps) {
  freeze_ = freeze;
  phase_begun_ = true;
  model_->set_freeze(freeze);
  auto adam = torch::optim::AdamWOptions(max_lr).weight_decay(options_.weight_decay);
  optimizer_ = std::make_unique<torch::optim::AdamW>(model_->trainable_parameters(), adam);
  schedule_ = OneCycle{};
  schedule_.max_lr = max_lr;
  schedule_.total_steps = std::max<int64_t>(total_steps, 1);
  step_ = 0;
}

StepResult Trainer::train_step(const torch::Tensor& indices, double lr) {
  TORCH_CHECK(optimizer_, "begin_phase must come before train_step");
  TORCH_CHECK(train_.images.defined(), "set_data must come before train_step");
  model_->train();
  StepResult r;
  r.lr = lr > 0 ? lr : schedule_.lr(step_);
  for (auto& group : optimizer_->param_groups()) {
    auto& o = static_cast<torch::optim::AdamWOptions&>(group.options());
    o.lr(r.lr);
    o.betas({schedule_.beta1(step_), std::get<1>(o.betas())});
  }
  torch::Tensor x = to_input(train_.images.index_select(0, indices));
  {
    torch::NoGradGuard no_grad;
    if (options_.augment) x = random_affine(x, generator_, options_.affine);
  }
  torch::Tensor labels = train_.labels.index_select(0, indices);
  torch::Tensor embeddings = model_->forward(x);
  torch::Tensor loss = triplet_loss(embeddings, labels, options_.loss);
  optimizer_->zero_grad();
  loss.backward();
  if (options_.grad_clip > 0) torch::nn::utils::clip_grad_norm_(model_->trainable_parameters(), options_.grad_clip);
  optimizer_->step();
  ++step_;
  r.loss = loss.item<float>();
  r.positive_pairs = count_positive_pairs(labels);
  return r;
}

float Trainer::valid_loss(const torch::Tensor& indices) {
  TORCH_CHECK(valid_.images.defined(), "no validation set");
  torch::NoGradGuard no_grad;
  model_->eval();
  torch::Tensor embeddings = model_->forward(to_input(valid_.images.index_select(0, indices)));
  return triplet_loss_with_grad(embeddings, valid_.labels.index_select(0, indices), options_.loss).loss;
}

torch::Tensor Trainer::embed(const torch::Tensor& images) {
  TORCH_CHECK(images.dim() == 3, "images must be N x H x W");
  torch::NoGradGuard no_grad;
  model_->eval();
  std::vector<torch::Tensor> out;
  for (int64_t start = 0; start < images.size(0); start += kEmbedChunk) {
    const int64_t n = std::min(kEmbedChunk, images.size(0) - start);
    out.push_back(model_->forward(to_input(images.narrow(0, start, n))).to(torch::kCPU));
  }
  if (out.empty()) return torch::empty({0, options_.dim});
  return torch::cat(out);
}

void Trainer::restore(const std::string& state, const PhaseInfo& phase) {
  optimizer_.reset();
  if (phase.begun) {
    begin_phase(phase.freeze, phase.schedule.max_lr, phase.schedule.total_steps);
    load_state(state, /*restore_optimizer=*/true);
  } else {
    load_state(state, /*restore_optimizer=*/false);
    model_->set_freeze(Freeze::kNone);
    phase_begun_ = false;
  }
}

std::string Trainer::save_state() {
  torch::serialize::OutputArchive archive;
  archive.write("format", torch::tensor(kStateFormat));
  torch::serialize::OutputArchive model_archive;
  model_->save(model_archive);
  archive.write("model", model_archive);
  if (optimizer_) {
    torch::serialize::OutputArchive optimizer_archive;
    optimizer_->save(optimizer_archive);
    archive.write("optimizer", optimizer_archive);
  }
  archive.write("step", torch::tensor(step_));
  archive.write("generator", generator_.get_state());
  archive.write("normalisation", torch::tensor({mean_, std_}));
  archive.write("image_size", torch::tensor({height_, width_}));
  std::ostringstream stream;
  archive.save_to(stream);
  return stream.str();
}

void Trainer::load_state(const std::string& bytes, bool restore_optimizer) {
  std::istringstream stream(bytes);
  torch::serialize::InputArchive archive;
  archive.load_from(stream, options_.device);
  torch::Tensor format;
  archive.read("format", format);
  TORCH_CHECK(format.item<int64_t>() == kStateFormat, "unsupported native state format ", format.item<int64_t>());
  torch::serialize::InputArchive model_archive;
  archive.read("model", model_archive);
  model_->load(model_archive);
  if (optimizer_ && restore_optimizer) {
    torch::serialize::InputArchive optimizer_archive;
    archive.read("optimizer", optimizer_archive);
    optimizer_->load(optimizer_archive);
    torch::Tensor step;
    archive.read("step", step);
    step_ = step.item<int64_t>();
  }
  torch::Tensor generator, normalisation, size;
  archive.read("generator", generator);
  archive.read("normalisation", normalisation);
  archive.read("image_size", size);
  generator_.set_state(generator.to(torch::kCPU));
  normalisation = normalisation.to(torch::kCPU);
  mean_ = normalisation[0].item<float>();
  std_ = normalisation[1].item<float>();
  size = size.to(torch::kCPU);
  height_ = size[0].item<int64_t>();
  width_ = size[1].item<int64_t>();
}

}  // namespace semihard::core
