// The engine on every enabled backend: analytic spike times, delays, Poisson statistics,
// inputs changed between runs, and bit-identical spikes across backends.
#include <catch2/catch.hpp>

#include <cmath>
#include <numeric>
#include <tuple>

#include "sim/backend.hpp"
#include "sim/connectivity.hpp"
#include "sim/engine.hpp"
#include "sim/io/network_config.hpp"
#include "support/backends.hpp"
#include "support/memory_sink.hpp"
#include "support/paths.hpp"

using namespace kspike;
using kspike_test::backend_name;
using kspike_test::memory_sink;

namespace {

population lif_population(const std::string& name, std::int64_t n, neurons::lif::params p) {
  population pop;
  pop.name = name;
  pop.size = n;
  pop.model = p;
  return pop;
}

std::vector<double> spike_times(const memory_sink& s, std::size_t pop, std::int64_t id, double dt) {
  std::vector<double> t;
  for (const auto& [step, p, i] : s.spike_list)
    if (p == pop && i == id) t.push_back(static_cast<double>(step + 1) * dt);
  return t;
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("LIF under constant current fires at the analytic times", "[engine]", kspike_test::backends) {
  // v_inf = r I = 1.5 v_threshold: the first crossing is at tau ln 3 = 10.986 ms; spikes are
  // reported at the end of the step in which v crossed, then v is held for t_ref.
  network net;
  net.dt = 1e-4;
  neurons::lif::params p;
  p.tau = 10e-3;
  p.r = 1e6;
  p.v_threshold = 15e-3;
  p.v_reset = 0;
  p.t_ref = 2e-3;
  net.populations.push_back(lif_population("n", 1, p));
  net.currents.push_back({"step", "n", {}, {0.0}, {22.5e-9}});  // r I = 22.5 mV
  engine eng(net, kspike_test::on<TestType>());
  memory_sink sink;
  eng.set_sink(&sink);
  eng.run(0.1);
  const auto t = spike_times(sink, 0, 0, net.dt);
  const double t_cross = p.tau * std::log(3.0);
  const double first = std::ceil(t_cross / net.dt - 1e-9) * net.dt;  // 11.0 ms
  const double period = p.t_ref + first;
  REQUIRE(t.size() == static_cast<std::size_t>(std::floor((0.1 - first) / period)) + 1);
  for (std::size_t k = 0; k < t.size(); ++k) CHECK(t[k] == Approx(first + k * period).margin(1e-9));
}

TEMPLATE_LIST_TEST_CASE("membrane follows v_inf (1 - e^{-t/tau}) between spikes", "[engine]", kspike_test::backends) {
  network net;
  net.dt = 1e-4;
  neurons::lif::params p;
  p.tau = 20e-3;
  p.v_leak = -70e-3;
  p.v_threshold = 1;  // never fires
  net.populations.push_back(lif_population("n", 3, p));
  // A stepped current: on at 5 ms, off at 30 ms.
  net.currents.push_back({"step", "n", {1}, {5e-3, 30e-3}, {10e-3, 0.0}});  // r = 1: 10 mV
  net.state_recorders.push_back({"n", "v", {0, 1}, 1e-3});
  engine eng(net, kspike_test::on<TestType>());
  memory_sink sink;
  eng.set_sink(&sink);
  eng.run(50e-3);
  REQUIRE(sink.samples.size() == 1);
  REQUIRE(sink.samples[0].size() == 50);
  for (std::size_t k = 0; k < 50; ++k) {
    const double t = (k + 1) * 1e-3;
    double v = -70e-3;
    if (t > 5e-3) v += 10e-3 * (1 - std::exp(-(std::min(t, 30e-3) - 5e-3) / p.tau));
    if (t > 30e-3) v = -70e-3 + (v + 70e-3) * std::exp(-(t - 30e-3) / p.tau);
    CHECK(sink.samples[0][k][0] == Approx(-70e-3).margin(1e-7));  // neuron 0: no current
    CHECK(sink.samples[0][k][1] == Approx(v).margin(2e-6));
  }
}

TEMPLATE_LIST_TEST_CASE("a spike acts exactly `delay` steps after it is emitted", "[engine]", kspike_test::backends) {
  network net;
  net.dt = 1e-4;
  population src;
  src.name = "src";
  src.size = 1;
  src.model = spike_source_array{{{1e-3}}, ""};  // emitted by the step ending at 1 ms (step 9)
  net.populations.push_back(src);
  neurons::lif::params p;
  p.tau = 10e-3;
  p.v_threshold = 10;
  net.populations.push_back(lif_population("post", 2, p));
  projection pr;
  pr.name = "fast";
  pr.pre = "src";
  pr.post = "post";
  pr.conn.type = connector::kind::from_list;
  pr.conn.list = {{0, 0, 0.5, 2e-3}, {0, 1, -0.25, 0.1e-3}};
  pr.conn.list_has_weight = pr.conn.list_has_delay = true;
  net.populations[1].has_v_init = false;
  net.projections.push_back(pr);
  engine eng(net, kspike_test::on<TestType>());
  const float decay = static_cast<float>(std::exp(-1e-4 / 10e-3));
  eng.run(1.0e-3);  // steps 0..9: the spike is emitted in step 9
  CHECK(eng.state("post", "v")[1] == 0.0f);
  eng.run(0.1e-3);  // step 10: the 1-step synapse arrives and decays over the step
  CHECK(eng.state("post", "v")[1] == Approx(-0.25 * decay).epsilon(1e-6));
  eng.run(1.8e-3);  // up to step 28: the 20-step synapse has not arrived yet
  CHECK(eng.state("post", "v")[0] == 0.0f);
  eng.run(0.1e-3);  // step 29 = 9 + 20
  CHECK(eng.state("post", "v")[0] == Approx(0.5 * decay).epsilon(1e-6));
  CHECK(eng.stats().synaptic_events == 2);
}

// Regression for a lost-input defect: the delivery of a ring cell picks the receptor's array
// from the low bit of the cell index. GCC 12 with -fsanitize=shift (in -fsanitize=undefined)
// miscompiled the former `(idx & 1 ? si : se)[idx >> 1] += x`, dropping every excitatory input
// without a sanitizer report (docs/builds.md). Both receptors of neighbouring neurons, in one
// delivery, each value checked where it must land and nowhere else.
TEMPLATE_LIST_TEST_CASE("each receptor's input lands in its own variable of its own neuron", "[engine][delivery]",
                        kspike_test::backends) {
  network net;
  net.dt = 1e-4;
  population src;
  src.name = "src";
  src.size = 1;
  src.model = spike_source_array{{{0.5e-3}}, ""};  // emitted by step 4, delivered in step 5
  net.populations.push_back(src);
  population post;
  post.name = "post";
  post.size = 3;
  neurons::cuba_lif::params p;  // keeps its synaptic currents as state: they can be read
  p.v_threshold = 1e3;
  post.model = p;
  net.populations.push_back(post);
  for (const auto& [name, rec, w0, w1] : {std::tuple{"e", receptor::excitatory, 3.0, 5.0},
                                          std::tuple{"i", receptor::inhibitory, -7.0, -11.0}}) {
    projection pr;
    pr.name = name;
    pr.pre = "src";
    pr.post = "post";
    pr.target = rec;
    pr.conn.type = connector::kind::from_list;
    pr.conn.list = {{0, 0, w0, 0.1e-3}, {0, 1, w1, 0.1e-3}};  // neuron 2 gets nothing
    pr.conn.list_has_weight = pr.conn.list_has_delay = true;
    net.projections.push_back(pr);
  }
  for (auto mode : {engine_options::delivery_mode::sparse, engine_options::delivery_mode::dense}) {
    engine_options o = kspike_test::on<TestType>();
    o.delivery = mode;
    engine eng(net, o);
    eng.run(0.6e-3);  // steps 0..5; the currents decayed once, in step 5's update
    const double de = std::exp(-1e-4 / p.tau_syn_e), di = std::exp(-1e-4 / p.tau_syn_i);
    const auto se = eng.state("post", "syn_e"), si = eng.state("post", "syn_i");
    CHECK(se[0] == Approx(3.0 * de).epsilon(1e-6));
    CHECK(se[1] == Approx(5.0 * de).epsilon(1e-6));
    CHECK(se[2] == 0.0f);
    CHECK(si[0] == Approx(-7.0 * di).epsilon(1e-6));
    CHECK(si[1] == Approx(-11.0 * di).epsilon(1e-6));
    CHECK(si[2] == 0.0f);
  }
}

TEMPLATE_LIST_TEST_CASE("Poisson sources fire at their rate, and rates change between runs", "[engine][poisson]",
                        kspike_test::backends) {
  for (const auto draw : {poisson_source::sampling::steps, poisson_source::sampling::gaps}) {
    INFO((draw == poisson_source::sampling::gaps ? "sampling gaps" : "sampling steps"));
    network net;
    net.dt = 1e-4;
    net.seed = 7;
    population src;
    src.name = "p";
    src.size = 1000;
    poisson_source ps{{50.0}};
    ps.draw = draw;
    src.model = ps;
    net.populations.push_back(src);
    engine eng(net, kspike_test::on<TestType>());
    memory_sink sink;
    eng.set_sink(&sink);
    eng.run(1.0);
    const double n1 = static_cast<double>(eng.stats().spikes[0]);
    const double mean = 1000 * 50 * 1.0;  // Bernoulli per step: variance n p (1 - p)
    CHECK(std::abs(n1 - mean) < 5 * std::sqrt(mean * (1 - 50 * 1e-4)));
    // Counts per neuron: Fano factor close to 1 - p (Bernoulli steps).
    std::vector<double> per(1000, 0.0);
    std::vector<std::int64_t> last(1000, -1);
    double isi_1 = 0, isis = 0;  // intervals of one step: a fraction p of all (independent steps)
    std::sort(sink.spike_list.begin(), sink.spike_list.end());
    for (const auto& [step, pop, id] : sink.spike_list) {
      const auto k = static_cast<std::size_t>(id);
      per[k] += 1;
      if (last[k] >= 0) {
        isis += 1;
        isi_1 += step - last[k] == 1;
      }
      last[k] = step;
    }
    const double m = std::accumulate(per.begin(), per.end(), 0.0) / 1000;
    double var = 0;
    for (double x : per) var += (x - m) * (x - m);
    var /= 999;
    CHECK(var / m == Approx(1.0).margin(0.15));
    CHECK(std::abs(isi_1 - 5e-3 * isis) < 5 * std::sqrt(5e-3 * isis));
    eng.set_poisson_rates("p", {0.0});
    eng.run(0.1);
    CHECK(static_cast<double>(eng.stats().spikes[0]) == n1);
    eng.set_poisson_rates("p", {200.0});
    eng.run(0.5);
    const double n2 = static_cast<double>(eng.stats().spikes[0]) - n1;
    CHECK(std::abs(n2 - 1000 * 200 * 0.5) < 5 * std::sqrt(1000 * 200 * 0.5));
    eng.set_poisson_rates("p", {1e4});  // p = 1: every step
    eng.run(0.01);
    CHECK(static_cast<double>(eng.stats().spikes[0]) - n1 - n2 == 1000 * 100);
    CHECK_THROWS_AS(eng.set_poisson_rates("p", {1.0, 2.0}), kspike::error);
  }
}

TEMPLATE_LIST_TEST_CASE("Poisson sources drawn by gaps: the same spikes on every backend and in every instance", "[engine][poisson]",
                        kspike_test::backends) {
  network net = io::parse_network(R"(dt = "0.1 ms"
seed = 3
[populations.p]
size = 300
model = "poisson"
rate = "30 Hz"
sampling = "gaps"
)", "gaps.toml");
  auto spikes_of = [&](const engine_options& o, double rate_after) {
    engine eng(net, o);
    memory_sink sink;
    eng.set_sink(&sink);
    eng.run(0.2);
    eng.set_poisson_rates("p", {rate_after});
    eng.run(0.2);
    std::sort(sink.spike_list.begin(), sink.spike_list.end());
    return sink.spike_list;
  };
  const auto serial = spikes_of(kspike_test::on("serial"), 80.0);
  CHECK(serial.size() > 1000);
  CHECK(spikes_of(kspike_test::on<TestType>(), 80.0) == serial);
  // Two instances: copy 1 is the single run with seed + 1.
  engine_options two = kspike_test::on<TestType>();
  two.instances = 2;
  const auto both = spikes_of(two, 80.0);
  net.seed = 4;
  const auto next_seed = spikes_of(kspike_test::on("serial"), 80.0);
  std::vector<std::tuple<step_t, std::size_t, std::int64_t>> copy0, copy1;
  for (const auto& [step, pop, id] : both) (id < 300 ? copy0 : copy1).emplace_back(step, pop, id % 300);
  CHECK(copy0 == serial);
  CHECK(copy1 == next_seed);
  CHECK(copy1 != serial);
  // Bad sampling names are refused, naming the key.
  CHECK_THROWS_WITH(io::parse_network("dt = \"0.1 ms\"\n[populations.p]\nsize = 1\nmodel = \"poisson\"\nrate = \"1 Hz\"\nsampling = \"often\"\n", "g.toml"),
                    Catch::Contains("g.toml: populations.p.sampling: unknown sampling 'often' (steps or gaps)"));
}

TEST_CASE("same seed, same spikes on every backend; another seed, other spikes", "[engine][determinism]") {
  network net = io::load_network(kspike_test::source_dir() + "/experiments/networks/cuba.toml");
  net.duration = 0.3;
  std::vector<std::vector<std::tuple<step_t, std::size_t, std::int64_t>>> runs;
  std::vector<std::vector<float>> final_v;
  for (const auto& b : kspike::compiled_backends()) {
    engine eng(net, kspike_test::on(b));
    CHECK(eng.kernel_space() == b);
    memory_sink sink;
    eng.set_sink(&sink);
    eng.run(net.duration);
    runs.push_back(sink.spike_list);
    final_v.push_back(eng.state("exc", "v"));
  }
  REQUIRE(!runs.empty());
  REQUIRE(runs[0].size() > 1000);
  for (std::size_t k = 1; k < runs.size(); ++k) {
    CHECK(runs[k] == runs[0]);
    CHECK(final_v[k] == final_v[0]);
  }
  net.seed += 1;
  engine other(net, "");
  memory_sink sink;
  other.set_sink(&sink);
  other.run(net.duration);
  CHECK(sink.spike_list != runs[0]);
}

TEST_CASE("connectors have the statistics they promise", "[connectivity]") {
  network net;
  net.seed = 3;
  neurons::lif::params p;
  net.populations.push_back(lif_population("a", 1000, p));
  net.populations.push_back(lif_population("b", 500, p));
  auto proj = [&](connector c, std::string pre, std::string post) {
    projection pr;
    pr.name = "x";
    pr.pre = pre;
    pr.post = post;
    pr.conn = c;
    pr.weight = value_dist::uniform(1.0, 2.0);
    net.projections = {pr};
    return build_synapses(net, population_offsets(net), false);
  };
  auto pairs = [](const synapse_table& t) {
    std::vector<std::pair<std::int64_t, std::int64_t>> out;
    for (std::size_t i = 0; i + 1 < t.row_ptr.size(); ++i)
      for (auto j = t.row_ptr[i]; j < t.row_ptr[i + 1]; ++j) out.emplace_back(i, t.target[static_cast<std::size_t>(j)] / 2);
    return out;
  };
  SECTION("all_to_all, without self connections") {
    connector c;
    c.allow_self = false;
    const auto t = proj(c, "a", "a");
    CHECK(t.size() == 1000 * 999);
    for (auto [i, j] : pairs(t)) REQUIRE(i != j);
  }
  SECTION("one_to_one") {
    connector c;
    c.type = connector::kind::one_to_one;
    const auto t = proj(c, "a", "a");
    CHECK(t.size() == 1000);
    for (auto [i, j] : pairs(t)) REQUIRE(i == j);
  }
  SECTION("fixed_probability: binomial count, uniform weights in range") {
    connector c;
    c.type = connector::kind::fixed_probability;
    c.p = 0.1;
    const auto t = proj(c, "a", "b");
    const double n = 1000.0 * 500, mean = n * 0.1, sd = std::sqrt(n * 0.1 * 0.9);
    CHECK(std::abs(static_cast<double>(t.size()) - mean) < 5 * sd);
    double wsum = 0;
    for (float w : t.weight) {
      REQUIRE(w >= 1.0f);
      REQUIRE(w < 2.0f);
      wsum += w;
    }
    CHECK(wsum / static_cast<double>(t.size()) == Approx(1.5).margin(0.01));
    // Every post neuron is reached about equally (chi-square-like bound on the spread).
    std::vector<int> in(500, 0);
    for (auto [i, j] : pairs(t)) ++in[static_cast<std::size_t>(j - 1000)];
    const double m = mean / 500;
    double var = 0;
    for (int x : in) var += (x - m) * (x - m);
    CHECK(var / 499 == Approx(m * 0.9).epsilon(0.25));
  }
  SECTION("fixed_in_degree: exactly n distinct inputs, no self") {
    connector c;
    c.type = connector::kind::fixed_in_degree;
    c.n = 50;
    c.allow_self = false;
    const auto t = proj(c, "a", "a");
    std::vector<std::vector<std::int64_t>> in(1000);
    for (auto [i, j] : pairs(t)) in[static_cast<std::size_t>(j)].push_back(i);
    std::vector<int> out(1000, 0);
    for (std::size_t j = 0; j < 1000; ++j) {
      auto v = in[j];
      REQUIRE(v.size() == 50);
      std::sort(v.begin(), v.end());
      REQUIRE(std::adjacent_find(v.begin(), v.end()) == v.end());
      REQUIRE(!std::binary_search(v.begin(), v.end(), static_cast<std::int64_t>(j)));
      for (auto i : v) ++out[static_cast<std::size_t>(i)];
    }
    const double mean_out = std::accumulate(out.begin(), out.end(), 0.0) / 1000;
    CHECK(mean_out == Approx(50.0));
    CHECK(*std::max_element(out.begin(), out.end()) < 50 + 6 * 7);  // binomial spread, sd ~ 7
  }
  SECTION("same seed, same synapses; another seed, others") {
    connector c;
    c.type = connector::kind::fixed_probability;
    c.p = 0.05;
    const auto t1 = proj(c, "a", "b");
    const auto t2 = proj(c, "a", "b");
    CHECK(t1.target == t2.target);
    CHECK(t1.weight == t2.weight);
    net.seed = 4;
    const auto t3 = proj(c, "a", "b");
    CHECK(t3.target != t1.target);
  }
}

TEMPLATE_LIST_TEST_CASE("sparse and dense delivery give the same spikes", "[engine][delivery]", kspike_test::backends) {
  // Strong all-to-all drive with spread delays: about 2000 events per step into 800 cells,
  // so `automatic` takes the dense (scanning) path after the first steps.
  network net;
  net.dt = 1e-4;
  net.seed = 11;
  population src;
  src.name = "src";
  src.size = 200;
  src.model = poisson_source{{500.0}};
  neurons::lif::params p;
  p.tau = 10e-3;
  p.v_threshold = 20e-3;
  p.t_ref = 1e-3;
  net.populations = {src, lif_population("n", 200, p)};
  projection pr;
  pr.name = "in";
  pr.pre = "src";
  pr.post = "n";
  pr.weight = value_dist::normal(0.2e-3, 0.3e-3);
  pr.delay = value_dist::uniform(0.1e-3, 2e-3);
  pr.has_delay = true;
  net.projections = {pr};
  std::vector<std::vector<std::tuple<step_t, std::size_t, std::int64_t>>> runs;
  for (auto mode : {engine_options::delivery_mode::sparse, engine_options::delivery_mode::dense,
                    engine_options::delivery_mode::automatic}) {
    engine_options o = kspike_test::on<TestType>();
    o.delivery = mode;
    engine eng(net, o);
    memory_sink sink;
    eng.set_sink(&sink);
    eng.run(0.1);
    runs.push_back(sink.spike_list);
  }
  REQUIRE(runs[0].size() > 500);
  CHECK(runs[1] == runs[0]);
  CHECK(runs[2] == runs[0]);
}

TEMPLATE_LIST_TEST_CASE("threshold adaptation can be frozen between runs", "[engine][adaptive]", kspike_test::backends) {
  network net;
  net.dt = 1e-4;
  population src;
  src.name = "src";
  src.size = 1;
  src.model = poisson_source{{2000.0}};
  population exc;
  exc.name = "exc";
  exc.size = 3;
  neurons::adaptive_lif::params p;
  p.theta_plus = 0.05e-3;
  p.tau_theta = 1e4;
  exc.model = p;
  net.populations = {src, exc};
  projection pr;
  pr.name = "drive";
  pr.pre = "src";
  pr.post = "exc";
  pr.weight = value_dist::constant(1.0);
  net.projections = {pr};
  engine eng(net, kspike_test::on<TestType>());
  eng.run(0.2);
  const auto theta_trained = eng.state("exc", "theta");
  REQUIRE(eng.stats().spikes[1] > 0);
  CHECK(theta_trained[0] > 0.0f);
  eng.set_adaptation("exc", false);
  const auto spikes_before = eng.stats().spikes[1];
  eng.run(0.2);
  CHECK(eng.stats().spikes[1] > spikes_before);    // still firing...
  CHECK(eng.state("exc", "theta") == theta_trained);  // ...with theta frozen
  CHECK_THROWS_AS(eng.set_adaptation("src", false), kspike::error);
}

TEMPLATE_LIST_TEST_CASE("spike source arrays: each population's spikes are its own, in its own segment",
                        "[engine]", kspike_test::backends) {
  // Two array populations with spikes in the same steps: each must report only its own, and
  // a projection from the second must be driven by the second's spikes only.
  network net;
  net.dt = 1e-3;
  population a, b, post;
  a.name = "a";
  a.size = 2;
  a.model = spike_source_array{{{2e-3}, {3e-3}}, ""};
  b.name = "b";
  b.size = 3;
  b.model = spike_source_array{{{}, {2e-3, 5e-3}, {3e-3}}, ""};
  post.name = "post";
  post.size = 3;
  neurons::lif::params p;
  p.tau = 1.0;
  p.v_threshold = 0.5;
  post.model = p;
  net.populations = {a, b, post};
  projection from_b;
  from_b.name = "from_b";
  from_b.pre = "b";
  from_b.post = "post";
  from_b.conn.type = connector::kind::one_to_one;
  from_b.weight = value_dist::constant(1.0);
  net.projections = {from_b};
  net.spike_recorders = {{"a"}, {"b"}, {"post"}};
  engine eng(net, kspike_test::on<TestType>());
  kspike_test::memory_sink sink;
  eng.set_sink(&sink);
  eng.run(8e-3);
  using spike = std::tuple<step_t, std::size_t, std::int64_t>;
  const std::vector<spike> expected = {{1, 0, 0}, {1, 1, 1}, {2, 0, 1}, {2, 1, 2}, {2, 2, 1},
                                       {3, 2, 2}, {4, 1, 1}, {5, 2, 1}};
  CHECK(sink.spike_list == expected);
}
