// kspike run CONFIG: simulate a network file and write its recordings.
#include <boost/program_options.hpp>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "experiments/cli/commands.hpp"
#include "experiments/cli/kokkos_session.hpp"
#include "experiments/cli/progress.hpp"
#include "experiments/cli/engine_energy.hpp"
#include "experiments/cli/summary.hpp"
#include "sim/backend.hpp"
#include "sim/engine.hpp"
#include "sim/core/error.hpp"
#include "sim/io/network_config.hpp"
#include "sim/io/text_file.hpp"
#include "sim/io/weights_file.hpp"
#include "sim/recorder.hpp"

namespace kspike::cli {

namespace {

// The signal that stopped the run (SIGINT or SIGTERM), or 0.
volatile std::sig_atomic_t stop_signal = 0;
extern "C" void on_signal(int sig) { stop_signal = sig; }

// OUT's name with "_weights.h5" in place of its extension: where plastic weights go.
std::string weights_file(const std::string& out) {
  std::filesystem::path p(out);
  return (p.parent_path() / (p.stem().string() + "_weights.h5")).string();
}

}  // namespace

int cmd_run(const args& a) {
  namespace po = boost::program_options;
  po::options_description opts(
      "kspike run CONFIG [options]: simulate the network described in CONFIG (TOML, see docs/config.md)\n"
      "and write its spike recorders to a SONATA spike report (HDF5)\n\noptions");
  std::string config, out, backend, weights_in;
  int threads = 0;
  engine_options engine_opts;
  opts.add_options()
      ("out,o", po::value(&out), "output file (default: CONFIG's name with .h5, in the current folder)")
      ("parallel-threshold", po::value(&engine_opts.parallel_threshold)->default_value(engine_opts.parallel_threshold),
       "run OpenMP kernels only from this much work per step (neurons + synapses/1000); smaller\n"
       "networks run the Serial kernels, which are faster there and give the same spikes; 0: always")
      ("projections", po::value<std::string>()->default_value("kinds"),
       "kinds: each projection gets the kernel its connector calls for (dense, one_to_one,\n"
       "all_but_self, sparse; docs/architecture.md); sparse: all in the synapse table (same spikes,\n"
       "for comparison)")
      ("schedule", po::value<std::string>()->default_value("steps"),
       "steps: every kernel advances all instances by one step (any network); windows: each\n"
       "instance runs a whole window on one thread (a team of threads on a GPU), for many copies\n"
       "of a small circuit (the place-recognition module; docs/architecture.md \"Schedules\" says\n"
       "which networks qualify)")
      ("seed,s", po::value<std::string>(), "override the config's seed")
      ("instances,n", po::value<int>(&engine_opts.instances)->default_value(1),
       "simulate N independent copies of the network together, copy k with seed SEED + k (a seed\n"
       "sweep in one run: copy k gives exactly the spikes of a run with --seed SEED+k); the\n"
       "output holds population NAME of copy k as NAME.k. With --schedule windows the copies share\n"
       "connectivity, weights and delays and differ in input noise")
      ("duration,d", po::value<double>(), "override the config's duration [s]")
      ("csv", "also write the spikes as text, OUT's name with .csv: population,node_id,time_ms")
      ("max-memory", po::value<double>(), "refuse networks estimated to need more than this many GB\n"
       "(default: the memory available now)")
      ("load-weights", po::value(&weights_in), "start the plastic projections from the weights of this file\n"
       "(a previous run's OUT_weights.h5)")
      ("energy", "count synaptic events and neuron updates and estimate the energy per simulated second "
       "(docs/energy.md); written to OUT's name with .energy.json and shown in the summary")
      ("quiet,q", "no summary");
  add_step_options(opts, engine_opts);
  add_backend_options(opts, backend, threads);
  po::variables_map vm;
  if (!parse_arguments(a, opts, "config", config, vm)) return exit_ok;
  if (config.empty()) throw error("CONFIG: missing (usage: kspike run CONFIG [options])");

  const std::string kinds = vm["projections"].as<std::string>();
  if (kinds != "kinds" && kinds != "sparse") throw error("--projections: must be kinds or sparse (got '" + kinds + "')");
  engine_opts.structured_projections = kinds == "kinds";
  const std::string schedule = vm["schedule"].as<std::string>();
  if (schedule != "steps" && schedule != "windows")
    throw error("--schedule: must be steps or windows (got '" + schedule + "')");
  if (schedule == "windows") engine_opts.schedule = engine_options::schedule_kind::windows;
  at_least(engine_opts.parallel_threshold, 0, "--parallel-threshold");
  if (engine_opts.instances < 1) throw error("--instances: must be >= 1 (got " + std::to_string(engine_opts.instances) + ")");
  network net = io::load_network(config);
  if (vm.count("seed")) net.seed = parse_seed(vm["seed"].as<std::string>());
  if (vm.count("duration")) {
    const double d = vm["duration"].as<double>();
    if (!(d >= 0) || !std::isfinite(d) || d / net.dt > max_time_steps)
      throw error("--duration: must be a finite time >= 0 of at most 9e15 steps (got " + std::to_string(d) + ")");
    net.duration = d;
  }
  if (out.empty()) out = std::filesystem::path(config).stem().string() + ".h5";
  // Every file this run writes, checked before anything is simulated: none may replace an input
  // or something that is not a regular file.
  std::vector<std::string> inputs = files_read(net);
  inputs.push_back(config);
  inputs.push_back(weights_in);
  check_output_file(out, "--out", inputs);
  if (vm.count("csv")) check_output_file(file_recorder::csv_file(out), "--out (its .csv)", inputs);
  for (const auto& r : net.state_recorders) check_output_file(file_recorder::state_file(out, r), "--out (a state file)", inputs);
  if (!io::plastic_projections(net).empty()) check_output_file(weights_file(out), "--out (its weights file)", inputs);
  const std::string energy_out = std::filesystem::path(out).replace_extension(".energy.json").string();
  if (vm.count("energy")) check_output_file(energy_out, "--out (its .energy.json)", inputs);

  kokkos_session kokkos(threads);
  engine_opts.backend = backend;
  if (vm.count("max-memory")) {
    const double gb = vm["max-memory"].as<double>();
    if (!(gb > 0) || !std::isfinite(gb)) throw error("--max-memory: must be a number of GB > 0");
    engine_opts.memory_limit = gb * 1e9;
  }
  const auto build_start = std::chrono::steady_clock::now();
  // Large networks take a while to draw: a bar, and an interrupt stops the build at once.
  progress building("building", "synapses");
  engine_opts.build_progress = [&](std::int64_t done, std::int64_t total) { building.update(done, total); };
  engine eng(net, engine_opts);
  building.finish();
  const double build_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - build_start).count();
  if (!weights_in.empty()) io::read_weights(eng, weights_in);
  // With plastic projections, what they learned is kept beside the spikes.
  const std::string weights_out = io::plastic_projections(net).empty() ? std::string() : weights_file(out);
  file_recorder recorder(net, out, vm.count("csv") > 0, engine_opts.instances);
  eng.set_sink(&recorder);

