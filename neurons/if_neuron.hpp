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
    real_t r_dt, i_offset, v_threshold, v_reset, reset_step;
    std::int32_t ref_steps;
    bool subtract;
  };

  static coeffs make(const params& p, double dt) {
    require_positive(p.r, "r");
    require_non_negative(p.t_ref, "t_ref");
    require_finite(p.v_threshold, "v_threshold");
    require_finite(p.v_reset, "v_reset");
    require_finite(p.i_offset, "i_offset");
    if (p.reset == reset_mode::subtract)
      require(p.v_threshold > p.v_reset, "v_reset", "must be below v_threshold for reset by subtraction");
    coeffs c{};
    c.r_dt = static_cast<real_t>(p.r * dt);
    c.i_offset = static_cast<real_t>(p.i_offset);
    c.v_threshold = static_cast<real_t>(p.v_threshold);
    c.v_reset = static_cast<real_t>(p.v_reset);
    c.reset_step = static_cast<real_t>(p.v_threshold - p.v_reset);
    c.ref_steps = steps_of(p.t_ref, dt);
    c.subtract = p.reset == reset_mode::subtract;
    return c;
  }

  // Written without branches (selects only) so that the engine's update loop vectorises.
  KOKKOS_INLINE_FUNCTION static bool step(const coeffs& c, vars& s, real_t i_ext) {
    const bool refractory = s.since < c.ref_steps;
    const real_t v = s.v + s.syn_e + s.syn_i + c.r_dt * (c.i_offset + i_ext);
    const bool spike = !refractory & (v > c.v_threshold);
    const real_t v_after = c.subtract ? v - c.reset_step : c.v_reset;
    s.v = spike ? v_after : (refractory ? s.v : v);
    s.since = spike ? 0 : saturating_increment(s.since);
    s.syn_e = 0;
    s.syn_i = 0;
    return spike;
  }
};

}  // namespace kspike::neurons
