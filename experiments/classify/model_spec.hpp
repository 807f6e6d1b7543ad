#pragma once
// A classification model as a TOML layer list (`kspike train --model FILE|PRESET`): the input
// shape, the encoding, the loss, the spiking neuron shared by every `spike` layer, the layers in
// order, and the training recipe. Presets live in experiments/models/; every key is described in
// docs/training.md "Model files". Parsing checks every key and infers every layer's shape, so a
// shape mismatch or an unknown layer is an error naming the file and the layer before any work.
#include <cstdint>
#include <string>
#include <vector>

#include "learning/spiking_lif_params.hpp"

namespace kspike::classify {

// What a `spike` layer is.
enum class neuron_kind {
  lif,    // multi-step LIF (learning/spiking_lif.hpp), β form
  if_,    // IF: no leak
  mpbn,   // the official MPBN-LIF (learning/mpbn.hpp)
  hoyer,  // one-timestep Hoyer spike (learning/hoyer.hpp)
  relu,   // the ANN: ReLU in place of every spike layer
  qcfs,   // the ANN for conversion: QCFS (learning/qcfs.hpp), λ per layer learnt from `threshold`
};
const char* neuron_name(neuron_kind k);
struct neuron_spec;
// The LIF/IF layer parameters (learning/spiking_lif_params.hpp) a model's neuron stands for.
learning::spiking_lif_params spiking_lif_params_of(const neuron_spec& n);

struct neuron_spec {
  neuron_kind kind = neuron_kind::lif;
  double beta = 0.5;       // LIF: H = βV + x
  double tau = 0.0;        // > 0: the tau form instead (decay 1 - 1/τ, SpikingJelly's LIFNode)
  bool decay_input = false;  // scale the input by 1 - β (or 1/τ)
  bool fire_strict = false;  // fire on H > θ (snnTorch) instead of H >= θ (SpikingJelly)
  double threshold = 1.0;  // θ (LIF/IF; the Hoyer layer's initial clipping threshold)
  bool soft_reset = true;  // reset by subtraction (false: hard reset to 0)
  bool detach_reset = true;
  std::string surrogate = "arctan";  // learning/surrogate_spec.hpp syntax, e.g. "sigmoid:4"
  bool trainable_threshold = false;  // LIF/IF: θ per layer learnt (IIR-SNN); Hoyer θ is always learnt
  bool trainable_leak = false;       // LIF: β per layer learnt
  bool hoyer_channelwise = true;     // Hoyer extremum per channel (false: per layer)
  bool mpbn_channelwise = true;      // MPBN statistics per channel (false: per neuron)
  double mpbn_decay = 0.25, mpbn_threshold = 0.5;
  std::int64_t levels = 8;        // QCFS: quantisation steps L
  double initial_membrane = 0.0;  // LIF/IF with reset by subtraction: P_{-1} = initial_membrane·θ
};

enum class layer_kind { conv, linear, batchnorm, avgpool, maxpool, flatten, dropout, spike, relu, clipped_relu, qcfs };
const char* layer_name(layer_kind k);

struct layer_spec {
  layer_kind kind = layer_kind::conv;
  std::int64_t out = 0;  // conv: output channels; linear: output features
  std::int64_t kernel = 3, stride = 1, padding = 0;
  bool bias = true;
  std::int64_t size = 2;    // pooling window (= stride)
  double p = 0.0;           // dropout probability
  double clip = 1.0;        // clipped ReLU's ceiling; QCFS's initial λ
  std::int64_t levels = 8;  // QCFS quantisation levels
  neuron_spec neuron;       // spike layers: the model's [neuron] with this layer's overrides
  // Inferred: the per-sample shape going in and out ([C, H, W]; a flat vector is [F, 1, 1]).
  std::int64_t in_c = 0, in_h = 0, in_w = 0, out_c = 0, out_h = 0, out_w = 0;
  std::int64_t in_size() const { return in_c * in_h * in_w; }
  std::int64_t out_size() const { return out_c * out_h * out_w; }
  bool flat_in = false, flat_out = false;
};

enum class encoding { direct, poisson, latency };
const char* encoding_name(encoding e);  // as model files spell it
enum class loss_kind {
  ce_mean,      // cross-entropy of the output averaged over T
  ce_membrane,  // cross-entropy of the final membrane of a non-spiking leaky read-out (β of [neuron])
  mse_mean,     // MSE between the output averaged over T and the one-hot target
};

struct train_spec {
  std::string optimizer = "adam";  // adam | adamw | sgd
  double lr = 2e-3;
  double momentum = 0.9;  // sgd
  bool nesterov = false;  // sgd
  double weight_decay = 0.0;
  // Parameters whose name contains one of these get no weight decay (names as in checkpoints:
  // "layers.2.spike.threshold", "layers.1.batchnorm.gamma", "layers.2.spike.gamma" for MPBN).
  std::vector<std::string> no_weight_decay = {"threshold", "leak", "batchnorm", "spike.gamma", "spike.beta"};
  bool amsgrad = false;
  std::string schedule = "cosine";  // cosine | step | constant
  std::vector<double> milestones = {0.6, 0.8, 0.9};  // step: fractions of the epochs where lr *= gamma
  double gamma = 0.2;
  std::int64_t batch = 64;
  std::int64_t epochs = 5;
  double hoyer_weight = 0.0;  // λ_H: the Hoyer regulariser Σ_l H(clip(x_l, 0, θ_l)) added to the loss
  double rmp_weight = 0.0;    // λ_max of the RMP loss (docs/models.md, an unverified reconstruction)
  std::string rmp_schedule = "constant";  // constant | linear (λ(e) = λ_max · (e + 1) / epochs)
};

struct model_spec {
  std::string name;    // the preset's or file's stem
  std::string source;  // the file read, for messages
  std::string text;    // its contents (stored in checkpoints)
  std::int64_t in_c = 1, in_h = 28, in_w = 28, classes = 10;
  std::int64_t timesteps = 4;
  encoding input_encoding = encoding::direct;
  double poisson_max_rate = 1.0;  // poisson: spike probability per step for a pixel of 1
  loss_kind loss = loss_kind::ce_mean;
  neuron_spec neuron;
  std::vector<layer_spec> layers;
  train_spec train;

  // T as the network runs it (1 for an ANN or Hoyer net).
  std::int64_t effective_timesteps() const;
  // Whether the spike layers emit spikes (false for the ANNs: relu and qcfs).
  bool spiking() const { return neuron.kind != neuron_kind::relu && neuron.kind != neuron_kind::qcfs; }
};

// How messages name layer i of a model: "layers[i] (kind)", i from 0 as in the checkpoint's
// param.layers.i and the model's [[layers]] in order.
std::string layer_at(const model_spec& m, std::size_t i);

// Parses and checks a model file's text (source: its name, for messages).
model_spec parse_model_spec(const std::string& text, const std::string& source);
// A preset name (experiments/models/NAME.toml, found next to the executable's source tree or in
// KSPIKE_MODELS) or a path to a .toml file.
model_spec load_model_spec(const std::string& name_or_path);
// The preset names shipped (for --help and errors).
std::vector<std::string> preset_names();

// The model in canonical TOML (every key written), as stored in checkpoints; parsing it gives
// the same model. `with_train` false leaves out the [train] table.
std::string to_toml(const model_spec& m, bool with_train = true);

// Re-checks what command-line overrides may have changed (neuron kind, T, surrogate) and infers
// the shapes again.
void finish_model_spec(model_spec& m);

}  // namespace kspike::classify
