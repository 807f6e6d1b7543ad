#pragma once
// Trace-based STDP with nearest-spike traces, the rule of Diehl & Cook (2015) as the
// place-recognition reference uses it (docs/models.md "STDP"):
//
//   traces  pre (tau_pre), post1 (tau_post1), post2 (tau_post2), each SET to 1 on its spike
//           and decaying exponentially in between (Brian2 "event-driven": exact decay)
//   on a pre-synaptic arrival:  w = clip(w + sign * nu_pre * post1)
//   on a post-synaptic spike:   w = clip(w + nu_post * pre * post2_before) ; post1 = post2 = 1
//
// `post2_before` is post2 read before the spike sets it (triplet LTP). Because traces are set,
// not incremented, a trace is a function of the time since its last spike alone:
// value(k steps) = exp(-k dt / tau). The sign of the pre term is the one place the reference
// code (+, potentiation) and the Diehl & Cook paper (-, depression) disagree; both are offered.
#include <Kokkos_Core.hpp>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "sim/core/error.hpp"
#include "sim/core/kokkos_math.hpp"

namespace kspike::learning {

enum class pre_term_sign { potentiate, depress };

// The parameters of the place-recognition rule (docs/models.md "STDP"); the engine checks them
// when it reads the network they describe.
struct stdp_params {
  double nu_pre = 1e-4;
  double nu_post = 1e-2;
  double tau_pre = 20e-3;    // s
  double tau_post1 = 20e-3;  // s
  double tau_post2 = 40e-3;  // s
  double w_min = 0.0;
  double w_max = 1.0;
  pre_term_sign sign = pre_term_sign::potentiate;  // the reference code's sign

  double signed_nu_pre() const { return sign == pre_term_sign::potentiate ? nu_pre : -nu_pre; }
};

// exp(-k dt / tau) for k = 0, 1, ... until the value underflows to 0 in float (the table's last
// entry is 0, and every k past the end reads it). Computed in double on the host, so a trace
// read in a kernel is the exact decay rounded once, whatever the backend.
inline std::vector<float> trace_decay_table(double dt, double tau) {
  std::vector<float> t;
  for (std::size_t k = 0;; ++k) {
    const float v = static_cast<float>(std::exp(-static_cast<double>(k) * dt / tau));
    t.push_back(v);
    if (v == 0.0f) break;
  }
  return t;
}

// Reads a decay table at `k` steps since the last spike (k < 0: no spike yet -> 0).
KOKKOS_INLINE_FUNCTION float trace_at(const float* table, std::int64_t length, std::int64_t k) {
  if (k < 0) return 0.0f;
  return table[k < length ? k : length - 1];
}

KOKKOS_INLINE_FUNCTION float clip_weight(float w, float lo, float hi) { return kmath::clamp(w, lo, hi); }

}  // namespace kspike::learning
