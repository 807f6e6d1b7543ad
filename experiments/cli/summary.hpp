#pragma once
// The human-readable summary printed after a run.
#include <ostream>
#include <string>
#include <vector>

#include "sim/engine.hpp"

namespace kspike::cli {

// build_seconds: how long constructing the engine took (synapses drawn and copied).
void print_summary(std::ostream& os, const engine& eng, const std::string& config,
                   const std::vector<std::string>& files, std::uint64_t spikes_recorded, double build_seconds);

}  // namespace kspike::cli
