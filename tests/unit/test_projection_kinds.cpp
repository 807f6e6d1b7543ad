// Projection kinds: all-to-all, one-to-one and all-but-self projections get kernels of their
// own (no synapse table rows); the spikes, states and event counts must be those of the same
// network with every projection in the sparse table, on every backend and in both delivery
// modes, and the kinds must be the ones the connectors call for.
#include <catch2/catch.hpp>

#include "sim/connectivity.hpp"
#include "sim/engine.hpp"
#include "sim/io/network_config.hpp"
#include "support/backends.hpp"
#include "support/memory_sink.hpp"

using namespace kspike;

namespace {

// Every kind at once, with drawn and constant weights and delays, excitation and inhibition.
const char* kinds_network = R"(
dt = "0.1 ms"
seed = 11
[populations.in]
size = 40
model = "poisson"
rate = "60 Hz"
[populations.exc]
size = 30
model = "cuba_lif"
tau_mem = "10 ms"
tau_syn = "2 ms"
v_threshold = "10 mV"
r = "1 Ohm"
v_init = { uniform = ["0 mV", "8 mV"] }
[populations.inh]
size = 30
model = "lif"
tau = "8 ms"
v_threshold = "6 mV"
[projections.input]                   # dense: drawn weights and delays
pre = "in"
post = "exc"
connector = "all_to_all"
weight = { uniform = ["0 mA", "5 mA"] }
delay = { uniform = ["0.1 ms", "3 ms"] }
[projections.pair]                    # one_to_one, drawn weights, one delay
pre = "exc"
post = "inh"
connector = "one_to_one"
weight = { uniform = ["5 mV", "9 mV"] }
delay = "0.5 ms"
[projections.lateral]                 # all_but_self: one weight, one delay
pre = "inh"
post = "exc"
connector = "all_to_all"
receptor = "inhibitory"
weight = "-0.4 mA"
delay = "0.2 ms"
[projections.recurrent]               # dense without the diagonal (drawn weights)
pre = "exc"
post = "exc"
connector = { type = "all_to_all", allow_self = false }
weight = { normal = ["0.05 mA", "0.05 mA"] }
[projections.among_inh]               # all_but_self within one population
pre = "inh"
post = "inh"
connector = { type = "all_to_all", allow_self = false }
receptor = "inhibitory"
weight = "-0.3 mV"
[projections.sparse]                  # stays in the table
pre = "in"
post = "inh"
connector = { type = "fixed_probability", p = 0.2 }
weight = "1 mV"
[record]
spikes = ["exc", "inh"]
[[record.state]]
population = "exc"
variable = "v"
neurons = [0, 7, 29]
)";

struct outcome {
  std::vector<std::tuple<step_t, std::size_t, std::int64_t>> spikes;
  std::vector<std::vector<std::vector<float>>> samples;
  std::uint64_t events = 0;
  std::int64_t synapses = 0;
};

outcome simulate(const network& net, engine_options o) {
  engine eng(net, o);
  kspike_test::memory_sink sink;
  eng.set_sink(&sink);
  eng.run(0.3);
  return {sink.spike_list, sink.samples, eng.stats().synaptic_events, eng.synapse_count()};
}

}  // namespace

TEST_CASE("the engine gives each projection the kind its connector calls for", "[engine][kinds]") {
  const network net = io::parse_network(kinds_network, "kinds.toml");
  auto kind = [&](const char* name) {
    for (const auto& pr : net.projections)
      if (pr.name == name) return choose_kind(net, pr);
    FAIL("no projection " << name);
    return projection_kind::sparse;
  };
  CHECK(kind("input") == projection_kind::dense);
  CHECK(kind("pair") == projection_kind::one_to_one);
  CHECK(kind("lateral") == projection_kind::dense);  // all-to-all between two populations
  CHECK(kind("recurrent") == projection_kind::dense);
  CHECK(kind("among_inh") == projection_kind::all_but_self);
  CHECK(kind("sparse") == projection_kind::sparse);
  const synapse_table t = build_synapses(net, population_offsets(net));
  CHECK(t.structured.size() == 5);
  CHECK(t.structured.back().weight.size() == 1);  // all_but_self keeps one weight
  std::int64_t structured = 0;
  for (const auto& sp : t.structured) structured += sp.synapses;
  CHECK(structured == 40 * 30 + 30 + 30 * 30 + 30 * 29 + 30 * 29);
  const synapse_table all_sparse = build_synapses(net, population_offsets(net), false);
  CHECK(all_sparse.structured.empty());
  CHECK(all_sparse.size() == structured + t.size());
  CHECK(all_sparse.max_delay == t.max_delay);
  CHECK(all_sparse.max_abs_weight == t.max_abs_weight);
}

TEMPLATE_LIST_TEST_CASE("projection kinds give the spikes of the sparse table", "[engine][kinds]", kspike_test::backends) {
  const network net = io::parse_network(kinds_network, "kinds.toml");
  for (auto mode : {engine_options::delivery_mode::sparse, engine_options::delivery_mode::dense}) {
    engine_options kinds = kspike_test::on<TestType>(), table = kinds;
    kinds.delivery = table.delivery = mode;
    table.structured_projections = false;
    const outcome a = simulate(net, kinds), b = simulate(net, table);
    std::size_t per_population[3] = {0, 0, 0};
    for (const auto& sp : a.spikes) ++per_population[std::get<1>(sp)];
    CHECK(per_population[1] > 100);  // both neuron populations fire
    CHECK(per_population[2] > 100);
    CHECK(a.spikes == b.spikes);
    CHECK(a.samples == b.samples);
    CHECK(a.events == b.events);
    CHECK(a.synapses == b.synapses);
  }
}
