// Training of an EmbeddingNet with a triplet loss: one optimiser step at a time on batches
// the caller chooses (lib/ drives sampling, phases, epochs and checkpoint files), AdamW with
// a one-cycle schedule per phase, seeded augmentation, validation loss, embedding, and the
// whole state as bytes for exact resumption.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <torch/torch.h>

#include "augment.h"
#include "communicator.h"
#include "embedding_net.h"
#include "one_cycle.h"
#include "triplet_loss.h"

namespace semihard::core {

// Greyscale images as N x H x W uint8 (0..255) with N int64 labels, on the CPU.
struct ImageSet {
  torch::Tensor images;
  torch::Tensor labels;
};

struct TrainerOptions {
  Backbone backbone = Backbone::kConvNet;
  int64_t dim = 128;
  BatchNormStatistics batch_norm = BatchNormStatistics::kSync;
  TripletOptions loss;
  double weight_decay = 1e-2;
  double grad_clip = 0.0;  // max global gradient norm; 0 = off
  bool augment = true;
  AffineRange affine;
  torch::Device device{torch::kCPU};
  uint64_t seed = 0;
};

struct StepResult {
  float loss = 0.0f;
  double lr = 0.0;
  int64_t positive_pairs = 0;
};

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
  // Whether any rank asks to stop (each passes its own wish): all ranks then stop together.
  bool any_rank_stops(bool stop);

  // Copies nothing: the tensors are kept. The normalisation (mean, std) comes from `train`.
  void set_data(ImageSet train, ImageSet valid);
  // Starts a phase: what learns, a fresh AdamW over it, and the phase's one-cycle schedule.
  void begin_phase(Freeze freeze, double max_lr, int64_t total_steps);
  // One optimiser step on the train images at `indices` (int64, CPU), at the schedule's
  // learning rate, or at `lr` when it is given (the range test).
  StepResult train_step(const torch::Tensor& indices, double lr = -1.0);
  // The loss of the train images at `indices` and its gradient, left in the trainable
  // parameters' .grad (summed over ranks), without an optimiser step. Augmentation draws
  // from the generator as train_step does.
  StepResult compute_gradients(const torch::Tensor& indices);
  // The loss on the validation images at `indices`, in eval mode, without learning.
  float valid_loss(const torch::Tensor& indices);
  // Embeddings of N x H x W images (uint8 0..255, or float32 0..1): N x dim float32 on CPU.
  torch::Tensor embed(const torch::Tensor& images);

  // Everything a resumed run needs, as bytes: weights and buffers, the optimiser's state,
  // the schedule position, the augmentation generator and the normalisation.
  std::string save_state();
  // Restores save_state's bytes. With `restore_optimizer`, also the optimiser's state and the
  // schedule position: the current phase must then have been begun the same way. Without
  // it (resuming at the start of a phase), the phase starts fresh as begin_phase made it.
  void load_state(const std::string& bytes, bool restore_optimizer = true);

  // The current phase as begin_phase set it (begun == false before the first).
  struct PhaseInfo {
    bool begun = false;
    Freeze freeze = Freeze::kNone;
    OneCycle schedule;
  };
  PhaseInfo phase_info() const { return {phase_begun_, freeze_, schedule_}; }
  // Back to `state` (save_state's bytes taken while `phase` was current): weights,
  // statistics, generator, and the phase with its optimiser and position.
  void restore(const std::string& state, const PhaseInfo& phase);

  EmbeddingNet& model() { return model_; }
  int64_t phase_step() const { return step_; }
  int64_t image_height() const { return height_; }
  int64_t image_width() const { return width_; }

 private:
  torch::Tensor to_input(const torch::Tensor& images) const;  // N x H x W -> normalised N x 1 x H x W
  // This rank's rows [begin, begin + n) of a global batch of `batch` rows.
  std::pair<int64_t, int64_t> local_rows(int64_t batch) const;

  TrainerOptions options_;
  EmbeddingNet model_{nullptr};
  at::Generator generator_;
  ImageSet train_, valid_;
  int64_t height_ = 0, width_ = 0;
  float mean_ = 0.0f, std_ = 1.0f;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  OneCycle schedule_;
  Freeze freeze_ = Freeze::kNone;
  bool phase_begun_ = false;
  int64_t step_ = 0;
  std::unique_ptr<Communicator> communicator_;  // the model's BatchNorm layers hold a pointer to it
};

}  // namespace semihard::core
