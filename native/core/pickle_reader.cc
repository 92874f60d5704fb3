#include "pickle_reader.h"

#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <unordered_map>

namespace semihard::core {
namespace {

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

// A value on the unpickler's stack. Every value lives in the unpickler's arena and is
// referred to by pointer, so shared (memoized) and self-referencing values cost nothing and
// no nesting depth can overflow a destructor's recursion.
struct Obj {
  enum class Kind { kNone, kBool, kInt, kFloat, kString, kTuple, kList, kDict, kGlobal, kStorage, kTensor };
  Kind kind = Kind::kNone;
  int64_t integer = 0;               // kBool, kInt
  double real = 0;                   // kFloat
  std::string text;                  // kString; kGlobal: "module.name"
  Global global = Global::kOrderedDict;
  std::vector<Obj*> items;           // kTuple, kList
  std::vector<std::pair<Obj*, Obj*>> entries;  // kDict, in insertion order
  std::unique_ptr<std::unordered_map<std::string, size_t>> string_keys;  // kDict: entries' index by str key
  std::unique_ptr<PickledStorage> storage;  // kStorage
  std::unique_ptr<PickledTensor> tensor;    // kTensor (name unset)
};

const char* kind_name(const Obj* o) {
  switch (o->kind) {
    case Obj::Kind::kNone: return "None";
    case Obj::Kind::kBool: return "bool";
    case Obj::Kind::kInt: return "int";
    case Obj::Kind::kFloat: return "float";
    case Obj::Kind::kString: return "str";
    case Obj::Kind::kTuple: return "tuple";
    case Obj::Kind::kList: return "list";
    case Obj::Kind::kDict: return "dict";
    case Obj::Kind::kGlobal: return "global";
    case Obj::Kind::kStorage: return "storage";
    case Obj::Kind::kTensor: return "tensor";
  }
  return "?";
}

// Names of the pickle opcodes this reader refuses, for the message.
const char* refused_opcode_name(uint8_t op) {
  switch (op) {
    case 'i': return "INST";
    case 'o': return "OBJ";
    case 0x81: return "NEWOBJ";
    case 0x92: return "NEWOBJ_EX";
    case 'P': return "PERSID";
    case 'S': return "STRING";
    case 'T': return "BINSTRING";
    case 'U': return "SHORT_BINSTRING";
    case 'V': return "UNICODE";
    case 'B': return "BINBYTES";
    case 'C': return "SHORT_BINBYTES";
    case 0x8e: return "BINBYTES8";
    case 0x8d: return "BINUNICODE8";
    case 0x96: return "BYTEARRAY8";
    case 'I': return "INT";
    case 'L': return "LONG";
    case 0x8b: return "LONG4";
    case 'F': return "FLOAT";
    case 'g': return "GET";
    case 'p': return "PUT";
    case 'd': return "DICT";
    case 'l': return "LIST";
    case '0': return "POP";
    case '1': return "POP_MARK";
    case '2': return "DUP";
    case 0x8f: return "EMPTY_SET";
    case 0x90: return "ADDITEMS";
    case 0x91: return "FROZENSET";
    case 0x82: return "EXT1";
    case 0x83: return "EXT2";
    case 0x84: return "EXT4";
    case 0x97: return "NEXT_BUFFER";
    case 0x98: return "READONLY_BUFFER";
    default: return nullptr;
  }
}

class Unpickler {
 public:
  Unpickler(const uint8_t* bytes, size_t size) : p_(bytes), end_(bytes + size), begin_(bytes) {}

