#include "pickle_reader.h"

#include <cstdio>
#include <cstring>
#include <memory>
#include <unordered_map>

#include "unpickler.h"

namespace semihard::core {
namespace {

using pickle::Obj;
using pickle::kind_name;

struct StorageType {
  const char* name;
  c10::ScalarType dtype;
};
constexpr StorageType kStorageTypes[] = {
    {"FloatStorage", c10::ScalarType::Float},   {"DoubleStorage", c10::ScalarType::Double},
    {"HalfStorage", c10::ScalarType::Half},     {"BFloat16Storage", c10::ScalarType::BFloat16},
    {"LongStorage", c10::ScalarType::Long},     {"IntStorage", c10::ScalarType::Int},
    {"ShortStorage", c10::ScalarType::Short},   {"CharStorage", c10::ScalarType::Char},
    {"ByteStorage", c10::ScalarType::Byte},     {"BoolStorage", c10::ScalarType::Bool},
};

// The callables a state_dict's pickle names, all interpreted here (none is ever looked up).
enum class Global { kOrderedDict, kRebuildTensorV2, kRebuildParameter, kStorageType };

// A name from the pickle as a message shows it: bytes outside printable ASCII as \xNN.
std::string printable(const std::string& name) {
  std::string out;
  for (unsigned char c : name) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  return out;
}

// The allowlist: the unpickler of a state_dict.
class StateDictUnpickler : public pickle::Unpickler {
 public:
  using Unpickler::Unpickler;

