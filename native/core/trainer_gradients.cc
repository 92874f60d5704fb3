// Trainer::compute_gradients (trainer.h): one batch's loss and the parameters' gradients, the
// batch embedded in one forward or in chunks (grad_cache.h), alone or summed over ranks.
#include <c10/core/DeviceGuard.h>

#include <vector>

#include "collectives_autograd.h"
#include "grad_cache.h"
#include "trainer.h"

namespace semihard::core {

torch::Tensor Trainer::dropout_mask(int64_t batch, int64_t begin, int64_t rows_here) {
  const double p = options_.network.head.dropout;
  if (p <= 0.0) return {};
  // The global batch's mask from the shared generator, this rank's rows of it.
  torch::Tensor mask = torch::empty({batch, model_->head->features()}).bernoulli_(1.0 - p, generator_);
  return upload(mask.narrow(0, begin, rows_here).div_(1.0 - p), options_.device);
}

torch::Tensor Trainer::loss_share(const torch::Tensor& embeddings, const torch::Tensor& labels, const LabelCounts& counts,
                                  int64_t begin, int64_t rows_here, torch::Tensor& stats) {
  // This rank's anchors against the global batch; the gather's backward hands every rank the
  // gradient of the rows it owns, from all ranks' anchors. Alone: rows [0, B) of the batch.
  const torch::Tensor all = distributed() ? gather_rows(*communicator_, embeddings) : embeddings;
  if (!options_.stats) return triplet_loss_share(all, labels, options_.loss, begin, begin + rows_here, counts);
  return triplet_loss_share(all, labels, options_.loss, begin, begin + rows_here, counts, stats);
}

torch::Tensor Trainer::chunked_backward(const BatchInput& x, const torch::Tensor& mask, const torch::Tensor& labels,
                                        const LabelCounts& counts, int64_t batch, int64_t begin, int64_t rows_here,
                                        torch::Tensor& stats) {
  const GradCache cache([this](const torch::Tensor& input, const torch::Tensor& m) { return embed_batch(input, m); },
                        options_.chunk);
  if (options_.chunked_step == ChunkedStep::kReference) {
    const torch::Tensor share = loss_share(cache.embed_with_graph(x, mask), labels, counts, begin, rows_here, stats);
    scaler_.scale(share).backward();
    return share;
  }
  // Pass 1 without a graph; BatchNorm's running statistics as they were before it, so that
  // pass 2 moves them once per chunk.
  ModuleBufferSnapshot buffers(*model_);
  torch::Tensor embeddings = cache.embed_without_graph(x, mask);
  buffers.restore();
  embeddings.requires_grad_(true);
  const torch::Tensor share = loss_share(embeddings, labels, counts, begin, rows_here, stats);
  scaler_.scale(share).backward();
  // Testing hook: pass 2 under another mask, what a replay that lost the masks would compute.
  const torch::Tensor replayed = options_.chunked_step == ChunkedStep::kFreshMasks ? dropout_mask(batch, begin, rows_here) : mask;
  cache.backward(x, replayed, embeddings.grad());
  return share;
}

StepResult Trainer::compute_gradients(const torch::Tensor& indices) {
  TORCH_CHECK(optimizer_, "begin_phase must come before train_step");
  TORCH_CHECK(train_.present(), "set_data must come before train_step");
  const c10::OptionalDeviceGuard guard(cuda_device(options_.device));
  model_->train();
  const int64_t batch = indices.size(0);
  const auto [begin, rows_here] = local_rows(batch);
  const BatchInput x = training_batch(indices, begin, rows_here);
  const torch::Tensor labels = train_.labels.index_select(0, indices);
  const torch::Tensor mask = dropout_mask(batch, begin, rows_here);
  optimizer_->zero_grad();
  StepResult r;
  // The labels placed where the loss runs (without waiting for the device); counted on the
  // host, so that the loss reads nothing back (the head's rows have norm 1: unchecked).
  const LabelCounts counts = count_labels(labels);
  r.positive_pairs = counts.positive_pairs;
  const torch::Tensor labels_here = upload(labels, options_.device);
  torch::Tensor share;
  torch::Tensor stats;  // this rank's share's (options.stats)
  if (options_.chunk > 0 && options_.chunk < rows_here) {
    share = chunked_backward(x, mask, labels_here, counts, batch, begin, rows_here, stats);
  } else {
    // The loss in float32 on float32 embeddings, whatever precision the forward ran in.
    share = loss_share(embed_batch(x.all(), mask), labels_here, counts, begin, rows_here, stats);
    scaler_.scale(share).backward();
  }
  std::vector<torch::Tensor> params = model_->trainable_parameters();
  if (!distributed()) {
    scaler_.unscale(params);
    r.loss = share.detach();
    r.stats = stats;
    return r;
  }
  // One all-reduce for every parameter gradient, the loss shares and the shares' stats. The
  // stats ride in the gradients' float32: a step's counts are integers, exact below 2^24 (any
  // global batch of up to 4,096 rows has fewer ordered pairs; beyond, while B(K - 1) < 2^24
  // for classes of K rows); the sums of distances round to float32 (7 digits), which
  // diagnostics do not notice. No collective of its own.
  std::vector<torch::Tensor> flat;
  flat.reserve(params.size() + 2);
  for (const torch::Tensor& p : params) {
    flat.push_back(p.grad().defined() ? p.grad().flatten() : torch::zeros({p.numel()}, p.options()));
  }
  flat.push_back(share.detach().view({1}));
  if (stats.defined()) flat.push_back(stats.to(torch::kFloat32));
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
  // The summed (still scaled) gradients: every rank finds the same inf or NaN.
  scaler_.unscale(params);
  // A copy: a view would keep the whole flattened gradient alive while the loss waits to be read.
  r.loss = buffer[offset].clone();
  if (stats.defined()) r.stats = buffer.narrow(0, offset + 1, kTripletStatsFields).to(torch::kFloat64);
  return r;
}

}  // namespace semihard::core
