// libFuzzer target: the classification model reader (experiments/classify/model_spec). A model
// that parses must also survive the canonical round trip: parsing to_toml(m) gives m again.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "experiments/classify/model_spec.hpp"
#include "sim/core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace kspike::classify;
  model_spec m;
  try {
    m = parse_model_spec(std::string(reinterpret_cast<const char*>(data), size), "fuzz.toml");
  } catch (const kspike::error&) {
    return 0;
  }
  const std::string canonical = to_toml(m);
  if (to_toml(parse_model_spec(canonical, "canonical.toml")) != canonical) std::abort();
  return 0;
}
