// Gradient-cached batches (GradCache, Gao et al. 2021): a batch too big for the network's
// activations is embedded in chunks twice. Pass 1 embeds every chunk without autograd
// (nothing kept but the embeddings); the caller computes the loss over the whole batch and its
// gradient with respect to those embeddings; pass 2 embeds each chunk again with autograd and
// back-propagates that chunk's slice of the gradient, so parameter gradients accumulate to the
// whole batch's. Peak memory: one chunk's activations and input, plus the batch's embeddings
// (and a streamed set's fed batch of stored images): each chunk's input is gathered and made
// when that chunk runs (batch_input.h).
//
// Exactness: pass 2 must compute what pass 1 did. The network's forward draws nothing at
// random: the trainer draws the head's dropout mask for the whole batch before pass 1
// (embedding_head.h) and both passes take each chunk's rows of it. BatchNorm on running
// statistics (kFrozen) is per sample, so chunked gradients are the unchunked step's up to
// float32 summation order. With batch statistics each chunk is normalised by its own
// statistics in both passes (the gradient is that of a network whose BatchNorm sees chunks,
// not the batch); pass 1's updates of the running statistics are undone
// (ModuleBufferSnapshot), so pass 2 updates them once per chunk, as chunks of separate
// steps would.
//
// Chunks are strided, not consecutive: with m = ceil(rows / chunk) chunks, chunk j holds rows
// j, j + m, j + 2m, ... (at most `chunk` rows; sizes differ by at most one). A P x K batch
// lies class by class, so consecutive rows would put one or two classes in a chunk, and
// BatchNorm's statistics over one class take away what tells the classes apart (Fashion-MNIST,
// B = 1,024 as 8 x 128 in chunks of 128 with batch statistics: kNN 81.6% and MAP@R 28.7%
// after 3 epochs, against 85.2% and 60.5% unchunked); strided chunks mix every class.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include <torch/torch.h>

#include "batch_input.h"

namespace semihard::core {

// The network's forward on a chunk's input with its rows of the dropout mask (undefined:
// none): N x dim float32 embeddings.
using ChunkForward = std::function<torch::Tensor(const torch::Tensor& input, const torch::Tensor& dropout_mask)>;

// The buffers of a module (BatchNorm's running statistics and counts) as they were at
// construction; restore() copies them back in place.
class ModuleBufferSnapshot {
 public:
  explicit ModuleBufferSnapshot(torch::nn::Module& module);
  void restore();

 private:
  std::vector<torch::Tensor> buffers_;
  std::vector<torch::Tensor> saved_;
};

class GradCache {
 public:
  // chunk: rows per forward (> 0).
  GradCache(ChunkForward forward, int64_t chunk);

  int64_t chunks(int64_t rows) const { return (rows + chunk_ - 1) / chunk_; }
  // The rows of chunk j of `rows` rows (int64 on the CPU): j, j + m, j + 2m, ...
  torch::Tensor chunk_rows(int64_t rows, int64_t j) const;
  // Pass 1: the embeddings of every row of `input`, chunk by chunk without autograd (a plain
  // tensor: no graph). Restores nothing: the caller snapshots the buffers around it.
  torch::Tensor embed_without_graph(const BatchInput& input, const torch::Tensor& dropout_mask) const;
  // Pass 2: each chunk embedded again with autograd and back-propagated with its rows of
  // `grad` (rows x dim: d(loss)/d(embeddings), as scaled as the loss was); parameter
  // gradients accumulate into .grad.
  void backward(const BatchInput& input, const torch::Tensor& dropout_mask, const torch::Tensor& grad) const;
  // Testing reference: every chunk embedded with autograd kept, concatenated (the caller puts
  // the loss on it and back-propagates once). Holds every chunk's activations.
  torch::Tensor embed_with_graph(const BatchInput& input, const torch::Tensor& dropout_mask) const;

 private:
  torch::Tensor chunk_forward(const BatchInput& input, const torch::Tensor& dropout_mask, const torch::Tensor& rows) const;
  // Every chunk's forward (with or without autograd, as the caller's mode is), put back in row order.
  torch::Tensor embed_all(const BatchInput& input, const torch::Tensor& dropout_mask) const;

  ChunkForward forward_;
  int64_t chunk_;
};

}  // namespace semihard::core
