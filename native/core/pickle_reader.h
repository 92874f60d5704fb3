// The pickle inside a PyTorch .pth (torch.save since 1.6: a zip with `data.pkl`), read by an
// allowlist: only the opcodes and globals a state_dict uses. Nothing in the pickle is ever
// called; the few allowed globals (collections.OrderedDict, torch._utils._rebuild_tensor_v2,
// torch._utils._rebuild_parameter, the torch.<X>Storage types) are recognised by name and
// interpreted here (the opcodes by unpickler.h's machine). Every other opcode or global is
// refused with an error naming it.
//
// LibTorch's own unpickler (torch::pickle_load) cannot be used: it turns
// collections.OrderedDict into None (pytorch/pytorch#100741), and torchvision's files are
// OrderedDicts.
#pragma once

#include <c10/core/ScalarType.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace semihard::core {

// A pickle this reader refuses or cannot make sense of; the message says what and where.
class PickleError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A storage as the pickle names it by persistent id ('storage', torch.<X>Storage, key,
// location, numel): its bytes are the zip record `data/<key>`.
struct PickledStorage {
  std::string key;
  c10::ScalarType dtype = c10::ScalarType::Float;
  int64_t numel = 0;
  std::string location;
};

// A tensor of the state_dict: a strided view of a storage, not yet read.
struct PickledTensor {
  std::string name;
  PickledStorage storage;
  int64_t storage_offset = 0;
  std::vector<int64_t> sizes;
  std::vector<int64_t> strides;
};

// The state_dict a pickle holds, in its order: the top-level dict (OrderedDict or dict) when
// every value is a tensor, else the dict under its key 'state_dict' or 'model'. Throws
// PickleError for a refused opcode or global, a malformed pickle, a value that is not a tensor
// (naming its key) or a pickle that holds no state_dict.
std::vector<PickledTensor> read_state_dict_pickle(const uint8_t* bytes, size_t size);

// The torch.<X>Storage type names the reader accepts, and their dtypes.
bool storage_dtype(const std::string& type_name, c10::ScalarType* dtype);

}  // namespace semihard::core
