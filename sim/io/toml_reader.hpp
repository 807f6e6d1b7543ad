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
#include <cstddef>
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
    // The type first: toml++'s value<int64_t>() converts a float such as 2e56 to an integer,
    // undefined behaviour out of range (found by fuzz_model_toml).
    if (!n.is_integer()) fail(key, "must be an integer");
    const auto v = n.value<std::int64_t>();
    if (!v) fail(key, "must be an integer");
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

// toml++ 3.x (Debian 12's) enters its key parser from a table header without checking the
// header's first character, and the parser asserts it: `[[[1]]]`, `[=`, `[.a]` abort a Debug
// build and are undefined behaviour in a Release build whose compiler honours the assumption
// (Clang's __builtin_assume). Fixed upstream in 2026 (tomlplusplus pull request 301); until
// Debian ships that, such headers are refused here, before toml++ sees them. Returns the line
// (from 1) of the first bad header, or 0. A small lexer follows strings, comments and the
// brackets of values so that arrays spread over lines are not mistaken for headers.
inline std::size_t malformed_table_header(const std::string& text) {
  const auto key_start = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '"' || c == '\'';
  };
  std::size_t line = 1, depth = 0, i = 0;
  bool line_start = true;
  const std::size_t n = text.size();
  while (i < n) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
      line_start = true;
      ++i;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r') {
      ++i;
      continue;
    }
    if (c == '#') {  // a comment: to the end of the line
      while (i < n && text[i] != '\n') ++i;
      continue;
    }
    if (c == '"' || c == '\'') {  // a string, basic or literal, single- or multi-line
      const bool triple = i + 2 < n && text[i + 1] == c && text[i + 2] == c;
      i += triple ? 3 : 1;
      while (i < n) {
        if (c == '"' && text[i] == '\\') {
          i += 2;
          continue;
        }
        if (text[i] == '\n') {
          if (!triple) break;  // unterminated: toml++ reports it
          ++line;
        }
        if (text[i] == c && (!triple || (i + 2 < n && text[i + 1] == c && text[i + 2] == c))) {
          i += triple ? 3 : 1;
          break;
        }
        ++i;
      }
      line_start = false;
      continue;
    }
    if (line_start && depth == 0 && c == '[') {  // a table header
      std::size_t j = i + 1;
      if (j < n && text[j] == '[') ++j;
      while (j < n && (text[j] == ' ' || text[j] == '\t')) ++j;
      if (j >= n || !key_start(text[j])) return line;
      while (i < n && text[i] != '\n' && text[i] != '#') ++i;  // the rest of the header
      line_start = false;
      continue;
    }
    line_start = false;
    if (c == '[' || c == '{') ++depth;
    if ((c == ']' || c == '}') && depth > 0) --depth;
    ++i;
  }
  return 0;
}

