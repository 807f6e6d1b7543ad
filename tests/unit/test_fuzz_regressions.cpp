// The inputs the fuzzers found (tests/fuzz/regressions/TARGET/), replayed through the same
// readers in every build of the suite, so that the sanitizer build (scripts/test --sanitize)
// catches a regression without clang or libFuzzer. Each must be refused with kspike::error (or,
// for a model and an image, may be read, through no undefined behaviour).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "encoders/idx_reader.hpp"
#include "encoders/image.hpp"
#include "experiments/classify/model_spec.hpp"
#include "experiments/vpr/vpr_config.hpp"
#include "sim/core/error.hpp"
#include "sim/io/network_config.hpp"
#include "support/paths.hpp"

namespace fs = std::filesystem;

namespace {

std::vector<fs::path> inputs(const std::string& target) {
  std::vector<fs::path> out;
  const fs::path dir = fs::path(kspike_test::source_dir()) / "tests" / "fuzz" / "regressions" / target;
  if (fs::is_directory(dir))
    for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path());
  return out;
}

std::string bytes_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("fuzzer findings stay fixed", "[fuzz]") {
  int replayed = 0;
  for (const auto& p : inputs("network_toml")) {
    INFO(p);
    CHECK_THROWS_AS(kspike::io::parse_network(bytes_of(p), "f.toml"), kspike::error);
    ++replayed;
  }
  for (const auto& p : inputs("model_toml")) {
    INFO(p);
    // Refused, or read and then stable through the canonical text (as the fuzz target checks).
    try {
      const auto m = kspike::classify::parse_model_spec(bytes_of(p), "f.toml");
      const std::string canonical = kspike::classify::to_toml(m);
      CHECK(kspike::classify::to_toml(kspike::classify::parse_model_spec(canonical, "canonical.toml")) == canonical);
    } catch (const kspike::error&) {
    }
    ++replayed;
  }
  for (const auto& p : inputs("vpr_config")) {
    INFO(p);
    CHECK_THROWS_AS(kspike::vpr::parse_vpr_config(bytes_of(p), "f.toml"), kspike::error);
    ++replayed;
  }
  for (const auto& p : inputs("idx")) {
    INFO(p);
    CHECK_THROWS_AS(kspike::encoders::read_idx_images(p.string(), 0, 0), kspike::error);
    ++replayed;
  }
  for (const auto& p : inputs("image")) {
    INFO(p);
    const std::string b = bytes_of(p);
    // Decoded or refused, but through no undefined behaviour (the sanitizer build checks that).
    try {
      (void)kspike::encoders::decode_image(reinterpret_cast<const std::uint8_t*>(b.data()), b.size(), p.string(), 3);
    } catch (const kspike::error&) {
    }
    ++replayed;
  }
  CHECK(replayed >= 7);
}
