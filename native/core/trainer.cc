#include "trainer.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "collectives_autograd.h"
#include "errors.h"
#include "model_state.h"

namespace semihard::core {
namespace {

void check_images(const ImageSet& set, const char* which) {
  TORCH_CHECK(set.images.dim() == 3 && set.images.scalar_type() == torch::kUInt8,
              which, " images must be N x H x W uint8");
  TORCH_CHECK(set.labels.dim() == 1 && set.labels.size(0) == set.images.size(0), which,
              " labels must be one per image");
}

}  // namespace

Trainer::Trainer(const TrainerOptions& options)
    : options_(options), generator_(at::make_generator<at::CPUGeneratorImpl>(options.seed + 1)) {
  check_affine_range(options.affine);
  torch::manual_seed(options.seed);  // the model's initial weights
  model_ = EmbeddingNet(options.backbone, options.dim);
  model_->set_batch_norm_statistics(options.batch_norm);
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
  return network_input(images, Normalisation{mean_, std_}, options_.device);
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

void Trainer::connect(const CommunicatorOptions& options) {
  TORCH_CHECK(!communicator_, "this trainer is already connected");
  CommunicatorOptions o = options;
  o.device = options_.device;
  communicator_ = std::make_unique<Communicator>(o);
  model_->set_communicator(communicator_.get());
  // Rank 0's weights and statistics everywhere (they agree already when the seeds do).
  torch::NoGradGuard no_grad;
  for (torch::Tensor t : model_->parameters()) {
    torch::Tensor buffer = t.detach().contiguous();
    communicator_->broadcast_(buffer, 0);
    t.copy_(buffer);
  }
  for (torch::Tensor t : model_->buffers()) {
    torch::Tensor buffer = t.contiguous();
    communicator_->broadcast_(buffer, 0);
    t.copy_(buffer);
  }
}

bool Trainer::any_rank_stops(bool stop) {
  if (!distributed()) return stop;
  torch::Tensor flag = torch::full({1}, stop ? 1.0f : 0.0f, torch::TensorOptions().device(options_.device));
  communicator_->all_reduce_max_(flag);
  return flag.item<float>() > 0.0f;
}

std::pair<int64_t, int64_t> Trainer::local_rows(int64_t batch) const {
  const int64_t world = world_size();
  TORCH_CHECK(batch % world == 0, "Trainer: a global batch of ", batch, " rows does not divide by the ", world, " ranks");
  const int64_t n = batch / world;
  return {rank() * n, n};
}

StepResult Trainer::compute_gradients(const torch::Tensor& indices) {
  TORCH_CHECK(optimizer_, "begin_phase must come before train_step");
  TORCH_CHECK(train_.images.defined(), "set_data must come before train_step");
  model_->train();
  const auto [begin, rows] = local_rows(indices.size(0));
  torch::Tensor x = to_input(train_.images.index_select(0, indices.narrow(0, begin, rows)));
  if (options_.augment) {
    // Drawn for the whole global batch on every rank, so the generators stay in step and each
    // image is transformed as it would be in one process.
    torch::NoGradGuard no_grad;
    x = apply_affine(x, draw_affine(indices.size(0), generator_, options_.affine).narrow(0, begin, rows));
  }
  const torch::Tensor labels = train_.labels.index_select(0, indices);
  torch::Tensor embeddings = model_->forward(x);
  optimizer_->zero_grad();
  StepResult r;
  r.positive_pairs = count_positive_pairs(labels);
  if (!distributed()) {
    torch::Tensor loss = triplet_loss(embeddings, labels, options_.loss);
    loss.backward();
    r.loss = loss.item<float>();
    return r;
  }
  // This rank's anchors against the global batch; the gather's backward hands every rank the
  // gradient of the rows it owns, from all ranks' anchors.
  torch::Tensor global = gather_rows(*communicator_, embeddings);
  torch::Tensor share = triplet_loss_share(global, labels, options_.loss, begin, begin + rows);
  share.backward();
  // One all-reduce for every parameter gradient and the loss shares.
  std::vector<torch::Tensor> params = model_->trainable_parameters();
  std::vector<torch::Tensor> flat;
  flat.reserve(params.size() + 1);
  for (const torch::Tensor& p : params) {
    flat.push_back(p.grad().defined() ? p.grad().flatten() : torch::zeros({p.numel()}, p.options()));
  }
  flat.push_back(share.detach().view({1}));
  torch::Tensor buffer = torch::cat(flat);
  communicator_->all_reduce_sum_(buffer);
  int64_t offset = 0;
  for (torch::Tensor& p : params) {
    torch::Tensor g = buffer.narrow(0, offset, p.numel()).view_as(p);
    if (p.grad().defined()) {
      p.mutable_grad().copy_(g);
    } else {
      p.mutable_grad() = g.clone();
    }
    offset += p.numel();
  }
  r.loss = buffer[offset].item<float>();
  return r;
}

StepResult Trainer::train_step(const torch::Tensor& indices, double lr) {
  TORCH_CHECK(optimizer_, "begin_phase must come before train_step");
  const double step_lr = lr > 0 ? lr : schedule_.lr(step_);
  for (auto& group : optimizer_->param_groups()) {
    auto& o = static_cast<torch::optim::AdamWOptions&>(group.options());
    o.lr(step_lr);
    o.betas({schedule_.beta1(step_), std::get<1>(o.betas())});
  }
  StepResult r = compute_gradients(indices);
  r.lr = step_lr;
  if (options_.grad_clip > 0) torch::nn::utils::clip_grad_norm_(model_->trainable_parameters(), options_.grad_clip);
  optimizer_->step();
  ++step_;
  return r;
}

float Trainer::valid_loss(const torch::Tensor& indices) {
  TORCH_CHECK(valid_.images.defined(), "no validation set");
  torch::NoGradGuard no_grad;
  model_->eval();
  const auto [begin, rows] = local_rows(indices.size(0));
  torch::Tensor embeddings = model_->forward(to_input(valid_.images.index_select(0, indices.narrow(0, begin, rows))));
  // Every rank scores the whole gathered batch: the same number everywhere, as in one process.
  if (distributed()) embeddings = communicator_->all_gather_rows(embeddings);
  return triplet_loss_with_grad(embeddings, valid_.labels.index_select(0, indices), options_.loss).loss;
}

torch::Tensor Trainer::embed(const torch::Tensor& images) {
  return embed_images(model_, Normalisation{mean_, std_}, options_.device, images, options_.dim);
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
  torch::serialize::InputArchive archive;
  open_state(bytes, options_.device, archive);
  const ModelState model_state = load_model_state(archive, model_);
  if (optimizer_ && restore_optimizer) {
    torch::serialize::InputArchive optimizer_archive;
    archive.read("optimizer", optimizer_archive);
    optimizer_->load(optimizer_archive);
    torch::Tensor step;
    archive.read("step", step);
    step_ = step.item<int64_t>();
  }
  torch::Tensor generator;
  archive.read("generator", generator);
  generator_.set_state(generator.to(torch::kCPU));
  mean_ = model_state.normalisation.mean;
  std_ = model_state.normalisation.std;
  height_ = model_state.height;
  width_ = model_state.width;
}

}  // namespace semihard::core
