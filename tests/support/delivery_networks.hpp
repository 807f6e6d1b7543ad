#pragma once
// The populations the engine's delivery tests share: Poisson input "in" (200 sources at 40 Hz)
// driving "exc" (300 current-based LIF neurons whose thresholds the input reaches), 300 ms at
// dt 0.1 ms. Each test appends the projections it is about.
#include <string>

namespace kspike_test {

inline std::string input_and_excitatory_populations(int seed) {
  return R"(
dt = "0.1 ms"
duration = "300 ms"
seed = )" + std::to_string(seed) + R"(
[populations.in]
size = 200
model = "poisson"
rate = "40 Hz"
[populations.exc]
size = 300
model = "cuba_lif"
tau_mem = "10 ms"
tau_syn = "2 ms"
v_threshold = "10 mV"
v_init = { uniform = ["0 mV", "9 mV"] }
)";
}

}  // namespace kspike_test
