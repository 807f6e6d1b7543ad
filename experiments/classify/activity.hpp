#pragma once
// What a classification network did while it classified images: per layer and per time step,
// the counts an energy estimate needs (docs/energy.md). sequential_net::count_activity fills a
// network_activity from the tensors the forward pass actually produced; this header has the
// plain structures and the exact fan-out tables, which need no Kokkos.
//
// Two ways of counting the work of a conv/linear layer sit side by side:
//  - kspike's synaptic events: a layer driven by a spike layer (possibly through average pooling
//    and flatten, which an event-driven engine folds into the projection) does, per spike, one
//    accumulate per synapse the spike reaches: its exact fan-out, borders and padding accounted
//    for. An analog input (the image, or a batch-norm output) does a multiply-accumulate per
//    non-zero input and synapse.
//  - NeuroBench's SynapticOperations, by its own definition: the (non-zero input, non-zero
//    weight) pairs at the layer's direct input, as ACs when every input value is in {-1, 0, 1}
//    and as MACs otherwise; Dense counts every (input, weight) pair.
#include <cstdint>
#include <string>
#include <vector>

namespace kspike::classify {

struct layer_activity {
  int index = 0;          // position in the model's layer list
  std::string name;       // "layers.3.conv"
  std::string kind;       // "conv", "linear" or "spike"
  std::int64_t steps = 1; // steps this layer ran per image: T in the time-varying part, else 1

  // conv / linear
  int source = -1;           // the spike layer driving it (index), or -1 for analog input
  double macs = 0;           // k²·C_in·C_out·H_out·W_out (padding included) or in·out, per run of one image
  double dense_pairs = 0;    // NeuroBench Dense per run of one image (padding excluded)
  std::int64_t weights = 0, zero_weights = 0, biases = 0, inputs = 0, outputs = 0;
  std::int64_t kernel = 1, stride = 1, c_out = 0;  // conv geometry (kernel and stride 1 for linear)
  std::vector<double> input_events;     // per step, summed over images: spikes of `source`, or non-zero inputs
  std::vector<double> synaptic_events;  // per step: Σ input events × exact fan-out
  std::vector<double> effective_pairs;  // per step: NeuroBench (non-zero input, non-zero weight) pairs
  bool ternary_input = true;            // every direct input value in {-1, 0, 1} (NeuroBench: ACs)

  // spike layers (and the ReLU/QCFS of an ANN)
  std::int64_t neurons = 0;           // per image
  bool spiking = false;               // emits spikes (false: ReLU/QCFS activations)
  std::vector<double> output_events;  // per step: spikes (or non-zero activations)
  std::vector<double> touched;        // per step: membrane updates by NeuroBench's rule
};

struct network_activity {
  std::string model;       // the model's name
  std::string neuron;      // lif, if, relu, ...
  std::int64_t T = 1;      // steps per image
  std::int64_t images = 0; // images counted
  bool direct_input = true;
  double footprint_bytes = 0;  // parameters and buffers (running statistics), 4 bytes each
  std::vector<layer_activity> layers;

  // Adds another batch's counts (same layers and T).
  void add(const network_activity& o);
};

// Exact fan-out tables, one entry per input element (C·H·W, row-major), of a conv with weights
// [C_out, C_in, k, k]: the number of (output position, output channel) pairs the input element
// reaches; with `weights`, only those whose weight is non-zero.
std::vector<double> conv_fanout(std::int64_t c_in, std::int64_t h, std::int64_t w, std::int64_t c_out, std::int64_t kernel,
                                std::int64_t stride, std::int64_t padding, const float* weights = nullptr);
// The same for a linear layer with weights [out, in].
std::vector<double> linear_fanout(std::int64_t in, std::int64_t out, const float* weights = nullptr);
// A table over a pooling layer's output seen from its input (C, H, W): an input element reaches
// what its window's output reaches; rows and columns the pooling drops reach nothing.
std::vector<double> through_pool(const std::vector<double>& after, std::int64_t c, std::int64_t h, std::int64_t w, std::int64_t size);

}  // namespace kspike::classify
