#pragma once
// Integrate-and-fire (no leak), NIR's IF: dv/dt = r I.
//
// Delta synapses add their weight [V] to v; an injected current I [A] adds r I dt per step
// (exact for a current constant over the step). Threshold, reset and refractoriness as LIF.
// Units: r [V/(A s)], v_* [V], t_ref [s], i_offset [A].
#include "neurons/common.hpp"

namespace kspike::neurons {

struct if_neuron {
  // Which of the engine's per-neuron arrays step() reads: the engine skips the others.
  static constexpr bool uses_theta = false;
  static constexpr bool uses_current = true;

  struct params {
    double r = 1.0;
    double v_threshold = 1.0;
    double v_reset = 0.0;
    double t_ref = 0.0;
    double i_offset = 0.0;
    reset_mode reset = reset_mode::to_v_reset;
  };

  struct coeffs {
    real_t r_dt, i_offset;
    fire_and_reset fire;
  };

  static coeffs make(const params& p, double dt) {
    require_positive(p.r, "r");
    require_finite(p.i_offset, "i_offset");
    return coeffs{static_cast<real_t>(p.r * dt), static_cast<real_t>(p.i_offset),
                  fire_and_reset::make({p.v_threshold, p.v_reset, p.t_ref, p.reset}, dt)};
  }

  KOKKOS_INLINE_FUNCTION static bool step(const coeffs& c, vars& s, real_t i_ext) {
    const bool refractory = c.fire.refractory(s);
    const real_t v = s.v + s.syn_e + s.syn_i + c.r_dt * (c.i_offset + i_ext);
    s.syn_e = 0;
    s.syn_i = 0;
    return c.fire.apply(s, v, refractory);
  }
};

}  // namespace kspike::neurons
