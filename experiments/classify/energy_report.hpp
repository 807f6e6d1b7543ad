#pragma once
// From counted activity (experiments/classify/activity.hpp) to what `kspike energy` and
// `kspike convert` write: the work per inference, NeuroBench's metrics under its key names,
// every energy model's estimate (sim/energy_model.hpp), a per-layer CSV and the plots.
#include <cstdint>
#include <string>
#include <vector>

#include "experiments/classify/activity.hpp"
#include "sim/energy_model.hpp"

namespace kspike::classify {

// The first T_used steps of a run (0: all), per inference. An analog first layer that ran once
// for all steps (direct input) counts once, or T_used times with `first_layer_per_step`.
energy::network_work work_of(const network_activity& a, std::int64_t steps_used = 0, bool first_layer_per_step = false);

// energy.json: the model, accuracy, NeuroBench's metrics, kspike's counters and every estimate.
std::string energy_json(const network_activity& a, double accuracy, std::int64_t steps_used, bool first_layer_per_step,
                        const std::vector<std::string>& models);
// Per weighted layer: counters per inference and the snn/ann energy of each model.
std::string energy_layers_csv(const network_activity& a, std::int64_t steps_used, bool first_layer_per_step,
                              const std::vector<std::string>& models);

// Bar chart of ops:fp32 energy per layer, SNN beside the ANN of the same layers (gnuplot; skipped
// with a message on stderr when gnuplot is missing).
void plot_energy_layers(const std::string& csv, const std::string& png, const std::string& title);
// kspike convert's accuracy_vs_T.csv: the SNN's accuracy against T, the ANN's as a line.
void plot_accuracy_vs_T(const std::string& csv, const std::string& png, const std::string& title);
// Accuracy against energy per inference: rows "label,energy_J,accuracy".
void plot_accuracy_energy(const std::string& csv, const std::string& png, const std::string& title);

}  // namespace kspike::classify
