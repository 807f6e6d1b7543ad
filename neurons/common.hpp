#pragma once
// What every neuron model shares: the per-neuron variables the engine hands to a model's
// step(), reset modes, and host helpers for turning times into whole steps.
#include "sim/core/kokkos_core.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "sim/core/error.hpp"
#include "sim/core/kokkos_math.hpp"
#include "sim/core/scalar_types.hpp"

namespace kspike::neurons {

enum class reset_mode { to_v_reset, subtract };

// What a neuron model is, for the rest of the program. One header per model declares:
//
//   name, summary             the model's name in network files, one line about it
//   input_dimension           the unit of its synaptic variables, and so of the weights of the
//                             projections onto it: "voltage" (delta synapses), "current" or
//                             "dimensionless" (conductance relative to the leak)
//   non_negative_weights      whether weights onto it must be >= 0 (conductances)
//   uses_current              whether it takes injected currents
//   params                    its parameters (SI units, defaults as member initialisers)
//   parameters(v)             how network files name them: v.quantity(key, dimension, member,
//                             meaning), v.flag(key, member, meaning), v.choice(key, member,
//                             {names in enum order}, meaning), in the order they are read
//   coeffs, make(params, dt)  the coefficients of one step, derived on the host in double and
//                             checked (make throws kspike::error("key: what is wrong"))
//   state                     one neuron's variables: its own (any number, real_t), and the
//                             three the engine owns: syn_e, syn_i (the receptors spikes are
//                             delivered into) and since (below)
//   variables(f)              its own state variables, f(name, member, unit, meaning) for each,
//                             in storage order; every model has "v", the membrane potential
//   initial(params)           the state of a neuron at rest
//   step(coeffs, state, i_ext) one step of dt; returns whether the neuron fired
//
// and is registered with one line in neurons/registry.hpp. The engine stores each own variable
// as an array, loads a neuron's state, calls step() and stores it back; the network-file
// reader, validation, recorders and `kspike info --models` take the rest from the declaration.
//
// since: whole steps since the last spike, saturating; drives refractoriness. Every model sets
// it to 0 when the neuron fires and to at least 1 otherwise, so the engine finds the step's
// spikes as the zeros of this array (no separate flag array to write).

// A neuron that never spiked counts as having spiked long ago.
constexpr std::int32_t since_never = std::numeric_limits<std::int32_t>::max() - 1;

// The state of the models whose only own variable is the membrane potential.
//   v      membrane potential [V]
//   syn_e  excitatory synaptic variable: pending voltage jump [V] (delta synapses) or
//          current [A] (current-based synapses)
//   syn_i  the same for the inhibitory receptor
struct membrane_state {
  real_t v;
  real_t syn_e;
  real_t syn_i;
  std::int32_t since;
};

// The state declarations of those models (a model derives from it and adds initial()).
struct membrane_variables {
  using state = membrane_state;
  template <class F>
  KOKKOS_INLINE_FUNCTION static void variables(F&& f) {
    f("v", &state::v, "V", "membrane potential");
  }
  static state resting_at(double v) { return {static_cast<real_t>(v), 0, 0, since_never}; }
};

KOKKOS_INLINE_FUNCTION std::int32_t saturating_increment(std::int32_t s) {
  const std::int32_t next = s + 1;  // s <= since_never < INT32_MAX: no overflow
  return next < since_never ? next : since_never;  // a min: one vector instruction
}


// Synaptic variables decay geometrically between inputs and would end up as subnormal
// floats, which cost a hundred cycles per operation on x86. Values this small carry no
// meaning (1e-30 of any SI unit used here), so they are set to zero: explicitly, rather than
// through the FPU's flush-to-zero mode, so every backend and thread computes the same.
// The engine does it in a pass of its own every few steps (kernels stay lean): a value needs
// hundreds of steps to decay from 1e-30 to the subnormal range (1e-38) for any synaptic time
// constant above a few dt, so it is caught long before.
KOKKOS_INLINE_FUNCTION real_t flush_tiny(real_t x) {
  const real_t m = x < 0 ? -x : x;
  return m < real_t(1e-30) ? real_t(0) : x;
}

// Host helpers used by every model's make() ----------------------------------------
inline void require(bool ok, const std::string& field, const std::string& what) {
  if (!ok) throw kspike::error(field + ": " + what);
}
inline void require_positive(double x, const std::string& field) {
  require(std::isfinite(x) && x > 0, field, "must be > 0 (got " + std::to_string(x) + ")");
}
inline void require_non_negative(double x, const std::string& field) {
  require(std::isfinite(x) && x >= 0, field, "must be >= 0 (got " + std::to_string(x) + ")");
}
inline void require_finite(double x, const std::string& field) {
  require(std::isfinite(x), field, "must be a finite number");
}
// A duration (>= 0, checked by the caller) as a whole number of steps, rounded to the nearest
// step. Step counters of neuron state are 32-bit: a longer one is refused, not wrapped.
inline std::int32_t steps_of(double t, double dt, const std::string& field) {
  if (!(t / dt < 1e9)) throw kspike::error(field + ": must be under 1e9 steps of dt (got " + short_number(t / dt) + " steps)");
  return static_cast<std::int32_t>(std::llround(t / dt));
}

// Threshold, reset and refractoriness, the part LIF, IF and CUBA-LIF share.
// The neuron fires when v exceeds v_threshold at the end of a step (strictly, as NIR's
// z = [v > v_th]); then v becomes v_reset, or drops by (v_threshold - v_reset) with reset by
// subtraction; for t_ref after a spike v is held (refractory).
struct fire_and_reset {
  real_t v_threshold, v_reset, reset_step;
  std::int32_t ref_steps;
  bool subtract;

