#pragma once
// Adaptive exponential integrate-and-fire (Brette & Gerstner 2005), with exponential current
// synapses.
//
//   c_m dv/dt     = g_leak (v_leak - v) + g_leak delta_t exp((v - v_t) / delta_t) - w + I
//   tau_w dw/dt   = a (v - v_leak) - w
//   tau_syn_x dI_x/dt = -I_x       (a spike adds its weight [A] to I_e or I_i)
//   I = I_e + I_i + i_offset + i_ext
//   when v > v_peak:  v = v_reset,  w += b;  v held at v_reset for t_ref (w keeps moving)
//
// Forward Euler on v and w (both derivatives from the state at the start of the step), the
// method of the paper and of Brian2's `method='euler'`, against which it is tested; the
// synaptic currents decay exactly. The defaults are the paper's regular-spiking cell, with the
// spike cut at v_t + 5 delta_t.
// Units: c_m [F]; g_leak, a [S]; v_*, delta_t [V]; b, currents [A]; times [s].
#include "neurons/common.hpp"

namespace kspike::neurons {

struct adex {
  static constexpr const char* name = "adex";
  static constexpr const char* summary = "adaptive exponential integrate-and-fire (Brette & Gerstner 2005), forward Euler";
  static constexpr const char* input_dimension = "current";
  static constexpr bool non_negative_weights = false;
  static constexpr bool uses_current = true;

  struct params {
    double c_m = 281e-12;
    double g_leak = 30e-9;
    double v_leak = -70.6e-3;
    double v_t = -50.4e-3;
    double delta_t = 2e-3;
    double v_peak = -40.4e-3;
    double v_reset = -70.6e-3;
    double a = 4e-9;
    double b = 80.5e-12;
    double tau_w = 144e-3;
    double t_ref = 0.0;
    double tau_syn_e = 5e-3;
    double tau_syn_i = 5e-3;
    double i_offset = 0.0;
  };

  template <class V>
  static void parameters(V& v) {
    v.quantity("c_m", "capacitance", &params::c_m, "membrane capacitance");
    v.quantity("g_leak", "conductance", &params::g_leak, "leak conductance");
    v.quantity("v_leak", "voltage", &params::v_leak, "leak reversal potential");
    v.quantity("v_t", "voltage", &params::v_t, "threshold of the exponential term (rheobase)");
    v.quantity("delta_t", "voltage", &params::delta_t, "slope factor of the exponential term");
    v.quantity("v_peak", "voltage", &params::v_peak, "a spike when v exceeds it");
    v.quantity("v_reset", "voltage", &params::v_reset, "v after a spike");
    v.quantity("a", "conductance", &params::a, "subthreshold adaptation");
    v.quantity("b", "current", &params::b, "spike-triggered adaptation: w += b at each spike");
    v.quantity("tau_w", "time", &params::tau_w, "adaptation time constant");
    v.quantity("t_ref", "time", &params::t_ref, "refractory period: v held at v_reset after a spike");
    v.quantity("tau_syn_e", "time", &params::tau_syn_e, "excitatory synaptic current time constant");
    v.quantity("tau_syn_i", "time", &params::tau_syn_i, "inhibitory synaptic current time constant");
    v.quantity("i_offset", "current", &params::i_offset, "constant current added to the injected one");
  }

  struct state {
    real_t v;      // membrane potential [V]
    real_t w;      // adaptation current [A]
    real_t syn_e;  // excitatory synaptic current [A]
    real_t syn_i;  // inhibitory synaptic current [A] (negative weights)
    std::int32_t since;
  };
  template <class F>
  KOKKOS_INLINE_FUNCTION static void variables(F&& f) {
    f("v", &state::v, "V", "membrane potential");
    f("w", &state::w, "A", "adaptation current");
  }
  static state initial(const params& p) { return {static_cast<real_t>(p.v_leak), 0, 0, 0, since_never}; }

  struct coeffs {
    real_t leak;      // dt g_leak / c_m
    real_t per_amp;   // dt / c_m [V/A]
    real_t w_rate;    // dt / tau_w
    real_t v_leak, v_t, inv_delta_t, delta_t, v_peak, v_reset, a, b, i_offset;
    real_t decay_e, decay_i;
    std::int32_t ref_steps;
  };

  static coeffs make(const params& p, double dt) {
    require_positive(p.c_m, "c_m");
    require_positive(p.g_leak, "g_leak");
    require_positive(p.delta_t, "delta_t");
    require_positive(p.tau_w, "tau_w");
    require_positive(p.tau_syn_e, "tau_syn_e");
    require_positive(p.tau_syn_i, "tau_syn_i");
    require_non_negative(p.t_ref, "t_ref");
    for (auto [x, n] : {std::pair{p.v_leak, "v_leak"}, {p.v_t, "v_t"}, {p.v_peak, "v_peak"}, {p.v_reset, "v_reset"},
                        {p.a, "a"}, {p.b, "b"}, {p.i_offset, "i_offset"}})
      require_finite(x, n);
    require(p.v_peak > p.v_reset, "v_peak", "must be above v_reset");
    // Forward Euler on v is unstable when dt exceeds the membrane time constant's scale.
    require(dt * p.g_leak / p.c_m < 1, "c_m", "dt must be shorter than the membrane time constant c_m / g_leak");
    coeffs c{};
    c.leak = static_cast<real_t>(dt * p.g_leak / p.c_m);
    c.per_amp = static_cast<real_t>(dt / p.c_m);
    c.w_rate = static_cast<real_t>(dt / p.tau_w);
    c.v_leak = static_cast<real_t>(p.v_leak);
    c.v_t = static_cast<real_t>(p.v_t);
    c.inv_delta_t = static_cast<real_t>(1.0 / p.delta_t);
    c.delta_t = static_cast<real_t>(p.delta_t);
    c.v_peak = static_cast<real_t>(p.v_peak);
    c.v_reset = static_cast<real_t>(p.v_reset);
    c.a = static_cast<real_t>(p.a);
    c.b = static_cast<real_t>(p.b);
    c.i_offset = static_cast<real_t>(p.i_offset);
    c.decay_e = static_cast<real_t>(std::exp(-dt / p.tau_syn_e));
    c.decay_i = static_cast<real_t>(std::exp(-dt / p.tau_syn_i));
    c.ref_steps = steps_of(p.t_ref, dt, "t_ref");
    return c;
  }

  KOKKOS_INLINE_FUNCTION static bool step(const coeffs& c, state& s, real_t i_ext) {
    const bool refractory = s.since < c.ref_steps;
    // The exponent is capped: v starts a step at or below v_peak, where it is at most
    // (v_peak - v_t) / delta_t; only a v set from outside can reach the cap, which keeps the
    // float finite.
    real_t x = (s.v - c.v_t) * c.inv_delta_t;
    x = x < real_t(40) ? x : real_t(40);
    const real_t current = s.syn_e + s.syn_i + c.i_offset + i_ext;
    const real_t v = s.v + c.leak * (c.v_leak - s.v + c.delta_t * kmath::exp(x)) + c.per_amp * (current - s.w);
    const real_t w = s.w + c.w_rate * (c.a * (s.v - c.v_leak) - s.w);
    const bool spike = !refractory & (v > c.v_peak);
    s.v = spike ? c.v_reset : (refractory ? c.v_reset : v);
    s.w = spike ? w + c.b : w;
    s.since = spike ? 0 : saturating_increment(s.since);
    s.syn_e *= c.decay_e;  // the engine flushes tiny values (see flush_tiny)
    s.syn_i *= c.decay_i;
    return spike;
  }
};

}  // namespace kspike::neurons