  Obj* run();

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw PickleError("the pickle (data.pkl) " + what + " (at byte " + std::to_string(op_at_) + ")");
  }
  const uint8_t* take(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) fail("ends in the middle of an opcode (truncated?)");
    const uint8_t* at = p_;
    p_ += n;
    return at;
  }
  uint64_t little(size_t n) {
    const uint8_t* b = take(n);
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(b[i]) << (8 * i);
    return v;
  }
  std::string line() {
    const uint8_t* nl = static_cast<const uint8_t*>(std::memchr(p_, '\n', end_ - p_));
    if (nl == nullptr) fail("ends in the middle of a GLOBAL (truncated?)");
    std::string s(reinterpret_cast<const char*>(p_), nl - p_);
    p_ = nl + 1;
    return s;
  }
  Obj* make(Obj::Kind kind) {
    arena_.emplace_back();
    arena_.back().kind = kind;
    return &arena_.back();
  }
  Obj* make_int(int64_t v, Obj::Kind kind = Obj::Kind::kInt) {
    Obj* o = make(kind);
    o->integer = v;
    return o;
  }
  void push(Obj* o) { stack_.push_back(o); }
  Obj* pop() {
    if (stack_.size() <= floor()) fail("pops an empty stack");
    Obj* o = stack_.back();
    stack_.pop_back();
    return o;
  }
  Obj* top() {
    if (stack_.size() <= floor()) fail("reads an empty stack");
    return stack_.back();
  }
  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  // The values above the last MARK, which is removed.
  std::vector<Obj*> pop_mark() {
    if (marks_.empty()) fail("has no MARK where one is needed");
    const size_t at = marks_.back();
    marks_.pop_back();
    std::vector<Obj*> out(stack_.begin() + static_cast<std::ptrdiff_t>(at), stack_.end());
    stack_.resize(at);
    return out;
  }
  void memo_put(uint64_t index) { memo_[index] = top(); }
  Obj* memo_get(uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) fail("reads memo entry " + std::to_string(index) + " that was never stored");
    return it->second;
  }
  Obj* tuple(std::vector<Obj*> items) {
    Obj* o = make(Obj::Kind::kTuple);
    o->items = std::move(items);
    return o;
  }
  Obj* global(const std::string& module, const std::string& name);
  Obj* reduce(Obj* callable, Obj* args);
  Obj* persistent_load(Obj* pid);
  void set_items(Obj* dict, const std::vector<Obj*>& pairs);
  int64_t int_of(Obj* o, const char* what) {
    if (o->kind != Obj::Kind::kInt) fail(std::string("gives a ") + kind_name(o) + " for " + what + ", not an int");
    return o->integer;
  }
  std::vector<int64_t> ints_of(Obj* o, const char* what) {
    if (o->kind != Obj::Kind::kTuple) fail(std::string("gives a ") + kind_name(o) + " for " + what + ", not a tuple");
    std::vector<int64_t> out;
    for (Obj* item : o->items) out.push_back(int_of(item, what));
    return out;
  }

  const uint8_t* p_;
  const uint8_t* end_;
  const uint8_t* begin_;
  size_t op_at_ = 0;
  std::deque<Obj> arena_;
  std::vector<Obj*> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Obj*> memo_;
};

Obj* Unpickler::global(const std::string& module, const std::string& name) {
  Obj* o = make(Obj::Kind::kGlobal);
  o->text = module + "." + name;
  if (module == "collections" && name == "OrderedDict") {
    o->global = Global::kOrderedDict;
  } else if (module == "torch._utils" && name == "_rebuild_tensor_v2") {
    o->global = Global::kRebuildTensorV2;
  } else if (module == "torch._utils" && name == "_rebuild_parameter") {
    o->global = Global::kRebuildParameter;
  } else if (c10::ScalarType dtype; module == "torch" && storage_dtype(name, &dtype)) {
    o->global = Global::kStorageType;
  } else {
    fail("refuses the global " + o->text +
         " (only a state_dict's collections.OrderedDict, torch._utils._rebuild_tensor_v2, "
         "torch._utils._rebuild_parameter and torch.<X>Storage are allowed; nothing was executed)");
  }
  return o;
}

