// Training of an EmbeddingNet with a triplet loss: one optimiser step at a time on batches
// the caller chooses (lib/ drives sampling, phases, epochs and checkpoint files), AdamW with
// a one-cycle schedule per phase, seeded augmentation, validation loss, embedding, and the
// whole state as bytes for exact resumption. Images are held (a tensor, possibly an
// ImageStore's) or streamed: fed batch by batch through a BatchFeed while a job runs.
//
// On a CUDA device held images are uploaded once (uint8, network_input.h's device_resident;
// a set over kDeviceImageBytes or one that does not fit stays on the host) and every step
// gathers, converts, normalises and augments its rows there; a step waits for the device
// nowhere: its loss is a device tensor (StepResult), clipping computes its factor as a tensor,
// BatchNorm's count stays a tensor. Only fp16 reads one flag a step (the skipped-step test).
// Each public method makes the trainer's CUDA device current on the calling thread (a worker
// thread's current device is otherwise device 0). ResNets on CUDA run channels-last, and
// cuDNN's autotuner is switched on (process-wide: training inputs have one size).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <torch/torch.h>

#include "augment.h"
#include "batch_feed.h"
#include "batch_input.h"
#include "collapse_detector.h"
#include "communicator.h"
#include "embedding_net.h"
#include "image_geometry.h"
#include "names.h"
#include "network_input.h"
#include "grad_scaler.h"
#include "one_cycle.h"
#include "precision.h"
#include "random_resized_crop.h"
#include "triplet_loss.h"

namespace semihard::core {

// A trainer's two data sets.
enum class Split { kTrain, kValid };
inline constexpr Named<Split> kSplitNames[] = {{"train", Split::kTrain}, {"valid", Split::kValid}};

// N int64 labels on the CPU, and the images: N x stored_height x stored_width x C uint8
// (0..255, channels interleaved) on the CPU, or undefined: streamed (fed batch by batch).
// No labels: no such set.
struct ImageSet {
  torch::Tensor images;
  torch::Tensor labels;
  bool present() const { return labels.defined(); }
  bool streamed() const { return labels.defined() && !images.defined(); }
};

struct DataOptions {
  ImageSet train, valid;
  ImageGeometry geometry;
  // Per-channel; none: pixel_statistics of the train images (which must be held).
  std::optional<Normalisation> normalisation;
};

// How a chunked step (TrainerOptions::chunk) back-propagates: GradCache (grad_cache.h), or
// testing hooks: kReference keeps every chunk's forward and back-propagates once through the
// loss over their concatenation (what GradCache must equal, with any BatchNorm); kFreshMasks
// draws another dropout mask for pass 2 (what a replay that lost the masks would compute).
enum class ChunkedStep { kGradCache, kReference, kFreshMasks };
inline constexpr Named<ChunkedStep> kChunkedStepNames[] = {
    {"gradcache", ChunkedStep::kGradCache}, {"reference", ChunkedStep::kReference}, {"fresh-masks", ChunkedStep::kFreshMasks}};

struct TrainerOptions {
  // The network; its in_channels: the images' channels, or 3 for 1-channel images (each
  // replicated to three, network_input.h).
  NetworkOptions network;
  int64_t channels = 1;  // of the images (1 or 3)
  // A random resized crop of training images (with augment): none, the centre crop.
  std::optional<CropRange> crop;
  BatchNormStatistics batch_norm = BatchNormStatistics::kSync;
  TripletOptions loss;
  double weight_decay = 1e-2;
  double grad_clip = 0.0;  // max global gradient norm; 0 = off
  bool augment = true;
  AffineRange affine;
  torch::Device device{torch::kCPU};
  uint64_t seed = 0;
  // The network's forward in training, validation and embedding (precision.h); the triplet
  // loss always in float32; fp16 trains with a dynamic gradient scaler (grad_scaler.h).
  Precision precision = Precision::kFloat32;
  // Gradient-cached batches (grad_cache.h): each rank's rows of a training batch embedded
  // `chunk` at a time, twice (without, then with autograd); 0 (or a chunk of at least the
  // rows): one forward of the whole batch.
  int64_t chunk = 0;
  ChunkedStep chunked_step = ChunkedStep::kGradCache;
  // What each step's loss mined (StepResult::stats). On by default; off only to time its cost.
  bool stats = true;
};

struct StepResult {
  // 0-dim float32 on the training device; reading it (loss_value) waits for the step.
  torch::Tensor loss;
  double lr = 0.0;
  int64_t positive_pairs = 0;
  // fp16: false when the step was skipped (a gradient held an inf or NaN); known after train_step.
  bool stepped = true;
  // What the step's loss mined over the whole global batch (the ranks' shares summed): the
  // device form of triplet_stats.h (kTripletStatsFields float64 on the training device,
  // nothing read back); undefined with options.stats off. Sum steps with add_, read once.
  torch::Tensor stats;
  // NaN or Infinity (non-finite embeddings) is refused as the loss refuses them.
  float loss_value() const { return read_training_loss(loss); }
};

// Why a run stops between steps, as every rank's wish is combined (the largest wins).
enum class StopWish : int64_t { kNone = 0, kCancel = 1, kCollapse = 2 };

class Trainer {
 public:
  explicit Trainer(const TrainerOptions& options);

