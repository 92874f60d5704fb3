#include "unpickler.h"

#include <cstdio>
#include <cstring>

namespace semihard::core::pickle {
namespace {

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

}  // namespace

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

}  // namespace semihard::core::pickle
