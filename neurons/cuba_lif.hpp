#pragma once
// Current-based LIF with exponential synapses (NIR's CubaLIF), integrated exactly.
//
//   tau_mem   dv/dt   = (v_leak - v) + r (I_e + I_i + i_offset + i_ext)
//   tau_syn_e dI_e/dt = -I_e        (each spike adds its weight [A] to I_e or I_i)
//
// The coupled linear system has a closed-form propagator (Rotter & Diesmann 1999): over one
// step, v picks up k_x I_x with k_x = r tau_x/(tau_x - tau_mem) (e^{-dt/tau_x} - e^{-dt/tau_mem})
// (limit r dt/tau_mem e^{-dt/tau_mem} when the two are equal). Excitatory and inhibitory
// currents keep their own time constants (Vogels-Abbott CUBA). While refractory v is held,
// the currents keep decaying. NIR's single tau_syn sets both.
// Units: tau_* , t_ref [s]; r [Ohm]; v_* [V]; currents [A].
#include "neurons/common.hpp"

namespace kspike::neurons {

struct cuba_lif : membrane_variables {
  static constexpr const char* name = "cuba_lif";
  static constexpr const char* summary = "leaky integrate-and-fire, exponential current synapses, exact integration";
  static constexpr const char* input_dimension = "current";
  static constexpr bool non_negative_weights = false;
  static constexpr bool uses_current = true;

  struct params {
    double tau_mem = 20e-3;
    double tau_syn_e = 5e-3;
    double tau_syn_i = 5e-3;
    double r = 1.0;
    double v_leak = 0.0;
    double v_threshold = 1.0;
    double v_reset = 0.0;
    double t_ref = 0.0;
    double i_offset = 0.0;
    reset_mode reset = reset_mode::to_v_reset;
  };

  // NIR's single tau_syn sets both receptors; tau_syn_e / tau_syn_i, read after it, win.
  template <class V>
  static void parameters(V& v) {
    v.quantity("tau_syn", "time", &params::tau_syn_e, "sets tau_syn_e and tau_syn_i (NIR's CubaLIF)",
               &params::tau_syn_i);
    v.quantity("tau_mem", "time", &params::tau_mem, "membrane time constant");
    v.quantity("tau_syn_e", "time", &params::tau_syn_e, "excitatory synaptic current time constant");
    v.quantity("tau_syn_i", "time", &params::tau_syn_i, "inhibitory synaptic current time constant");
    v.quantity("r", "resistance", &params::r, "membrane resistance");
    v.quantity("v_leak", "voltage", &params::v_leak, "resting potential");
    describe_fire_and_reset<V, params>(v);
    v.quantity("i_offset", "current", &params::i_offset, "constant current added to the injected one");
  }

  static state initial(const params& p) { return resting_at(p.v_leak); }

  struct coeffs {
    real_t decay, decay_e, decay_i, k_e, k_i;
    real_t v_leak, r, i_offset;
    fire_and_reset fire;
  };

  // Voltage picked up over one step per unit of synaptic current present at its start.
  static double current_to_voltage(double r, double tau_mem, double tau_syn, double dt) {
    const double pm = std::exp(-dt / tau_mem), ps = std::exp(-dt / tau_syn);
    if (std::abs(tau_syn - tau_mem) < 1e-12 * tau_mem) return r * dt / tau_mem * pm;
    return r * tau_syn / (tau_syn - tau_mem) * (ps - pm);
  }

  static coeffs make(const params& p, double dt) {
    require_positive(p.tau_mem, "tau_mem");
    require_positive(p.tau_syn_e, "tau_syn_e");
    require_positive(p.tau_syn_i, "tau_syn_i");
    require_positive(p.r, "r");
    require_finite(p.v_leak, "v_leak");
    require_finite(p.i_offset, "i_offset");
    coeffs c{};
    c.decay = static_cast<real_t>(std::exp(-dt / p.tau_mem));
    c.decay_e = static_cast<real_t>(std::exp(-dt / p.tau_syn_e));
    c.decay_i = static_cast<real_t>(std::exp(-dt / p.tau_syn_i));
    c.k_e = static_cast<real_t>(current_to_voltage(p.r, p.tau_mem, p.tau_syn_e, dt));
    c.k_i = static_cast<real_t>(current_to_voltage(p.r, p.tau_mem, p.tau_syn_i, dt));
    c.v_leak = static_cast<real_t>(p.v_leak);
    c.r = static_cast<real_t>(p.r);
    c.i_offset = static_cast<real_t>(p.i_offset);
    c.fire = fire_and_reset::make({p.v_threshold, p.v_reset, p.t_ref, p.reset}, dt);
    return c;
  }

  KOKKOS_INLINE_FUNCTION static bool step(const coeffs& c, state& s, real_t i_ext) {
    const bool refractory = c.fire.refractory(s);  // v held; currents keep decaying
    const real_t v_inf = c.v_leak + c.r * (c.i_offset + i_ext);
    const real_t v = v_inf + (s.v - v_inf) * c.decay + c.k_e * s.syn_e + c.k_i * s.syn_i;
    s.syn_e *= c.decay_e;  // the engine flushes tiny values (see flush_tiny)
    s.syn_i *= c.decay_i;
    return c.fire.apply(s, v, refractory);
  }
};

}  // namespace kspike::neurons
