#include "image_store.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>

#include "errors.h"

namespace semihard::core {
namespace {

int64_t physical_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return std::numeric_limits<int64_t>::max();
  return static_cast<int64_t>(pages) * static_cast<int64_t>(page);
}

}  // namespace

ImageStore::ImageStore(int64_t count, int64_t stored_height, int64_t stored_width, int64_t channels) {
  TORCH_CHECK(count > 0 && stored_height > 0 && stored_width > 0 && channels > 0, "ImageStore: sizes must be positive");
  int64_t bytes = 0;
  if (__builtin_mul_overflow(count, stored_height, &bytes) || __builtin_mul_overflow(bytes, stored_width, &bytes) ||
      __builtin_mul_overflow(bytes, channels, &bytes)) {
    throw ArgumentError("count", "an image store of " + std::to_string(count) + " images of " + std::to_string(stored_height) +
                                     " x " + std::to_string(stored_width) + " x " + std::to_string(channels) +
                                     " bytes overflows 64 bits");
  }
  const int64_t memory = physical_memory_bytes();
  if (bytes > memory) {
    throw ArgumentError("count", "an image store of " + std::to_string(bytes) + " bytes exceeds this machine's memory (" +
                                     std::to_string(memory) + " bytes)");
  }
  // calloc: large blocks come zeroed from the kernel, untouched until written.
  void* data = std::calloc(static_cast<size_t>(bytes), 1);
  if (data == nullptr) {
    throw ArgumentError("count", "could not allocate an image store of " + std::to_string(bytes) + " bytes");
  }
  images_ = torch::from_blob(data, {count, stored_height, stored_width, channels}, [](void* p) { std::free(p); },
                             torch::TensorOptions().dtype(torch::kUInt8));
}

void ImageStore::write(int64_t index, const uint8_t* pixels) {
  TORCH_CHECK(index >= 0 && index < count(), "ImageStore::write: index ", index, " is outside 0..", count() - 1);
  std::memcpy(images_.data_ptr<uint8_t>() + index * image_bytes(), pixels, static_cast<size_t>(image_bytes()));
}

torch::Tensor ImageStore::read(int64_t index) const {
  TORCH_CHECK(index >= 0 && index < count(), "ImageStore::read: index ", index, " is outside 0..", count() - 1);
  return images_[index].clone();
}

}  // namespace semihard::core
