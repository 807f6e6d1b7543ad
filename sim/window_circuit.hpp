#pragma once
// The circuit the window schedule runs (engine_options::schedule, docs/architecture.md
// "Schedules"), read from a network description. It is the competitive circuit of Diehl & Cook
// (2015) that the place-recognition modules use:
//
//   input   Poisson source, spikes drawn by gaps (sampling = "gaps")
//     | all_to_all, excitatory receptor, weights constant or uniform, delays constant or
//     | uniform (whole steps, at most 256), optionally plastic: nearest-pairing additive STDP
//     v with an optional second post trace (tau_post2)
//   exc     adaptive_lif, Euler integrator, at most 4096 neurons
//     | one_to_one, excitatory receptor, constant weight, delay one step
//     v
//   inh     adaptive_lif, Euler integrator, adapt = false, as many neurons as exc
//     | all_to_all without self-connections, inhibitory receptor, constant weight, delay one step
//     v
//   exc
//
// Populations and projections may have any names and order; spike recorders may watch any of
// the three; currents, state recorders and background input are not supported. Anything else is
// refused with an error naming the network file and what does not fit.
#include <cstdint>

#include "neurons/adaptive_lif.hpp"
#include "sim/network.hpp"

namespace kspike {

struct window_circuit {
  int input = -1, exc = -1, inh = -1;                  // population indices
  int input_proj = -1, exc_to_inh = -1, inh_to_exc = -1;  // projection indices
  std::int64_t n_input = 0, n = 0;                     // inputs; excitatory = inhibitory neurons
  neurons::adaptive_lif::params exc_params, inh_params;
  double v_init_exc = 0, v_init_inh = 0;
  double w_exc_to_inh = 0, w_inh_to_exc = 0;
  value_dist input_weight;
  // An input spike of step t reaches its synapse's target in step t + delay steps, delay =
  // delay_first + llround(u * delay_span) for a uniform draw u (0 <= delay <= 255): the delay
  // of the description minus the one step every projection of the engine takes.
  std::int32_t delay_first = 0, delay_span = 0;
  bool plastic = false;
  stdp_rule stdp;
  bool record[3] = {false, false, false};  // spike recorders on input, exc, inh
};

// Throws kspike::error ("FILE: window schedule: ...") when `net` is not such a circuit.
window_circuit read_window_circuit(const network& net);

}  // namespace kspike