  // Joins a group of training processes (blocks until all have joined) and takes rank 0's
  // weights and buffers. From then on, every rank calls train_step / valid_loss /
  // compute_gradients / any_rank_stops in the same order with the same global batch; each
  // embeds its own contiguous share of the batch's rows, the loss mines over the gathered
  // global batch, and gradients are exactly those of one process holding the whole batch.
  void connect(const CommunicatorOptions& options);
  bool distributed() const { return communicator_ && communicator_->world_size() > 1; }
  int64_t rank() const { return communicator_ ? communicator_->rank() : 0; }
  int64_t world_size() const { return communicator_ ? communicator_->world_size() : 1; }
  // Whether any rank asks to stop (each passes its own wish): all ranks then stop together,
  // for the largest wish of any rank.
  StopWish any_rank_stops(StopWish wish);

  // Copies nothing: the tensors are kept. Streamed sets take each step's images from feed().
  // Empties the feeds.
  void set_data(DataOptions data);
  // Starts a phase: what learns, a fresh AdamW over it, and the phase's one-cycle schedule. The
  // body's parameters (its BatchNorm layers included) learn at backbone_lr_factor x the
  // schedule's rate throughout, the head's at the rate (fastai's discriminative rates).
  void begin_phase(Freeze freeze, double max_lr, int64_t total_steps, double backbone_lr_factor = 1.0);
  // One optimiser step on the train images at `indices` (int64, CPU), at the schedule's
  // learning rate, or at `lr` when it is given (the range test). A streamed set's images are
  // the next batch of its feed: this rank's rows of the batch, in order (it waits for them).
  // Training images are the centre crop of the network's size, or with augment the crop
  // (random resized when options.crop is set), flip and affine of augment.h.
  StepResult train_step(const torch::Tensor& indices, double lr = -1.0);
  // The loss of the train images at `indices` and its gradient, left in the trainable
  // parameters' .grad (summed over ranks; unscaled with fp16), without an optimiser step. Augmentation draws
  // from the generator as train_step does, then the head's dropout mask (the global batch's,
  // this rank's rows) when it has dropout. With options.chunk, the rows are embedded in
  // chunks (grad_cache.h); the loss and mining still see the whole batch.
  StepResult compute_gradients(const torch::Tensor& indices);
  // The loss on the validation images at `indices` (centre-cropped), in eval mode, without learning.
  float valid_loss(const torch::Tensor& indices);
  // Embeddings of N x stored_height x stored_width x C images of the geometry (uint8 0..255,
  // or float32 0..1), centre-cropped: N x dim float32 on CPU.
  torch::Tensor embed(const torch::Tensor& images);

  // A streamed set's queue of batches (thread-safe: fed while a job runs).
  BatchFeed& feed(Split split) { return split == Split::kTrain ? train_feed_ : valid_feed_; }
  const ImageSet& data_set(Split split) const { return split == Split::kTrain ? train_ : valid_; }

