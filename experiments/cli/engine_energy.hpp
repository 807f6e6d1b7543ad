#pragma once
// `kspike run --energy`: what an engine run did (synaptic events, neuron updates, spikes) per
// simulated second, and the energy models of sim/energy_model.hpp that apply to a network
// without layers (ops, memory, chips; docs/energy.md "Engine networks").
#include <string>

#include "sim/engine.hpp"

namespace kspike::cli {

// The report as JSON (same key names as kspike energy where they mean the same).
std::string engine_energy_json(const engine& eng);
// A few lines for the run summary.
std::string engine_energy_text(const engine& eng);

}  // namespace kspike::cli
