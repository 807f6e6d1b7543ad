#pragma once
// Pieces of JSON text for the commands that write their JSON by hand (metrics, energy, stats).
#include <cmath>
#include <cstdio>
#include <string>

namespace kspike::io {

// A number with 10 significant digits; null where it is not finite (JSON has no NaN or inf).
inline std::string json_number(double x) {
  if (!std::isfinite(x)) return "null";
  char b[40];
  std::snprintf(b, sizeof b, "%.10g", x);
  return b;
}

// A string in quotes, with quotes, backslashes and control characters escaped.
inline std::string json_string(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += c;
    } else if (c == '\n') {
      o += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char u[8];
      std::snprintf(u, sizeof u, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
      o += u;
    } else {
      o += c;
    }
  }
  return o + "\"";
}

}  // namespace kspike::io
