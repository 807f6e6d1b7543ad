#pragma once
// The human-readable summary printed after a run.
#include <ostream>
#include <string>
#include <vector>

#include "sim/engine.hpp"

namespace kspike::cli {

void print_summary(std::ostream& os, const engine& eng, const std::string& config,
                   const std::vector<std::string>& files, std::uint64_t spikes_recorded);

}  // namespace kspike::cli
