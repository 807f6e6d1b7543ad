#pragma once
// A classification network built from a model file (model_spec.hpp): the layers in order, run
// over T steps on one Kokkos backend, trained by BPTT with the model's optimiser, loss and
// regularisers.
//
// Time: tensors are [T·B, C, H, W] (step-major). With direct input, the layers before the first
// spike layer see the same image at every step, so they run once on [B, ...] and their output is
// repeated over T at the first spike layer (the same values as running them T times; a batch
// norm there takes its statistics over the B·H·W values of one step). Its gradient is the sum
// over T. Poisson or latency input is time-varying from the start: every layer runs on T·B rows.
//
// Parameters start as PyTorch's defaults, U(±1/√fan_in) for weights and biases, drawn from the
// seed (Philox stream per layer), so a run is reproducible from (model, seed) alone.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "experiments/classify/activity.hpp"
#include "experiments/classify/model_spec.hpp"

namespace kspike::classify {

// What a checkpoint carries besides the network: how far training got, and the metrics rows.
struct train_progress {
  int epochs_done = 0;
  int epochs_planned = 0;
  std::vector<std::string> csv_rows;
};

// The terms of the latest training loss.
struct loss_terms {
  double task = 0;   // cross-entropy or MSE
  double hoyer = 0;  // Σ_l H_l (before its weight)
  double rmp = 0;    // the RMP loss (before its weight)
};

class sequential_net_base;

class sequential_net {
 public:
  sequential_net(const model_spec& m, std::uint64_t seed, const std::string& backend = "");
  ~sequential_net();

  // One optimiser step on images [B, C·H·W] (floats in [0, 1]) and labels; returns the total
  // loss and sets *correct to the number of correct predictions. `sample_ids` (one per image)
  // seed the Poisson encoder, so that an image gets new spikes every epoch but the same ones
  // on every backend; ignored for direct input.
  double train_step(const std::vector<float>& images, const std::vector<std::int32_t>& labels, int* correct,
                    const std::vector<std::uint64_t>& sample_ids = {});
  // Predictions in eval mode (running statistics).
  std::vector<int> predict(const std::vector<float>& images, std::int64_t batch,
                           const std::vector<std::uint64_t>& sample_ids = {});
  // The learning rate and the RMP weight of epoch e of `epochs` (the model's schedules).
  void set_epoch(int e, int epochs);
  const loss_terms& last_loss() const;
  const model_spec& spec() const;
  std::uint64_t seed() const;
  // What computes its GEMMs (learning::gemm_library): OpenBLAS and its kernels, cuBLAS or Kokkos.
  std::string gemm_library() const;
  // A line of advice where OpenBLAS runs kernels far older than the CPU (learning::gemm_advice), else empty.
  std::string gemm_advice() const;

  // Eval mode, over the first T_k steps for each T_k of `prefixes` (each in 1..T): the
  // predictions from the output accumulated over those steps. A network's first T_k steps do not
  // depend on how many follow, so one run of T steps gives the accuracy of every shorter run.
  // With `activity`, also adds what every layer did over the whole run (as count_activity).
  std::vector<std::vector<int>> predict_prefixes(const std::vector<float>& images, std::int64_t batch,
                                                 const std::vector<std::int64_t>& prefixes, const std::vector<std::uint64_t>& sample_ids = {},
                                                 network_activity* activity = nullptr);
  // Eval mode: host copies of the outputs of the listed layers, [rows, out_size] with rows T·B
  // (step-major) for the layers that run over time and B before them.
  std::vector<std::vector<float>> layer_outputs(const std::vector<float>& images, std::int64_t batch, const std::vector<int>& layers,
                                                const std::vector<std::uint64_t>& sample_ids = {});
  // The input the first layer receives, as the model encodes it: for Poisson and latency
  // encodings the spikes (0 or 1) of every step, [T, batch, C·H·W] step-major, drawn from this
  // network's seed and `sample_ids` (default: the position in the batch); for direct input the
  // pixels themselves, [batch, C·H·W].
  std::vector<float> encoded_input(const std::vector<float>& images, std::int64_t batch, const std::vector<std::uint64_t>& sample_ids = {}) const;
  // Eval mode: classifies the images and adds what every layer did to *activity
  // (experiments/classify/activity.hpp); returns the predictions.
  std::vector<int> count_activity(const std::vector<float>& images, std::int64_t batch, network_activity* activity,
                                  const std::vector<std::uint64_t>& sample_ids = {});

  // The float arrays a checkpoint holds, by their names there ("param.layers.0.conv.weight",
  // "layers.1.batchnorm.running_var"), optimiser state left out; get/set copy them to and from
  // the host.
  std::vector<std::string> array_names() const;
  std::vector<float> get_array(const std::string& name) const;
  void set_array(const std::string& name, const std::vector<float>& values);
  // The double arrays (running statistics kept in double, e.g. "layers.2.spike.running_extremum").
  std::vector<double> get_double_array(const std::string& name) const;
  void set_double_array(const std::string& name, const std::vector<double>& values);

  // MPBN only: runs images in eval mode and compares every MPBN layer's spikes with the folded
  // LIF (learning/mpbn.hpp) fed the same input; adds to *compared and *mismatched.
  void fold_check(const std::vector<float>& images, std::int64_t batch, std::uint64_t* compared, std::uint64_t* mismatched);
  // MPBN only: per MPBN layer, its index and the folded rule of every group (θ..., direction..., constant...).
  std::vector<std::pair<int, std::vector<double>>> folded_rules() const;

  // HDF5 checkpoint, written to PATH.tmp and renamed: every parameter, running statistic and
  // optimiser state, the model as canonical TOML, the seed and `progress`. load() checks that
  // the file holds this model and restores it bit for bit.
  void save(const std::string& path, const train_progress& progress) const;
  train_progress load(const std::string& path);
  // Timestep reduction: takes the parameters and running statistics (weights, BN, thresholds,
  // leaks) of a checkpoint of the same layers trained at another T; the optimiser starts fresh.
  void init_from(const std::string& path);
  // The model and seed stored in a checkpoint.
  static model_spec spec_in(const std::string& path);
  static std::uint64_t seed_in(const std::string& path);

 private:
  void write_checkpoint(const std::string& tmp, const train_progress& progress) const;
  std::unique_ptr<sequential_net_base> impl_;
};

// Writes the folded rules of fold(): per MPBN layer i, datasets layers.i.theta, .direction
// (+1 fires above, -1 below, 0 constant), .constant (1: fires at every step), and the check's
// counts as attributes.
void write_folded_rules(const std::string& path, const std::vector<std::pair<int, std::vector<double>>>& rules,
                        std::uint64_t compared, std::uint64_t mismatched);

}  // namespace kspike::classify
