#pragma once
// Energy estimates from counted work (docs/energy.md). Everything here is arithmetic on counts
// per inference that a caller has measured (the tensor path's layer activity, or an engine run),
// so every estimate names its model and the source of its constants. No Kokkos.
#include <string>
#include <vector>

namespace kspike::energy {

// 45 nm, 0.9 V operation energies in pJ (Horowitz, ISSCC 2014).
struct op_energy {
  std::string name;  // fp32, fp16, int32, int8
  double add, mul;
  double mac() const { return add + mul; }
  double ac() const { return add; }
  int bits;
};
// Throws kspike::error naming the precision if unknown.
op_energy precision(const std::string& name);

// One weighted layer (conv or linear) and the neurons it drives, per inference.
struct layer_work {
  std::string name;
  bool event_driven = true;  // inputs are spikes: accumulates per synaptic event; else dense MACs
  double macs = 0;           // dense multiply-accumulates of one run (k²·C_in·C_out·H_out·W_out, in·out)
  double runs = 1;           // runs per inference of an analog layer (1: static input reused; T: per step)
  double synaptic_events = 0;  // spikes × exact fan-out (event-driven layers)
  double input_spikes = 0;     // θ_in
  double weights = 0, biases = 0, inputs = 0;
  double out_neurons = 0;      // C_out·H_out·W_out or N_out
  double c_out = 0, kernel = 1, stride = 1;
  // The spike layer it feeds (0 for the output layer, which only accumulates).
  double neurons = 0;          // neurons of that layer (= out_neurons when there is one)
  double updates_total = 0;    // neuron updates T·neurons
  double updates_touched = 0;  // neuron updates actually made (NeuroBench's rule)
  double output_spikes = 0;    // θ_out
  bool leaky = false;          // LIF (a multiply per update) rather than IF
};

struct network_work {
  double T = 1;
  std::vector<layer_work> layers;
};

struct estimate {
  std::string model;   // "ops:fp32", "memory:fp32", "step-assumed", "lemaire:int8", "chip:loihi"
  std::string source;  // where the constants and the accounting come from
  bool secondary = false;  // constants quoted from secondary sources
  double snn_joules = 0;
  double ann_joules = -1;  // the ANN of the same layers (-1: the model has no ANN form)
  std::vector<double> snn_layer_joules, ann_layer_joules;  // per weighted layer (empty where not split)
};

// The models a user can name: ops:{fp32,fp16,int32,int8}, memory:{...}, step-assumed,
// lemaire:{...}, chip:{loihi,truenorth,spinnaker2,tianjic}.
std::vector<std::string> model_names();
// Throws kspike::error naming an unknown model.
estimate estimate_energy(const network_work& w, const std::string& model);

// A simulated event-driven network (an engine run, the place-recognition network) as one
// layer: every synaptic event an accumulate, every neuron updated at every one of `steps`.
network_work event_network(double synaptic_events, double neurons, double steps, double spikes);
// The models that apply to it (those that need no layer geometry: not Lemaire's, no ANN).
const std::vector<std::string>& event_network_models();

}  // namespace kspike::energy
