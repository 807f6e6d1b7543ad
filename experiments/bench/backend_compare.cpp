// kspike_backend_compare: runs a workload on every backend compiled into Kokkos (e.g. Serial,
// OpenMP, CUDA), timing each, and compares every backend's spikes with the first one's. CPU
// backends must agree bit for bit; on a GPU the floating-point contraction rules differ (nvcc
// fuses multiply-adds), so the report says how far the spike trains agree instead of assuming it.
// Workloads:
//   cuba  the CUBA network of experiments/networks/cuba.toml on the step schedule (default), on
//         every backend with each host loop (engine_options::step_sync): counts read back every
//         step ("every-step"), kept on the device ("deferred"), and a window of steps per launch
//         ("fused");
//   vpr   place-recognition modules (experiments/vpr/module_batch) as instances of the window
//         schedule, learning, each with its own random input rates of 0-63.75 Hz; on every
//         backend with both of its kernels, one work item per module ("per-instance") and one
//         team of threads per module ("team").
//
//   kspike_backend_compare [duration_s=1] [--json] [--workload cuba|vpr] [--modules N=8]
// Needs no HDF5, Boost or files: it is the one program to build on a bare GPU machine.
#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "experiments/bench/cuba_network.hpp"
#include "experiments/vpr/module_batch.hpp"
#include "sim/backend.hpp"
#include "sim/core/rng.hpp"
#include "sim/engine.hpp"

namespace {

struct spike_log final : kspike::recording_sink {
  std::vector<std::pair<kspike::step_t, std::int64_t>> list;  // (step, population << 32 | id)
  void spikes(kspike::step_t step, std::size_t pop, const std::int64_t* ids, std::size_t n) override {
    for (std::size_t k = 0; k < n; ++k) list.emplace_back(step, static_cast<std::int64_t>(pop) << 32 | ids[k]);
  }
  void state(kspike::step_t, std::size_t, const float*, std::size_t) override {}
};

}  // namespace

