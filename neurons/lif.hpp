#pragma once
// Leaky integrate-and-fire with delta synapses, integrated exactly.
//
//   tau dv/dt = (v_leak - v) + r (i_offset + i_ext)
//
// With the injected current constant over a step, v(t+dt) = v_inf + (v - v_inf) e^{-dt/tau}
// with v_inf = v_leak + r I: exact, not an approximation. A spike arriving through a
// delta synapse adds its weight [V] to v at the start of the step. The neuron fires when v
// exceeds v_threshold at the end of a step (strictly, as NIR's z = [v > v_th]), then
// resets to v_reset, or subtracts (v_threshold - v_reset), and is held for t_ref (inputs
// arriving meanwhile are dropped, as in NEST).
// Units: tau, t_ref [s]; r [Ohm]; v_* [V]; i_offset [A]. Names follow NIR.
#include "neurons/common.hpp"

namespace kspike::neurons {

struct lif : membrane_variables {
  static constexpr const char* name = "lif";
  static constexpr const char* summary = "leaky integrate-and-fire, delta synapses, exact integration";
  static constexpr const char* input_dimension = "voltage";
  static constexpr bool non_negative_weights = false;
  static constexpr bool uses_current = true;

  struct params {
    double tau = 20e-3;
    double r = 1.0;
    double v_leak = 0.0;
    double v_threshold = 1.0;
    double v_reset = 0.0;
    double t_ref = 0.0;
    double i_offset = 0.0;
    reset_mode reset = reset_mode::to_v_reset;
  };

  template <class V>
  static void parameters(V& v) {
    v.quantity("tau", "time", &params::tau, "membrane time constant");
    v.quantity("r", "resistance", &params::r, "membrane resistance: v_inf = v_leak + r I");
    v.quantity("v_leak", "voltage", &params::v_leak, "resting potential");
    describe_fire_and_reset<V, params>(v);
    v.quantity("i_offset", "current", &params::i_offset, "constant current added to the injected one");
  }

  static state initial(const params& p) { return resting_at(p.v_leak); }

  struct coeffs {
    real_t decay;  // e^{-dt/tau}
    real_t v_leak, r, i_offset;
    fire_and_reset fire;
  };

  static coeffs make(const params& p, double dt) {
    require_positive(p.tau, "tau");
    require_positive(p.r, "r");
    require_finite(p.v_leak, "v_leak");
    require_finite(p.i_offset, "i_offset");
    return coeffs{static_cast<real_t>(std::exp(-dt / p.tau)), static_cast<real_t>(p.v_leak),
                  static_cast<real_t>(p.r), static_cast<real_t>(p.i_offset),
                  fire_and_reset::make({p.v_threshold, p.v_reset, p.t_ref, p.reset}, dt)};
  }

  KOKKOS_INLINE_FUNCTION static bool step(const coeffs& c, state& s, real_t i_ext) {
    const bool refractory = c.fire.refractory(s);  // v held, input dropped
    const real_t v_inf = c.v_leak + c.r * (c.i_offset + i_ext);
    const real_t v = v_inf + (s.v + s.syn_e + s.syn_i - v_inf) * c.decay;
    s.syn_e = 0;
    s.syn_i = 0;
    return c.fire.apply(s, v, refractory);
  }
};

}  // namespace kspike::neurons