Obj* Unpickler::persistent_load(Obj* pid) {
  if (pid->kind != Obj::Kind::kTuple || pid->items.size() != 5 || pid->items[0]->kind != Obj::Kind::kString ||
      pid->items[0]->text != "storage") {
    fail("has a persistent id that is not ('storage', type, key, location, numel)");
  }
  Obj* type = pid->items[1];
  if (type->kind != Obj::Kind::kGlobal || type->global != Global::kStorageType) {
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

Obj* Unpickler::reduce(Obj* callable, Obj* args) {
  if (callable->kind != Obj::Kind::kGlobal) fail(std::string("calls a ") + kind_name(callable));
  if (args->kind != Obj::Kind::kTuple) fail("calls " + callable->text + " without an argument tuple");
  const std::vector<Obj*>& a = args->items;
  switch (callable->global) {
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

void Unpickler::set_items(Obj* dict, const std::vector<Obj*>& pairs) {
  if (dict->kind != Obj::Kind::kDict) fail(std::string("sets items of a ") + kind_name(dict));
  if (pairs.size() % 2 != 0) fail("sets an odd number of keys and values");
  for (size_t i = 0; i < pairs.size(); i += 2) {
    Obj* key = pairs[i];
    Obj* value = pairs[i + 1];
    // As a Python dict: a str key set again keeps its place and takes the new value.
    if (key->kind == Obj::Kind::kString) {
      if (!dict->string_keys) dict->string_keys = std::make_unique<std::unordered_map<std::string, size_t>>();
      auto [it, inserted] = dict->string_keys->emplace(key->text, dict->entries.size());
      if (!inserted) {
        dict->entries[it->second].second = value;
        continue;
      }
    }
    dict->entries.emplace_back(key, value);
  }
}

Obj* Unpickler::run() {
  while (p_ < end_) {
    op_at_ = static_cast<size_t>(p_ - begin_);
    const uint8_t op = *take(1);
    switch (op) {
      case 0x80: little(1); break;  // PROTO
      case 0x95: little(8); break;  // FRAME: the frame's bytes follow inline
      case 'c': {                   // GLOBAL
        const std::string module = line();
        const std::string name = line();
        push(global(module, name));
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        Obj* name = pop();
        Obj* module = pop();
        if (module->kind != Obj::Kind::kString || name->kind != Obj::Kind::kString) fail("has a STACK_GLOBAL without names");
        push(global(module->text, name->text));
        break;
      }
      case 'q': memo_put(little(1)); break;             // BINPUT
      case 'r': memo_put(little(4)); break;             // LONG_BINPUT
      case 0x94: memo_put(memo_.size()); break;         // MEMOIZE
      case 'h': push(memo_get(little(1))); break;       // BINGET
      case 'j': push(memo_get(little(4))); break;       // LONG_BINGET
      case '}': push(make(Obj::Kind::kDict)); break;    // EMPTY_DICT
      case ']': push(make(Obj::Kind::kList)); break;    // EMPTY_LIST
      case ')': push(tuple({})); break;                 // EMPTY_TUPLE
      case '(': marks_.push_back(stack_.size()); break; // MARK
      case 't': push(tuple(pop_mark())); break;         // TUPLE
      case 0x85: { Obj* a = pop(); push(tuple({a})); break; }  // TUPLE1
      case 0x86: { Obj* b = pop(); Obj* a = pop(); push(tuple({a, b})); break; }  // TUPLE2
      case 0x87: { Obj* c = pop(); Obj* b = pop(); Obj* a = pop(); push(tuple({a, b, c})); break; }  // TUPLE3
      case 'J': push(make_int(static_cast<int32_t>(little(4)))); break;  // BININT
      case 'K': push(make_int(static_cast<int64_t>(little(1)))); break;  // BININT1
      case 'M': push(make_int(static_cast<int64_t>(little(2)))); break;  // BININT2
      case 0x8a: {  // LONG1: n bytes of little-endian two's complement
        const size_t n = little(1);
        if (n > 8) fail("has an integer wider than 64 bits");
        uint64_t v = n == 0 ? 0 : little(n);
        if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t{0} << (8 * n);  // sign-extend
        push(make_int(static_cast<int64_t>(v)));
        break;
      }
      case 'X':     // BINUNICODE
      case 0x8c: {  // SHORT_BINUNICODE
        const size_t n = little(op == 'X' ? 4 : 1);
        const uint8_t* s = take(n);
        Obj* o = make(Obj::Kind::kString);
        o->text.assign(reinterpret_cast<const char*>(s), n);
        push(o);
        break;
      }
      case 'Q': push(persistent_load(pop())); break;  // BINPERSID
      case 'R': {                                      // REDUCE
        Obj* args = pop();
        Obj* callable = pop();
        push(reduce(callable, args));
        break;
      }
      case 's': {  // SETITEM
        Obj* value = pop();
        Obj* key = pop();
        set_items(top(), {key, value});
        break;
      }
      case 'u': {  // SETITEMS
        std::vector<Obj*> pairs = pop_mark();
        set_items(top(), pairs);
        break;
      }
      case 'a': {  // APPEND
        Obj* value = pop();
        Obj* list = top();
        if (list->kind != Obj::Kind::kList) fail(std::string("appends to a ") + kind_name(list));
        list->items.push_back(value);
        break;
      }
      case 'e': {  // APPENDS
        std::vector<Obj*> values = pop_mark();
        Obj* list = top();
        if (list->kind != Obj::Kind::kList) fail(std::string("appends to a ") + kind_name(list));
        list->items.insert(list->items.end(), values.begin(), values.end());
        break;
      }
      case 0x88: push(make_int(1, Obj::Kind::kBool)); break;  // NEWTRUE
      case 0x89: push(make_int(0, Obj::Kind::kBool)); break;  // NEWFALSE
      case 'N': push(make(Obj::Kind::kNone)); break;          // NONE
      case 'G': {                                              // BINFLOAT: big-endian double
        const uint8_t* b = take(8);
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | b[i];
        Obj* o = make(Obj::Kind::kFloat);
        std::memcpy(&o->real, &bits, sizeof bits);
        push(o);
        break;
      }
      case 'b': {  // BUILD: only an OrderedDict's attributes (its _metadata), read and ignored
        Obj* state = pop();
        (void)state;
        Obj* target = top();
        if (target->kind != Obj::Kind::kDict) fail(std::string("sets the state of a ") + kind_name(target));
        break;
      }
      case '.':  // STOP
        return pop();
      default: {
        const char* name = refused_opcode_name(op);
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op);
        fail(std::string("uses the opcode ") + (name ? name : "unknown") + " (" + hex +
             "), which a state_dict does not need; refused");
      }
    }
  }
  op_at_ = static_cast<size_t>(p_ - begin_);
  fail("ends before its STOP opcode (truncated?)");
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
  Unpickler unpickler(bytes, size);
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
