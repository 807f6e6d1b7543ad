#pragma once
// What `kspike vpr` writes into its output folder (docs/vpr.md "Outputs"):
//   metrics.json     every metric of every phase, training statistics, timings
//   pr_curve.png     test PR curves (hyperactive rule off / on), gnuplot
//   similarity.png   test similarity matrix in route order, gnuplot heat map
//   checkpoint.h5    weights, theta, assignment windows, permutation, config (resume input)
//   results.h5       test similarity matrices in route order (hyperactive rule off / on), for
//                    ensembles (kspike vpr ensemble) and analysis in h5py
//   test_spikes.h5   with --record-spikes: SONATA spike report of the test presentations
// Every file is written under a temporary name and renamed when complete.
#include <string>

#include "experiments/vpr/vpr_experiment.hpp"

namespace kspike::vpr {

void write_metrics_json(const vpr_results& r, const std::string& path, const std::string& command);
// The test phase's work and energy estimates per query image, as text for the summary.
std::string energy_text(const vpr_results& r);
void write_checkpoint(const vpr_results& r, const std::string& path);
// Fills r.modules (weights, theta, window counts and labels) and checks that the checkpoint
// matches r.config (modules, places, n_e) and r.permutation. Throws kspike::error naming the file.
// With allow_changed_settings, training settings that differ from the checkpoint's are accepted
// (a deliberate re-evaluation); the shape checks stay.
void read_checkpoint(const std::string& path, vpr_results& r, bool allow_changed_settings = false);
// Metrics of a distance matrix whose ground truth is its diagonal: Recall@N, and the PR
// summary when square. Sequence matching for each length that fits.
struct distance_metrics {
  std::size_t length = 1;  // 1: no sequence matching
  std::vector<double> recall_at_n;
  bool square = false;
  pr_summary pr;
};
distance_metrics metrics_of(const matrix& distance, std::size_t length = 1);
std::vector<std::size_t> sequence_lengths();  // {2, 4, 6, 10}

void write_results_h5(const vpr_results& r, const std::string& path);
// The similarity matrix of a run folder's results.h5: "on" = with its hyperactive threshold.
matrix read_similarity(const std::string& path, bool hyperactive_on);

// Ensemble of run folders (same places, other seeds): summed similarity, its metrics and
// sequence matching, written to folder/metrics.json.
void write_ensemble(const std::vector<std::string>& runs, const std::string& folder, const std::string& command);

void write_test_spikes(const vpr_results& r, const std::string& path);
// Returns false (and prints why) when gnuplot is missing or fails; the run still succeeds.
bool write_plots(const vpr_results& r, const std::string& folder);

}  // namespace kspike::vpr
