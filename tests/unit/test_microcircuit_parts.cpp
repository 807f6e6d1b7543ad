// The engine features the cortical microcircuit needs, each against values known without the
// engine: fixed_total_number connectivity (counts, uniform marginals, repeated pairs), truncated
// normal weights and delays (the truncated normal's analytic mean), and background Poisson input
// (Poisson counts: mean and variance, chunked means, either receptor, the same on every backend).
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <set>

#include "sim/connectivity.hpp"
#include "sim/core/rng.hpp"
#include "sim/engine.hpp"
#include "sim/io/network_config.hpp"
#include "support/backends.hpp"
#include "support/memory_sink.hpp"

using namespace kspike;

namespace {

// Standard normal density and distribution function.
double phi(double x) { return std::exp(-0.5 * x * x) / std::sqrt(2 * M_PI); }
double Phi(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

// Mean of N(mu, sd) truncated to [lo, hi].
double truncated_mean(double mu, double sd, double lo, double hi) {
  const double a = (lo - mu) / sd, b = (hi - mu) / sd;
  return mu + sd * (phi(a) - phi(b)) / (Phi(b) - Phi(a));
}

}  // namespace

TEST_CASE("fixed_total_number draws n uniform pairs, repeats allowed", "[connectivity][microcircuit]") {
  const network net = io::parse_network(R"(
seed = 3
[populations.a]
size = 40
model = "lif"
[populations.b]
size = 25
model = "lif"
[projections.ab]
pre = "a"
post = "b"
connector = { type = "fixed_total_number", n = 100000 }
weight = "1 mV"
[projections.bb]
pre = "b"
post = "b"
connector = { type = "fixed_total_number", n = 20000, allow_self = false }
weight = "1 mV"
)", "pairs.toml");
  const auto offsets = population_offsets(net);
  const synapse_table t = build_synapses(net, offsets);
  REQUIRE(t.per_projection[0] == 100000);
  REQUIRE(t.per_projection[1] == 20000);
  std::vector<double> from_a(40, 0), to_b(25, 0);
  std::map<std::pair<int, int>, int> pairs;
  std::int64_t self = 0, bb = 0;
  for (index_t pre = 0; pre < offsets.back(); ++pre)
    for (std::int64_t s = t.row_ptr[static_cast<std::size_t>(pre)]; s < t.row_ptr[static_cast<std::size_t>(pre) + 1]; ++s) {
      const index_t post = t.target[static_cast<std::size_t>(s)] / 2 - offsets[1];
      if (pre < offsets[1]) {
        from_a[static_cast<std::size_t>(pre)] += 1;
        to_b[static_cast<std::size_t>(post)] += 1;
        ++pairs[{pre, post}];
      } else {
        ++bb;
        if (pre - offsets[1] == post) ++self;
      }
    }
  CHECK(bb == 20000);
  CHECK(self == 0);
  // Each marginal is multinomial: a chi-square over 39 (24) degrees of freedom stays below its
  // 0.9999 quantile (about 77, and 56).
  auto chi2 = [](const std::vector<double>& counts, double total) {
    double x = 0;
    const double e = total / static_cast<double>(counts.size());
    for (double c : counts) x += (c - e) * (c - e) / e;
    return x;
  };
  CHECK(chi2(from_a, 100000) < 77);
  CHECK(chi2(to_b, 100000) < 56);
  // 1000 pairs for 100000 draws: every pair appears, about 100 times (repeats are kept).
  CHECK(pairs.size() == 1000);
  int most = 0;
  for (const auto& [pair, n] : pairs) most = std::max(most, n);
  CHECK(most > 100);
  CHECK(most < 160);
}

TEST_CASE("bounded normal weights and delays are redrawn into their bounds", "[connectivity][microcircuit]") {
  const network net = io::parse_network(R"(
seed = 8
[populations.a]
size = 500
model = "cuba_lif"
[projections.aa]
pre = "a"
post = "a"
connector = { type = "fixed_total_number", n = 200000 }
weight = { normal = ["-1 mA", "1 mA"], max = "0 mA" }
delay = { normal = ["1 ms", "1 ms"], min = "0.5 ms", max = "2.5 ms" }
)", "bounded.toml");
  const synapse_table t = build_synapses(net, population_offsets(net));
  REQUIRE(t.size() == 200000);
  double w_sum = 0, d_sum = 0;
  float w_max = -1;
  int d_min = 1000, d_max = 0;
  for (std::int64_t s = 0; s < t.size(); ++s) {
    w_sum += t.weight[static_cast<std::size_t>(s)];
    w_max = std::max(w_max, t.weight[static_cast<std::size_t>(s)]);
    d_min = std::min<int>(d_min, t.delay[static_cast<std::size_t>(s)]);
    d_max = std::max<int>(d_max, t.delay[static_cast<std::size_t>(s)]);
    d_sum += t.delay[static_cast<std::size_t>(s)];
  }
  CHECK(w_max <= 0);
  // The truncated normal's mean, -1.2876 mA here (sd of the sample mean: 0.0013 mA).
  CHECK(w_sum / 2e5 == Approx(truncated_mean(-1e-3, 1e-3, -INFINITY, 0) ).epsilon(0.005));
  CHECK(d_min == 5);
  CHECK(d_max == 25);
  // Delays are whole steps of the drawn values: the mean step count is the truncated mean
  // over dt, within rounding (+-0.5 step spread evenly: no bias to first order).
  CHECK(d_sum / 2e5 == Approx(truncated_mean(1e-3, 1e-3, 0.5e-3, 2.5e-3) / 1e-4).epsilon(0.005));
}

TEMPLATE_LIST_TEST_CASE("background input adds Poisson counts of the given mean", "[engine][microcircuit]",
                        kspike_test::backends) {
  // Accumulators sum their input: after T steps, v = weight x (the neuron's total count), a
  // Poisson count of mean inputs * rate * dt * T. One population per case: a mean of 1 per step,
  // 20 per step (split into chunks of at most 8), and the inhibitory receptor.
  const network net = io::parse_network(R"(
dt = "0.1 ms"
seed = 12
[populations.one]
size = 2000
model = "accumulator"
background = { inputs = 100, rate = "100 Hz", weight = 1 }
[populations.twenty]
size = 2000
model = "accumulator"
background = { inputs = 2000, rate = "100 Hz", weight = 1 }
[populations.inhibited]
size = 2000
model = "accumulator"
background = { inputs = 100, rate = "100 Hz", weight = -2, receptor = "inhibitory" }
)", "background.toml");
  const int steps = 500;
  engine eng(net, kspike_test::on<TestType>());
  eng.run(steps * net.dt);
  const struct {
    const char* name;
    double per_step, weight;
  } cases[] = {{"one", 1.0, 1.0}, {"twenty", 20.0, 1.0}, {"inhibited", 1.0, -2.0}};
  std::vector<std::vector<float>> seen;
  for (const auto& c : cases) {
    INFO(c.name);
    const std::vector<float> v = eng.state(c.name, "v");
    REQUIRE(v.size() == 2000);
    double mean = 0, var = 0;
    for (float x : v) mean += x / c.weight;
    mean /= 2000;
    for (float x : v) var += (x / c.weight - mean) * (x / c.weight - mean);
    var /= 1999;
    const double expected = c.per_step * steps;
    // The sample mean's sd is sqrt(expected / 2000); the sample variance's relative sd about
    // sqrt(2 / 2000) = 3 %.
    CHECK(std::abs(mean - expected) < 4 * std::sqrt(expected / 2000));
    CHECK(var == Approx(expected).epsilon(0.15));
    int fractional = 0;  // whole spikes only
    for (float x : v) fractional += std::fmod(x / c.weight, 1.0) != 0.0;
    CHECK(fractional == 0);
    seen.push_back(v);
  }
  CHECK(seen[0] != seen[2]);  // populations draw from streams of their own
  // The same counts on every backend: compare with Serial.
  engine serial(net, kspike_test::on("serial"));
  serial.run(steps * net.dt);
  CHECK(serial.state("one", "v") == seen[0]);
  CHECK(serial.state("twenty", "v") == seen[1]);
}

namespace {

// The background count of one word, by the definition docs/architecture.md gives: the number of
// k with word >= floor(P(X <= k) 2^32) for X ~ Poisson(mean), the probabilities summed in double
// from k = 0 and the table ending where they reach 1 (at most 64 terms).
int poisson_count_of(std::uint32_t word, double mean) {
  double p = std::exp(-mean), cdf = p;
  int count = 0;
  for (int k = 1; k <= 65; ++k) {
    const double scaled = std::floor(cdf * 4294967296.0);
    if (scaled >= 4294967296.0 || word < scaled) break;
    ++count;
    p *= mean / k;
    cdf += p;
  }
  return count;
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("background input counts are the documented draws of every neuron", "[engine][microcircuit]",
                        kspike_test::backends) {
  // Accumulators sum the counts. Their expected sums come from Philox and the Poisson inversion
  // written out here: neuron n of instance k, chunk j of step t draws word w = n * chunks + j,
  // lane w % 4 of block (seed + k, stream, w / 4, t). The cases cover every branch of the CPU's
  // vectorised form: means far below 1, near the chunk limit of 8 (the table's tail is reached),
  // 20 (three chunks), 900 (113 chunks: two neurons per pass), sizes not a multiple of 4, and
  // instances that meet inside a block.
  const struct {
    const char* name;
    index_t size;
    int inputs;  // at 100 Hz and dt = 0.1 ms: a mean of inputs / 100 per step
  } cases[] = {{"rare", 37, 5}, {"tail", 1001, 790}, {"chunked", 523, 2000}, {"heavy", 70, 90000}};
  std::string toml = "dt = \"0.1 ms\"\nseed = 31\n";
  for (const auto& c : cases)
    toml += "[populations." + std::string(c.name) + "]\nsize = " + std::to_string(c.size) +
            "\nmodel = \"accumulator\"\nbackground = { inputs = " + std::to_string(c.inputs) +
            ", rate = \"100 Hz\", weight = 1 }\n";
  const network net = io::parse_network(toml, "background_words.toml");
  const int steps = 6, instances = 3;
  engine_options o = kspike_test::on<TestType>();
  o.instances = instances;
  engine eng(net, o);
  eng.run(steps * net.dt);
  for (std::uint32_t p = 0; p < 4; ++p) {
    const auto& c = cases[p];
    INFO(c.name);
    const double per_step = c.inputs / 100.0;
    const std::uint64_t chunks = static_cast<std::uint64_t>(std::ceil(per_step / 8));
    const std::vector<float> v = eng.state(c.name, "v");
    REQUIRE(v.size() == static_cast<std::size_t>(c.size * instances));
    std::size_t wrong = 0;
    double total = 0;
    for (int k = 0; k < instances; ++k)
      for (index_t n = 0; n < c.size; ++n) {
        long expected = 0;
        for (int t = 0; t < steps; ++t)
          for (std::uint64_t j = 0; j < chunks; ++j) {
            const std::uint64_t w = static_cast<std::uint64_t>(n) * chunks + j;
            const philox_block b = philox4x32(net.seed + static_cast<std::uint64_t>(k),
                                              stream_id(stream::background_input, p), static_cast<std::uint32_t>(w >> 2),
                                              static_cast<std::uint64_t>(t));
            expected += poisson_count_of(b.x[w & 3], per_step / static_cast<double>(chunks));
          }
        wrong += v[static_cast<std::size_t>(k * c.size + n)] != static_cast<float>(expected);
        total += static_cast<double>(expected);
      }
    CHECK(wrong == 0);
    // The reference itself draws the right mean (its sd over the neurons: sqrt(mean / neurons)).
    const double mean = total / (static_cast<double>(c.size * instances) * steps);
    CHECK(std::abs(mean - per_step) < 5 * std::sqrt(per_step / (static_cast<double>(c.size * instances) * steps)));
  }
}
