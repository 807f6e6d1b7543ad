// Batched instances: N copies of a network advanced together, copy k with seed + k. Each copy
// must compute exactly what a single run with its seed computes (spikes, sampled states,
// learned weights), on every backend; kspike run --instances writes NAME.k populations.
#include <catch2/catch.hpp>

#include <map>

#include "sim/engine.hpp"
#include "sim/io/network_config.hpp"
#include "sim/io/sonata.hpp"
#include "support/backends.hpp"
#include "support/cli_runner.hpp"
#include "support/memory_sink.hpp"

using namespace kspike;

namespace {

// Everything random is drawn (connectivity, weights and delays, truncated ones too, initial v,
// Poisson sources and background input), with every projection kind, a spike source array, a
// current and a plastic projection.
const char* sweep_network = R"(
dt = "0.1 ms"
duration = "200 ms"
seed = 40
[populations.in]
size = 30
model = "poisson"
rate = "50 Hz"
[populations.cue]
size = 2
model = "spike_source_array"
spike_times = [["20 ms", "90 ms"], ["50 ms"]]
[populations.exc]
size = 20
model = "cuba_lif"
tau_mem = "10 ms"
tau_syn = "2 ms"
v_threshold = "10 mV"
v_init = { uniform = ["0 mV", "9 mV"] }
background = { inputs = 20, rate = "20 Hz", weight = "1 mA" }
[populations.inh]
size = 20
model = "adex"
[projections.input]
pre = "in"
post = "exc"
connector = "all_to_all"
weight = { uniform = ["0 mA", "4 mA"] }
delay = { uniform = ["0.1 ms", "2 ms"] }
[projections.cue_in]
pre = "cue"
post = "exc"
connector = { type = "fixed_probability", p = 0.5 }
weight = "20 mA"
[projections.pair]
pre = "exc"
post = "inh"
connector = "one_to_one"
weight = { uniform = ["1 nA", "3 nA"] }
[projections.back]
pre = "inh"
post = "exc"
connector = { type = "fixed_in_degree", n = 5 }
receptor = "inhibitory"
weight = "-2 mA"
[projections.pairs]
pre = "exc"
post = "exc"
connector = { type = "fixed_total_number", n = 60, allow_self = false }
weight = { normal = ["1 mA", "1 mA"], min = "0 mA" }
delay = { normal = ["1 ms", "1 ms"], min = "0.1 ms", max = "2 ms" }
[projections.learn]
pre = "in"
post = "inh"
connector = { type = "fixed_probability", p = 0.3 }
weight = { uniform = ["0 nA", "0.3 nA"] }
stdp = { a_pre = "0.02 nA", a_post = "-0.021 nA", w_min = "0 nA", w_max = "0.5 nA" }
[projections.learn_late]              # plastic with delays: a trace per synapse
pre = "in"
post = "inh"
connector = { type = "fixed_probability", p = 0.3 }
weight = { uniform = ["0 nA", "0.3 nA"] }
delay = { uniform = ["0.1 ms", "4 ms"] }
stdp = { a_pre = "0.02 nA", a_post = "-0.021 nA", w_min = "0 nA", w_max = "0.5 nA", pairing = "nearest" }
[[currents]]
population = "inh"
neurons = [3, 4]
times = ["0 ms", "100 ms"]
amplitudes = ["0.4 nA", "0.7 nA"]
[record]
spikes = ["exc", "inh", "cue"]
[[record.state]]
population = "inh"
variable = "w"
neurons = [0, 3]
)";

struct run_result {
  std::map<std::pair<std::size_t, std::int64_t>, std::vector<step_t>> spikes;  // (population, node) -> steps
  std::vector<std::vector<float>> samples;                                     // [sample][value]
  std::vector<float> weights;
};

