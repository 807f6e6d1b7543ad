// The adex model against Brian2: spike times of the paper's regular-spiking AdEx cell under
// step currents and under a noisy (Ornstein-Uhlenbeck) current, 1 s at dt = 0.1 ms, the same
// method (forward Euler) on both sides. The reference files in tests/data/adex were written by
// experiments/bench/brian2/adex_reference.py with Debian's Brian2 2.5; the noisy current is read
// from the same file by both simulators. Brian2 stamps a spike with the start of the step in
// which v crossed, kspike with its end, so a spike of the same step is one dt later here.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "sim/engine.hpp"
#include "support/backends.hpp"
#include "support/memory_sink.hpp"
#include "support/paths.hpp"

using namespace kspike;

namespace {

const std::string data_dir = kspike_test::source_dir() + "/tests/data/adex/";

std::vector<std::vector<double>> read_spikes(const std::string& file, std::size_t neurons) {
  std::ifstream in(data_dir + file);
  REQUIRE(in.good());
  std::vector<std::vector<double>> t(neurons);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream row(line);
    std::size_t i;
    double ms;
    REQUIRE(static_cast<bool>(row >> i >> ms));
    REQUIRE(i < neurons);
    t[i].push_back(ms * 1e-3);
  }
  return t;
}

std::vector<double> read_noise() {
  std::ifstream in(data_dir + "noisy_current.txt");
  REQUIRE(in.good());
  std::vector<double> x;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty() && line[0] != '#') x.push_back(std::stod(line));
  return x;
}

network adex_network(std::size_t neurons) {
  network net;
  net.dt = 1e-4;
  net.duration = 1.0;
  population p;
  p.name = "adex";
  p.size = static_cast<std::int64_t>(neurons);
  p.model = neurons::adex::params{};  // the paper's regular-spiking cell
  net.populations.push_back(p);
  net.spike_recorders.push_back({"adex"});
  return net;
}

template <class Exec>
std::vector<std::vector<double>> run(const network& net) {
  engine eng(net, kspike_test::on<Exec>());
  kspike_test::memory_sink sink;
  eng.set_sink(&sink);
  eng.run(net.duration);
  std::vector<std::vector<double>> t(static_cast<std::size_t>(net.populations[0].size));
  for (const auto& s : sink.spike_list)
    t.at(static_cast<std::size_t>(std::get<2>(s))).push_back(static_cast<double>(std::get<0>(s) + 1) * net.dt);
  return t;
}

// Every neuron fires as often in both, each spike within one step of Brian2's (after the one-dt
// stamping difference); returns the largest difference in steps.
double compare(const std::vector<std::vector<double>>& ours, const std::vector<std::vector<double>>& brian2,
               double dt) {
  double worst = 0;
  for (std::size_t i = 0; i < brian2.size(); ++i) {
    INFO("neuron " << i);
    REQUIRE(ours[i].size() == brian2[i].size());
    for (std::size_t k = 0; k < ours[i].size(); ++k) {
      const double steps = std::abs(ours[i][k] - dt - brian2[i][k]) / dt;
      INFO("spike " << k << ": kspike " << ours[i][k] * 1e3 << " ms, Brian2 " << brian2[i][k] * 1e3 << " ms");
      CHECK(steps <= 1.0 + 1e-6);
      worst = std::max(worst, steps);
    }
  }
  return worst;
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("AdEx spike times under step currents match Brian2's within one step", "[validation][adex]",
                        kspike_test::backends) {
  const auto brian2 = read_spikes("brian2_step_spikes.txt", 3);
  network net = adex_network(3);
  const double amps[] = {0.6e-9, 0.8e-9, 1.5e-9};
  for (std::int64_t i = 0; i < 3; ++i)
    net.currents.push_back({"step" + std::to_string(i), "adex", {i}, {0.0, 0.1}, {0.0, amps[i]}});
  const auto ours = run<TestType>(net);
  CHECK(brian2[2].size() > 40);  // the reference is not empty: 1, 15 and 56 spikes
  const double worst = compare(ours, brian2, net.dt);
  WARN("largest spike-time difference to Brian2: " << worst << " steps");
}

TEMPLATE_LIST_TEST_CASE("AdEx spike times under a noisy current match Brian2's within one step", "[validation][adex]",
                        kspike_test::backends) {
  const auto brian2 = read_spikes("brian2_noisy_spikes.txt", 2);
  const std::vector<double> x = read_noise();
  REQUIRE(x.size() == 10000);
  network net = adex_network(2);
  const double mean[] = {0.5e-9, 0.9e-9}, sd[] = {0.3e-9, 0.4e-9};
  for (std::int64_t i = 0; i < 2; ++i) {
    current_source c{"noise" + std::to_string(i), "adex", {i}, {}, {}};
    for (std::size_t k = 0; k < x.size(); ++k) {
      c.times.push_back(static_cast<double>(k) * net.dt);
      c.amplitudes.push_back(mean[i] + sd[i] * x[k]);
    }
    net.currents.push_back(c);
  }
  const auto ours = run<TestType>(net);
  CHECK(brian2[0].size() + brian2[1].size() > 20);
  const double worst = compare(ours, brian2, net.dt);
  WARN("largest spike-time difference to Brian2: " << worst << " steps");
}
