#pragma once
// The MPBN-LIF of the training path (learning/mpbn.hpp, Guo et al.) at inference with its batch
// norm folded into a firing rule per group (channel or neuron): for deployed MPBN networks.
//
//   u = decay · v + x        (in double, rounded to float, as the training path charges)
//   fires iff  u > θ' (dir +1),  u < θ' (dir −1),  or always / never (dir 0: `constant`)
//   v = fires ? 0 : u
//
// θ' = μ + (V_th − β)·√(σ² + ε)/γ is a double; it is kept per neuron as two floats whose sum
// restores it to about 48 bits, so the comparison with the float u decides as the double would
// (kspike fold checks that the folded rule fires exactly where the eval-mode MPBN-LIF does).
#include "neurons/common.hpp"

namespace kspike::neurons {

struct mpbn_folded {
  static constexpr const char* name = "mpbn_folded";
  static constexpr const char* summary = "the MPBN-LIF with its batch norm folded into a threshold and direction (deployed MPBN networks)";
  static constexpr const char* input_dimension = "dimensionless";
  static constexpr bool non_negative_weights = false;
  static constexpr bool uses_current = false;

  struct params {
    double decay = 0.25;  // the MPBN-LIF's membrane decay
  };
  template <class V>
  static void parameters(V& v) {
    v.quantity("decay", "dimensionless", &params::decay, "membrane decay per step");
  }
  struct state {
    real_t v;
    real_t theta_hi, theta_lo;  // θ' = theta_hi + theta_lo (in double)
    real_t direction;           // +1: fire above θ', -1: below, 0: `constant` decides
    real_t constant;            // 1: always fires, 0: never (direction 0 only)
    real_t drive;
    real_t syn_e, syn_i;
    std::int32_t since;
  };
  template <class F>
  KOKKOS_INLINE_FUNCTION static void variables(F&& f) {
    f("v", &state::v, "1", "membrane carried to the next step");
    f("theta_hi", &state::theta_hi, "1", "folded threshold, its float part");
    f("theta_lo", &state::theta_lo, "1", "folded threshold, the rest");
    f("direction", &state::direction, "1", "+1 fires above the threshold, -1 below, 0 by `constant`");
    f("constant", &state::constant, "1", "with direction 0: 1 fires at every step, 0 never");
    f("drive", &state::drive, "1", "constant input added at every step");
  }
  static state initial(const params&) { return {0, 0, 0, 1, 0, 0, 0, 0, since_never}; }
  struct coeffs {
    double decay;
  };
  static coeffs make(const params& p, double) {
    require(std::isfinite(p.decay) && p.decay >= 0 && p.decay <= 1, "decay", "must be in [0, 1]");
    return {p.decay};
  }
  KOKKOS_INLINE_FUNCTION static bool step(const coeffs& c, state& s, real_t) {
    const real_t x = s.syn_e + s.syn_i + s.drive;
    const real_t u = static_cast<real_t>(c.decay * static_cast<double>(s.v) + static_cast<double>(x));
    const double theta = static_cast<double>(s.theta_hi) + static_cast<double>(s.theta_lo);
    const bool above = static_cast<double>(u) > theta, below = static_cast<double>(u) < theta;
    const bool spike = s.direction > 0 ? above : (s.direction < 0 ? below : s.constant > 0);
    s.v = spike ? real_t(0) : u;
    s.since = spike ? 0 : saturating_increment(s.since);
    s.syn_e = 0;
    s.syn_i = 0;
    return spike;
  }
};

}  // namespace kspike::neurons