// Runs `net` with `instances` copies; returns what each copy recorded, split as copy k.
std::vector<run_result> simulate(const network& net, int instances, const engine_options& base) {
  engine_options o = base;
  o.instances = instances;
  engine eng(net, o);
  kspike_test::memory_sink sink;
  eng.set_sink(&sink);
  eng.run(net.duration);
  std::vector<run_result> out(static_cast<std::size_t>(instances));
  for (const auto& [step, pop, id] : sink.spike_list) {
    const std::int64_t size = net.populations[pop].size;
    out[static_cast<std::size_t>(id / size)].spikes[{pop, id % size}].push_back(step);
  }
  for (const auto& sample : sink.samples.at(0)) {
    const std::size_t per = sample.size() / static_cast<std::size_t>(instances);
    for (int k = 0; k < instances; ++k)
      out[static_cast<std::size_t>(k)].samples.emplace_back(sample.begin() + static_cast<std::ptrdiff_t>(k * per),
                                                            sample.begin() + static_cast<std::ptrdiff_t>((k + 1) * per));
  }
  std::size_t all = 0;
  for (int k = 0; k < instances; ++k) {
    out[static_cast<std::size_t>(k)].weights = eng.weights("learn", k);
    for (float w : eng.weights("learn_late", k)) out[static_cast<std::size_t>(k)].weights.push_back(w);
    all += out[static_cast<std::size_t>(k)].weights.size();
  }
  CHECK(eng.weights("learn").size() + eng.weights("learn_late").size() == all);
  return out;
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("instance k of a batch computes what a single run with seed + k computes", "[engine][instances]",
                        kspike_test::backends) {
  network net = io::parse_network(sweep_network, "sweep.toml");
  const auto o = kspike_test::on<TestType>();
  const auto batch = simulate(net, 3, o);
  std::size_t differ = 0;
  for (int k = 0; k < 3; ++k) {
    INFO("instance " << k);
    network single = net;
    single.seed = net.seed + static_cast<std::uint64_t>(k);
    const auto alone = simulate(single, 1, o).at(0);
    const auto& mine = batch[static_cast<std::size_t>(k)];
    CHECK(mine.spikes.size() > 20);  // neurons of exc and inh fire
    CHECK(mine.spikes == alone.spikes);
    CHECK(mine.samples == alone.samples);
    REQUIRE(mine.weights.size() == alone.weights.size());
    std::size_t first_difference = mine.weights.size();
    for (std::size_t j = 0; j < mine.weights.size() && first_difference == mine.weights.size(); ++j)
      if (mine.weights[j] != alone.weights[j]) first_difference = j;
    INFO("first differing weight " << first_difference);
    CHECK(first_difference == mine.weights.size());
    if (k > 0 && mine.spikes != batch[0].spikes) ++differ;
  }
  CHECK(differ == 2);  // the copies are not the same network
}

TEST_CASE("kspike run --instances writes population NAME.k of copy k, as runs with --seed give", "[cli][instances]") {
  kspike_test::temp_dir dir;
  { std::ofstream(dir.file("sweep.toml")) << sweep_network; }
  const auto batch = kspike_test::run_kspike("run sweep.toml --instances 2 -o both.h5", dir);
  REQUIRE(batch.status == 0);
  CHECK_THAT(batch.out, Catch::Contains("2 instances (seeds 40 .. 41)"));
  CHECK_THAT(batch.out, Catch::Contains("exc                40 neurons"));  // over both copies
  REQUIRE(kspike_test::run_kspike("run sweep.toml --seed 41 -o one.h5 -q", dir).status == 0);
  const auto both = io::read_spike_report(dir.file("both.h5"));
  const auto one = io::read_spike_report(dir.file("one.h5"));
  std::map<std::string, const io::spike_population*> by_name;
  for (const auto& p : both) by_name[p.name] = &p;
  for (const char* name : {"exc.0", "exc.1", "inh.0", "inh.1", "cue.0", "cue.1"}) CHECK(by_name.count(name) == 1);
  for (const auto& p : one) {
    INFO(p.name);
    REQUIRE(by_name.count(p.name + ".1") == 1);
    CHECK(by_name[p.name + ".1"]->node_ids == p.node_ids);
    CHECK(by_name[p.name + ".1"]->timestamps == p.timestamps);
  }
  const auto r = kspike_test::run_kspike("run sweep.toml --instances 0 -o x.h5", dir);
  CHECK(r.status == 2);
  CHECK(r.err == "kspike run: error: --instances: must be >= 1 (got 0)\n");
}