  struct params {
    double v_threshold, v_reset, t_ref;
    reset_mode reset;
  };
  static fire_and_reset make(const params& p, double dt) {
    require_finite(p.v_threshold, "v_threshold");
    require_finite(p.v_reset, "v_reset");
    require_non_negative(p.t_ref, "t_ref");
    if (p.reset == reset_mode::subtract)
      require(p.v_threshold > p.v_reset, "v_reset", "must be below v_threshold for reset by subtraction");
    return fire_and_reset{static_cast<real_t>(p.v_threshold), static_cast<real_t>(p.v_reset),
                          static_cast<real_t>(p.v_threshold - p.v_reset), steps_of(p.t_ref, dt, "t_ref"),
                          p.reset == reset_mode::subtract};
  }

  template <class State>
  KOKKOS_INLINE_FUNCTION bool refractory(const State& s) const { return s.since < ref_steps; }

  // Given the integrated v of this step, fires, resets and updates `since`. Selects only, no
  // branches, so that the engine's update loop vectorises.
  template <class State>
  KOKKOS_INLINE_FUNCTION bool apply(State& s, real_t v, bool is_refractory) const {
    const bool spike = !is_refractory & (v > v_threshold);
    const real_t v_after = subtract ? v - reset_step : v_reset;
    s.v = spike ? v_after : (is_refractory ? s.v : v);
    s.since = spike ? 0 : saturating_increment(s.since);
    return spike;
  }
};

// The keys of threshold, reset and refractoriness, for the models that use fire_and_reset.
template <class V, class P>
void describe_fire_and_reset(V& v) {
  v.quantity("v_threshold", "voltage", &P::v_threshold, "fires when v exceeds it at the end of a step");
  v.quantity("v_reset", "voltage", &P::v_reset, "v after a spike (reset v_reset)");
  v.quantity("t_ref", "time", &P::t_ref, "refractory period: v held after a spike");
  v.choice("reset", &P::reset, {"v_reset", "subtract"},
           "after a spike v becomes v_reset, or drops by v_threshold - v_reset (subtract)");
}

}  // namespace kspike::neurons
