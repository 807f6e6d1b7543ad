#pragma once
// The place-recognition experiment end to end (docs/vpr.md): read and preprocess the
// traversals, train every module (batched), record, calibrate and test, evaluate, and hand the
// results to the writers of vpr_outputs.hpp.
//
// Places and labels (docs/vpr.md "Places, labels and modules"): the first calibration + test
// places of the selection get labels 0..n-1. With shuffling, a permutation P of them (calibration places among themselves, then
// the test places) decides which frame a label shows: label k is place P[k] in every
// traversal. Module m trains on labels [m L, (m+1) L). Calibration modules (the first
// calibration / L) answer the calibration queries (labels below `calibration`), the others the
// test queries; the similarity matrices are un-permuted to route order before Recall@N and PR.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "experiments/vpr/matrix.hpp"
#include "experiments/vpr/readout.hpp"
#include "experiments/vpr/vpr_config.hpp"

namespace kspike::vpr {

struct vpr_run_options {
  std::string backend;            // "" = default
  std::string resume;             // checkpoint to load instead of training ("" = train)
  bool record_spikes = false;     // keep every test presentation's spikes
  bool allow_changed_config = false;  // resume a checkpoint trained with other training settings
  // Progress callback: phase, images done, images total (every image).
  std::function<void(const std::string&, std::int64_t, std::int64_t)> progress;
};

struct module_result {
  std::size_t first_label = 0;
  std::vector<float> weights;  // n_input x n_e
  std::vector<float> theta;    // n_e
  matrix window_counts;        // assignment window: presentations x n_e
  std::vector<int> window_labels;
  neuron_assignments assignments;
};

struct phase_timing {
  std::string phase;
  std::int64_t images = 0;        // presentations summed over modules
  std::int64_t batch_images = 0;  // presentations of the batch (modules run together)
  double seconds = 0;
};

struct recorded_spikes {
  std::vector<std::uint64_t> node;  // module * n_e + neuron
  std::vector<double> time_ms;      // from the start of the test phase
};

// What the test phase simulated, summed over its modules (every module sees every query): the
// counts behind the energy estimate per query image (docs/vpr.md "Energy").
struct query_work {
  std::int64_t queries = 0, modules = 0;
  double steps = 0;                 // per module, rests included
  double neurons = 0;               // excitatory + inhibitory, all modules
  double input_spikes = 0, synaptic_events = 0, spikes = 0;  // all modules
};

struct vpr_results {
  vpr_config config;
  std::vector<std::size_t> permutation;  // label -> place index (identity without shuffling)
  std::vector<std::string> place_names;  // per place index
  std::vector<module_result> modules;
  bool trained = false;                  // false when resumed from a checkpoint
  std::vector<phase_timing> timings;
  // Training statistics over the assignment window (all modules).
  double spikes_per_presentation = 0, active_per_presentation = 0;
  double theta_mean_mv = 0, theta_min_mv = 0, theta_max_mv = 0;
  std::vector<std::size_t> activity;     // record phase: k_i per neuron of all modules (empty: no record)
  // Calibration and test evaluations, merged over their modules.
  bool has_calibration = false;
  threshold_choice calibration;          // every candidate T on the calibration queries
  int threshold = 0;                     // T used on the test queries
  evaluation test_off;                   // T = 0
  evaluation test_on;                    // T = threshold (same as test_off when 0)
  recorded_spikes test_spikes;
  query_work test_work;
  std::size_t n_e = 0;
};

vpr_results run_vpr(const vpr_config& config, const vpr_run_options& options);

}  // namespace kspike::vpr
