// Spike trains from SONATA spike reports written by other simulators (the Allen Institute's
// SONATA examples: BMTK/NEURON outputs and a legacy-layout input file) drive the engine: every
// spike of the file is emitted once, by the right neuron, in the step that ends at its time.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <tuple>
#include <vector>

#include "sim/core/error.hpp"
#include "sim/engine.hpp"
#include "sim/io/network_config.hpp"
#include "sim/io/sonata.hpp"
#include "support/backends.hpp"
#include "support/fixtures.hpp"
#include "support/memory_sink.hpp"

using namespace kspike;

namespace {

std::string network_reading(const std::string& file, const std::string& population, std::int64_t size) {
  return "dt = \"0.1 ms\"\n[populations.input]\nsize = " + std::to_string(size) +
         "\nmodel = \"spike_source_array\"\nspike_file = \"" + file + "\"\n" +
         (population.empty() ? "" : "spike_population = \"" + population + "\"\n") +
         "[populations.post]\nsize = 1\nmodel = \"lif\"\nv_threshold = \"1 V\"\n"
         "[projections.p]\npre = \"input\"\npost = \"post\"\nconnector = \"all_to_all\"\nweight = \"1 mV\"\n";
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("SONATA spike files of other simulators drive the engine spike for spike", "[sonata][input]",
                        kspike_test::backends) {
  const auto [file, population] =
      GENERATE(std::tuple{"examples_5_cells_iclamp_output_spikes.h5", "biophysical"},
               std::tuple{"examples_9_cells_output_spikes.h5", "cortex"},
               std::tuple{"examples_300_intfire_inputs_tw_spikes.h5", ""});  // legacy /spikes/gids layout
  const std::string path = kspike_test::shared_data(std::string("fixtures/sonata/") + file);
  if (!kspike_test::have_shared(std::string("fixtures/sonata/") + file)) return;
  const auto pops = io::read_spike_report(path);
  REQUIRE(pops.size() == 1);
  const auto& in = pops[0];
  const std::uint64_t size = *std::max_element(in.node_ids.begin(), in.node_ids.end()) + 1;
  network net = io::parse_network(network_reading(path, population, static_cast<std::int64_t>(size)), "net.toml");
  // Expected: (step, neuron) of each spike; the step that ends at the spike's time.
  std::vector<std::pair<step_t, std::int64_t>> want;
  double last = 0;
  for (std::size_t k = 0; k < in.node_ids.size(); ++k) {
    const double t = in.timestamps[k] * 1e-3;
    want.emplace_back(std::max<step_t>(0, std::llround(t / net.dt) - 1), static_cast<std::int64_t>(in.node_ids[k]));
    last = std::max(last, t);
  }
  std::sort(want.begin(), want.end());
  // Two spikes of one neuron in one step are one spike (a source fires at most once a step).
  want.erase(std::unique(want.begin(), want.end()), want.end());
  engine eng(net, kspike_test::on<TestType>());
  kspike_test::memory_sink sink;
  eng.set_sink(&sink);
  eng.run(last + 2e-3);
  std::vector<std::pair<step_t, std::int64_t>> got;
  for (const auto& [step, pop, id] : sink.spike_list)
    if (pop == 0) got.emplace_back(step, id);
  std::sort(got.begin(), got.end());
  INFO(file);
  CHECK(got.size() == want.size());
  CHECK(got == want);
  CHECK(eng.stats().synaptic_events == want.size());
}

TEST_CASE("SONATA spike input: bad files and names are one-line errors naming the field", "[sonata][input][config]") {
  const std::string path = kspike_test::shared_data("fixtures/sonata/examples_5_cells_iclamp_output_spikes.h5");
  if (!kspike_test::have_shared("fixtures/sonata/examples_5_cells_iclamp_output_spikes.h5")) return;
  CHECK_THROWS_WITH(io::parse_network(network_reading(path, "cortex", 5), "net.toml"),
                    Catch::Contains("net.toml: populations.input.spike_population") && Catch::Contains("not 'cortex'"));
  CHECK_THROWS_WITH(io::parse_network(network_reading(path, "", 3), "net.toml"),
                    Catch::Contains("populations.input.size: 3 neurons, but") && Catch::Contains("node id 4"));
  CHECK_THROWS_WITH(io::parse_network(network_reading("/nonexistent/spikes.h5", "", 3), "net.toml"),
                    Catch::Contains("populations.input.spike_file") && Catch::Contains("/nonexistent/spikes.h5"));
  CHECK_NOTHROW(io::parse_network(network_reading(path, "", 8), "net.toml"));  // silent neurons beyond the file's
}

TEMPLATE_LIST_TEST_CASE("a source neuron's spikes that fall in one step are emitted once", "[sonata][input]",
                        kspike_test::backends) {
  // 0.98, 1.0 and 1.02 ms all end the step at 1.0 ms (dt 0.1 ms). A file written with a finer
  // dt can hold many such spikes: a hundred of them once overran the step's spike list.
  kspike_test::temp_dir dir;
  const std::string file = dir.file("dense.h5");
  {
    io::spike_report_writer w(file, {{"in", 2}});
    std::vector<std::uint64_t> ids{1};  // in time order, as the writer takes them
    std::vector<double> times{0.98};
    for (int k = 0; k < 100; ++k) {
      ids.push_back(0);
      times.push_back(1.0);
    }
    for (double t : {1.02, 2.0}) {
      ids.push_back(1);
      times.push_back(t);
    }
    w.append(0, ids.data(), times.data(), ids.size());
    w.commit();
  }
  const std::string inline_times = "[[\"1 ms\", \"1 ms\", \"1 ms\"], [\"0.98 ms\", \"2 ms\", \"1.02 ms\"]]";
  const std::string from_times = "dt = \"0.1 ms\"\n[populations.input]\nsize = 2\nmodel = \"spike_source_array\"\nspike_times = " +
                                 inline_times +
                                 "\n[populations.post]\nsize = 1\nmodel = \"lif\"\nv_threshold = \"1 V\"\n"
                                 "[projections.p]\npre = \"input\"\npost = \"post\"\nconnector = \"all_to_all\"\nweight = \"1 mV\"\n";
  for (const std::string& text : {network_reading(file, "", 2), from_times}) {
    network net = io::parse_network(text, "net.toml");
    engine eng(net, kspike_test::on<TestType>());
    kspike_test::memory_sink sink;
    eng.set_sink(&sink);
    eng.run(3e-3);
    std::vector<std::pair<step_t, std::int64_t>> got;
    for (const auto& [step, pop, id] : sink.spike_list)
      if (pop == 0) got.emplace_back(step, id);
    std::sort(got.begin(), got.end());
    const std::vector<std::pair<step_t, std::int64_t>> want{{9, 0}, {9, 1}, {19, 1}};
    CHECK(got == want);
    CHECK(eng.stats().synaptic_events == 3);
  }
}
