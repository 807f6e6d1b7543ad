#pragma once
// ANN-to-SNN conversion (docs/conversion.md): a `kspike train` checkpoint of an ANN (ReLU or QCFS
// activations) becomes a spiking model of the same layers that `kspike eval` and `kspike energy`
// read. Batch norm is folded into the weights before it; every activation becomes a layer of IF
// neurons with reset by subtraction and threshold λ_l; biases stay as a constant input current
// per step; the image stays an analog input to the first layer; the output layer accumulates.
//
// λ_l is the layer's QCFS λ (method qcfs), or the maximum (max) or the P-th percentile
// (percentile) of the layer's positive ANN activations over calibration images. A spike stands
// for λ_l, so the weights of the next layer are multiplied by λ_l.
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "encoders/idx_reader.hpp"
#include "experiments/classify/model_spec.hpp"

namespace kspike::classify {

struct conversion_options {
  std::string method = "qcfs";  // qcfs | max | percentile
  double percentile = 99.9;     // percentile: P
  std::int64_t calibration_images = 1000;  // max, percentile and bias calibration: the first N training images
  // Fraction of θ; default 0.5 (QCFS's θ/2, which also halves the rounding error of max and
  // percentile conversion; 0 is Diehl's and Rueckauer's original).
  double initial_membrane = std::nan("");
  // Bias calibration (Li et al., ICML 2021, "A free lunch from ANN"): for a network run for this
  // many steps, each layer's bias is moved, layer by layer, by the per-channel mean of ANN
  // activation minus SNN output rate·λ on the calibration images. 0: off.
  std::int64_t calibrate_bias_steps = 0;
  std::int64_t timesteps = 32;  // T of the written model
  // How the class is read: "membrane", the output layer's accumulated value (the default), or
  // "spikes", the spike counts of IF neurons added after the output layer (threshold: the
  // maximum, or the percentile P of percentile conversion, of the ANN's positive logits on the
  // calibration images; qcfs uses P as well), the first class winning ties.
  std::string readout = "membrane";
  std::string backend;
};

struct converted_model {
  model_spec spec;                                 // the IF network (no batch norm, T = timesteps)
  std::map<std::string, std::vector<float>> arrays;  // its parameters, by checkpoint name
  std::vector<double> thresholds;                  // λ_l per spike layer, in order
  double output_threshold = 0;                     // readout spikes: the output neurons' θ (0: membrane read-out)
  std::vector<int> ann_spike_layers, snn_spike_layers;  // matching spike-layer indices
};

// Checks that the ANN can be converted (throws kspike::error naming the checkpoint and layer):
// a ReLU or QCFS ANN (qcfs needs QCFS), direct input, conv/linear/batchnorm/avgpool/flatten/
// dropout/spike layers only (max-pool is refused: train with avgpool).
model_spec check_convertible(const std::string& checkpoint, const std::string& method);

converted_model convert_ann(const std::string& checkpoint, const conversion_options& o, const encoders::idx_dataset& calibration);

// Writes the converted model as a kspike train checkpoint (the format kspike eval reads).
void save_converted(const converted_model& m, std::uint64_t seed, const std::string& path, const std::string& backend);

}  // namespace kspike::classify
