// The configured paths come in as definitions on this file alone (tests/CMakeLists.txt): in a
// CUDA build some test units are compiled by the host compiler through nvcc_wrapper, which
// does not pass string definitions on intact.
#include "support/paths.hpp"

#include <cstdlib>

namespace kspike_test {
namespace {

std::string from_env(const char* name, const char* configured) {
  const char* e = std::getenv(name);
  return e != nullptr && *e != '\0' ? std::string(e) : std::string(configured);
}

}  // namespace

std::string source_dir() { return from_env("KSPIKE_SOURCE_DIR", KSPIKE_SOURCE_DIR); }
std::string kspike_binary() { return from_env("KSPIKE_BINARY", KSPIKE_BINARY); }
std::string shared_data_dir() { return from_env("KSPIKE_SHARED_DATA", KSPIKE_SHARED_DATA); }

}  // namespace kspike_test
