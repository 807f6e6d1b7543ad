#pragma once
// The two exception kinds of kspike (see docs/architecture.md "Errors").
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

// "file: field: message", the form every input error takes.
inline std::string where(const std::string& file, const std::string& field) {
  std::string s = file.empty() ? std::string("<network>") : file;
  if (!field.empty()) s += ": " + field;
  return s;
}

}  // namespace kspike
