#pragma once
// A trained or converted network of `kspike train` / `kspike convert` deployed on the
// event-driven engine (docs/deploy.md): one engine population per spike layer (the training
// path's discrete LIF/IF, neurons/discrete_lif.hpp), the output layer as an accumulator, and
// between them procedural projections (a convolution kernel or a weight matrix, read through an
// average pooling) with batch norm folded into their weights and biases. With direct input, the
// analog layers before the first spike layer run once per image on the tensor path and their
// output drives the first population; with Poisson or latency input, an input population fires
// the encoder's spikes and those layers are its projection. Each projection takes one step, so
// layer l handles the model's time step t in engine step t + l (+ 1 after an input population);
// a batch of images runs as engine instances.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "experiments/classify/model_spec.hpp"
#include "sim/engine.hpp"

namespace kspike::classify {

class sequential_net;

struct deployed_population {
  std::string name;     // "spike<i>" (model layer i) or "output"
  int model_layer = 0;  // its spike layer in the model (the last weighted layer for the output)
  std::int64_t size = 0;
  int first_step = 0;   // engine step of its model time step 0
};

struct deploy_result {
  std::vector<int> predictions;                        // per image
  std::vector<std::vector<std::uint64_t>> spikes;      // [image][spike layer]: spikes in its T steps
  std::uint64_t synaptic_events = 0;
  double seconds = 0;                                  // engine time (build excluded)
};

class deployed_network {
 public:
  // Reads the checkpoint (throws kspike::error naming it and the layer for what cannot be
  // deployed: max-pool, QCFS/ReLU ANNs, layers the engine has no projection for).
  deployed_network(const std::string& checkpoint, const std::string& backend = "");
  ~deployed_network();
  const model_spec& spec() const { return spec_; }
  const std::vector<deployed_population>& populations() const { return pops_; }
  const network& description() const { return net_; }
  // The same checkpoint on the tensor path, loaded once (deploy runs its analog first layers;
  // callers compare with it).
  sequential_net& tensor() const { return *tensor_; }
  // The input population of a model trained with Poisson or latency input (size 0 otherwise):
  // the last engine population, firing the encoder's spikes in engine steps 0 .. T − 1.
  const deployed_population& input() const { return input_; }
  // Classifies `count` images (pixels in [0, 1], [count, C, H, W]) as one batch of instances;
  // `sink`, when given, also receives every spike (instances: images). `sample_ids` (one per
  // image, as the tensor path takes them) seed a Poisson encoder.
  deploy_result run(const std::vector<float>& images, std::int64_t count, recording_sink* sink = nullptr,
                    const std::vector<std::uint64_t>& sample_ids = {}) const;

 private:
  model_spec spec_;
  std::string checkpoint_, backend_;
  std::unique_ptr<sequential_net> tensor_;
  network net_;
  std::vector<deployed_population> pops_;
  std::vector<std::vector<float>> drive_;   // per population: the constant drive of one instance (empty: 0)
  // Per population: the state variables set when it starts, with one instance's values.
  std::vector<std::vector<std::pair<std::string, std::vector<float>>>> start_;
  int analog_last_ = -1;                    // the last layer before the first spike layer (direct input)
  bool encoded_ = false;                    // Poisson or latency input
  deployed_population input_;               // its population when encoded
};

}  // namespace kspike::classify
