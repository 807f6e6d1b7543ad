#pragma once
// Conductance-based LIF with an adaptive threshold (Diehl & Cook 2015).
//
//   tau dv/dt     = (v_leak - v) + g_e (e_rev_e - v) + g_i (e_rev_i - v)
//   tau_syn_x dg_x/dt = -g_x          (a spike adds its weight to g_x; g is relative to the leak)
//   tau_theta dtheta/dt = -theta      (frozen when adapt = false, e.g. at test time)
//   fires when v > v_threshold + theta - theta_offset and at least t_block has passed since
//   the last spike; then v = v_reset, theta += theta_plus (when adapting), v held for t_ref.
//
// v is not linear in a fixed system here (g changes the time constant), so there is no
// exact step. "exponential_euler" (default) holds g over the step and integrates v exactly
// for it; "euler" is forward Euler everywhere, the integrator of the Brian2 reference code
// of the place-recognition papers. Synaptic and theta decays are exact under the first,
// Euler under the second. theta_plus = 0 gives a plain conductance LIF.
// Units: times [s]; v_*, e_rev_*, theta* [V]; conductances relative to the leak [1].
#include "neurons/common.hpp"

namespace kspike::neurons {

enum class integrator { exponential_euler, euler };

// How theta moves in a step: as the coefficients say (decays and jumps when c.adapt), or fixed
// at compile time where the caller knows it, so that a loop over neurons carries no select on
// c.adapt: jumps at spikes only (its decay applied elsewhere, e.g. once per window), or frozen.
enum class theta_rule { coeffs, jumps_only, frozen };

struct adaptive_lif {
  static constexpr const char* name = "adaptive_lif";
  static constexpr const char* summary = "conductance-based LIF with an adaptive threshold (Diehl & Cook 2015)";
  static constexpr const char* input_dimension = "dimensionless";
  static constexpr bool non_negative_weights = true;
  static constexpr bool uses_current = false;

  struct params {
    double tau = 100e-3;
    double v_leak = -65e-3;
    double v_reset = -65e-3;
    double v_threshold = -52e-3;
    double e_rev_e = 0.0;
    double e_rev_i = -100e-3;
    double tau_syn_e = 1e-3;
    double tau_syn_i = 2e-3;
    double t_ref = 5e-3;
    double t_block = 0.0;
    double theta_plus = 0.0;
    double tau_theta = 1e4;
    double theta_offset = 0.0;
    double theta_init = 0.0;
    bool adapt = true;
    integrator method = integrator::exponential_euler;
  };

  template <class V>
  static void parameters(V& v) {
    v.quantity("tau", "time", &params::tau, "membrane time constant");
    v.quantity("v_leak", "voltage", &params::v_leak, "resting potential");
    v.quantity("v_reset", "voltage", &params::v_reset, "v after a spike");
    v.quantity("v_threshold", "voltage", &params::v_threshold, "threshold before adaptation");
    v.quantity("e_rev_e", "voltage", &params::e_rev_e, "excitatory reversal potential");
    v.quantity("e_rev_i", "voltage", &params::e_rev_i, "inhibitory reversal potential");
    v.quantity("tau_syn_e", "time", &params::tau_syn_e, "excitatory conductance time constant");
    v.quantity("tau_syn_i", "time", &params::tau_syn_i, "inhibitory conductance time constant");
    v.quantity("t_ref", "time", &params::t_ref, "refractory period: v held after a spike");
    v.quantity("t_block", "time", &params::t_block, "no spike within t_block of the last (v not held)");
    v.quantity("theta_plus", "voltage", &params::theta_plus, "threshold increment per spike");
    v.quantity("tau_theta", "time", &params::tau_theta, "threshold decay time constant");
    v.quantity("theta_offset", "voltage", &params::theta_offset, "subtracted from the adaptive threshold");
    v.quantity("theta_init", "voltage", &params::theta_init, "initial theta");
    v.flag("adapt", &params::adapt, "whether theta moves (false: frozen, e.g. at test time)");
    v.choice("method", &params::method, {"exponential_euler", "euler"}, "integrator of v, g and theta");
  }

  struct state {
    real_t v;
    real_t syn_e;  // excitatory conductance relative to the leak [1]
    real_t syn_i;  // inhibitory conductance relative to the leak [1]
    real_t theta;  // adaptive threshold increment [V]
    std::int32_t since;
  };
  template <class F>
  KOKKOS_INLINE_FUNCTION static void variables(F&& f) {
    f("v", &state::v, "V", "membrane potential");
    f("theta", &state::theta, "V", "adaptive threshold increment");
  }
  static state initial(const params& p) {
    return {static_cast<real_t>(p.v_leak), 0, 0, static_cast<real_t>(p.theta_init), since_never};
  }

