// libFuzzer target: image decoding (encoders/image: PNG, JPEG, PGM/PPM through stb_image, with
// kspike's format, size and payload checks in front).
#include <cstddef>
#include <cstdint>

#include "encoders/image.hpp"
#include "sim/core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  for (int channels : {0, 1, 3}) {
    try {
      const auto img = kspike::encoders::decode_image(data, size, "fuzz", channels);
      if (img.data.size() != static_cast<std::size_t>(img.width) * img.height * img.channels) __builtin_trap();
    } catch (const kspike::error&) {
    }
  }
  return 0;
}
