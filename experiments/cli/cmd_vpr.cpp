// kspike vpr CONFIG: the place-recognition experiment (docs/vpr.md).
#include <boost/program_options.hpp>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>

#include "experiments/cli/commands.hpp"
#include "experiments/cli/kokkos_session.hpp"
#include "experiments/cli/progress.hpp"
#include "experiments/vpr/vpr_config.hpp"
#include "experiments/vpr/vpr_experiment.hpp"
#include "experiments/vpr/vpr_outputs.hpp"
#include "sim/io/staged_folder.hpp"
#include "sim/backend.hpp"
#include "sim/core/error.hpp"

namespace kspike::cli {

namespace {

// kspike vpr ensemble RUN... --out DIR: sums the runs' test similarity matrices (docs/vpr.md,
// ensembles).
int vpr_ensemble(const args& a) {
  namespace po = boost::program_options;
  po::options_description opts(
      "kspike vpr ensemble RUN_DIR RUN_DIR... --out DIR: ensemble of kspike vpr runs that differ only\n"
      "in seed (summed similarity matrices), with sequence matching; writes DIR/metrics.json\n\noptions");
  std::string out;
  std::vector<std::string> runs;
  opts.add_options()("out,o", po::value(&out)->required(), "output folder")("help,h", "show this help");
  po::options_description hidden;
  hidden.add_options()("runs", po::value(&runs)->multitoken());
  po::options_description all;
  all.add(opts).add(hidden);
  po::positional_options_description pos;
  pos.add("runs", -1);
  po::variables_map vm;
  po::store(po::command_line_parser(a).options(all).positional(pos).run(), vm);
  if (vm.count("help")) {
    std::cout << opts << "\n";
    return exit_ok;
  }
  po::notify(vm);
  check_output_folder(out, "--out", runs);  // not into a run it reads
  std::string command = "kspike vpr ensemble";
  for (const auto& s : a) command += " " + s;
  io::staged_folder stage(out);
  vpr::write_ensemble(runs, stage.file(""), command);
  stage.commit();
  std::cout << "ensemble of " << runs.size() << " runs: " << out << "/metrics.json\n";
  return exit_ok;
}

}  // namespace

int cmd_vpr(const args& a) {
  if (!a.empty() && a[0] == "ensemble") return vpr_ensemble(args(a.begin() + 1, a.end()));
  namespace po = boost::program_options;
  po::options_description opts(
      "kspike vpr CONFIG [options]: train and evaluate the spiking place-recognition networks of\n"
      "VPRSNN (RA-L 2022, ICRA 2023) as CONFIG (TOML; presets experiments/vpr/ral2022.toml and\n"
      "icra2023.toml) describes, and write metrics, plots and a checkpoint to a folder\n\noptions");
  std::string config_path, out, backend, resume, data_root;
  int threads = 0;
  std::string seed;
  opts.add_options()
      ("out,o", po::value(&out), "output folder (default: vpr-NAME[-quick]-seedS in the current folder)")
      ("seed,s", po::value(&seed), "seed, a whole number >= 0 (default: the config's, else 0)")
      ("quick", "apply the config's [quick] overrides (a run of about a minute)")
      ("record-spikes", "also write the test presentations' spikes (test_spikes.h5, SONATA)")
      ("resume", po::value(&resume), "load weights, theta and assignment windows from a checkpoint.h5 and skip training")
      ("allow-changed-config", "with --resume: accept a checkpoint trained with other training settings")
      ("data", po::value(&data_root), "data folder (overrides data.root)");
  add_backend_options(opts, backend, threads, "; the modules of a batch run in parallel");
  po::variables_map vm;
  if (!parse_arguments(a, opts, "config", config_path, vm)) return exit_ok;
  if (config_path.empty()) throw error("missing CONFIG (a TOML file; see kspike vpr --help)");
  vpr::vpr_config config = vpr::read_vpr_config(config_path, vm.count("quick") > 0);
  if (vm.count("seed")) config.seed = parse_seed(seed);
  if (!data_root.empty()) config.data_root = data_root;
  if (threads < 0) throw error("--threads: must be >= 0");
  if (out.empty()) out = "vpr-" + config.name + (vm.count("quick") ? "-quick" : "") + "-seed" + std::to_string(config.seed);
  check_output_folder(out, "--out", {config_path, resume, config.data_root});

  kokkos_session session(threads);
  vpr::vpr_run_options options;
  options.backend = backend;
  options.resume = resume;
  options.allow_changed_config = vm.count("allow-changed-config") > 0;
  options.record_spikes = vm.count("record-spikes") > 0;
  std::map<std::string, std::unique_ptr<progress>> bars;
  options.progress = [&](const std::string& phase, std::int64_t done, std::int64_t total) {
    auto& p = bars[phase];
    if (!p) p = std::make_unique<progress>(config.name + " " + phase, "images", 1.0);
    p->update(done, total);
    if (done == total) p->finish();
  };
  std::cout << "kspike vpr: " << config.name << ", seed " << config.seed << ", " << config.modules() << " module(s) of "
            << config.places_per_module << " places, " << config.epochs << " epochs"
            << (resume.empty() ? "" : " (resumed: no training)") << "\n";
  const vpr::vpr_results r = vpr::run_vpr(config, options);

  // Inputs were good and the run finished: now the folder and its files, staged and moved into
  // place together.
  io::staged_folder stage(out);
  std::string command = "kspike vpr";
  for (const auto& s : a) command += " " + s;
  vpr::write_metrics_json(r, stage.file("metrics.json"), command);
  if (resume.empty()) vpr::write_checkpoint(r, stage.file("checkpoint.h5"));
  vpr::write_results_h5(r, stage.file("results.h5"));
  if (options.record_spikes) vpr::write_test_spikes(r, stage.file("test_spikes.h5"));
  vpr::write_plots(r, stage.file(""));
  stage.commit();

  auto line = [](const char* what, const vpr::evaluation& e) {
    std::cout << "  " << what << ": ";
    if (!e.produced) {
      std::cout << "no result (every query masked)\n";
      return;
    }
    std::cout << "R@1 " << e.recall_at_n[0] << "  R@5 " << e.recall_at_n[1];
    if (e.square)
      std::cout << "  AUC " << (std::isfinite(e.pr_stats.auc) ? std::to_string(e.pr_stats.auc) : std::string("n/a"))
                << "  P@100R " << e.pr_stats.precision_at_100_recall;
    std::cout << "\n";
  };
  std::cout << "training: " << r.spikes_per_presentation << " spikes per presentation from "
            << r.active_per_presentation << " active neurons; theta " << r.theta_mean_mv << " mV (mean)\n";
  for (const auto& t : r.timings)
    std::cout << "  " << t.phase << ": " << t.images << " module-images in " << t.seconds << " s ("
              << (t.images ? 1e3 * t.seconds / double(t.images) : 0) << " ms per module-image)\n";
  std::cout << "test (" << r.test_off.masked_queries.rows << " queries):\n";
  line("hyperactive off", r.test_off);
  if (r.threshold != 0) line(("hyperactive T=" + std::to_string(r.threshold)).c_str(), r.test_on);
  std::cout << vpr::energy_text(r);
  std::cout << "results in " << out << "/\n";
  return exit_ok;
}

}  // namespace kspike::cli
