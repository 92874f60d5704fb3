// Reading a PyTorch .pth file as torch.save writes it since PyTorch 1.6 (and torchvision
// keeps its weights): a zip archive of `<archive>/data.pkl` (the pickled state_dict, read by
// pickle_reader.h's allowlist), `<archive>/data/<key>` (each storage's raw little-endian
// bytes), `<archive>/byteorder` and `<archive>/version`. The zip is LibTorch's own reader
// (caffe2::serialize::PyTorchStreamReader).
#pragma once

#include <ATen/ATen.h>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace semihard::core {

// A weight file that cannot be read; the message names the file and what is wrong.
class WeightFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// (name, tensor) pairs: state_dict keys and their tensors, on the CPU and contiguous.
using NamedWeights = std::vector<std::pair<std::string, at::Tensor>>;

// Every tensor of the state_dict in `path`, in the file's order. All or nothing: any failure
// throws WeightFileError naming `path` (a refused pickle global or opcode, a missing or short
// storage record, a view reaching outside its storage, a non-tensor value, a corrupt zip).
NamedWeights read_torch_file(const std::string& path);

}  // namespace semihard::core
