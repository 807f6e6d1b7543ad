#pragma once
// Which surrogate gradient a spiking layer uses, chosen at run time: a family and its
// parameters, parsed from a name such as "arctan", "sigmoid:4" or "triangle:0.3,1".
// Host-only (no Kokkos), so configs and the CLI can name surrogates without kernel headers;
// the functions themselves are in learning/surrogate.hpp. Formulas: docs/training.md "Surrogates".
#include <cctype>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "sim/core/error.hpp"

namespace kspike::learning {

// One entry per row of that table; fast-sigmoid appears in both of its parametrisations.
enum class surrogate_kind {
  rectangular,           // (1/a)[|x| < a/2]                  param a = 1
  triangle,              // γ max(0, 1 - |x|/w)               param γ = 0.3, param2 w = 1
  sigmoid,               // α σ(αx)(1 - σ(αx))                param α = 4 (SpikingJelly)
  arctan,                // (α/2) / (1 + (παx/2)²)            param α = 2 (snnTorch, SJ ATan)
  fast_sigmoid,          // 1 / (k|x| + 1)²                   param k = 25 (snnTorch)
  super_spike,           // α / (|x| + 1)²                    param α = 1 (SJ SuperSpike)
  piecewise_quadratic,   // max(0, α - α²|x|)                 param α = 1
  piecewise_exp,         // (α/2) e^{-α|x|}                   param α = 1
  erf,                   // (α/√π) e^{-α²x²}                  param α = 2
  softsign,              // α / (2(1 + α|x|)²)                param α = 2
  piecewise_leaky_relu,  // 1/(2w) if |x| <= w, else c        param w = 1, param2 c = 0.01
};

// A family and its parameters. param is the width/slope parameter named in the comments
// above; param2 is used by the two two-parameter families only (0 elsewhere).
struct surrogate_spec {
  surrogate_kind kind = surrogate_kind::sigmoid;
  double param = 4.0;
  double param2 = 0.0;
};

namespace detail {

struct surrogate_entry {
  const char* name;
  surrogate_kind kind;
  double param, param2;
  int n_params;
};

// Canonical names and defaults (the table's defaults column; where SpikingJelly and
// snnTorch differ for one formula, the row says which one the default follows).
inline constexpr surrogate_entry surrogate_table[] = {
    {"rectangular", surrogate_kind::rectangular, 1.0, 0.0, 1},
    {"triangle", surrogate_kind::triangle, 0.3, 1.0, 2},  // γ as in IIR-SNN / Bellec 2018
    {"sigmoid", surrogate_kind::sigmoid, 4.0, 0.0, 1},    // SJ default (snnTorch uses 25)
    {"arctan", surrogate_kind::arctan, 2.0, 0.0, 1},
    {"fast_sigmoid", surrogate_kind::fast_sigmoid, 25.0, 0.0, 1},
    {"super_spike", surrogate_kind::super_spike, 1.0, 0.0, 1},
    {"piecewise_quadratic", surrogate_kind::piecewise_quadratic, 1.0, 0.0, 1},
    {"piecewise_exp", surrogate_kind::piecewise_exp, 1.0, 0.0, 1},
    {"erf", surrogate_kind::erf, 2.0, 0.0, 1},
    {"softsign", surrogate_kind::softsign, 2.0, 0.0, 1},
    {"piecewise_leaky_relu", surrogate_kind::piecewise_leaky_relu, 1.0, 0.01, 2},
};

// Other spellings in use (the libraries' own names).
struct surrogate_alias {
  const char* alias;
  const char* name;
};
inline constexpr surrogate_alias surrogate_aliases[] = {
    {"rect", "rectangular"},   {"boxcar", "rectangular"},
    {"atan", "arctan"},        {"superspike", "super_spike"},
    {"piecewise_exponential", "piecewise_exp"},
    {"leaky_relu", "piecewise_leaky_relu"},
};

inline const surrogate_entry& entry_of(surrogate_kind k) {
  for (const auto& e : surrogate_table)
    if (e.kind == k) return e;
  throw kspike::internal_error("surrogate_kind without a table entry");
}

// "Fast-Sigmoid" -> "fast_sigmoid": names are matched without regard to case or dashes.
inline std::string normalise_name(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c))) continue;
    out += c == '-' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

inline double parse_number(const std::string& text, const std::string& whole) {
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || !std::isfinite(v))
    throw kspike::error("surrogate '" + whole + "': parameter '" + text + "' is not a finite number");
  return v;
}

// The shortest decimal that reads back as the same double, so to_string round-trips.
inline std::string format_number(double v) {
  char buf[32];
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

}  // namespace detail

inline const char* name_of(surrogate_kind k) { return detail::entry_of(k).name; }

// The family with its default parameters (docs/training.md "Surrogates").
inline surrogate_spec default_surrogate(surrogate_kind k) {
  const auto& e = detail::entry_of(k);
  return surrogate_spec{k, e.param, e.param2};
}

// Throws kspike::error unless the parameters give a finite, non-negative g'.
inline void validate(const surrogate_spec& s) {
  const std::string name = name_of(s.kind);
  if (!std::isfinite(s.param) || !(s.param > 0))
    throw kspike::error("surrogate '" + name + "': parameter must be > 0 (got " +
                        detail::format_number(s.param) + ")");
  if (s.kind == surrogate_kind::triangle && !(std::isfinite(s.param2) && s.param2 > 0))
    throw kspike::error("surrogate 'triangle': width w must be > 0");
  if (s.kind == surrogate_kind::piecewise_leaky_relu && !(std::isfinite(s.param2) && s.param2 >= 0))
    throw kspike::error("surrogate 'piecewise_leaky_relu': outer slope c must be >= 0");
}

// "name", "name:p" or "name:p,p2" (p2 only for triangle and piecewise_leaky_relu); parameters
// left out keep their defaults. Unknown names and malformed parameters throw kspike::error.
inline surrogate_spec parse_surrogate(const std::string& text) {
  const std::size_t colon = text.find(':');
  std::string name = detail::normalise_name(text.substr(0, colon));
  for (const auto& a : detail::surrogate_aliases)
    if (name == a.alias) name = a.name;
  const detail::surrogate_entry* entry = nullptr;
  for (const auto& e : detail::surrogate_table)
    if (name == e.name) entry = &e;
  if (entry == nullptr) {
    std::string known;
    for (const auto& e : detail::surrogate_table) known += std::string(known.empty() ? "" : ", ") + e.name;
    throw kspike::error("surrogate: unknown name '" + text.substr(0, colon) + "' (known: " + known + ")");
  }
  surrogate_spec s{entry->kind, entry->param, entry->param2};
  if (colon != std::string::npos) {
    const std::string args = text.substr(colon + 1);
    const std::size_t comma = args.find(',');
    s.param = detail::parse_number(args.substr(0, comma), text);
    if (comma != std::string::npos) {
      if (entry->n_params < 2)
        throw kspike::error("surrogate '" + text + "': " + entry->name + " takes one parameter");
      s.param2 = detail::parse_number(args.substr(comma + 1), text);
    }
  }
  validate(s);
  return s;
}

// The inverse of parse_surrogate: "sigmoid:4", "triangle:0.3,1".
inline std::string to_string(const surrogate_spec& s) {
  const auto& e = detail::entry_of(s.kind);
  std::string out = std::string(e.name) + ":" + detail::format_number(s.param);
  if (e.n_params == 2) out += "," + detail::format_number(s.param2);
  return out;
}

}  // namespace kspike::learning
