#pragma once
// The place-recognition modules on the engine: the Diehl & Cook network (docs/vpr.md "The
// network and its learning") written as an engine network description, and a batch of
// modules run as instances of it on the engine's window schedule (docs/architecture.md
// "Schedules"), with what the protocol needs: spike counts per presentation, recorded spikes,
// activity for the energy estimate, weights and thresholds per module.
//
// One module: n_input Poisson inputs -> n_e excitatory adaptive-threshold conductance LIF
// (plastic, STDP, input delays U[0, 10] ms) -> n_e inhibitory LIF one-to-one (w 10.4) ->
// every excitatory neuron but its own (w 17). dt 0.1 ms, forward Euler (the reference's
// Brian2 method). Modules share their initial weights and delays (the reference trains each
// module from the same seed) and differ in input noise through their key (we use the module's
// first place label).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "learning/stdp.hpp"
#include "neurons/adaptive_lif.hpp"
#include "sim/engine.hpp"

namespace kspike::vpr {

struct module_params {
  std::size_t n_input = 784;
  std::size_t n_e = 400;  // excitatory = inhibitory neurons per module
  double dt = 1e-4;
  neurons::adaptive_lif::params exc;
  neurons::adaptive_lif::params inh;
  double v_init_exc = -105e-3;  // v_rest - 40 mV
  double v_init_inh = -100e-3;
  double w_exc_to_inh = 10.4;
  double w_inh_to_exc = 17.0;
  // Input delays drawn U[0, max_delay] and rounded to steps as Brian2 does; an input spike
  // with delay d reaches its target in the step d steps after it (0: the same step, after the
  // neuron update), which is the engine's delay of d + 1 steps.
  double max_delay = 10e-3;
  double w_init_scale = 0.3;      // initial input weights (U[0,1) + w_init_offset) * w_init_scale
  double w_init_offset = 0.01;
  double weight_sum = 78.0;       // column sum of the input weights before each training image
  learning::stdp_params stdp;
};

// The reference parameters (docs/vpr.md "The network and its learning") with the given
// inhibitory synaptic time constant (2 ms RA-L, 0.5 ms ICRA).
module_params reference_module_params(double tc_gi = 2e-3);

// One module as an engine network: populations "input", "exc", "inh", projections "input"
// (plastic), "exc_inh", "inh_exc"; spikes of "exc" recorded (and of "input" when asked).
network module_network(const module_params& p, std::uint64_t seed, bool record_inputs = false);

// The reference's initial input weights, (U[0,1) + offset) * scale per synapse, [input][neuron].
std::vector<float> reference_initial_weights(const module_params& p, std::uint64_t seed);

struct module_key {
  std::uint32_t key = 0;  // the module's input-noise stream
};

// What the modules of a batch simulated since the last take_activity(), all modules together
// (steps: of one module).
struct module_activity {
  std::uint64_t steps = 0, input_spikes = 0, synaptic_events = 0, exc_spikes = 0, inh_spikes = 0;
};

// A spike: step (global, from the start of the batch) and neuron.
struct module_spike {
  std::int64_t step;
  std::int32_t neuron;
};

class module_batch final : private recording_sink {
 public:
  // Kokkos must be initialised. `backend` "" picks the default. Initial input weights are the
  // reference's, drawn from `seed` (identical in every module); theta starts at exc.theta_init.
  // With record_inputs, input spikes are recorded too (take_input_spikes()).
  module_batch(const module_params& params, const std::vector<module_key>& modules, std::uint64_t seed,
               const std::string& backend = "", bool record_inputs = false);

  std::size_t modules() const { return keys_.size(); }
  const module_params& params() const { return params_; }
  const std::string& backend() const { return engine_->backend(); }
  engine& simulation() { return *engine_; }

  // Draws new input delays (the reference draws them again in every process: training,
  // record, calibrate, test); `phase` selects the draw, the weights are kept.
  void redraw_delays(std::uint32_t phase) { engine_->redraw_delays("input", phase); }
  // Learning on (STDP, theta += theta_plus, theta decay) or off (test: frozen).
  void set_learning(bool on);
  // Scales every module's input weights so that each excitatory neuron's column sums to
  // weight_sum (before every training image).
  void normalise_weights() { engine_->normalise_weights("input", params_.weight_sum); }
  // Input rates [Hz], one vector of n_input per module (or one vector for all); applied from
  // the next run(). An empty list silences the inputs.
  void set_rates(const std::vector<std::vector<double>>& rates);
  // Advances every module by `steps`. Excitatory spikes are added to the counters when
  // `count` is true; when `record` is true they are also kept (take_spikes()).
  void run(std::int64_t steps, bool count, bool record = false);
  // Spike counts per module (n_e each) since the last call, which zeroes them.
  std::vector<std::vector<std::int32_t>> take_counts();
  module_activity take_activity();
  // Recorded spikes per module since the last call, in step order.
  std::vector<std::vector<module_spike>> take_spikes();
  // Input spikes per module since the last call (with record_inputs), in step order.
  std::vector<std::vector<module_spike>> take_input_spikes();

  // Weights as [input][neuron] (row-major n_input x n_e), theta [V] per neuron.
  std::vector<float> weights(std::size_t module) const { return engine_->weights("input", static_cast<int>(module)); }
  void set_weights(std::size_t module, const std::vector<float>& w) {
    engine_->set_weights("input", w, static_cast<int>(module));
  }
  std::vector<float> theta(std::size_t module) const;
  // Every module's theta at once, module after module (modules() * n_e values): one write.
  void set_theta(const std::vector<float>& theta_of_all);
  std::int64_t step() const { return engine_->current_step(); }

 private:
  void spikes(step_t step, std::size_t population, const std::int64_t* ids, std::size_t n) override;
  void state(step_t, std::size_t, const float*, std::size_t) override {}

  module_params params_;
  std::vector<module_key> keys_;
  std::unique_ptr<engine> engine_;
  bool count_ = false, record_ = false;
  std::vector<std::int32_t> counts_;  // [module * n_e + neuron]
  std::vector<std::vector<module_spike>> spikes_, input_spikes_;
  engine_stats taken_;  // stats at the last take_activity()
};

}  // namespace kspike::vpr
