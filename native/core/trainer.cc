#include "trainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <c10/core/DeviceGuard.h>

#include <algorithm>
#include <cmath>

#include "errors.h"

namespace semihard::core {
namespace {

void check_set(const ImageSet& set, const ImageGeometry& g, const char* which) {
  TORCH_CHECK(set.labels.dim() == 1 && set.labels.scalar_type() == torch::kInt64, which, " labels must be N int64");
  if (set.streamed()) return;
  const torch::Tensor& x = set.images;
  TORCH_CHECK(x.dim() == 4 && x.scalar_type() == torch::kUInt8 && x.size(1) == g.stored_height &&
                  x.size(2) == g.stored_width && x.size(3) == g.channels,
              which, " images must be N x ", g.stored_height, " x ", g.stored_width, " x ", g.channels, " uint8, got ",
              x.sizes(), " ", x.scalar_type());
  TORCH_CHECK(set.labels.size(0) == x.size(0), which, " labels must be one per image");
}

}  // namespace

Trainer::Trainer(const TrainerOptions& options)
    : options_(options), generator_(at::make_generator<at::CPUGeneratorImpl>(options.seed + 1)) {
  check_affine_range(options.affine);
  TORCH_CHECK(options.channels == 1 || options.channels == 3, "Trainer: channels must be 1 or 3, got ", options.channels);
  const int64_t input_channels = options.network.in_channels;
  TORCH_CHECK(input_channels == options.channels || (options.channels == 1 && input_channels == 3), "Trainer: a network of ",
              input_channels, " input channels cannot take images of ", options.channels);
  if (options.crop) check_crop_range(*options.crop);
  geometry_.channels = options.channels;
  normalisation_.mean.assign(input_channels, 0.0f);
  normalisation_.std.assign(input_channels, 1.0f);
  torch::manual_seed(options.seed);  // the model's initial weights
  model_ = EmbeddingNet(options.network);
  model_->set_batch_norm_statistics(options.batch_norm);
  const c10::OptionalDeviceGuard guard(cuda_device(options.device));
  model_->to(options.device);
  if (options.device.is_cuda()) {
    at::globalContext().setBenchmarkCuDNN(true);
    if (is_resnet(options.network.backbone)) model_->set_channels_last(true);
  }
  if (options.precision == Precision::kFloat16) scaler_ = GradScaler(options.device, GradScalerOptions{});
}

void Trainer::set_data(DataOptions data) {
  const c10::OptionalDeviceGuard guard(cuda_device(options_.device));
  check_geometry(data.geometry);
  TORCH_CHECK(data.geometry.channels == options_.channels, "set_data: the images have ", data.geometry.channels,
              " channels but the network takes ", options_.channels);
  TORCH_CHECK(data.train.present() && data.train.labels.size(0) > 0, "the train set is empty");
  check_set(data.train, data.geometry, "train");
  if (data.valid.present()) check_set(data.valid, data.geometry, "valid");
  if (data.normalisation) {
    check_normalisation(*data.normalisation, options_.network.in_channels);
    normalisation_ = *data.normalisation;
  } else {
    TORCH_CHECK(!data.train.streamed(), "set_data: the train set's own normalisation needs its images, but they are streamed");
    normalisation_ = pixel_statistics(data.train.images, options_.network.in_channels);
  }
  geometry_ = data.geometry;
  train_ = std::move(data.train);
  valid_ = std::move(data.valid);
  train_.images = device_resident(train_.images, options_.device);
  valid_.images = device_resident(valid_.images, options_.device);
  train_feed_.reset();
  valid_feed_.reset();
}

torch::Tensor Trainer::rows(Split split, const torch::Tensor& indices) {
  const ImageSet& set = data_set(split);
  if (!set.streamed()) return set.images.index_select(0, upload(indices, set.images.device()));
  torch::Tensor fed = feed(split).pop();
  TORCH_CHECK(fed.dim() == 4 && fed.size(0) == indices.size(0), "the fed batch holds ", fed.dim() == 4 ? fed.size(0) : -1,
              " images but this step embeds ", indices.size(0), " rows of the ", split == Split::kTrain ? "train" : "valid",
              " set");
  TORCH_CHECK(fed.scalar_type() == torch::kUInt8 && fed.size(1) == geometry_.stored_height &&
                  fed.size(2) == geometry_.stored_width && fed.size(3) == geometry_.channels,
              "the fed images must be N x ", geometry_.stored_height, " x ", geometry_.stored_width, " x ",
              geometry_.channels, " uint8");
  return fed;
}

void Trainer::begin_phase(Freeze freeze, double max_lr, int64_t total_steps, double backbone_lr_factor) {
  TORCH_CHECK(backbone_lr_factor > 0 && std::isfinite(backbone_lr_factor), "begin_phase: the backbone's rate factor must be "
              "positive, got ", backbone_lr_factor);
  freeze_ = freeze;
  backbone_lr_factor_ = backbone_lr_factor;
  phase_begun_ = true;
  model_->set_freeze(freeze);
  auto adam = torch::optim::AdamWOptions(max_lr).weight_decay(options_.weight_decay);
  std::vector<torch::Tensor> body = model_->trainable_backbone_parameters();
  backbone_group_ = -1;
  if (backbone_lr_factor == 1.0 || body.empty()) {
    // One group, as before rates per group existed (states saved then resume into it).
    optimizer_ = std::make_unique<torch::optim::AdamW>(model_->trainable_parameters(), adam);
  } else {
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(body, std::make_unique<torch::optim::AdamWOptions>(adam));
    groups.emplace_back(model_->trainable_head_parameters(), std::make_unique<torch::optim::AdamWOptions>(adam));
    optimizer_ = std::make_unique<torch::optim::AdamW>(std::move(groups), adam);
    backbone_group_ = 0;
  }
  schedule_ = OneCycle{};
  schedule_.max_lr = max_lr;
  schedule_.total_steps = std::max<int64_t>(total_steps, 1);
  step_ = 0;
  collapse_.reset();
}

void Trainer::connect(const CommunicatorOptions& options) {
  const c10::OptionalDeviceGuard guard(cuda_device(options_.device));
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

StopWish Trainer::any_rank_stops(StopWish wish) {
  if (!distributed()) return wish;
  const c10::OptionalDeviceGuard guard(cuda_device(options_.device));
  torch::Tensor flag = torch::full({1}, static_cast<float>(wish), torch::TensorOptions().device(options_.device));
  communicator_->all_reduce_max_(flag);
  return static_cast<StopWish>(static_cast<int64_t>(flag.item<float>()));
}

double Trainer::collapsed_loss() const {
  // Every distance 0: the hinge's terms are the margin; the soft hard loss's log1p(exp(0)).
  return options_.loss.soft ? std::log(2.0) : static_cast<double>(options_.loss.margin);
}

std::optional<CollapseAlarm> Trainer::observe_collapse(int64_t steps, double spread, double loss) {
  return collapse_.observe(CollapseWindow{steps, spread, loss, collapsed_loss()});
}

std::pair<int64_t, int64_t> Trainer::local_rows(int64_t batch) const {
  const int64_t world = world_size();
  TORCH_CHECK(batch % world == 0, "Trainer: a global batch of ", batch, " rows does not divide by the ", world, " ranks");
  const int64_t n = batch / world;
  return {rank() * n, n};
}

BatchInput Trainer::training_batch(const torch::Tensor& indices, int64_t begin, int64_t rows_here) {
  const TrainTransform transform{options_.affine, options_.crop, geometry_.height, geometry_.width};
  const torch::Tensor local = indices.narrow(0, begin, rows_here);
  const ImageSet& set = train_;
  // Held images are gathered when rows are asked for; a streamed set's next fed batch is these rows.
  torch::Tensor source = set.streamed() ? rows(Split::kTrain, local) : set.images;
  torch::Tensor index = set.streamed() ? torch::Tensor() : upload(local, set.images.device());
  return BatchInput(std::move(source), std::move(index), normalisation_, geometry_, options_.device, options_.augment,
                    transform, indices.size(0), begin, generator_);
}

torch::Tensor Trainer::embed_batch(const torch::Tensor& x, const torch::Tensor& dropout_mask) {
  const AutocastGuard autocast(options_.device, options_.precision);
  return model_->forward(x, dropout_mask).to(torch::kFloat32);
}

StepResult Trainer::train_step(const torch::Tensor& indices, double lr) {
  TORCH_CHECK(optimizer_, "begin_phase must come before train_step");
  const double step_lr = lr > 0 ? lr : schedule_.lr(step_);
  auto& groups = optimizer_->param_groups();
  for (size_t g = 0; g < groups.size(); ++g) {
    auto& o = static_cast<torch::optim::AdamWOptions&>(groups[g].options());
    o.lr(static_cast<int>(g) == backbone_group_ ? step_lr * backbone_lr_factor_ : step_lr);
    o.betas({schedule_.beta1(step_), std::get<1>(o.betas())});
  }
  StepResult r = compute_gradients(indices);
  const c10::OptionalDeviceGuard guard(cuda_device(options_.device));
  r.lr = step_lr;
  if (options_.grad_clip > 0) clip_grad_norm(model_->trainable_parameters(), options_.grad_clip);
  // fp16: a step whose gradients overflowed is skipped (the schedule moves on, as PyTorch's).
  r.stepped = scaler_.step_allowed();
  if (r.stepped) optimizer_->step();
  scaler_.update();
  ++step_;
  return r;
}

float Trainer::valid_loss(const torch::Tensor& indices) {
  TORCH_CHECK(valid_.present(), "no validation set");
  const c10::OptionalDeviceGuard guard(cuda_device(options_.device));
  torch::NoGradGuard no_grad;
  model_->eval();
  const auto [begin, rows_here] = local_rows(indices.size(0));
  const torch::Tensor images = centre_crop(rows(Split::kValid, indices.narrow(0, begin, rows_here)), geometry_);
  torch::Tensor embeddings = embed_batch(network_input(images, normalisation_, options_.device));
  // Every rank scores the whole gathered batch: the same number everywhere, as in one process.
  if (distributed()) embeddings = communicator_->all_gather_rows(embeddings);
  return triplet_loss_with_grad(embeddings, valid_.labels.index_select(0, indices), options_.loss).loss;
}

torch::Tensor Trainer::embed(const torch::Tensor& images) {
  TORCH_CHECK(geometry_.height > 0, "Trainer::embed: the model has no image size yet (no data, no state)");
  const c10::OptionalDeviceGuard guard(cuda_device(options_.device));
  return embed_images(model_, normalisation_, geometry_, options_.device, images, options_.network.dim, options_.precision);
}

}  // namespace semihard::core
