// The walk at arrival (engine_options::table_walk): on host backends a spike's row is walked a
// delay at a time into one buffer, and delivery sums that buffer with the ring's slot, which
// the projections of their own kinds still fill. Every neuron must get exactly the input the
// walk at spike gives it: the same spikes and membrane potentials, in every delivery mode, on
// every backend, with cells reached in one step both from the table and from a kind.
#include <catch2/catch.hpp>

#include "sim/core/error.hpp"
#include "sim/engine.hpp"
#include "sim/io/network_config.hpp"
#include "support/backends.hpp"
#include "support/delivery_networks.hpp"
#include "support/memory_sink.hpp"

using namespace kspike;

namespace {

// Table projections with delays from 0.1 to 3 ms (rows are drawn in random target order),
// one inhibitory; a dense projection (its own kind, through the ring) with a delay of its own
// onto the same neurons; sums that go through zero (weights of both signs onto one receptor).
const std::string network_text = kspike_test::input_and_excitatory_populations(5) + R"(
[populations.few]
size = 20
model = "cuba_lif"
tau_mem = "10 ms"
tau_syn = "2 ms"
v_threshold = "10 mV"
[projections.drive]
pre = "in"
post = "exc"
connector = { type = "fixed_total_number", n = 12000 }
weight = { normal = ["2 mA", "1.5 mA"] }
delay = { uniform = ["0.1 ms", "3 ms"] }
[projections.recurrent]
pre = "exc"
post = "exc"
connector = { type = "fixed_total_number", n = 9000 }
weight = { normal = ["-1 mA", "0.2 mA"], max = "0 mA" }
receptor = "inhibitory"
delay = { uniform = ["0.5 ms", "2 ms"] }
[projections.wide]
pre = "few"
post = "exc"
connector = { type = "all_to_all" }
weight = "0.5 mA"
delay = "1.2 ms"
[projections.back]
pre = "exc"
post = "few"
connector = { type = "fixed_probability", p = 0.2 }
weight = "1 mA"
delay = "0.3 ms"
)";

struct outcome {
  std::vector<std::tuple<step_t, std::size_t, std::int64_t>> spikes;
  std::vector<float> v;
  std::uint64_t events = 0;
  bool at_arrival = false;
};

outcome simulate(engine_options o, engine_options::table_walk_kind walk) {
  const network net = io::parse_network(network_text, "walk.toml");
  o.table_walk = walk;
  engine eng(net, o);
  kspike_test::memory_sink sink;
  eng.set_sink(&sink);
  eng.run(net.duration);
  return {sink.spike_list, eng.state("exc", "v"), eng.stats().synaptic_events, eng.table_walk_at_arrival()};
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("the walk at arrival gives the walk at spike's spikes and potentials", "[engine][delivery]",
                        kspike_test::backends) {
  using walk = engine_options::table_walk_kind;
  const outcome reference = simulate(kspike_test::on("serial"), walk::at_spike);
  REQUIRE(reference.spikes.size() > 1000);
  REQUIRE_FALSE(reference.at_arrival);
  for (auto mode : {engine_options::delivery_mode::dense, engine_options::delivery_mode::sparse,
                    engine_options::delivery_mode::automatic}) {
    INFO("delivery mode " << static_cast<int>(mode));
    engine_options o = kspike_test::on<TestType>();
    o.delivery = mode;
    const bool host = kspike_test::on<TestType>().backend != "cuda";
    const outcome mine = simulate(o, host ? walk::at_arrival : walk::at_spike);
    CHECK(mine.at_arrival == host);
    CHECK(mine.spikes == reference.spikes);
    CHECK(mine.v == reference.v);
    CHECK(mine.events == reference.events);
  }
}

TEMPLATE_LIST_TEST_CASE("auto walks the table at arrival on CPU backends", "[engine][delivery]", kspike_test::backends) {
  const bool host = kspike_test::on<TestType>().backend != "cuda";
  CHECK(engine(io::parse_network(network_text, "walk.toml"), kspike_test::on<TestType>()).table_walk_at_arrival() == host);
}

TEST_CASE("the walk at arrival is refused where it cannot run, and left out by auto", "[engine][delivery]") {
  using walk = engine_options::table_walk_kind;
  network plastic = io::parse_network(network_text + "stdp = { a_pre = \"0.01 mA\", a_post = \"-0.01 mA\", w_min = \"0 mA\", w_max = \"2 mA\" }\n",
                                      "plastic.toml");
  engine_options o = kspike_test::on("serial");
  o.table_walk = walk::at_arrival;
  CHECK_THROWS_WITH(engine(plastic, o), Catch::Contains("plastic.toml") && Catch::Contains("at-arrival") &&
                                            Catch::Contains("plastic projections"));
  o.table_walk = walk::automatic;
  CHECK_FALSE(engine(plastic, o).table_walk_at_arrival());
  const network net = io::parse_network(network_text, "walk.toml");
  o.table_walk = walk::at_arrival;
  o.step_sync = engine_options::step_sync_kind::deferred;
  CHECK_THROWS_WITH(engine(net, o), Catch::Contains("at-arrival") && Catch::Contains("deferred"));
  o.table_walk = walk::automatic;
  CHECK_FALSE(engine(net, o).table_walk_at_arrival());
}
