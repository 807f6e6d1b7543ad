// libFuzzer target: the TOML network reader (sim/io/network_config). Any input must either give
// a network or throw kspike::error; nothing else (a crash, a sanitizer report, another
// exception, a hang) is allowed.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sim/core/error.hpp"
#include "sim/io/network_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    (void)kspike::io::parse_network(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.toml");
  } catch (const kspike::error&) {
  }
  return 0;
}
