// The triplet losses' checks of their inputs and results, shared by the public calls
// (triplet_loss.cc) and their autograd forms (triplet_loss_autograd.cc).
#pragma once

#include <cstdint>
#include <string>

#include <torch/types.h>

namespace semihard::core {

// NaN or Infinity in `t` is an ArgumentError on `argument`, naming the first flat index.
void check_finite(const torch::Tensor& t, const std::string& argument);
// A 1-D integer tensor of `batch` labels.
void check_labels(const torch::Tensor& labels, int64_t batch);
// A triplet needs a pair: at least 2 rows.
void check_batch(int64_t batch);
// Anchor rows [anchor_begin, anchor_end) within [0, batch).
void check_anchor_rows(int64_t anchor_begin, int64_t anchor_end, int64_t batch);

// The one guarantee on every result: finite inputs never give a non-finite loss or gradient.
// What overflows float32 on the way (distances beyond its range, or margin + d(a,p) - d(a,n))
// is refused as a bad value of the input, `argument`, whose `distances` it names.
// `grad_written`: the gradient's entries that can be non-zero (all of it, or those the miners
// wrote into a B x B gradient that is otherwise exact zeros).
void refuse_overflow(float loss, const torch::Tensor& grad_written, const torch::Tensor& input,
                     const std::string& argument, const std::string& distances, float margin);

}  // namespace semihard::core
