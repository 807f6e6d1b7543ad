#pragma once
// Strict reading of TOML configuration files (experiment configs, model files): every error
// names the file and the dotted key, an unknown key is an error (a typo must not silently fall
// back to a default), and values are range-checked. Host-only.
#ifndef TOML_HEADER_ONLY
#define TOML_HEADER_ONLY 1
#endif
#include <toml++/toml.h>

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "sim/core/error.hpp"

namespace kspike::io {

struct toml_reader {
  std::string source;  // the file, for messages

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw error(source + ": " + key + ": " + what);
  }

  // The sub-table `name` of `root` (nullptr when absent); any key outside `keys` is an error.
  const toml::table* table(const toml::table& root, const std::string& name, const std::set<std::string>& keys,
                           const std::string& help = "see the docs") const {
    const toml::node* n = root.get(name);
    if (!n) return nullptr;
    const toml::table* t = n->as_table();
    if (!t) fail(name, "must be a table");
    check_keys(*t, name, keys, help);
    return t;
  }

  void check_keys(const toml::table& t, const std::string& where, const std::set<std::string>& keys,
                  const std::string& help = "see the docs") const {
    for (const auto& [k, v] : t)
      if (!keys.count(std::string(k.str())))
        fail(where.empty() ? std::string(k.str()) : where + "." + std::string(k.str()), "unknown key (" + help + ")");
  }

  // Calls set(node, "section.key") when `key` is present in t.
  template <class F>
  void get(const toml::table* t, const std::string& section, const char* key, F&& set) const {
    if (!t) return;
    if (const toml::node* n = t->get(key)) set(*n, section + "." + key);
  }

  std::int64_t integer(const toml::node& n, const std::string& key, std::int64_t lo, std::int64_t hi) const {
    const auto v = n.value<std::int64_t>();
    if (!n.is_integer() || !v) fail(key, "must be an integer");
    if (*v < lo || *v > hi)
      fail(key, "must be in " + std::to_string(lo) + ".." + std::to_string(hi) + " (got " + std::to_string(*v) + ")");
    return *v;
  }
  std::size_t count(const toml::node& n, const std::string& key, std::size_t lo, std::size_t hi) const {
    return static_cast<std::size_t>(integer(n, key, static_cast<std::int64_t>(lo), static_cast<std::int64_t>(hi)));
  }
  double number(const toml::node& n, const std::string& key, double lo, double hi) const {
    const auto v = n.value<double>();
    if (!(n.is_floating_point() || n.is_integer()) || !v) fail(key, "must be a number");
    if (!(*v >= lo && *v <= hi)) fail(key, "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return *v;
  }
  std::string string(const toml::node& n, const std::string& key) const {
    const auto v = n.value<std::string>();
    if (!n.is_string() || !v) fail(key, "must be a string");
    return *v;
  }
  // A string that must be one of `allowed`.
  std::string choice(const toml::node& n, const std::string& key, const std::set<std::string>& allowed) const {
    const std::string s = string(n, key);
    if (!allowed.count(s)) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      fail(key, "unknown value '" + s + "' (one of: " + list + ")");
    }
    return s;
  }
  bool boolean(const toml::node& n, const std::string& key) const {
    const auto v = n.value<bool>();
    if (!n.is_boolean() || !v) fail(key, "must be true or false");
    return *v;
  }
};

// Parses TOML text; a syntax error becomes "SOURCE: line N: what".
inline toml::table parse_toml(const std::string& text, const std::string& source) {
#if TOML_EXCEPTIONS
  try {
    return toml::parse(text, std::string_view(source));
  } catch (const toml::parse_error& e) {
    throw error(source + ": line " + std::to_string(e.source().begin.line) + ": " + std::string(e.description()));
  }
#else
  toml::parse_result r = toml::parse(text, std::string_view(source));
  if (!r)
    throw error(source + ": line " + std::to_string(r.error().source().begin.line) + ": " +
                std::string(r.error().description()));
  return std::move(r).table();
#endif
}

}  // namespace kspike::io
