// The engine's window schedule (engine_options::schedule, sim/window_circuit.hpp,
// sim/window_engine_impl.hpp) on the engine's own terms: which networks it takes, the same
// spikes on every backend and thread count and for an instance alone or in a batch, agreement
// with the step schedule on the same network file, and the API it shares with it. Its
// arithmetic is checked spike by spike against a re-statement of the equations in
// test_vpr_network.cpp.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <numeric>
#include <sstream>

#include "sim/engine.hpp"
#include "sim/io/network_config.hpp"
#include "sim/io/weights_file.hpp"
#include "support/fixtures.hpp"
#include "support/backends.hpp"
#include "support/memory_sink.hpp"
#include "support/paths.hpp"

using kspike::engine;
using kspike::engine_options;

namespace {

const std::string module_file = kspike_test::source_dir() + "/experiments/networks/vpr_module.toml";

std::string module_text() {
  std::ifstream f(module_file);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// The module file with `from` replaced by `to` (which must occur).
kspike::network edited(const std::string& from, const std::string& to) {
  std::string t = module_text();
  const auto at = t.find(from);
  REQUIRE(at != std::string::npos);
  t.replace(at, from.size(), to);
  return kspike::io::parse_network(t, "edited.toml");
}

engine_options windows(const std::string& backend, int instances = 1, std::vector<std::uint32_t> keys = {}) {
  engine_options o;
  o.backend = backend;
  o.schedule = engine_options::schedule_kind::windows;
  o.instances = instances;
  o.input_keys = std::move(keys);
  return o;
}

// Spikes of every population as (step, population, id), over `seconds`, learning on.
std::vector<std::tuple<kspike::step_t, std::size_t, std::int64_t>> spikes_of(const kspike::network& net,
                                                                              const engine_options& o, double seconds) {
  engine e(net, o);
  kspike_test::memory_sink sink;
  e.set_sink(&sink);
  e.run(seconds);
  return sink.spike_list;
}

}  // namespace

TEST_CASE("window schedule: networks it cannot run are refused naming the file and what does not fit",
          "[engine][windows]") {
  auto refused = [](const kspike::network& net, const std::string& needle) {
    INFO(needle);
    CHECK_THROWS_WITH(engine(net, windows("serial")), Catch::Contains(net.source + ": window schedule: ") &&
                                                          Catch::Contains(needle));
  };
  refused(kspike::io::load_network(kspike_test::source_dir() + "/experiments/networks/cuba.toml"), "3 populations");
  refused(edited("sampling = \"gaps\"", "sampling = \"steps\""), "populations.input.sampling");
  refused(edited("method = \"euler\"\ntau = \"10 ms\"", "method = \"exponential_euler\"\ntau = \"10 ms\""),
          "populations.inh.method");
  refused(edited("pairing = \"nearest\"", "pairing = \"all\""), "projections.input.stdp.pairing");
  refused(edited("weight = 10.4", "weight = { uniform = [10, 11] }"), "projections.exc_inh.weight");
  refused(edited("delay = { uniform = [\"0.1 ms\", \"10 ms\"] }", "delay = { uniform = [\"0.1 ms\", \"30 ms\"] }"),
          "projections.input.delay");
  refused(edited("receptor = \"inhibitory\"", "receptor = \"excitatory\""), "projections.inh_exc.receptor");
  // The step schedule takes no input keys and cannot draw delays again.
  engine_options o;
  o.backend = "serial";
  o.input_keys = {1};
  CHECK_THROWS_WITH(engine(kspike::io::load_network(module_file), o), Catch::Contains("input_keys"));
  engine steps(kspike::io::load_network(module_file), "serial");
  CHECK_THROWS_WITH(steps.redraw_delays("input", 1), Catch::Contains("step schedule"));
}

TEMPLATE_LIST_TEST_CASE("window schedule: the same spikes on every backend, alone or beside other instances",
                        "[engine][windows]", kspike_test::backends) {
  const auto net = kspike::io::load_network(module_file);
  const std::string backend = kspike_test::backend_name<TestType>();
  const auto serial = spikes_of(net, windows("serial", 3, {5, 6, 7}), 0.6);
  const auto here = spikes_of(net, windows(backend, 3, {5, 6, 7}), 0.6);
  REQUIRE(serial.size() > 300);
  CHECK(here == serial);
  // Instance 1 (key 6) alone: its spikes, with ids of instance 0.
  const auto alone = spikes_of(net, windows(backend, 1, {6}), 0.6);
  std::vector<std::tuple<kspike::step_t, std::size_t, std::int64_t>> second;
  for (const auto& [step, pop, id] : serial) {
    const std::int64_t size = pop == 0 ? 784 : 400;  // input, exc, inh
    if (id / size == 1) second.emplace_back(step, pop, id - size);
  }
  REQUIRE(!second.empty());
  CHECK(alone == second);
  // Different keys, different input noise.
  std::size_t first = 0;
  for (const auto& s : serial) first += std::get<2>(s) < (std::get<1>(s) == 0 ? 784 : 400);
  CHECK(first != second.size());
}

TEST_CASE("window schedule: the same network file under both schedules fires at the same rates", "[engine][windows]") {
  const auto net = kspike::io::load_network(module_file);
  const double seconds = 3.0;
  engine steps(net, "serial");
  engine win(net, windows("serial"));
  steps.run(seconds);
  win.run(seconds);
  // Inputs: Poisson at the file's rates, within 4 standard deviations of their sum.
  const auto& rates = std::get<kspike::poisson_source>(net.populations[0].model).rates;
  const double expected = std::accumulate(rates.begin(), rates.end(), 0.0) * seconds;
  CHECK(std::abs(double(win.stats().spikes[0]) - expected) < 4 * std::sqrt(expected));
  CHECK(std::abs(double(steps.stats().spikes[0]) - expected) < 4 * std::sqrt(expected));
  // The excitatory layer: independent noise, the same model: rates within 15% (measured: 5%).
  const double e_win = double(win.stats().spikes[1]), e_steps = double(steps.stats().spikes[1]);
  INFO("exc spikes: windows " << e_win << ", steps " << e_steps);
  REQUIRE(e_steps > 1000);
  CHECK(std::abs(e_win - e_steps) < 0.15 * e_steps);
  CHECK(win.stats().spikes[2] == win.stats().spikes[1]);  // each exc spike drives its partner once
  // Learning moved the weights of both by similar amounts.
  auto moved = [&](const engine& e) {
    const auto w = e.weights("input");
    return std::accumulate(w.begin(), w.end(), 0.0) / double(w.size());
  };
  CHECK(moved(win) == Approx(moved(steps)).epsilon(0.1));
}

TEST_CASE("window schedule: weights, state, learning and delays through the engine API", "[engine][windows]") {
  const auto net = kspike::io::load_network(module_file);
  engine e(net, windows("serial", 2));
  const auto w0 = e.weights("input");
  REQUIRE(w0.size() == 2u * 784 * 400);
  CHECK(std::vector<float>(w0.begin(), w0.begin() + 313600) == std::vector<float>(w0.begin() + 313600, w0.end()));
  const auto [lo, hi] = std::minmax_element(w0.begin(), w0.end());
  CHECK(*lo >= 0.003f);
  CHECK(*hi < 0.303f);
  // Instance 1 gets its own weights; instance 0 keeps its.
  std::vector<float> w1(313600, 0.25f);
  e.set_weights("input", w1, 1);
  CHECK(e.weights("input", 1) == w1);
  CHECK(e.weights("input", 0) == std::vector<float>(w0.begin(), w0.begin() + 313600));
  // New delays keep every synapse's weight.
  e.redraw_delays("input", 3);
  CHECK(e.weights("input", 1) == w1);
  // Normalisation: every column of every instance sums to the target.
  e.normalise_weights("input", 78.0);
  const auto w = e.weights("input", 0);
  for (std::size_t j = 0; j < 400; j += 57) {
    double s = 0;
    for (std::size_t i = 0; i < 784; ++i) s += w[i * 400 + j];
    CHECK(s == Approx(78.0).epsilon(1e-5));
  }
  // Frozen: no learning and no adaptation leave weights and theta as they are.
  e.set_state("exc", "theta", {0.01f});
  e.set_learning("input", false);
  e.set_adaptation("exc", false);
  const auto before = e.weights("input");
  e.run(0.5);
  CHECK(e.stats().spikes[1] > 0);
  CHECK(e.weights("input") == before);
  const auto theta = e.state("exc", "theta");
  CHECK(std::all_of(theta.begin(), theta.end(), [](float t) { return t == 0.01f; }));
  // What it cannot do, named.
  CHECK_THROWS_WITH(e.set_learning("exc_inh", true), Catch::Contains("input projection"));
  CHECK_THROWS_WITH(e.state("input", "v"), Catch::Contains("has no state"));
  CHECK_THROWS_WITH(e.set_state("exc", "theta", {1.0f, 2.0f}), Catch::Contains("expected 1, 400 or 800"));
  CHECK_THROWS_WITH(e.traces("input", "post", -1), Catch::Contains("window schedule"));
  CHECK(e.trace_names("input").empty());
  CHECK_THROWS_WITH(e.weights("input", 2), Catch::Contains("out of range"));
  CHECK_THROWS_WITH(e.set_poisson_rates("input", {1.0, 2.0}), Catch::Contains("expected 1, 784 or 1568"));
}

TEST_CASE("window schedule: weights files move learned weights between the schedules", "[engine][windows]") {
  const auto net = kspike::io::load_network(module_file);
  kspike_test::temp_dir dir;
  engine win(net, windows("serial"));
  win.run(0.3);
  kspike::io::write_weights(win, dir.file("w.h5"));
  // The window schedule keeps no traces: the step schedule starts from the weights with its own.
  engine steps(net, "serial");
  kspike::io::read_weights(steps, dir.file("w.h5"));
  CHECK(steps.weights("input") == win.weights("input"));
  // And back.
  steps.run(0.3);
  kspike::io::write_weights(steps, dir.file("s.h5"));
  engine again(net, windows("serial"));
  kspike::io::read_weights(again, dir.file("s.h5"));
  CHECK(again.weights("input") == steps.weights("input"));
}

namespace {

// Everything a learning run and a frozen run after it leave behind: spikes of all three
// populations, weights, theta, membrane potentials and the statistics.
struct window_outcome {
  std::vector<std::tuple<kspike::step_t, std::size_t, std::int64_t>> spikes;
  std::vector<float> weights, theta, v_exc, v_inh, ge_exc;
  std::vector<std::uint64_t> counts;
  std::uint64_t events = 0;
};

window_outcome run_kernel(const kspike::network& net, engine_options o) {
  engine e(net, o);
  kspike_test::memory_sink sink;
  e.set_sink(&sink);
  e.run(0.12);
  e.set_learning("input", false);
  e.set_adaptation("exc", false);
  e.run(0.06);
  window_outcome r;
  r.spikes = sink.spike_list;
  r.weights = e.weights("input");
  r.theta = e.state("exc", "theta");
  r.v_exc = e.state("exc", "v");
  r.v_inh = e.state("inh", "v");
  r.ge_exc = e.state("exc", "syn_e");
  r.counts = e.stats().spikes;
  r.events = e.stats().synaptic_events;
  return r;
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("window schedule: the team kernel computes the per-instance kernel's numbers, bit for bit",
                        "[engine][windows]", kspike_test::backends) {
  // All three populations recorded; inputs at 4x the file's rates, so that steps carry many
  // events per target and the learning rule moves weights a lot.
  auto net = edited("spikes = [\"exc\"]", "spikes = [\"input\", \"exc\", \"inh\"]");
  auto& rates = std::get<kspike::poisson_source>(net.populations[0].model).rates;
  for (double& r : rates) r = std::min(4 * r, 200.0);
  const std::string backend = kspike_test::backend_name<TestType>();
  engine_options o = windows(backend, 2, {5, 6});
  o.window_kernel = engine_options::window_kernel_kind::per_instance;
  const window_outcome want = run_kernel(net, o);
  INFO("spikes: input " << want.counts[0] << ", exc " << want.counts[1]);
  REQUIRE(want.counts[0] > 10000);
  REQUIRE(want.counts[1] > 50);
  o.window_kernel = engine_options::window_kernel_kind::team;
  // Kokkos' team size, two threads per team where the backend has them, and lists of two
  // events per target, so that most targets take the walk over the step's records.
  std::vector<std::pair<int, int>> variants = {{0, 64}, {0, 2}};
  if (backend != "serial") variants.emplace_back(2, 64);
  for (const auto& [size, list] : variants) {
    INFO("team size " << size << ", list " << list);
    o.window_team_size = size;
    o.window_team_list = list;
    const window_outcome got = run_kernel(net, o);
    CHECK(got.spikes == want.spikes);
    CHECK(got.weights == want.weights);
    CHECK(got.theta == want.theta);
    CHECK(got.v_exc == want.v_exc);
    CHECK(got.v_inh == want.v_inh);
    CHECK(got.ge_exc == want.ge_exc);
    CHECK(got.counts == want.counts);
    CHECK(got.events == want.events);
  }
  o.window_team_list = 0;
  CHECK_THROWS_WITH(engine(net, o), Catch::Contains("window_team_list"));
}
