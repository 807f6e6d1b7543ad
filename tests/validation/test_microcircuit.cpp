// The cortical microcircuit (Potjans & Diesmann 2014; experiments/networks/microcircuit*.toml)
// against the population rates of NEST's reference implementation at full scale, and the
// asynchronous irregular state the paper reports (docs/microcircuit.md).
#include <catch2/catch.hpp>

#include <cmath>

#include "sim/engine.hpp"
#include "sim/io/network_config.hpp"
#include "sim/memory_budget.hpp"
#include "sim/spike_statistics.hpp"
#include "support/backends.hpp"
#include "support/memory_sink.hpp"
#include "support/paths.hpp"

using namespace kspike;

namespace {

// Mean rates [Hz] of L23E, L23I, L4E, L4I, L5E, L5I, L6E, L6I in NEST's full-scale simulation
// (the reference implementation's `full_mean_rates`, which its downscaling also uses).
constexpr double nest_full_scale_rates[8] = {0.971, 2.868, 4.746, 5.396, 8.142, 9.078, 0.991, 7.523};

std::string file(const char* name) { return kspike_test::source_dir() + "/experiments/networks/" + name; }

// Runs `net` for `transient` seconds unrecorded, then `window` seconds recorded; statistics of
// the window (bins of 3 ms over the first 1000 neurons for synchrony).
std::vector<population_statistics> run_and_measure(const network& net, double transient, double window,
                                                   const engine_options& o) {
  engine eng(net, o);
  eng.run(transient);
  kspike_test::memory_sink sink;
  eng.set_sink(&sink);
  eng.run(window);
  std::vector<population_spikes> pops(net.populations.size());
  for (std::size_t p = 0; p < pops.size(); ++p) {
    pops[p].name = net.populations[p].name;
    pops[p].size = net.populations[p].size;
  }
  for (const auto& [step, pop, id] : sink.spike_list) {
    pops[pop].node_ids.push_back(static_cast<std::uint64_t>(id));
    pops[pop].times_ms.push_back(static_cast<double>(step + 1) * net.dt * 1e3);
  }
  spike_window w;
  w.from_ms = transient * 1e3;
  w.to_ms = (transient + window) * 1e3 + 1e-6;
  return spike_statistics(pops, w);
}

}  // namespace

TEST_CASE("the 10 % microcircuit is asynchronous and irregular at rates near the full model's",
          "[validation][microcircuit]") {
  const network net = io::load_network(file("microcircuit-0.1.toml"));
  REQUIRE(net.populations.size() == 8);
  const auto stats = run_and_measure(net, 0.2, 3.0, engine_options{});
  for (std::size_t p = 0; p < 8; ++p) {
    const auto& s = stats[p];
    INFO(s.name << ": " << s.rate_hz << " Hz (NEST full scale " << nest_full_scale_rates[p] << "), CV " << s.cv_isi
                << " over " << s.cv_neurons << " neurons, synchrony " << s.synchrony);
    // Downscaling keeps each input's mean and variance only to first order: 35 % here, the
    // full-scale test below holds the model to 15 %.
    CHECK(s.rate_hz == Approx(nest_full_scale_rates[p]).epsilon(0.35));
    // Irregular: Poisson-like intervals (CV 1); the paper reports 0.8 to 0.95 over longer runs,
    // and 2.8 s of a few Hz bias the estimate down.
    CHECK(s.cv_isi > 0.6);
    CHECK(s.cv_isi < 1.2);
    // Asynchronous: the count variance stays within a few times Poisson's (1), where a
    // synchronous network's would grow with the neurons counted (up to 1000).
    CHECK(s.synchrony < 20);
  }
}

TEST_CASE("the microcircuit gives the same spikes on every backend", "[validation][microcircuit]") {
  network net = io::load_network(file("microcircuit-0.1.toml"));
  auto spikes = [&](const engine_options& o) {
    engine eng(net, o);
    kspike_test::memory_sink sink;
    eng.set_sink(&sink);
    eng.run(0.1);
    return sink.spike_list;
  };
  const auto serial = spikes(kspike_test::on("serial"));
  CHECK(serial.size() > 1000);
#ifdef KOKKOS_ENABLE_OPENMP
  CHECK(spikes(kspike_test::on("openmp")) == serial);
#endif
}

TEST_CASE("the full-scale microcircuit fires at NEST's rates within 15 %", "[validation][microcircuit][full]") {
#if defined(__SANITIZE_ADDRESS__)
  WARN("skipped: the full-scale network takes minutes to build and run under AddressSanitizer");
#else
  // 77,169 neurons and 0.3 billion synapses: about a minute to build on one thread (3 GB) and
  // ten seconds to simulate. On one thread: the suite runs two tests at a time on two cores, and OpenMP
  // threads that wait on each other's cores spin (the backends agree; the test above checks).
  const network net = io::load_network(file("microcircuit.toml"));
  // Another test may hold memory of its own meanwhile: ask for a margin over the estimate.
  const double needed = estimate_memory(net).total() + 2e9, available = available_memory_bytes();
  if (available < needed) {
    WARN("skipped: the full-scale microcircuit needs about " << needed / 1e9 << " GB, " << available / 1e9
                                                              << " GB are available");
    return;
  }
  const auto stats = run_and_measure(net, 0.2, 0.8, kspike_test::on("serial"));
  for (std::size_t p = 0; p < 8; ++p) {
    const auto& s = stats[p];
    INFO(s.name << ": " << s.rate_hz << " Hz (NEST " << nest_full_scale_rates[p] << "), synchrony " << s.synchrony);
    CHECK(s.rate_hz == Approx(nest_full_scale_rates[p]).epsilon(0.15));
    CHECK(s.synchrony < 20);
  }
#endif
}
