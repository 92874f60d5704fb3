// Decoded images held in native memory: count x stored_height x stored_width x channels
// uint8, zero-filled at first, written and read one image at a time. Its tensor is shared, not
// copied, with whoever trains on it (the memory lives while either holds it). Writes are
// plain byte copies: writing an image while a job reads it gives that job old or new bytes.
#pragma once

#include <cstdint>

#include <torch/types.h>

namespace semihard::core {

class ImageStore {
 public:
  // Allocates the zero-filled memory (pages are taken as they are written). Throws
  // ArgumentError("count") when the size overflows, exceeds this machine's physical memory,
  // or cannot be allocated.
  ImageStore(int64_t count, int64_t stored_height, int64_t stored_width, int64_t channels);

  int64_t count() const { return images_.size(0); }
  int64_t image_bytes() const { return images_.size(1) * images_.size(2) * images_.size(3); }
  int64_t bytes() const { return images_.numel(); }
  int64_t stored_height() const { return images_.size(1); }
  int64_t stored_width() const { return images_.size(2); }
  int64_t channels() const { return images_.size(3); }

  // Copies image_bytes() bytes in at `index` (TORCH_CHECK: 0 <= index < count).
  void write(int64_t index, const uint8_t* pixels);
  // A copy of image `index`: stored_height x stored_width x channels.
  torch::Tensor read(int64_t index) const;
  // The whole store, sharing its memory.
  const torch::Tensor& images() const { return images_; }

 private:
  torch::Tensor images_;
};

}  // namespace semihard::core
