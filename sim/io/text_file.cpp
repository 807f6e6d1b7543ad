#include "sim/io/text_file.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sim/core/error.hpp"

namespace kspike::io {

void check_input_file(const std::string& path, std::size_t max_bytes) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw error(path + ": cannot open: " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw error(path + ": is a folder, not a file");
  if (!S_ISREG(st.st_mode)) throw error(path + ": not a regular file (a device, pipe or socket): refusing to read it");
  if (static_cast<std::size_t>(st.st_size) > max_bytes)
    throw error(path + ": " + std::to_string(st.st_size) + " bytes, more than the " + std::to_string(max_bytes) +
                " such a file may have");
}

std::string read_text_file(const std::string& path, std::size_t max_bytes) {
  check_input_file(path, max_bytes);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw error(path + ": cannot open");
  std::string text;
  char buffer[1 << 16];
  // Bounded even if the file grows while it is read.
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_bytes) throw error(path + ": grew past " + std::to_string(max_bytes) + " bytes while being read");
  }
  if (in.bad()) throw error(path + ": read error");
  return text;
}

std::string temporary_for(const std::string& path, const std::string& suffix) {
  namespace fs = std::filesystem;
  const std::string tmp = path + suffix;
  std::error_code ec;
  const fs::file_status st = fs::symlink_status(tmp, ec);
  if (fs::exists(st)) {
    if (fs::is_directory(st)) throw error(tmp + ": a folder is where the temporary file goes: not removing it");
    if (!fs::remove(tmp, ec) || ec) throw error(tmp + ": cannot remove what an earlier run left there (" + ec.message() + ")");
  }
  return tmp;
}

void write_text_file_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = temporary_for(path);
  {
    std::ofstream f(tmp, std::ios::binary);
    f << text;
    f.flush();
    if (!f) {
      f.close();
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      throw error(path + ": cannot write");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    throw error(path + ": cannot rename the finished file into place");
  }
}

}  // namespace kspike::io
