// libFuzzer target: the IDX reader (encoders/idx_reader), raw and gzip-compressed (the input is
// written to a file, as the reader takes a path; a gzip input is inflated by the reader).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "encoders/idx_reader.hpp"
#include "sim/core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = "/tmp/kspike-fuzz-idx-" + std::to_string(::getpid());
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  try {
    const auto img = kspike::encoders::read_idx_images(path, 0, 0);
    if (img.pixels.size() != static_cast<std::size_t>(img.count * img.rows * img.cols)) __builtin_trap();
  } catch (const kspike::error&) {
  }
  try {
    (void)kspike::encoders::read_idx_labels(path, 10);
  } catch (const kspike::error&) {
  }
  return 0;
}