// toml++ 3.3's test for non-ASCII horizontal whitespace (unicode_autogenerated.h) reaches its
// "unreachable" branch for most code points below U+2000 (its range mask is wrong): undefined
// behaviour, which a fuzzer found within seconds (a key starting with "Ω"). The parser asks it
// about every character it meets outside strings (skipping whitespace, finding where a bare key
// or value ends), about the character after a backslash in a multi-line basic string, and after
// a line-ending backslash about the first character of the next line. TOML allows no
// non-ASCII character outside strings and comments in the first place, so such text is refused
// here, before toml++ sees it. The scan follows toml++'s tokens: a quote opens a string only
// where a key or value can start; glued to a bare token (`0"..."`, `0["..."]`, `1."..."`, all
// invalid TOML) it does not, as toml++ then reads on through it as one bare value. Non-ASCII
// bytes in comments are replaced by spaces in `text` (a comment's content means nothing, and
// toml++'s date-time look-ahead can read into one). Returns the line of the first refused
// character, or 0.
inline std::size_t non_ascii_where_toml_skips_space(std::string& text) {
  std::size_t line = 1, i = 0;
  const std::size_t n = text.size();
  const auto high = [&](std::size_t k) { return k < n && static_cast<unsigned char>(text[k]) >= 0x80; };
  std::string open;        // the arrays ('[') and inline tables ('{') of the value being read
  bool expect_key = true;  // a key can come next (a line start, a table header, an inline table)
  bool glued = false;      // the previous character belongs to a bare token or ends a value
  while (i < n) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
      ++i;
      glued = false;
      if (open.empty()) expect_key = true;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r') {
      glued = false;
      ++i;
      continue;
    }
    if (c == '#') {  // a comment: blanked from the first non-ASCII byte (toml++ looks ahead into it)
      while (i < n && text[i] != '\n') {
        if (high(i)) text[i] = ' ';
        ++i;
      }
      continue;
    }
    if ((c == '"' || c == '\'') && !glued) {
      const bool triple = i + 2 < n && text[i + 1] == c && text[i + 2] == c;
      i += triple ? 3 : 1;
      while (i < n) {
        if (c == '"' && text[i] == '\\') {
          // After a backslash toml++ asks whether a whitespace follows (a line-ending backslash);
          // a non-ASCII character there is no valid escape anyway.
          if (high(i + 1)) return line;
          // A line-ending backslash: toml++ skips the whitespace and newlines that follow,
          // classifying each character it meets (also when no newline comes).
          std::size_t j = i + 1;
          while (j < n && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r')) ++j;
          if (triple && j > i + 1 && high(j)) return line;
          if (triple && j < n && text[j] == '\n') {
            while (j < n && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r' || text[j] == '\n')) {
              line += text[j] == '\n';
              ++j;
            }
            if (high(j)) return line;
            i = j;
            continue;
          }
          i += 2;
          continue;
        }
        if (text[i] == '\n') {
          if (!triple) break;
          ++line;
        }
        if (text[i] == c && (!triple || (i + 2 < n && text[i + 1] == c && text[i + 2] == c))) {
          i += triple ? 3 : 1;
          break;
        }
        ++i;
      }
      glued = true;  // whatever touches the closing quote is read by toml++ as more of the value
      continue;
    }
    if (high(i)) return line;
    ++i;
    if (glued && c != ',' && c != ']' && c != '}' && !(c == '=' && expect_key) && !(c == '.' && expect_key)) continue;  // more bare token
    switch (c) {
      case '=':
        glued = false;
        expect_key = false;
        break;
      case '.': glued = !expect_key; break;  // a dotted key goes on; in a value the dot is bare
      case '[':
        glued = false;
        if (!expect_key) open += '[';  // an array (a table header keeps expect_key)
        break;
      case '{':
        glued = false;
        open += '{';
        expect_key = true;
        break;
      case ',':
        glued = false;
        expect_key = !open.empty() && open.back() == '{';
        break;
      case ']':
      case '}':
        if (!open.empty()) open.pop_back();
        glued = true;
        expect_key = false;
        break;
      default: glued = true;
    }
  }
  return 0;
}

// Parses TOML text; a syntax error becomes "SOURCE: line N: what".
inline toml::table parse_toml(const std::string& text, const std::string& source) {
  // A UTF-8 byte order mark (some Windows editors write one) is not part of the text.
  std::string checked = text.rfind("\xEF\xBB\xBF", 0) == 0 ? text.substr(3) : text;
  if (const std::size_t line = malformed_table_header(checked))
    throw error(source + ": line " + std::to_string(line) +
                ": malformed table header (it must start with a key: [name] or [[name]])");
  if (const std::size_t line = non_ascii_where_toml_skips_space(checked))
    throw error(source + ": line " + std::to_string(line) +
                ": a non-ASCII character outside a string or comment (TOML keys and whitespace are ASCII)");
#if TOML_EXCEPTIONS
  try {
    return toml::parse(checked, std::string_view(source));
  } catch (const toml::parse_error& e) {
    throw error(source + ": line " + std::to_string(e.source().begin.line) + ": " + std::string(e.description()));
  }
#else
  toml::parse_result r = toml::parse(checked, std::string_view(source));
  if (!r)
    throw error(source + ": line " + std::to_string(r.error().source().begin.line) + ": " +
                std::string(r.error().description()));
  return std::move(r).table();
#endif
}

}  // namespace kspike::io
