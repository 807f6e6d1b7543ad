#pragma once
// Whether a PNG file is complete: it ends with the IEND chunk. gnuplot can exit 0 after a write
// error (a full disk, a file-size limit) and leave a truncated PNG; the commands that plot check
// the file before renaming it into place.
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "sim/core/error.hpp"
#include "sim/io/text_file.hpp"

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

// Runs gnuplot on `script_text`, which must write its image to PNG.tmp (the script itself goes to
// PNG.gp and is removed after): PNG.tmp becomes PNG when complete and is removed otherwise. No
// plot, and no error, where gnuplot is missing or fails: plots accompany results, never replace them.
inline void plot_with_gnuplot(const std::string& script_text, const std::string& png) {
  std::string script, tmp;
  try {
    script = temporary_for(png, ".gp");
    tmp = temporary_for(png);
  } catch (const error&) {
    return;  // a folder where a temporary goes: no plot
  }
  {
    std::ofstream g(script);
    g << script_text;
  }
  std::error_code ec;
  if (std::system(("gnuplot '" + script + "' > /dev/null 2>&1").c_str()) == 0 && png_is_complete(tmp))
    std::filesystem::rename(tmp, png, ec);
  else
    std::filesystem::remove(tmp, ec);
  std::filesystem::remove(script, ec);
}

}  // namespace kspike::io
