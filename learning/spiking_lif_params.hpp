#pragma once
// Parameters of the multi-step spiking LIF/IF layer (learning/spiking_lif.hpp), with presets
// that reproduce SpikingJelly's LIFNode/IFNode and snnTorch's Leaky. Host-only, no Kokkos.
// Equations and the reference behind each default: docs/models.md "The training neuron" and
// docs/training.md.
#include <cmath>
#include <string>

#include "learning/surrogate_spec.hpp"
#include "sim/core/error.hpp"

namespace kspike::learning {

// How the membrane leaks between steps.
enum class leak_form {
  tau,   // SpikingJelly LIFNode: decay 1 - 1/tau towards v_reset (towards 0 for soft reset)
  beta,  // snnTorch Leaky: decay beta towards 0, beta clamped to [0, 1]
  none,  // IF: no leak
};

enum class lif_reset {
  hard,  // V = v_reset where the neuron fired
  soft,  // V = H - θ where it fired (reset by subtraction)
};

enum class fire_rule {
  greater_equal,  // S = [H - θ >= 0]  (SpikingJelly)
  greater,        // S = [H - θ > 0]   (snnTorch)
};

enum class firing_function {
  heaviside,             // the spiking layer: S ∈ {0, 1}
  surrogate_primitive,   // S = g(H - θ), the surrogate's primitive: a smooth layer whose exact
                         // gradient is what backward computes (used to check backward)
};

struct spiking_lif_params {
  leak_form form = leak_form::tau;
  double tau = 2.0;          // leak_form::tau; must be >= 1 (decay 1 - 1/tau in [0, 1))
  double beta = 0.5;         // leak_form::beta; clamped to [0, 1] when used
  bool decay_input = true;   // scale the input by 1/tau (tau form) or 1 - beta (beta form)
  double v_threshold = 1.0;  // θ
  double v_reset = 0.0;      // V_r, hard reset only
  // Soft reset only: the membrane starts at initial_membrane·θ instead of 0 (θ/2 is the usual
  // choice for converted networks, QCFS). Not trainable: dL/dθ leaves out this dependence, so a
  // trainable threshold requires 0 here.
  double initial_membrane = 0.0;
  lif_reset reset = lif_reset::hard;
  bool detach_reset = false;  // no gradient through S in the reset term
  // snnTorch's reset_delay: the reset of a spike at step t is applied while charging step
  // t+1 and is always detached; the reported membrane is the un-reset one.
  bool reset_delay = false;
  fire_rule fire = fire_rule::greater_equal;
  surrogate_spec surrogate = default_surrogate(surrogate_kind::sigmoid);  // SJ: Sigmoid(α=4)
  bool trainable_threshold = false;  // backward reports dL/dθ
  bool trainable_beta = false;       // backward reports dL/dβ (β = 1 - 1/tau in the tau form)
  firing_function firing = firing_function::heaviside;
};

// SpikingJelly LIFNode defaults: tau 2, decay_input, θ 1, hard reset to 0, fire on >=,
// Sigmoid(α=4), detach_reset False. Pass reset = soft for v_reset=None.
inline spiking_lif_params spikingjelly_lif(double tau = 2.0) {
  spiking_lif_params p;
  p.tau = tau;
  return p;
}

// SpikingJelly IFNode: H = V + x, otherwise as LIFNode.
inline spiking_lif_params spikingjelly_if() {
  spiking_lif_params p;
  p.form = leak_form::none;
  p.decay_input = false;
  return p;
}

// snnTorch Leaky defaults: H = βV + x (no input scaling), θ 1, reset "subtract" delayed by a
// step, fire on >, atan(α=2). Use reset = hard for reset_mechanism "zero".
inline spiking_lif_params snntorch_leaky(double beta) {
  spiking_lif_params p;
  p.form = leak_form::beta;
  p.beta = beta;
  p.decay_input = false;
  p.reset = lif_reset::soft;
  p.reset_delay = true;
  p.fire = fire_rule::greater;
  p.surrogate = default_surrogate(surrogate_kind::arctan);
  return p;
}

// Throws kspike::error naming the field when the parameters are unusable.
inline void validate(const spiking_lif_params& p) {
  auto fail = [](const std::string& field, const std::string& what) {
    throw kspike::error("spiking_lif: " + field + ": " + what);
  };
  if (p.form == leak_form::tau && !(std::isfinite(p.tau) && p.tau >= 1.0))
    fail("tau", "must be >= 1 (a decay 1 - 1/tau below 0 would flip the membrane's sign)");
  if (p.form == leak_form::beta && !std::isfinite(p.beta)) fail("beta", "must be a finite number");
  if (!std::isfinite(p.v_threshold)) fail("v_threshold", "must be a finite number");
  if (!std::isfinite(p.v_reset)) fail("v_reset", "must be a finite number");
  if (p.form == leak_form::none && p.trainable_beta) fail("trainable_beta", "an IF neuron has no leak to train");
  if (!std::isfinite(p.initial_membrane)) fail("initial_membrane", "must be a finite number");
  if (p.initial_membrane != 0.0 && p.reset == lif_reset::hard) fail("initial_membrane", "applies to the soft reset only (a hard reset starts at V_r)");
  if (p.initial_membrane != 0.0 && p.trainable_threshold) fail("initial_membrane", "must be 0 with a trainable threshold");
  validate(p.surrogate);
}

}  // namespace kspike::learning
