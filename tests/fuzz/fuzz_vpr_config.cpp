// libFuzzer target: the place-recognition config reader (experiments/vpr/vpr_config), with and
// without its [quick] overrides.
#include <cstddef>
#include <cstdint>
#include <string>

#include "experiments/vpr/vpr_config.hpp"
#include "sim/core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (bool quick : {false, true}) {
    try {
      const auto c = kspike::vpr::parse_vpr_config(text, "fuzz.toml", quick);
      (void)kspike::vpr::training_settings(c);
    } catch (const kspike::error&) {
    }
  }
  return 0;
}
