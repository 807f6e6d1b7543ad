#pragma once
// Scalar and index types shared by host-only code and kernels. No Kokkos here, so that
// configs, files and the CLI can use them without pulling in kernel headers.
#include <cstdint>

namespace kspike {

// Neuron state is single precision: it halves memory traffic and doubles SIMD width in the
// update loop. Coefficients are derived in double on the host, then rounded once.
using real_t = float;
// Neuron index inside one engine (all populations concatenated).
using index_t = std::int32_t;
// Simulation step counter (10^4 steps per simulated second at dt = 0.1 ms).
using step_t = std::int64_t;
// Synaptic input is summed in 64-bit fixed point: integer addition is associative, so the
// sum does not depend on the order in which threads deliver spikes (same seed, same spikes).
using fixed_t = long long;

}  // namespace kspike