int main(int argc, char** argv) {
  double duration = 1.0;
  bool json = false;
  std::string workload = "cuba";
  int modules = 8;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--json") == 0) json = true;
    else if (std::strcmp(argv[i], "--workload") == 0 && i + 1 < argc) workload = argv[++i];
    else if (std::strcmp(argv[i], "--modules") == 0 && i + 1 < argc) modules = std::atoi(argv[++i]);
    else duration = std::atof(argv[i]);
  }
  if ((workload != "cuba" && workload != "vpr") || modules < 1 || !(duration > 0)) {
    std::fprintf(stderr, "kspike_backend_compare: usage: [duration_s > 0] [--json] [--workload cuba|vpr] [--modules N >= 1]\n");
    return 2;
  }
  Kokkos::ScopeGuard kokkos(argc, argv);
  const bool vpr = workload == "vpr";
  const kspike::vpr::module_params module = kspike::vpr::reference_module_params();
  // vpr records the input population too: its Poisson draws run on the backend and must agree, and
  // in the first ~30 ms the excitatory neurons have not fired yet.
  kspike::network net = vpr ? kspike::vpr::module_network(module, 1, true) : kspike::bench::cuba_network();
  if (!vpr) net.spike_recorders.clear();
  net.state_recorders.clear();
  // vpr: every module's rates, drawn once (the same on every backend).
  std::vector<double> rates;
  for (int m = 0; vpr && m < modules; ++m)
    for (std::size_t i = 0; i < module.n_input; ++i)
      rates.push_back(std::floor(kspike::uniform01(kspike::philox4x32(1, kspike::stream_id(kspike::stream::bench_vpr_images),
                                                                      static_cast<std::uint32_t>(i), static_cast<std::uint64_t>(m))) *
                                 256.0) / 4.0);
  std::vector<std::pair<kspike::step_t, std::int64_t>> reference;
  std::string reference_name;  // empty until the first run (Serial) has set the reference
  auto backends = kspike::compiled_backends();  // cuda, openmp, serial: Serial first, as the reference
  std::reverse(backends.begin(), backends.end());
  using kernel_kind = kspike::engine_options::window_kernel_kind;
  using sync_kind = kspike::engine_options::step_sync_kind;
  // (backend, variant): the window kernel (vpr: per-instance, team) or the host loop (cuba:
  // every-step, deferred, fused).
  std::vector<std::pair<std::string, int>> runs;
  for (const auto& b : backends)
    for (int variant = 0; variant < (vpr ? 2 : 3); ++variant) runs.emplace_back(b, variant);
  const char* const loops[] = {"/every-step", "/deferred", "/fused"};
  const sync_kind loop_kinds[] = {sync_kind::every_step, sync_kind::deferred, sync_kind::fused};
  for (const auto& [b, variant] : runs) {
    const auto t0 = std::chrono::steady_clock::now();
    kspike::engine_options options;
    options.backend = b;
    options.parallel_threshold = 0;  // each backend's own kernels, whatever the size
    const std::string name = b + (vpr ? (variant == 1 ? "/team" : "/per-instance") : loops[variant]);
    if (vpr) {
      options.schedule = kspike::engine_options::schedule_kind::windows;
      options.instances = modules;
      options.window_kernel = variant == 1 ? kernel_kind::team : kernel_kind::per_instance;
    } else {
      options.step_sync = loop_kinds[variant];
    }
    kspike::engine eng(net, options);
    if (vpr) {
      eng.set_weights("input", kspike::vpr::reference_initial_weights(module, 1), -1);
      eng.set_poisson_rates("input", rates);
    }
    const double build = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    spike_log log;
    eng.set_sink(&log);
    eng.run(duration);
    const auto& st = eng.stats();
    std::sort(log.list.begin(), log.list.end());
    std::size_t same = 0;
    kspike::step_t first_difference = -1;
    // The first run is the reference even when it has no spikes (a short vpr run): testing the
    // list for emptiness made every later run its own reference, "identical" to itself.
    if (reference_name.empty()) {
      reference = log.list;
      reference_name = name;
      same = reference.size();
    } else {
      for (std::size_t k = 0; k < std::min(reference.size(), log.list.size()); ++k) {
        if (reference[k] != log.list[k]) {
          first_difference = std::min(reference[k].first, log.list[k].first);
          break;
        }
        ++same;
      }
      // One list is a prefix of the other: the first extra spike is the difference.
      if (first_difference < 0 && reference.size() != log.list.size())
        first_difference = (reference.size() > same ? reference[same] : log.list[same]).first;
    }
    const bool identical = log.list == reference;
    const double rate = static_cast<double>(st.total_spikes()) /
                        ((vpr ? 1584.0 * modules : 4000.0) * duration);
    if (json) {
      std::printf("{\"workload\": \"%s\", \"backend\": \"%s\", \"concurrency\": %d, \"simulated_s\": %g, \"build_s\": %.4f, \"wall_s\": %.4f, "
                  "\"real_time_factor\": %.5f, \"spikes\": %llu, \"mean_rate_hz\": %.4f, \"identical_to\": \"%s\", "
                  "\"identical\": %s, \"first_difference_ms\": %.1f}\n",
                  workload.c_str(), name.c_str(), kspike::backend_concurrency(b), duration, build, st.wall_seconds, st.wall_seconds / duration,
                  static_cast<unsigned long long>(st.total_spikes()), rate, reference_name.c_str(),
                  identical ? "true" : "false", first_difference < 0 ? -1.0 : (first_difference + 1) * net.dt * 1e3);
    } else {
      std::printf("%-19s concurrency %-4d build %.3f s  run %.3f s  RTF %.4f  spikes %llu (%.3f Hz)  vs %s: %s",
                  name.c_str(), kspike::backend_concurrency(b), build, st.wall_seconds, st.wall_seconds / duration,
                  static_cast<unsigned long long>(st.total_spikes()), rate, reference_name.c_str(),
                  log.list.empty() && reference.empty() ? "no spikes recorded, nothing compared" : identical ? "identical" : "differ");
      if (!identical && first_difference >= 0)
        std::printf(" (first difference at t = %.1f ms; %zu spikes agree before it)", (first_difference + 1) * net.dt * 1e3, same);
      std::printf("\n");
    }
  }
  return 0;
}
