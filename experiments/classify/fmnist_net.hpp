#pragma once
// The reference convolutional network of the training issue (ALGORITHMS.md §8 speed case),
// on Fashion-MNIST (28x28 grey, 10 classes), as a spiking net over T steps or as the ANN with
// the same layers:
//   conv(1→16, 3x3, pad 1) – BN – LIF – avgpool 2 – conv(16→32, 3x3, pad 1) – BN – LIF –
//   avgpool 2 – flatten – linear(1568→10); the output averaged over T; cross-entropy.
// LIF: β = 0.5, threshold 1, reset by subtraction (detached), H = βV + x, arctan surrogate by
// default (any surrogate of surrogate_spec.hpp). Direct encoding: the image is the input of
// every step, so conv1 + BN1 are computed once per image and repeated over T (the same values
// as computing them T times; BN's running variance uses the B·H·W values of one step).
// ANN: ReLU in place of LIF, T = 1. MPBN: the official MPBN-LIF (decay 0.25, BN of the membrane
// per step, threshold 0.5, hard reset of the pre-BN membrane, tanh surrogate) in place of the LIF.
// Hoyer: the one-timestep HoyerBiAct spike (trainable clipping threshold θ per layer, init 1,
// updated by Adam like the weights; channel-wise extremum) in place of the LIF, T = 1.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "learning/surrogate_spec.hpp"

namespace kspike::classify {

struct fmnist_options {
  int timesteps = 4;
  bool ann = false;
  bool mpbn = false;       // MPBN-LIF (learning/mpbn.hpp, channel-wise) in place of the LIF
  bool hoyer = false;      // Hoyer spike layers (learning/hoyer.hpp, channel-wise, T = 1) in place of the LIF
  std::string surrogate = "arctan";
  int batch = 64;
  double lr = 2e-3;        // Adam
  double weight_decay = 0.0;
  std::uint64_t seed = 0;
  std::string backend;     // "" = default
};

struct epoch_result {
  double train_loss = 0, train_accuracy = 0, test_accuracy = 0;
  double seconds = 0, images_per_second = 0;
};

// What a checkpoint carries besides the network: how far training got, and the metrics rows.
struct train_progress {
  int epochs_done = 0;
  int epochs_planned = 0;
  std::vector<std::string> csv_rows;
};

class fmnist_net_base;

class fmnist_net {
 public:
  explicit fmnist_net(const fmnist_options& o);
  ~fmnist_net();
  // One optimiser step on images [B, 784] (floats in [0, 1]) and labels; returns the batch loss
  // and sets *correct to the number of correct predictions.
  double train_step(const std::vector<float>& images, const std::vector<std::int32_t>& labels, int* correct);
  // Predictions (eval mode: running BN statistics).
  std::vector<int> predict(const std::vector<float>& images, std::int64_t batch);
  void set_lr(double lr);
  const fmnist_options& options() const;
  // MPBN only: runs images (eval mode) and compares each MPBN layer's spikes with the folded
  // LIF (learning/mpbn.hpp) fed the same input; adds to *compared and *mismatched.
  void fold_check(const std::vector<float>& images, std::int64_t batch, std::uint64_t* compared, std::uint64_t* mismatched);
  // MPBN only: the folded rule of every channel of both layers (threshold, direction, constant).
  std::vector<std::vector<double>> folded_rules() const;  // per layer: theta..., dir..., constant...
  // HDF5 checkpoint: every parameter, the BN running statistics, the optimiser's state and step
  // count, the options and `progress`; written to PATH.tmp, then renamed. load() checks that
  // the file holds this model (kind, T, surrogate, batch, seed) and restores it bit for bit.
  void save(const std::string& path, const train_progress& progress) const;
  train_progress load(const std::string& path);
  // The options stored in a checkpoint (to rebuild the network it holds).
  static fmnist_options options_in(const std::string& path);

 private:
  std::unique_ptr<fmnist_net_base> impl_;
};

// Writes the folded rules of fold(): per layer L (1, 2) datasets mpbnL.theta, mpbnL.direction
// (+1 fires above, -1 below, 0 constant), mpbnL.constant (1: fires at every step), and the
// check's counts as attributes.
void write_folded_rules(const std::string& path, const std::vector<std::vector<double>>& rules, std::uint64_t compared,
                        std::uint64_t mismatched);

}  // namespace kspike::classify
