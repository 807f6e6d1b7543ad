#pragma once
// The two exception kinds of kspike (see docs/architecture.md "Errors").
#include <cstdio>
#include <stdexcept>
#include <string>

namespace kspike {

// Bad input: a malformed config, a missing or truncated file, a wrong shape. The message is
// one line and names the file and the field; the CLI prints it and exits with status 2.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A broken invariant inside kspike: a bug, not the user's fault.
class internal_error : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// A number in a message, short whatever its size: 12 significant digits, no trailing zeros
// ("0.0001", not "0.000100"; "-1e+300", not 300 digits).
inline std::string short_number(double x) {
  char s[32];
  std::snprintf(s, sizeof s, "%.12g", x);
  return s;
}

// "file: field: message", the form every input error takes.
inline std::string where(const std::string& file, const std::string& field) {
  std::string s = file.empty() ? std::string("<network>") : file;
  if (!field.empty()) s += ": " + field;
  return s;
}

}  // namespace kspike