  struct coeffs {
    real_t dt_over_tau, decay_e, decay_i, decay_theta;
    real_t v_leak, v_reset, v_threshold, e_rev_e, e_rev_i, theta_plus, theta_offset;
    std::int32_t ref_steps, block_steps;
    bool adapt, euler;
  };

  static coeffs make(const params& p, double dt) {
    require_positive(p.tau, "tau");
    require_positive(p.tau_syn_e, "tau_syn_e");
    require_positive(p.tau_syn_i, "tau_syn_i");
    require_positive(p.tau_theta, "tau_theta");
    require_non_negative(p.t_ref, "t_ref");
    require_non_negative(p.t_block, "t_block");
    require_non_negative(p.theta_plus, "theta_plus");
    for (auto [x, n] : {std::pair{p.v_leak, "v_leak"}, {p.v_reset, "v_reset"},
                        {p.v_threshold, "v_threshold"}, {p.e_rev_e, "e_rev_e"}, {p.e_rev_i, "e_rev_i"},
                        {p.theta_offset, "theta_offset"}, {p.theta_init, "theta_init"}})
      require_finite(x, n);
    const bool euler = p.method == integrator::euler;
    auto decay = [&](double tau) { return euler ? 1.0 - dt / tau : std::exp(-dt / tau); };
    coeffs c{};
    c.dt_over_tau = static_cast<real_t>(dt / p.tau);
    c.decay_e = static_cast<real_t>(decay(p.tau_syn_e));
    c.decay_i = static_cast<real_t>(decay(p.tau_syn_i));
    c.decay_theta = static_cast<real_t>(decay(p.tau_theta));
    c.v_leak = static_cast<real_t>(p.v_leak);
    c.v_reset = static_cast<real_t>(p.v_reset);
    c.v_threshold = static_cast<real_t>(p.v_threshold);
    c.e_rev_e = static_cast<real_t>(p.e_rev_e);
    c.e_rev_i = static_cast<real_t>(p.e_rev_i);
    c.theta_plus = static_cast<real_t>(p.theta_plus);
    c.theta_offset = static_cast<real_t>(p.theta_offset);
    c.ref_steps = steps_of(p.t_ref, dt, "t_ref");
    c.block_steps = steps_of(p.t_block, dt, "t_block");
    c.adapt = p.adapt;
    c.euler = euler;
    return c;
  }

  // One step with the integrator fixed at compile time: no branch on it, so a loop over
  // neurons vectorises (the place-recognition kernel calls the Euler form directly).
  template <integrator method, theta_rule rule = theta_rule::coeffs>
  KOKKOS_INLINE_FUNCTION static void step_with(const coeffs& c, state& s) {
    const real_t ge = s.syn_e, gi = s.syn_i;
    const bool refractory = s.since < c.ref_steps;
    real_t v = s.v;
    if constexpr (method == integrator::euler) {
      v += c.dt_over_tau * ((c.v_leak - v) + ge * (c.e_rev_e - v) + gi * (c.e_rev_i - v));
    } else {
      const real_t g = 1 + ge + gi;
      const real_t v_inf = (c.v_leak + ge * c.e_rev_e + gi * c.e_rev_i) / g;
      v = v_inf + (v - v_inf) * kmath::exp(-c.dt_over_tau * g);
    }
    const std::int32_t since = saturating_increment(s.since);
    const bool adapt = rule == theta_rule::coeffs ? c.adapt : rule == theta_rule::jumps_only;
    const real_t theta = (rule == theta_rule::coeffs && c.adapt) ? s.theta * c.decay_theta : s.theta;
    const bool spike = !refractory & (v > c.v_threshold + theta - c.theta_offset) & (since >= c.block_steps);
    s.v = spike ? c.v_reset : (refractory ? s.v : v);
    s.since = spike ? 0 : since;
    if (rule != theta_rule::frozen) s.theta = (spike & adapt) ? theta + c.theta_plus : theta;
    s.syn_e = ge * c.decay_e;  // the engine flushes tiny values (see flush_tiny)
    s.syn_i = gi * c.decay_i;
  }

  KOKKOS_INLINE_FUNCTION static bool step(const coeffs& c, state& s, real_t /*i_ext*/) {
    if (c.euler)
      step_with<integrator::euler>(c, s);
    else
      step_with<integrator::exponential_euler>(c, s);
    return s.since == 0;
  }
};

}  // namespace kspike::neurons
