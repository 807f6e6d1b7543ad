// kspike bench cuba: times the Vogels-Abbott CUBA network shipped in
// experiments/networks/cuba.toml (built into the binary, so the bench needs no files).
// Reports wall time of the simulation loop alone (network construction is timed apart).
#include <boost/program_options.hpp>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <cstdio>
#include <iostream>

#include "experiments/bench/cuba_network.hpp"
#include "experiments/cli/commands.hpp"
#include "experiments/cli/kokkos_session.hpp"
#include "experiments/cli/progress.hpp"
#include "sim/backend.hpp"
#include "sim/engine.hpp"
#include "sim/core/error.hpp"
#include "sim/io/network_config.hpp"

namespace kspike::cli {

int cmd_bench(const args& a) {
  if (!a.empty() && a[0] == "vpr") return bench_vpr(args(a.begin() + 1, a.end()));
  if (!a.empty() && a[0] == "train") return bench_train(args(a.begin() + 1, a.end()));
  if (!a.empty() && a[0] == "backends") return bench_backends(args(a.begin() + 1, a.end()));
  namespace po = boost::program_options;
  po::options_description opts(
      "kspike bench cuba|NETWORK.toml [options]: time the CUBA network (4000 LIF, p = 0.02), or a network file,\n"
      "without recording (kspike bench vpr --help: the place-recognition network; bench train: training;\n"
      "bench backends: every workload on every backend)\n\noptions");
  std::string which, backend;
  int threads = 0;
  engine_options engine_opts;
  double duration = 10.0;
  std::uint64_t seed = 0;
  opts.add_options()
      ("duration,d", po::value(&duration), "simulated time [s] (default 10)")
      ("parallel-threshold", po::value(&engine_opts.parallel_threshold)->default_value(engine_opts.parallel_threshold),
       "work per step from which the OpenMP kernels run (see kspike run --help); 0: always")
      ("seed,s", po::value<std::string>(), "override the network's seed")
      ("json", "print one JSON object instead of text");
  add_step_options(opts, engine_opts);
  add_backend_options(opts, backend, threads);
  po::variables_map vm;
  if (!parse_arguments(a, opts, "network", which, vm)) return exit_ok;
  const bool file = which.size() > 5 && which.substr(which.size() - 5) == ".toml";
  if (which != "cuba" && !file) throw error("NETWORK: unknown benchmark '" + which + "' (available: cuba, a network .toml, vpr, train, backends)");
  if (!(duration > 0) || !std::isfinite(duration)) throw error("--duration: must be a finite time > 0");
  at_least(engine_opts.parallel_threshold, 0, "--parallel-threshold");
  if (vm.count("seed")) seed = parse_seed(vm["seed"].as<std::string>());

  network net = file ? io::load_network(which) : bench::cuba_network();
  net.spike_recorders.clear();
  net.state_recorders.clear();
  if (vm.count("seed")) net.seed = seed;

  kokkos_session kokkos(threads);
  const auto t0 = std::chrono::steady_clock::now();
  engine_opts.backend = backend;
  // Bars on a terminal (not with --json, whose stdout is the object); an interrupt stops the
  // build or the run within a fraction of a second either way.
  const bool bars = !vm.count("json");
  progress building("building", "synapses");
  engine_opts.build_progress = [&](std::int64_t done, std::int64_t total) {
    if (bars) building.update(done, total);
    throw_if_interrupted();
  };
  engine eng(net, engine_opts);
  building.finish();
  const double build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  progress simulating("simulating", "s simulated");  // its clock starts now
  eng.run(duration, [&](step_t done, step_t total) {
    if (bars) simulating.update(done, total, net.dt);
    throw_if_interrupted();
    return true;
  });
  simulating.finish();
  const engine_stats& st = eng.stats();
  std::int64_t neurons = 0;
  for (const auto& p : net.populations) neurons += p.size;
  const double wall = st.wall_seconds;
  const double rate = static_cast<double>(st.total_spikes()) / (static_cast<double>(neurons) * duration);
  const double updates = static_cast<double>(neurons) * static_cast<double>(st.steps) / wall;
  const double events = static_cast<double>(st.synaptic_events) / wall;
  const double peak_mib = static_cast<double>(peak_rss_bytes()) / (1024.0 * 1024.0);
  const int used_threads = backend_concurrency(eng.kernel_space());
  // The benchmark's name: "cuba", or the network file's stem (JSON-safe).
  std::string name = file ? std::filesystem::path(which).stem().string() : std::string("cuba");
  for (char& c : name)
    if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) c = '_';
  char buf[2048];
  if (vm.count("json")) {
    std::snprintf(buf, sizeof buf,
                  "{\"benchmark\": \"%s\", \"backend\": \"%s\", \"kernel_space\": \"%s\", \"threads\": %d, "
                  "\"neurons\": %lld, \"synapses\": %lld, \"simulated_s\": %.6g, \"build_s\": %.4f, "
                  "\"wall_s\": %.4f, \"real_time_factor\": %.5f, \"spikes\": %llu, \"mean_rate_hz\": %.4f, "
                  "\"neuron_updates_per_s\": %.4g, \"synaptic_events\": %llu, \"synaptic_events_per_s\": %.4g, "
                  "\"peak_rss_mib\": %.1f, \"kokkos\": \"%s\"}\n",
                  name.c_str(), eng.backend().c_str(), eng.kernel_space().c_str(), used_threads, static_cast<long long>(neurons),
                  static_cast<long long>(eng.synapse_count()), duration, build_s, wall, wall / duration,
                  static_cast<unsigned long long>(st.total_spikes()), rate, updates,
                  static_cast<unsigned long long>(st.synaptic_events), events, peak_mib, kokkos_version().c_str());
  } else {
    std::snprintf(buf, sizeof buf,
                  "%s benchmark on %s (kernels: %s, %d thread(s))\n"
                  "  %lld neurons, %lld synapses, built in %.3f s\n"
                  "  simulated %.3g s in %.3f s: real-time factor %.4f\n"
                  "  %llu spikes, mean rate %.3f Hz\n"
                  "  %.3g neuron updates/s, %.3g synaptic events/s (%llu events)\n"
                  "  peak memory %.1f MiB\n",
                  name.c_str(), eng.backend().c_str(), eng.kernel_space().c_str(), used_threads, static_cast<long long>(neurons),
                  static_cast<long long>(eng.synapse_count()), build_s, duration, wall, wall / duration,
                  static_cast<unsigned long long>(st.total_spikes()), rate, updates, events,
                  static_cast<unsigned long long>(st.synaptic_events), peak_mib);
  }
  std::cout << buf;
  return exit_ok;
}

}  // namespace kspike::cli
