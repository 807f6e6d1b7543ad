#pragma once
// The Diehl & Cook network of the place-recognition experiment (docs/vpr.md "The network and
// its learning"), for a batch of independent modules simulated together: one kernel advances every module of the batch over a
// whole presentation window, a module per work item, so a batch scales with threads and every
// module's spikes are the same whatever the batch or thread count.
//
// One module: n_input Poisson inputs -> n_e excitatory adaptive-threshold conductance LIF
// (plastic, STDP, input delays U[0, 10) ms) -> n_e inhibitory LIF one-to-one (w 10.4) ->
// every excitatory neuron but its own (w 17). dt 0.1 ms, forward Euler (the reference's
// Brian2 method), neuron code shared with the engine (neurons/adaptive_lif.hpp).
//
// Step order follows Brian2's schedule, and the engine's: input due now is applied, every
// neuron is updated and thresholded, then the synaptic events of this step run: input spikes
// arriving now (their delays elapsed) add to g_e and, when learning, update their weight with
// the post trace; each excitatory spike updates its 784 input weights with the pre traces;
// excitatory spikes excite their inhibitory partner and inhibitory spikes inhibit the other
// excitatory neurons. What a step adds takes effect in the next step's update. Each module runs
// on one thread in a fixed order, so its sums, and spikes, do not depend on the backend or the
// thread count.
//
// Host-only header; kernels in dc_network_impl.hpp, compiled per backend in dc_network.cpp.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "learning/stdp.hpp"
#include "neurons/adaptive_lif.hpp"

namespace kspike::vpr {

struct dc_params {
  std::size_t n_input = 784;
  std::size_t n_e = 400;  // excitatory = inhibitory neurons per module
  double dt = 1e-4;
  neurons::adaptive_lif::params exc;
  neurons::adaptive_lif::params inh;
  double v_init_exc = -105e-3;  // v_rest - 40 mV
  double v_init_inh = -100e-3;
  double w_exc_to_inh = 10.4;
  double w_inh_to_exc = 17.0;
  double max_delay = 10e-3;       // input delays drawn U[0, max_delay), rounded to steps as Brian2 does
  double w_init_scale = 0.3;      // initial input weights (U[0,1) + w_init_offset) * w_init_scale
  double w_init_offset = 0.01;
  double weight_sum = 78.0;       // column sum of the input weights before each training image
  learning::stdp_params stdp;

  void validate() const;  // throws kspike::error naming the field
  std::int32_t delay_steps_max() const;
};

// The reference parameters (docs/vpr.md "The network and its learning") with the given
// inhibitory synaptic time constant (2 ms RA-L, 0.5 ms ICRA).
dc_params reference_dc_params(double tc_gi = 2e-3);

// Per-module RNG identity: modules that share a seed share their initial weights and delays
// (the reference trains each module from the same seed), and differ in input noise through
// their key (we use the module's first place label).
struct dc_module_key {
  std::uint32_t key = 0;
};

// What one module simulated: steps, input spikes, synaptic events (input arrivals, excitatory
// to inhibitory, inhibitory to every other excitatory neuron) and spikes of its neurons.
struct dc_activity {
  std::uint64_t steps = 0, input_spikes = 0, synaptic_events = 0, exc_spikes = 0, inh_spikes = 0;
};

// An excitatory spike: step (global, from the start of the batch) and neuron.
struct dc_spike {
  std::int64_t step;
  std::int32_t neuron;
};

class dc_batch_base;

class dc_batch {
 public:
  // Kokkos must be initialised. `backend` "" picks the default. Initial input weights are drawn
  // from `seed` (identical in every module), theta starts at exc.theta_init.
  dc_batch(const dc_params& params, const std::vector<dc_module_key>& modules, std::uint64_t seed,
           const std::string& backend = "");
  ~dc_batch();
  dc_batch(const dc_batch&) = delete;
  dc_batch& operator=(const dc_batch&) = delete;

  std::size_t modules() const;
  const dc_params& params() const;
  const std::string& backend() const;

  // Draws new input delays (the reference draws them again in every process: training,
  // record, calibrate, test); `phase` selects the draw, the weights are kept.
  void redraw_delays(std::uint32_t phase);
  // Learning on (STDP, theta += theta_plus, theta decay) or off (test: frozen).
  void set_learning(bool on);
  // Scales every module's input weights so that each excitatory neuron's column sums to
  // weight_sum (before every training image).
  void normalise_weights();
  // Input rates [Hz], one vector of n_input per module (or one vector for all); applied from
  // the next run(). An empty list silences the inputs.
  void set_rates(const std::vector<std::vector<double>>& rates);
  // Advances every module by `steps`. Excitatory spikes are added to the counters when
  // `count` is true; when `record` is true they are also kept (take_spikes()).
  void run(std::int64_t steps, bool count, bool record = false);
  // Spike counts per module (n_e each) since the last call, which zeroes them.
  std::vector<std::vector<std::int32_t>> take_counts();
  // What each module did since the last call, which zeroes it (for energy estimates).
  std::vector<dc_activity> take_activity();
  // Recorded spikes per module since the last call, in step order.
  std::vector<std::vector<dc_spike>> take_spikes();
  // Input spikes (step, input index) of module m's last run() when set_input_recording(true).
  void set_input_recording(bool on);
  std::vector<std::vector<dc_spike>> take_input_spikes();

  // Weights as [input][neuron] (row-major n_input x n_e), theta [V] per neuron.
  std::vector<float> weights(std::size_t module) const;
  void set_weights(std::size_t module, const std::vector<float>& w);
  std::vector<float> theta(std::size_t module) const;
  void set_theta(std::size_t module, const std::vector<float>& theta);
  // The delay [steps, Brian2 convention: 0..] of input synapse (i, j) of any module.
  std::vector<std::int32_t> delays() const;
  std::int64_t step() const;

 private:
  std::unique_ptr<dc_batch_base> impl_;
};

}  // namespace kspike::vpr