  stop_signal = 0;
  auto previous_int = std::signal(SIGINT, on_signal);
  auto previous_term = std::signal(SIGTERM, on_signal);
  progress bar("simulating", "s simulated");
  const bool completed = eng.run(net.duration, [&](step_t done, step_t total) {
    bar.update(done, total, net.dt);
    return stop_signal == 0;
  });
  bar.finish();
  std::signal(SIGINT, previous_int);
  std::signal(SIGTERM, previous_term);

  if (!completed) {
    const auto paths = recorder.close_partial();
    std::cerr << "kspike run: interrupted at t = " << eng.time() << " s; recorded so far kept in " << paths.front()
              << "\n";
    return stop_signal == SIGTERM ? exit_terminated : exit_interrupted;
  }
  // The weights are written completely first, under a name of their own; only when the
  // recordings are committed too do they take their final name. A failure on either side
  // leaves no new file (and no earlier output replaced by half of this run's).
  const std::string weights_pending = weights_out + ".pending";
  if (!weights_out.empty()) io::write_weights(eng, weights_pending, weights_out);
  std::vector<std::string> paths;
  try {
    paths = recorder.commit();
  } catch (...) {
    if (!weights_out.empty()) std::remove(weights_pending.c_str());
    throw;
  }
  if (!weights_out.empty()) {
    std::error_code ec;
    std::filesystem::rename(weights_pending, weights_out, ec);
    if (ec) {
      std::remove(weights_pending.c_str());
      throw error(weights_out + ": cannot rename the finished file into place: " + ec.message());
    }
    paths.push_back(weights_out);
  }
  if (vm.count("energy")) {
    io::write_text_file_atomically(energy_out, engine_energy_json(eng));
    paths.push_back(energy_out);
  }
  if (!vm.count("quiet")) {
    print_summary(std::cout, eng, config, paths, recorder.spikes_recorded(), build_seconds);
    if (vm.count("energy")) std::cout << engine_energy_text(eng);
  }
  return exit_ok;
}

}  // namespace kspike::cli
