#pragma once
// Names a user gives in a config (populations, projections, runs, models) become parts of file
// and folder names, HDF5 group names and plot titles. A name that could reach outside the
// output folder ("../x", "a/b"), split an HDF5 path, hide a file, pass for an option, or end a
// quoted string in a plotting script is refused where it is read.
#include <string>

namespace kspike {

// Why `name` is not a plain name, or "" when it is: 1 to 128 printable ASCII characters, no
// slash, backslash, quote or backtick, not starting with '.' or '-'.
inline std::string plain_name_problem(const std::string& name) {
  if (name.empty()) return "is empty";
  if (name.size() > 128) return "is longer than 128 characters";
  if (name[0] == '.' || name[0] == '-') return "'" + name + "' starts with '" + name[0] + "'";
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e) return "holds a control or non-ASCII character";
    if (c == '/' || c == '\\' || c == '"' || c == '\'' || c == '`')
      return "'" + name + "' holds '" + std::string(1, c) + "'";
  }
  return "";
}

}  // namespace kspike
