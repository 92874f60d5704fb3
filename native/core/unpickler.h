// A pickle stack machine restricted to the opcodes a state_dict's pickle uses (protocol 2 as
// torch.save writes it, and protocol 4's FRAME, SHORT_BINUNICODE, MEMOIZE and STACK_GLOBAL);
// any other opcode is refused by name. What a global, a call (REDUCE) or a persistent id means
// is the subclass's to say (pickle_reader.cc's allowlist): the machine itself never looks a
// name up, imports or calls anything.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "pickle_reader.h"

namespace semihard::core::pickle {

// A value on the unpickler's stack. Every value lives in the unpickler's arena and is
// referred to by pointer, so shared (memoized) and self-referencing values cost nothing and
// no nesting depth can overflow a destructor's recursion.
struct Obj {
  enum class Kind { kNone, kBool, kInt, kFloat, kString, kTuple, kList, kDict, kGlobal, kStorage, kTensor };
  Kind kind = Kind::kNone;
  int64_t integer = 0;               // kBool, kInt
  double real = 0;                   // kFloat
  std::string text;                  // kString; kGlobal: "module.name"
  int tag = 0;                       // kGlobal: what the subclass recognised it as
  std::vector<Obj*> items;           // kTuple, kList
  std::vector<std::pair<Obj*, Obj*>> entries;  // kDict, in insertion order
  std::unique_ptr<std::unordered_map<std::string, size_t>> string_keys;  // kDict: entries' index by str key
  std::unique_ptr<PickledStorage> storage;  // kStorage
  std::unique_ptr<PickledTensor> tensor;    // kTensor (name unset)
};

// "None", "int", "dict", … for messages.
const char* kind_name(const Obj* o);

class Unpickler {
 public:
  Unpickler(const uint8_t* bytes, size_t size) : p_(bytes), end_(bytes + size), begin_(bytes) {}
  virtual ~Unpickler() = default;

  // The value STOP leaves; it lives as long as this unpickler.
  Obj* run();

 protected:
  // GLOBAL and STACK_GLOBAL: a kGlobal value, or fail() for a refused name.
  virtual Obj* global(const std::string& module, const std::string& name) = 0;
  // REDUCE: what calling `callable` (a value global() made) with the tuple `args` means.
  virtual Obj* reduce(Obj* callable, Obj* args) = 0;
  // BINPERSID: the value a persistent id stands for.
  virtual Obj* persistent_load(Obj* pid) = 0;

  [[noreturn]] void fail(const std::string& what) const {
    throw PickleError("the pickle (data.pkl) " + what + " (at byte " + std::to_string(op_at_) + ")");
  }
  Obj* make(Obj::Kind kind) {
    arena_.emplace_back();
    arena_.back().kind = kind;
    return &arena_.back();
  }
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

 private:
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
  void set_items(Obj* dict, const std::vector<Obj*>& pairs);

  const uint8_t* p_;
  const uint8_t* end_;
  const uint8_t* begin_;
  size_t op_at_ = 0;
  std::deque<Obj> arena_;
  std::vector<Obj*> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Obj*> memo_;
};

}  // namespace semihard::core::pickle
