// The step schedule's deferred and fused steps (engine_options::step_sync): counts kept on the
// device, launches sized for the worst case (deferred) or one launch per window of steps
// (fused), statistics read back at the end of run(). They are the GPU's ways of stepping; here
// they are forced on the CPU backends and must give what the every-step host loop gives: the
// same spikes, the same spike and event counts, the same state.
#include <catch2/catch.hpp>

#include "sim/engine.hpp"
#include "sim/io/network_config.hpp"
#include "support/backends.hpp"
#include "support/memory_sink.hpp"
#include "support/paths.hpp"

using kspike::engine;
using kspike::engine_options;

namespace {

const std::string networks = kspike_test::source_dir() + "/experiments/networks/";

struct outcome {
  std::vector<std::tuple<kspike::step_t, std::size_t, std::int64_t>> spikes;
  std::vector<std::uint64_t> counts;
  std::uint64_t events = 0;
  kspike::step_t steps = 0;
  std::vector<float> v;
};

// Two run() calls of `seconds` each, recording through a sink or not.
outcome run_with(const kspike::network& net, const std::string& backend, engine_options::step_sync_kind sync,
                 bool recording, double seconds, int instances = 1) {
  engine_options o;
  o.backend = backend;
  o.parallel_threshold = 0;  // the backend's own kernels at every size
  o.step_sync = sync;
  o.instances = instances;
  engine e(net, o);
  kspike_test::memory_sink sink;
  if (recording) e.set_sink(&sink);
  e.run(seconds);
  e.run(seconds);
  outcome r;
  r.spikes = sink.spike_list;
  r.counts = e.stats().spikes;
  r.events = e.stats().synaptic_events;
  r.steps = e.stats().steps;
  r.v = e.state(net.populations.back().name, "v");
  return r;
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("deferred step: the every-step loop's spikes, counts and state on every backend",
                        "[engine][deferred]", kspike_test::backends) {
  const std::string backend = kspike_test::backend_name<TestType>();
  using sync = engine_options::step_sync_kind;
  struct workload {
    std::string file;
    double seconds;
    int instances;
  };
  // The synapse table (CUBA), every projection kind with Poisson input (projection_kinds), and
  // background input with DC currents in 8 populations (the 10 % microcircuit); CUBA also as
  // two instances.
  for (const workload& w : {workload{"cuba.toml", 0.1, 1}, workload{"cuba.toml", 0.05, 2},
                            workload{"projection_kinds.toml", 0.05, 1}, workload{"microcircuit-0.1.toml", 0.03, 1}}) {
    INFO(w.file << " x" << w.instances << " on " << backend);
    const auto net = kspike::io::load_network(networks + w.file);
    const outcome want = run_with(net, backend, sync::every_step, true, w.seconds, w.instances);
    REQUIRE(want.spikes.size() > 100);
    REQUIRE(want.events > 1000);
    for (const sync mode : {sync::deferred, sync::fused}) {
      INFO((mode == sync::fused ? "fused" : "deferred"));
      const outcome recorded = run_with(net, backend, mode, true, w.seconds, w.instances);
      CHECK(recorded.spikes == want.spikes);
      CHECK(recorded.counts == want.counts);
      CHECK(recorded.events == want.events);
      CHECK(recorded.steps == want.steps);
      CHECK(recorded.v == want.v);
      const outcome quiet = run_with(net, backend, mode, false, w.seconds, w.instances);
      CHECK(quiet.spikes.empty());
      CHECK(quiet.counts == want.counts);
      CHECK(quiet.events == want.events);
      CHECK(quiet.v == want.v);
    }
  }
}

TEST_CASE("deferred step: networks that need the host every step are refused by name, and run every step by default",
          "[engine][deferred]") {
  engine_options o;
  o.backend = "serial";
  o.step_sync = engine_options::step_sync_kind::deferred;
  const auto plastic = kspike::io::load_network(networks + "stdp_song2000.toml");
  CHECK_THROWS_WITH(engine(plastic, o), Catch::Contains("stdp_song2000.toml: step_sync deferred") && Catch::Contains("plastic projections"));
  auto probed = kspike::io::load_network(networks + "cuba.toml");
  probed.state_recorders.push_back({});
  probed.state_recorders.back().population = probed.populations[0].name;
  probed.state_recorders.back().variable = "v";
  probed.state_recorders.back().interval = probed.dt;
  CHECK_THROWS_WITH(engine(probed, o), Catch::Contains("state recorders"));
  o.step_sync = engine_options::step_sync_kind::fused;
  CHECK_THROWS_WITH(engine(plastic, o), Catch::Contains("stdp_song2000.toml: step_sync fused") && Catch::Contains("plastic projections"));
  // automatic: on a CPU the every-step loop; the network runs.
  o.step_sync = engine_options::step_sync_kind::automatic;
  engine e(plastic, o);
  CHECK(e.run(0.01));
}
