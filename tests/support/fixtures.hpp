#pragma once
// Paths to the shared interop fixtures. Tests that need them call require_shared_data(),
// which skips (with a message saying why) where ../shared/data is absent, as in a user's
// fresh clone.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <unistd.h>

#include "support/paths.hpp"

namespace kspike_test {

inline std::string shared_data(const std::string& rel) {
  return shared_data_dir() + "/" + rel;
}

// True when the file exists; otherwise prints why the test is skipped.
inline bool have_shared(const std::string& rel) {
  if (std::filesystem::exists(shared_data(rel))) return true;
  WARN("skipped: " << shared_data(rel) << " is absent (the shared fixtures are not in a plain clone)");
  return false;
}

// A fresh temporary directory, removed when the object goes out of scope.
struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    path = std::filesystem::temp_directory_path() /
           ("kspike-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    std::filesystem::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
  static int& counter() {
    static int c = 0;
    return c;
  }
};

}  // namespace kspike_test
