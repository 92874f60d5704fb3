// Dynamic loss scaling for float16 training (torch.amp.GradScaler's algorithm): the loss is
// multiplied by a scale before backward so that small gradients survive float16; the
// gradients are divided by it again before clipping and the optimiser step; a step whose
// gradients hold an inf or NaN is skipped and the scale halved (backoff_factor); after
// growth_interval clean steps in a row the scale doubles (growth_factor). The scale and the
// count of clean steps live on the training device and travel in the trainer's saved state, so
// a resumed run scales as the uninterrupted one. A disabled scaler (fp32, bf16) does nothing.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/serialize/archive.h>
#include <torch/types.h>

namespace semihard::core {

struct GradScalerOptions {
  double init_scale = 65536.0;
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  int64_t growth_interval = 2000;
};

class GradScaler {
 public:
  GradScaler() = default;  // disabled
  GradScaler(const torch::Device& device, const GradScalerOptions& options);

  bool enabled() const { return scale_.defined(); }
  // loss x scale (float32); the loss itself when disabled.
  torch::Tensor scale(const torch::Tensor& loss) const;
  // Divides the defined gradients of `params` by the scale in place (on their device, no
  // host sync) and records whether any of them holds an inf or NaN.
  void unscale(const std::vector<torch::Tensor>& params);
  // Whether the last unscale found every gradient finite: reads one flag from the device
  // (the one host sync of an fp16 step, as torch.amp.GradScaler.step has). True when disabled.
  bool step_allowed() const;
  // After the step (taken or skipped): backs off on an inf or NaN, grows after enough clean steps.
  void update();
  double current_scale() const;

  // Keys "grad_scale" and "grad_scale_growth" (nothing when disabled).
  void save(torch::serialize::OutputArchive& archive) const;
  // Takes them back when the state has them (a state saved without fp16 does not: the scale
  // starts at init_scale). Nothing when disabled.
  void load(torch::serialize::InputArchive& archive);

 private:
  GradScalerOptions options_;
  torch::Tensor scale_;           // 1 float32
  torch::Tensor growth_tracker_;  // 1 int32: clean steps in a row
  torch::Tensor found_inf_;       // 1 float32: 1 when the last unscale met an inf or NaN
};

// Scales the defined gradients of `params` so that their global L2 norm is at most
// max_norm: torch::nn::utils::clip_grad_norm_'s operations and numbers (each gradient's norm,
// the norm of those, the factor min(1, max_norm / (norm + 1e-6))), the factor kept a tensor
// (clip_grad_norm_ reads the norm back to the host: a sync every step).
void clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm);

}  // namespace semihard::core
