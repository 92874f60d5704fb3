#include "torch_file.h"

#include <caffe2/serialize/inline_container.h>
#include <c10/util/Exception.h>

#include <map>
#include <memory>
#include <utility>

#include "pickle_reader.h"

namespace semihard::core {
namespace {

// A state_dict's pickle is kilobytes (ResNet-50's: about 40 KB); the reader's values cost a
// few hundred bytes each, one at most per pickle byte, so the pickle's size is bounded.
constexpr size_t kMaxPickleBytes = size_t{64} << 20;
// No tensor of a weight file is read past this size (a view with zero strides can claim a
// huge shape over a small storage).
constexpr int64_t kMaxTensorBytes = int64_t{16} << 30;

[[noreturn]] void fail(const std::string& what) { throw WeightFileError(what); }

std::string record_text(caffe2::serialize::PyTorchStreamReader& reader, const std::string& name) {
  auto [data, size] = reader.getRecord(name);
  return std::string(static_cast<const char*>(data.get()), size);
}

// The storage record `data/<key>` as bytes, checked to hold `numel` elements of `dtype`.
at::Tensor read_storage(caffe2::serialize::PyTorchStreamReader& reader, const PickledStorage& storage) {
  const std::string record = "data/" + storage.key;
  if (!reader.hasRecord(record)) fail("has no record " + record + " for a storage its pickle names");
  const size_t size = reader.getRecordSize(record);
  const int64_t element = static_cast<int64_t>(c10::elementSize(storage.dtype));
  int64_t needed = 0;
  if (__builtin_mul_overflow(storage.numel, element, &needed) || static_cast<uint64_t>(needed) > size) {
    fail("has a storage record " + record + " of " + std::to_string(size) + " bytes, shorter than its " +
         std::to_string(storage.numel) + " elements of " + c10::toString(storage.dtype) + " need");
  }
  at::Tensor bytes = at::empty({static_cast<int64_t>(size)}, at::kByte);
  if (size > 0) reader.getRecord(record, bytes.data_ptr(), size);
  return bytes.narrow(0, 0, needed).view(storage.dtype);
}

// The tensor's view of its storage, checked to stay inside it, made contiguous.
at::Tensor view_of(const PickledTensor& t, const at::Tensor& storage) {
  const std::string what = "the tensor '" + t.name + "'";
  if (t.storage_offset < 0) fail("gives " + what + " a negative storage offset");
  int64_t numel = 1;
  int64_t last = t.storage_offset;  // the farthest element the view reaches
  for (size_t d = 0; d < t.sizes.size(); ++d) {
    if (t.sizes[d] < 0 || t.strides[d] < 0) fail("gives " + what + " a negative size or stride");
    if (__builtin_mul_overflow(numel, t.sizes[d], &numel)) fail("gives " + what + " a size that overflows");
  }
  const int64_t element = static_cast<int64_t>(c10::elementSize(t.storage.dtype));
  if (numel > kMaxTensorBytes / element) fail("gives " + what + " more than 16 GiB of elements");
  if (numel > 0) {
    for (size_t d = 0; d < t.sizes.size(); ++d) {
      int64_t step = 0;
      if (__builtin_mul_overflow(t.sizes[d] - 1, t.strides[d], &step) || __builtin_add_overflow(last, step, &last)) {
        fail("gives " + what + " strides that overflow");
      }
    }
    if (last >= storage.numel()) {
      fail("gives " + what + " a view (offset " + std::to_string(t.storage_offset) + ", sizes " +
           c10::str(at::IntArrayRef(t.sizes)) + ", strides " + c10::str(at::IntArrayRef(t.strides)) +
           ") that reaches element " + std::to_string(last) + " of a storage of " + std::to_string(storage.numel()));
    }
  }
  return storage.as_strided(t.sizes, t.strides, t.storage_offset).contiguous();
}

NamedWeights read(const std::string& path) {
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  try {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const c10::Error& e) {
    fail(std::string("is not a readable PyTorch zip archive (truncated or corrupt?): ") + e.what_without_backtrace());
  }
  if (reader->hasRecord("byteorder")) {
    const std::string order = record_text(*reader, "byteorder");
    if (order != "little") fail("stores its tensors in '" + order + "' byte order; only little-endian is read");
  }
  if (!reader->hasRecord("data.pkl")) fail("has no data.pkl record: it is not a file torch.save wrote");
  if (reader->getRecordSize("data.pkl") > kMaxPickleBytes) fail("has a data.pkl over 64 MiB: not a state_dict");
  auto [pickle, pickle_size] = reader->getRecord("data.pkl");
  const std::vector<PickledTensor> tensors =
      read_state_dict_pickle(static_cast<const uint8_t*>(pickle.get()), pickle_size);

  std::map<std::string, std::pair<PickledStorage, at::Tensor>> storages;
  NamedWeights out;
  out.reserve(tensors.size());
  for (const PickledTensor& t : tensors) {
    auto it = storages.find(t.storage.key);
    if (it == storages.end()) {
      it = storages.emplace(t.storage.key, std::make_pair(t.storage, read_storage(*reader, t.storage))).first;
    } else if (it->second.first.dtype != t.storage.dtype || it->second.first.numel != t.storage.numel) {
      fail("names the storage '" + t.storage.key + "' with two types or sizes");
    }
    out.emplace_back(t.name, view_of(t, it->second.second));
  }
  return out;
}

}  // namespace

NamedWeights read_torch_file(const std::string& path) {
  try {
    return read(path);
  } catch (const WeightFileError& e) {
    throw WeightFileError(path + " " + e.what());
  } catch (const PickleError& e) {
    throw WeightFileError(path + ": " + e.what());
  } catch (const c10::Error& e) {
    throw WeightFileError(path + ": " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw WeightFileError(path + ": " + e.what());
  }
}

}  // namespace semihard::core
