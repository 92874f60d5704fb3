// The names of the core's enumerations: one table for each, next to its enum, e.g.
// kDistanceNames in distances.h. C++ callers parse a name with parse_name (a TORCH_CHECK
// failure on a name the table lacks); the Node binding looks names up with find_name and
// reports a miss in its own words.
#pragma once

#include <c10/util/Exception.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace semihard::core {

template <typename E>
struct Named {
  std::string_view name;
  E value;
};

template <typename E, std::size_t N>
std::optional<E> find_name(const Named<E> (&table)[N], std::string_view name) {
  for (const Named<E>& entry : table) {
    if (entry.name == name) return entry.value;
  }
  return std::nullopt;
}

template <typename E, std::size_t N>
std::string name_of(const Named<E> (&table)[N], E value) {
  for (const Named<E>& entry : table) {
    if (entry.value == value) return std::string(entry.name);
  }
  return "?";
}

// "'a', 'b', 'c'": the names, quoted, for messages.
template <typename E, std::size_t N>
std::string quoted_names(const Named<E> (&table)[N]) {
  std::string out;
  for (const Named<E>& entry : table) {
    if (!out.empty()) out += ", ";
    out += "'" + std::string(entry.name) + "'";
  }
  return out;
}

template <typename E, std::size_t N>
E parse_name(const Named<E> (&table)[N], std::string_view name, const char* what) {
  const std::optional<E> value = find_name(table, name);
  TORCH_CHECK(value.has_value(), "unknown ", what, " name '", std::string(name), "' (known: ", quoted_names(table), ")");
  return *value;
}

}  // namespace semihard::core
