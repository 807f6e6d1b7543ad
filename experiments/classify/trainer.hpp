#pragma once
// The classification training protocol: Fashion-MNIST from IDX files, the epoch loop (seeded
// permutation, batches, Poisson sample ids, metrics CSV, learning-curve PNG and a checkpoint
// after every epoch, resumable), test accuracy, and the timestep-reduction plot. The `kspike
// train`, `eval`, `fold` and `bench train` commands (experiments/cli/cmd_train.cpp) parse
// options and call these.
#include <cstdint>
#include <string>
#include <vector>

#include "encoders/idx_reader.hpp"
#include "experiments/classify/sequential_net.hpp"

namespace kspike::classify {

struct split {
  encoders::idx_dataset train, test;
};

// Where Debian's dataset-fashion-mnist installs the IDX files; "fashion-mnist" names it.
constexpr const char* debian_fashion_mnist = "/usr/share/datasets/fashion-mnist";

// DIR, or "fashion-mnist" for Debian's dataset-fashion-mnist.
split load_fashion_mnist(const std::string& where);

// Images [first, first + n) of `order` as floats in [0, 1] with their labels.
void batch_of(const encoders::idx_dataset& d, const std::vector<std::int64_t>& order, std::size_t first, std::size_t n,
              std::vector<float>& images, std::vector<std::int32_t>& labels);

// The Poisson encoder's sample id of test image `index` (a range of its own, apart from the
// training images'): evaluation, kspike deploy and the tensor path draw the same spikes for it.
std::uint64_t test_id(std::int64_t index);
// Test accuracy over the first `limit` images (0: all), in batches.
double evaluate(sequential_net& net, const encoders::idx_dataset& d, std::int64_t limit, int batch);

// What a training run needs besides the model.
struct run_setup {
  std::uint64_t seed = 0;
  std::string backend;
  std::int64_t limit = 0, test_limit = 0;
};

// Trains `m` for m.train.epochs epochs (continuing from `resume`, or starting from the
// parameters of `init` for a timestep-reduction stage), writing the metrics CSV, the curves PNG
// and the checkpoint after every epoch. `out` is a folder (DIR/checkpoint.h5, DIR/metrics.csv,
// DIR/curves.png) or NAME.h5 (with NAME.metrics.csv and NAME.curves.png beside it). Returns the
// final test accuracy.
double train_run(const model_spec& m, const run_setup& run, const split& ds, const std::string& out,
                 const std::string& resume, const std::string& init);

// Accuracy against T after a timestep reduction (reduction.csv -> reduction.png, with gnuplot).
void plot_reduction(const std::string& csv, const std::string& png, const std::string& title);

}  // namespace kspike::classify
