#include "grad_scaler.h"

#include <ATen/ops/_amp_foreach_non_finite_check_and_unscale.h>
#include <ATen/ops/_amp_update_scale.h>

namespace semihard::core {

GradScaler::GradScaler(const torch::Device& device, const GradScalerOptions& options) : options_(options) {
  TORCH_CHECK(options.init_scale > 0 && options.growth_factor > 1 && options.backoff_factor > 0 &&
                  options.backoff_factor < 1 && options.growth_interval > 0,
              "GradScaler: need init_scale > 0, growth_factor > 1, 0 < backoff_factor < 1, growth_interval > 0");
  const auto on = torch::TensorOptions().device(device);
  scale_ = torch::full({1}, options.init_scale, on.dtype(torch::kFloat32));
  growth_tracker_ = torch::zeros({1}, on.dtype(torch::kInt32));
  found_inf_ = torch::zeros({1}, on.dtype(torch::kFloat32));
}

torch::Tensor GradScaler::scale(const torch::Tensor& loss) const {
  if (!enabled()) return loss;
  return loss.to(torch::kFloat32) * scale_.to(loss.device()).squeeze();
}

void GradScaler::unscale(const std::vector<torch::Tensor>& params) {
  if (!enabled()) return;
  found_inf_.zero_();
  std::vector<torch::Tensor> grads;
  for (const torch::Tensor& p : params) {
    if (p.grad().defined()) grads.push_back(p.grad());
  }
  if (grads.empty()) return;
  // 1 / scale in double, rounded once to float32 (as torch.amp.GradScaler).
  const torch::Tensor inverse = scale_.to(torch::kFloat64).reciprocal().to(torch::kFloat32);
  at::_amp_foreach_non_finite_check_and_unscale_(grads, found_inf_, inverse);
}

bool GradScaler::step_allowed() const { return !enabled() || found_inf_.item<float>() == 0.0f; }

void GradScaler::update() {
  if (!enabled()) return;
  at::_amp_update_scale_(scale_, growth_tracker_, found_inf_, options_.growth_factor, options_.backoff_factor,
                         options_.growth_interval);
}

double GradScaler::current_scale() const { return enabled() ? scale_.item<double>() : 1.0; }

void GradScaler::save(torch::serialize::OutputArchive& archive) const {
  if (!enabled()) return;
  archive.write("grad_scale", scale_);
  archive.write("grad_scale_growth", growth_tracker_);
}

void GradScaler::load(torch::serialize::InputArchive& archive) {
  if (!enabled()) return;
  torch::Tensor scale, growth;
  if (!archive.try_read("grad_scale", scale) || !archive.try_read("grad_scale_growth", growth)) return;
  TORCH_CHECK(scale.numel() == 1 && growth.numel() == 1, "the state's gradient scale is malformed");
  scale_.copy_(scale.to(torch::kFloat32).view({1}));
  growth_tracker_.copy_(growth.to(torch::kInt32).view({1}));
}

void clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm) {
  std::vector<torch::Tensor> grads, norms;
  for (const torch::Tensor& p : params) {
    if (!p.grad().defined()) continue;
    grads.push_back(p.grad());
    norms.push_back(p.grad().data().norm(2.0));
  }
  if (grads.empty()) return;
  const torch::Tensor total = norms.size() == 1 ? norms[0] : torch::stack(norms).norm(2.0);
  const torch::Tensor factor = torch::clamp(max_norm / (total + 1e-6), std::nullopt, 1.0);
  for (torch::Tensor& g : grads) g.data().mul_(factor);
}

}  // namespace semihard::core