 protected:
  Obj* global(const std::string& module, const std::string& name) override;
  Obj* reduce(Obj* callable, Obj* args) override;
  Obj* persistent_load(Obj* pid) override;
};

Obj* StateDictUnpickler::global(const std::string& module, const std::string& name) {
  Obj* o = make(Obj::Kind::kGlobal);
  o->text = module + "." + name;
  if (module == "collections" && name == "OrderedDict") {
    o->tag = static_cast<int>(Global::kOrderedDict);
  } else if (module == "torch._utils" && name == "_rebuild_tensor_v2") {
    o->tag = static_cast<int>(Global::kRebuildTensorV2);
  } else if (module == "torch._utils" && name == "_rebuild_parameter") {
    o->tag = static_cast<int>(Global::kRebuildParameter);
  } else if (c10::ScalarType dtype; module == "torch" && storage_dtype(name, &dtype)) {
    o->tag = static_cast<int>(Global::kStorageType);
  } else {
    fail("refuses the global " + printable(o->text) +
         " (only a state_dict's collections.OrderedDict, torch._utils._rebuild_tensor_v2, "
         "torch._utils._rebuild_parameter and torch.<X>Storage are allowed; nothing was executed)");
  }
  return o;
}

Obj* StateDictUnpickler::persistent_load(Obj* pid) {
  if (pid->kind != Obj::Kind::kTuple || pid->items.size() != 5 || pid->items[0]->kind != Obj::Kind::kString ||
      pid->items[0]->text != "storage") {
    fail("has a persistent id that is not ('storage', type, key, location, numel)");
  }
  Obj* type = pid->items[1];
  if (type->kind != Obj::Kind::kGlobal || type->tag != static_cast<int>(Global::kStorageType)) {
    fail("has a storage whose type is a " + std::string(kind_name(type)) + ", not a torch.<X>Storage");
  }
  if (pid->items[2]->kind != Obj::Kind::kString || pid->items[3]->kind != Obj::Kind::kString) {
    fail("has a storage whose key or location is not a str");
  }
  Obj* o = make(Obj::Kind::kStorage);
  o->storage = std::make_unique<PickledStorage>();
  storage_dtype(type->text.substr(std::strlen("torch.")), &o->storage->dtype);
  o->storage->key = pid->items[2]->text;
  o->storage->location = pid->items[3]->text;
  o->storage->numel = int_of(pid->items[4], "a storage's numel");
  if (o->storage->numel < 0) fail("has a storage of negative size");
  return o;
}

Obj* StateDictUnpickler::reduce(Obj* callable, Obj* args) {
  if (callable->kind != Obj::Kind::kGlobal) fail(std::string("calls a ") + kind_name(callable));
  if (args->kind != Obj::Kind::kTuple) fail("calls " + callable->text + " without an argument tuple");
  const std::vector<Obj*>& a = args->items;
  switch (static_cast<Global>(callable->tag)) {
    case Global::kOrderedDict:
      if (!a.empty()) fail("calls collections.OrderedDict with arguments");
      return make(Obj::Kind::kDict);
    case Global::kRebuildTensorV2: {
      // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
      if (a.size() != 6 && a.size() != 7) fail("calls torch._utils._rebuild_tensor_v2 with " + std::to_string(a.size()) + " arguments");
      if (a[0]->kind != Obj::Kind::kStorage) fail("rebuilds a tensor from a " + std::string(kind_name(a[0])) + ", not a storage");
      if (a.size() == 7 && !(a[6]->kind == Obj::Kind::kNone || (a[6]->kind == Obj::Kind::kDict && a[6]->entries.empty()))) {
        fail("rebuilds a tensor with metadata (conjugate or negative bits) this reader does not support");
      }
      Obj* o = make(Obj::Kind::kTensor);
      o->tensor = std::make_unique<PickledTensor>();
      o->tensor->storage = *a[0]->storage;
      o->tensor->storage_offset = int_of(a[1], "a tensor's storage offset");
      o->tensor->sizes = ints_of(a[2], "a tensor's size");
      o->tensor->strides = ints_of(a[3], "a tensor's stride");
      if (o->tensor->sizes.size() != o->tensor->strides.size()) fail("rebuilds a tensor whose size and stride differ in length");
      return o;
    }
    case Global::kRebuildParameter:
      // (data, requires_grad, backward_hooks): an nn.Parameter is its data here.
      if (a.size() != 3 || a[0]->kind != Obj::Kind::kTensor) fail("calls torch._utils._rebuild_parameter without a tensor");
      return a[0];
    case Global::kStorageType:
      break;
  }
  fail("calls " + callable->text + " (a storage type is allowed only in a persistent id)");
}

const Obj* find_key(const Obj* dict, const std::string& key) {
  if (!dict->string_keys) return nullptr;
  auto it = dict->string_keys->find(key);
  return it == dict->string_keys->end() ? nullptr : dict->entries[it->second].second;
}

bool all_tensors(const Obj* dict) {
  for (const auto& [k, v] : dict->entries) {
    if (v->kind != Obj::Kind::kTensor) return false;
  }
  return true;
}

}  // namespace

bool storage_dtype(const std::string& type_name, c10::ScalarType* dtype) {
  for (const StorageType& t : kStorageTypes) {
    if (type_name == t.name) {
      *dtype = t.dtype;
      return true;
    }
  }
  return false;
}

std::vector<PickledTensor> read_state_dict_pickle(const uint8_t* bytes, size_t size) {
  StateDictUnpickler unpickler(bytes, size);
  const Obj* top = unpickler.run();
  if (top->kind != Obj::Kind::kDict) {
    throw PickleError(std::string("the pickle holds a ") + kind_name(top) + ", not a state_dict (a dict of tensors)");
  }
  const Obj* state = top;
  if (!all_tensors(top)) {
    for (const char* wrapper : {"state_dict", "model"}) {
      const Obj* inner = find_key(top, wrapper);
      if (inner != nullptr && inner->kind == Obj::Kind::kDict) {
        state = inner;
        break;
      }
    }
  }
  std::vector<PickledTensor> out;
  out.reserve(state->entries.size());
  for (const auto& [k, v] : state->entries) {
    if (k->kind != Obj::Kind::kString) throw PickleError(std::string("the state_dict has a key that is a ") + kind_name(k) + ", not a str");
    if (v->kind != Obj::Kind::kTensor) {
      throw PickleError("the state_dict's value for '" + k->text + "' is a " + kind_name(v) + ", not a tensor" +
                        (state == top ? " (and the file has no 'state_dict' or 'model' dict of tensors)" : ""));
    }
    out.push_back(*v->tensor);
    out.back().name = k->text;
  }
  return out;
}

}  // namespace semihard::core
