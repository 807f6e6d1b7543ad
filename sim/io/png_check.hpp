#pragma once
// Whether a PNG file is complete: it ends with the IEND chunk. gnuplot can exit 0 after a write
// error (a full disk, a file-size limit) and leave a truncated PNG; the commands that plot check
// the file before renaming it into place.
#include <cstring>
#include <fstream>
#include <string>

namespace kspike::io {

inline bool png_is_complete(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) return false;
  const std::streamoff size = f.tellg();
  if (size < 20) return false;
  char tail[8];
  f.seekg(size - 8);
  f.read(tail, 8);
  return f && std::memcmp(tail, "IEND\xAE\x42\x60\x82", 8) == 0;
}

}  // namespace kspike::io
