#pragma once
// The discrete-time LIF/IF neuron of the training path (docs/models.md "The training neuron"),
// for trained and converted networks deployed on the engine. One step is one time step t of the
// tensor model, with the same operations in the same order and precision as
// learning/spiking_lif.hpp (charge, fire, carry):
//
//   x_t = syn_e + syn_i + drive        (delta input of this step, plus a constant drive: the
//                                        layer's bias, or the analog first layer's output)
//   H_t = beta · P_{t-1} + leak + in_scale · x_t
//   S_t = [H_t − θ ≥ 0]   (or > 0 with strict)
//   P_t = H_t − S_t θ (soft reset)   or   S_t ? v_reset : H_t (hard)
//
// θ and the drive are state variables, one per neuron (a folded network's thresholds may differ
// per channel, and the first layer's drive per neuron and image); v holds P. Refractoriness
// does not exist in this model. Units: none (the tensor model's own).
#include "neurons/common.hpp"

namespace kspike::neurons {

struct discrete_lif {
  static constexpr const char* name = "discrete_lif";
  static constexpr const char* summary = "the training path's discrete-time LIF/IF (deployed trained or converted networks)";
  static constexpr const char* input_dimension = "dimensionless";
  static constexpr bool non_negative_weights = false;
  static constexpr bool uses_current = false;

  struct params {
    double beta = 1.0;       // decay of the carried membrane (1: IF)
    double in_scale = 1.0;   // the input's weight (1/τ or 1 − β with decay_input)
    double leak = 0.0;       // (1 − β) v_rest
    double threshold = 1.0;  // θ of every neuron until set per neuron
    double v_reset = 0.0;    // hard reset
    double initial = 0.0;    // P_{-1}
    bool hard_reset = false;
    bool strict = false;
  };

  template <class V>
  static void parameters(V& v) {
    v.quantity("beta", "dimensionless", &params::beta, "decay of the carried membrane per step (1: IF)");
    v.quantity("in_scale", "dimensionless", &params::in_scale, "weight of the step's input");
    v.quantity("leak", "dimensionless", &params::leak, "constant added per step, (1 - beta) v_rest");
    v.quantity("threshold", "dimensionless", &params::threshold, "threshold of every neuron (a state variable: per neuron)");
    v.quantity("v_reset", "dimensionless", &params::v_reset, "membrane after a spike with hard_reset");
    v.quantity("initial", "dimensionless", &params::initial, "membrane before the first step");
    v.flag("hard_reset", &params::hard_reset, "reset to v_reset (false: subtract the threshold)");
    v.flag("strict", &params::strict, "fire when H exceeds the threshold (false: reaches it)");
  }

  struct state {
    real_t v;          // P, the membrane carried to the next step
    real_t threshold;  // θ
    real_t drive;      // constant input per step
    real_t syn_e, syn_i;
    std::int32_t since;
  };
  template <class F>
  KOKKOS_INLINE_FUNCTION static void variables(F&& f) {
    f("v", &state::v, "1", "membrane carried to the next step (P)");
    f("threshold", &state::threshold, "1", "threshold");
    f("drive", &state::drive, "1", "constant input added at every step");
  }
  static state initial(const params& p) {
    return {static_cast<real_t>(p.initial), static_cast<real_t>(p.threshold), 0, 0, 0, since_never};
  }

  struct coeffs {
    real_t beta, in_scale, leak, v_reset;
    bool hard, strict;
  };
  static coeffs make(const params& p, double /*dt*/) {
    for (auto [x, n] : {std::pair{p.beta, "beta"}, {p.in_scale, "in_scale"}, {p.leak, "leak"}, {p.threshold, "threshold"},
                        {p.v_reset, "v_reset"}, {p.initial, "initial"}})
      require_finite(x, n);
    require(p.beta >= 0 && p.beta <= 1, "beta", "must be in [0, 1]");
    return coeffs{static_cast<real_t>(p.beta), static_cast<real_t>(p.in_scale), static_cast<real_t>(p.leak),
                  static_cast<real_t>(p.v_reset), p.hard_reset, p.strict};
  }

  KOKKOS_INLINE_FUNCTION static bool step(const coeffs& c, state& s, real_t /*i_ext*/) {
    const real_t x = s.syn_e + s.syn_i + s.drive;
    const real_t h = c.beta * s.v + c.leak + c.in_scale * x;
    const real_t over = h - s.threshold;
    const bool spike = c.strict ? over > real_t(0) : over >= real_t(0);
    s.v = c.hard ? (spike ? c.v_reset : h) : h - (spike ? s.threshold : real_t(0));
    s.since = spike ? 0 : saturating_increment(s.since);
    s.syn_e = 0;
    s.syn_i = 0;
    return spike;
  }
};

// The output layer of a deployed network: accumulates its input and never fires,
// v ← beta · v + x (beta 1: the sum over steps the tensor model's read-out takes).
struct accumulator {
  static constexpr const char* name = "accumulator";
  static constexpr const char* summary = "sums its input over steps, never fires (a deployed network's output layer)";
  static constexpr const char* input_dimension = "dimensionless";
  static constexpr bool non_negative_weights = false;
  static constexpr bool uses_current = false;

  struct params {
    double beta = 1.0;
  };
  template <class V>
  static void parameters(V& v) {
    v.quantity("beta", "dimensionless", &params::beta, "decay of the sum per step (1: a plain sum)");
  }
  struct state {
    real_t v;      // the running sum
    real_t drive;  // constant input added at every step (the layer's bias)
    real_t syn_e, syn_i;
    std::int32_t since;
  };
  template <class F>
  KOKKOS_INLINE_FUNCTION static void variables(F&& f) {
    f("v", &state::v, "1", "the accumulated input");
    f("drive", &state::drive, "1", "constant input added at every step");
  }
  static state initial(const params&) { return {0, 0, 0, 0, since_never}; }
  struct coeffs {
    real_t beta;
  };
  static coeffs make(const params& p, double) {
    require(std::isfinite(p.beta) && p.beta >= 0 && p.beta <= 1, "beta", "must be in [0, 1]");
    return {static_cast<real_t>(p.beta)};
  }
  KOKKOS_INLINE_FUNCTION static bool step(const coeffs& c, state& s, real_t) {
    s.v = c.beta * s.v + (s.syn_e + s.syn_i + s.drive);
    s.syn_e = 0;
    s.syn_i = 0;
    s.since = saturating_increment(s.since);
    return false;
  }
};

}  // namespace kspike::neurons
