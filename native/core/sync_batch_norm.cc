#include "sync_batch_norm.h"

#include "collectives_autograd.h"

namespace semihard::core {

torch::Tensor SyncBatchNorm2dImpl::forward(const torch::Tensor& input) {
  if (is_training() && statistics == BatchNormStatistics::kFrozen) {
    // The running statistics, unchanged: each sample's output depends on that sample only.
    return torch::batch_norm(input, weight, bias, running_mean, running_var, /*training=*/false, 0.0, options.eps(),
                             /*cudnn_enabled=*/true);
  }
  if (!is_training() || statistics == BatchNormStatistics::kLocal || communicator == nullptr ||
      communicator->world_size() == 1) {
    return torch::nn::BatchNorm2dImpl::forward(input);
  }
  TORCH_CHECK(input.dim() == 4, "SyncBatchNorm2d expects N x C x H x W input");
  // Statistics in float32 whatever autocast made the input (a bfloat16 count or sum is inexact).
  const torch::Tensor x = input.to(torch::kFloat32);
  const int64_t channels = x.size(1);
  const std::vector<int64_t> reduce{0, 2, 3};
  auto per_channel = [&](const torch::Tensor& t) { return t.view({1, channels, 1, 1}); };
  // Global count and mean: the sums of every rank, then the centred second moment (two
  // passes, as stable as the single-process kernel).
  const double local_count = static_cast<double>(x.numel() / channels);
  torch::Tensor sums = torch::cat({x.sum(reduce), torch::full({1}, local_count, x.options())});
  sums = all_reduce_sum(*communicator, sums);
  torch::Tensor count = sums.narrow(0, channels, 1);
  torch::Tensor mean = sums.narrow(0, 0, channels) / count;
  torch::Tensor centred = x - per_channel(mean);
  torch::Tensor variance = all_reduce_sum(*communicator, centred.square().sum(reduce)) / count;
  torch::Tensor out = centred * per_channel(torch::rsqrt(variance + options.eps()));
  if (options.affine()) out = out * per_channel(weight) + per_channel(bias);
  if (options.track_running_stats()) {
    torch::NoGradGuard no_grad;
    // The unbiased variance's n / (n - 1) from the global count as a tensor: no host sync.
    const torch::Tensor n = count.detach();
    const double momentum = options.momentum().value_or(0.1);
    running_mean.mul_(1.0 - momentum).add_(mean.detach(), momentum);
    running_var.mul_(1.0 - momentum).add_(variance.detach() * (n / (n - 1.0).clamp_min(1.0)), momentum);
    num_batches_tracked.add_(1);
  }
  return out;
}

}  // namespace semihard::core
