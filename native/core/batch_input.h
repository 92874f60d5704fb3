// A training batch's network input, made rows at a time on demand. The transform parameters of
// the whole batch (augment.h: crops, flips, affines) are drawn when it is made, exactly as the
// eager transform draws them; the images are gathered, converted, normalised and resampled only
// when rows are asked for. A chunked step (grad_cache.h) asks for one chunk's rows at a time,
// in both passes, so it never holds the float32 input of the whole batch nor its conversion's
// temporaries (at B = 4,096 RGB images of 224 x 224 the input alone is 2.4 GB). Every step is
// per image, so select(rows) computes for its rows what all() computes for them, only grouped
// otherwise (tests: chunked steps equal unchunked ones), and all() is what the network was fed
// before batches were made on demand (the same operations in the same order).
#pragma once

#include <cstdint>

#include <torch/torch.h>

#include "augment.h"
#include "image_geometry.h"
#include "network_input.h"

namespace semihard::core {

class BatchInput {
 public:
  // source: N x stored_height x stored_width x C images (uint8 0..255 or float32 0..1) on any
  // device; index: this rank's rows of the batch in `source` (int64 on source's device), or
  // undefined when `source` holds exactly those rows in order (a fed batch). Rows [begin,
  // begin + rows) of a batch of `batch`: with `augment`, the parameters of the whole batch are
  // drawn from `generator` now (so generators stay in step across ranks) and these rows' kept.
  BatchInput(torch::Tensor source, torch::Tensor index, const Normalisation& normalisation,
             const ImageGeometry& geometry, const torch::Device& device, bool augment,
             const TrainTransform& transform, int64_t batch, int64_t begin, at::Generator& generator);

  int64_t rows() const { return rows_; }
  // The input of every row: rows x C x height x width float32 on the device.
  torch::Tensor all() const;
  // The input of `rows` (int64 indices into [0, rows()), on the CPU).
  torch::Tensor select(const torch::Tensor& rows) const;

 private:
  // The stored images of `rows` (undefined: all), from the source.
  torch::Tensor images(const torch::Tensor& rows) const;
  torch::Tensor make(const torch::Tensor& images, const torch::Tensor& theta) const;

  enum class Kind { kCentre, kAffine, kCrop };
  torch::Tensor source_, index_;
  Normalisation normalisation_;
  ImageGeometry geometry_;
  torch::Device device_;
  TrainTransform transform_;
  Kind kind_ = Kind::kCentre;
  torch::Tensor theta_;  // rows x 2 x 3 on the CPU (kAffine, kCrop)
  int64_t rows_ = 0;
};

}  // namespace semihard::core
