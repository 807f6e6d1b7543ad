// With CPU threads, dense steps propagate by target range (each thread owns a range of the
// ring's cells and walks every spike's row over it, rows kept in target order) instead of by
// spike with atomic additions. Rows are reordered for that, plastic synapses included: spikes,
// learned weights and the weights read through the API must be exactly those of Serial.
#include <catch2/catch.hpp>

#include "sim/engine.hpp"
#include "sim/io/network_config.hpp"
#include "support/backends.hpp"
#include "support/delivery_networks.hpp"
#include "support/memory_sink.hpp"

using namespace kspike;

namespace {

// Rows in generation order are far from target order (fixed_total_number draws pairs at
// random), two projections share rows, one of them plastic, one with delays.
const std::string network_text = kspike_test::input_and_excitatory_populations(21) + R"(
[projections.drive]
pre = "in"
post = "exc"
connector = { type = "fixed_total_number", n = 12000 }
weight = { normal = ["2 mA", "0.5 mA"], min = "0 mA" }
delay = { normal = ["1 ms", "0.5 ms"], min = "0.1 ms" }
[projections.learn]
pre = "in"
post = "exc"
connector = { type = "fixed_total_number", n = 8000 }
weight = { uniform = ["0 mA", "1 mA"] }
stdp = { a_pre = "0.05 mA", a_post = "-0.06 mA", w_min = "0 mA", w_max = "3 mA" }
[projections.recurrent]
pre = "exc"
post = "exc"
connector = { type = "fixed_total_number", n = 9000 }
weight = { normal = ["-1 mA", "0.2 mA"], max = "0 mA" }
receptor = "inhibitory"
delay = "0.5 ms"
)";

struct outcome {
  std::vector<std::tuple<step_t, std::size_t, std::int64_t>> spikes;
  std::vector<float> learned;
};

outcome simulate(const engine_options& o) {
  const network net = io::parse_network(network_text, "by_target.toml");
  engine eng(net, o);
  kspike_test::memory_sink sink;
  eng.set_sink(&sink);
  eng.run(net.duration);
  return {sink.spike_list, eng.weights("learn")};
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("propagation by target range gives Serial's spikes and weights", "[engine][delivery]",
                        kspike_test::backends) {
  engine_options serial = kspike_test::on("serial");
  const outcome reference = simulate(serial);
  REQUIRE(reference.spikes.size() > 1000);
  for (auto mode : {engine_options::delivery_mode::dense, engine_options::delivery_mode::sparse,
                    engine_options::delivery_mode::automatic}) {
    INFO("delivery mode " << static_cast<int>(mode));
    engine_options o = kspike_test::on<TestType>();
    o.delivery = mode;
    const outcome mine = simulate(o);
    CHECK(mine.spikes == reference.spikes);
    CHECK(mine.learned == reference.learned);
  }
  // The weights moved by learning: the comparison above is not of initial values.
  const network net = io::parse_network(network_text, "by_target.toml");
  engine untouched(net, serial);
  CHECK(untouched.weights("learn") != reference.learned);
}
