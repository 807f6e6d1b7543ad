#pragma once
// Integrate-and-fire (no leak), NIR's IF: dv/dt = r I.
//
// Delta synapses add their weight [V] to v; an injected current I [A] adds r I dt per step
// (exact for a current constant over the step). Threshold, reset and refractoriness as LIF.
// Units: r [V/(A s)], v_* [V], t_ref [s], i_offset [A].
#include "neurons/common.hpp"

namespace kspike::neurons {

struct if_neuron : membrane_variables {
  static constexpr const char* name = "if";
  static constexpr const char* summary = "integrate-and-fire without leak, delta synapses";
  static constexpr const char* input_dimension = "voltage";
  static constexpr bool non_negative_weights = false;
  static constexpr bool uses_current = true;

  struct params {
    double r = 1.0;
    double v_threshold = 1.0;
    double v_reset = 0.0;
    double t_ref = 0.0;
    double i_offset = 0.0;
    reset_mode reset = reset_mode::to_v_reset;
  };

  // r is dv/dt per ampere, V/(A s): no unit of its own in network files, a plain SI number.
  template <class V>
  static void parameters(V& v) {
    v.quantity("r", "dimensionless", &params::r, "dv/dt per ampere of injected current [V/(A s)]");
    describe_fire_and_reset<V, params>(v);
    v.quantity("i_offset", "current", &params::i_offset, "constant current added to the injected one");
  }

  static state initial(const params& p) { return resting_at(p.v_reset); }

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

  KOKKOS_INLINE_FUNCTION static bool step(const coeffs& c, state& s, real_t i_ext) {
    const bool refractory = c.fire.refractory(s);
    const real_t v = s.v + s.syn_e + s.syn_i + c.r_dt * (c.i_offset + i_ext);
    s.syn_e = 0;
    s.syn_i = 0;
    return c.fire.apply(s, v, refractory);
  }
};

}  // namespace kspike::neurons
