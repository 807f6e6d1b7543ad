// `--backend auto` (every command's default): the GPU where the build has one and the work pays
// for it, else the best host backend; a named backend is taken as it is.
#include <catch2/catch.hpp>

#include <algorithm>

#include "sim/backend.hpp"
#include "sim/core/error.hpp"
#include "sim/engine.hpp"
#include "sim/io/network_config.hpp"

using namespace kspike;

namespace {

bool compiled(const std::string& name) {
  const auto b = compiled_backends();
  return std::find(b.begin(), b.end(), name) != b.end();
}

std::string best_host() { return compiled("openmp") ? "openmp" : "serial"; }

}  // namespace

TEST_CASE("backend auto: the GPU only where it pays, else the best host backend", "[backend]") {
  CHECK(resolve_backend("", false) == best_host());
  CHECK(resolve_backend("auto", false) == best_host());
  CHECK(resolve_backend("auto", true) == (compiled("cuda") ? "cuda" : best_host()));
  CHECK(resolve_backend("", true) == resolve_backend("auto", true));
  for (const auto& b : compiled_backends()) {
    CHECK(resolve_backend(b, false) == b);  // a named backend is never second-guessed
    CHECK(resolve_backend(b, true) == b);
  }
  CHECK_NOTHROW(require_backend("auto"));
  CHECK_THROWS_WITH(resolve_backend("warp", true), Catch::Contains("--backend") && Catch::Contains("auto"));
}

TEST_CASE("backend auto: the engine keeps small networks on the host", "[backend][engine]") {
  const network net = io::parse_network(R"(
[populations.a]
size = 10
model = "lif"
)", "small.toml");
  engine_options o;
  o.backend = "auto";
  engine eng(net, o);
  CHECK(eng.backend() == best_host());
}
