// The registry of random streams (sim/core/rng.hpp): no two uses may draw the same numbers.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "sim/core/rng.hpp"

using namespace kspike;

TEST_CASE("random streams: every family has its own range of stream ids", "[rng]") {
  std::vector<stream_family> f(std::begin(stream_families), std::end(stream_families));
  std::sort(f.begin(), f.end(), [](const auto& a, const auto& b) { return stream_id(a.base) < stream_id(b.base); });
  std::set<std::string> names;
  for (std::size_t i = 0; i < f.size(); ++i) {
    INFO(f[i].name);
    CHECK(f[i].span > 0);
    CHECK(names.insert(f[i].name).second);  // one row per family
    const std::uint64_t end = std::uint64_t{stream_id(f[i].base)} + f[i].span;
    CHECK(end <= (std::uint64_t{1} << 32));
    if (i + 1 < f.size()) CHECK(end <= stream_id(f[i + 1].base));  // no overlap with the next family
  }
}

TEST_CASE("random streams: ids are the family base plus the offset", "[rng]") {
  CHECK(stream_id(stream::poisson_source) == 0x10000000u);
  CHECK(stream_id(stream::connect, 3) == 0x30000003u);
  static_assert(stream_id(stream::layer_init, 2) == 0x73000002u, "usable in constant expressions");
}
