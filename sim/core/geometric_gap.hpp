#pragma once
// Poisson sources drawn by gaps instead of one draw per step: the steps to a source's next
// spike come from the geometric distribution, drawn by inversion from one uniform. It is the
// same process as a Bernoulli(p) draw every step (Brian2's PoissonGroup) at one draw per spike.
// The engine's step schedule and its window schedule both draw their sources this way.
#include <Kokkos_Core.hpp>

#include <cstdint>

#include "sim/core/kokkos_math.hpp"
#include "sim/core/rng.hpp"

namespace kspike {

// The step of a source that never fires again (far beyond any run, and no overflow when a
// start step is added to it).
constexpr std::int64_t never_fires = std::int64_t{1} << 62;

// Steps from the current step to a source's next spike (0: this step) for a spike probability
// p per step, given inv_log_q = 1 / log(1 - p): 0 for p >= 1 (every step), +inf for p = 0
// (never_fires). `draw` counts the source's draws, so every spike has its own counter-based draw.
KOKKOS_INLINE_FUNCTION std::int64_t geometric_gap(double inv_log_q, std::uint64_t seed, std::uint32_t stream,
                                                  std::uint32_t source, std::uint64_t draw) {
  if (inv_log_q > 0) return never_fires;  // p = 0
  if (inv_log_q == 0) return 0;           // p >= 1
  const double u = 1.0 - uniform01(philox4x32(seed, stream, source, draw));  // (0, 1]
  const double g = kmath::log(u) * inv_log_q;                                // >= 0
  return g < 1e15 ? static_cast<std::int64_t>(g) : never_fires;              // the cast floors
}

}  // namespace kspike