  // Everything a resumed run needs, as bytes: weights and buffers, the optimiser's state,
  // the schedule position, the augmentation generator, the normalisation and the geometry.
  std::string save_state();
  // Restores save_state's bytes. With `restore_optimizer`, also the optimiser's state and the
  // schedule position: the current phase must then have been begun the same way. Without
  // it (resuming at the start of a phase), the phase starts fresh as begin_phase made it.
  // The normalisation and geometry become the state's; after set_data, its geometry must be
  // the state's.
  void load_state(const std::string& bytes, bool restore_optimizer = true);

  // The current phase as begin_phase set it (begun == false before the first).
  struct PhaseInfo {
    bool begun = false;
    Freeze freeze = Freeze::kNone;
    OneCycle schedule;
    double backbone_lr_factor = 1.0;
  };
  PhaseInfo phase_info() const { return {phase_begun_, freeze_, schedule_, backbone_lr_factor_}; }
  // Back to `state` (save_state's bytes taken while `phase` was current): weights,
  // statistics, generator, and the phase with its optimiser and position.
  void restore(const std::string& state, const PhaseInfo& phase);

  // Collapse detection over the training's report windows (collapse_detector.h): the caller
  // feeds each window's steps, mean spread and mean loss; the collapsed loss is this trainer's
  // (the margin; log 2 for the soft hard loss). Forgotten at begin_phase.
  std::optional<CollapseAlarm> observe_collapse(int64_t steps, double spread, double loss);
  double collapsed_loss() const;

  const TrainerOptions& options() const { return options_; }
  EmbeddingNet& model() { return model_; }
  const torch::Device& device() const { return options_.device; }
  int64_t phase_step() const { return step_; }
  // The images' geometry (height 0 before set_data or load_state).
  const ImageGeometry& geometry() const { return geometry_; }
  const Normalisation& normalisation() const { return normalisation_; }

 private:
  // This rank's rows [begin, begin + n) of a global batch of `batch` rows.
  std::pair<int64_t, int64_t> local_rows(int64_t batch) const;
  // The stored-size images of this rank's rows: selected (on the device holding them), or the
  // feed's next batch (checked).
  torch::Tensor rows(Split split, const torch::Tensor& indices);
  // The network's input for this rank's rows of a training batch (cropped, normalised,
  // augmented), made on demand (batch_input.h); its augmentation drawn now.
  BatchInput training_batch(const torch::Tensor& indices, int64_t begin, int64_t rows_here);
  // The network's forward in the trainer's precision; the embeddings in float32.
  torch::Tensor embed_batch(const torch::Tensor& x, const torch::Tensor& dropout_mask = {});
  // trainer_gradients.cc: the head's dropout mask for this rank's rows of a batch (undefined
  // without dropout); this rank's share of the loss of the (gathered) global batch; a chunked
  // step's loss share, its parameter gradients accumulated (scaled as the scaler scales).
  torch::Tensor dropout_mask(int64_t batch, int64_t begin, int64_t rows_here);
  // `stats` (options.stats): set to the share's device stats.
  torch::Tensor loss_share(const torch::Tensor& embeddings, const torch::Tensor& labels, const LabelCounts& counts,
                           int64_t begin, int64_t rows_here, torch::Tensor& stats);
  torch::Tensor chunked_backward(const BatchInput& x, const torch::Tensor& mask, const torch::Tensor& labels,
                                 const LabelCounts& counts, int64_t batch, int64_t begin, int64_t rows_here,
                                 torch::Tensor& stats);

  TrainerOptions options_;
  EmbeddingNet model_{nullptr};
  at::Generator generator_;
  ImageSet train_, valid_;
  ImageGeometry geometry_;
  Normalisation normalisation_;
  BatchFeed train_feed_, valid_feed_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  GradScaler scaler_;  // enabled with fp16
  OneCycle schedule_;
  Freeze freeze_ = Freeze::kNone;
  double backbone_lr_factor_ = 1.0;
  // The optimiser's group of the body's parameters when it has its own rate; -1: one group.
  int backbone_group_ = -1;
  bool phase_begun_ = false;
  int64_t step_ = 0;
  CollapseDetector collapse_;
  std::unique_ptr<Communicator> communicator_;  // the model's BatchNorm layers hold a pointer to it
};

}  // namespace semihard::core
