// kspike train: the Fashion-MNIST reference network (experiments/classify/fmnist_net.hpp),
// spiking or ANN, with per-epoch metrics (CSV) and learning curves (PNG).
// kspike bench train: time one training step and one inference batch of that network.
#include <boost/program_options.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <numeric>

#include "encoders/idx_reader.hpp"
#include "experiments/classify/fmnist_net.hpp"
#include "experiments/cli/commands.hpp"
#include "experiments/cli/kokkos_session.hpp"
#include "experiments/cli/progress.hpp"
#include "sim/backend.hpp"
#include "sim/error.hpp"
#include "sim/rng.hpp"

namespace kspike::cli {

namespace {

namespace fs = std::filesystem;

struct split {
  encoders::idx_dataset train, test;
};

split load_fashion_mnist(const std::string& dir) {
  auto pick = [&](const std::string& base) {
    for (const char* ext : {".gz", ""})
      if (fs::exists(fs::path(dir) / (base + ext))) return (fs::path(dir) / (base + ext)).string();
    throw error(dir + ": " + base + "[.gz] not found (Debian's dataset-fashion-mnist installs it in /usr/share/datasets/fashion-mnist)");
  };
  split s;
  s.train = encoders::read_idx_dataset(pick("train-images-idx3-ubyte"), pick("train-labels-idx1-ubyte"));
  s.test = encoders::read_idx_dataset(pick("t10k-images-idx3-ubyte"), pick("t10k-labels-idx1-ubyte"));
  return s;
}

void batch_of(const encoders::idx_dataset& d, const std::vector<std::int64_t>& order, std::size_t first, std::size_t n,
              std::vector<float>& images, std::vector<std::int32_t>& labels) {
  images.resize(n * 784);
  labels.resize(n);
  for (std::size_t k = 0; k < n; ++k) {
    const std::int64_t i = order[first + k];
    const std::uint8_t* p = d.images.image(i);
    for (int q = 0; q < 784; ++q) images[k * 784 + static_cast<std::size_t>(q)] = float(p[q]) / 255.0f;
    labels[k] = d.labels[static_cast<std::size_t>(i)];
  }
}

double evaluate(classify::fmnist_net& net, const encoders::idx_dataset& d, std::int64_t limit, int batch) {
  const std::int64_t n = limit > 0 ? std::min<std::int64_t>(limit, d.images.count) : d.images.count;
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::vector<float> images;
  std::vector<std::int32_t> labels;
  std::int64_t correct = 0;
  for (std::int64_t first = 0; first < n; first += batch) {
    const auto b = static_cast<std::size_t>(std::min<std::int64_t>(batch, n - first));
    batch_of(d, order, static_cast<std::size_t>(first), b, images, labels);
    const auto p = net.predict(images, static_cast<std::int64_t>(b));
    for (std::size_t k = 0; k < b; ++k) correct += p[k] == labels[k];
  }
  return double(correct) / double(n);
}

void plot_curves(const std::string& csv, const std::string& png, const std::string& title) {
  if (std::system("command -v gnuplot > /dev/null 2>&1") != 0) return;
  const std::string script = png + ".gp";
  {
    std::ofstream g(script);
    g << "set terminal pngcairo size 720,480 noenhanced\nset output '" << png << ".tmp'\nset datafile separator ','\n"
      << "set title '" << title << "'\nset xlabel 'epoch'\nset ylabel 'accuracy'\nset y2label 'loss'\nset ytics nomirror\n"
      << "set y2tics\nset key bottom right\nset grid\n"
      << "plot '" << csv << "' skipcol 0 every ::1 using 1:3 with linespoints title 'train accuracy', '' every ::1 using 1:4 "
      << "with linespoints title 'test accuracy', '' every ::1 using 1:2 axes x1y2 with linespoints title 'train loss'\n";
  }
  if (std::system(("gnuplot '" + script + "' 2>/dev/null").c_str()) == 0 && fs::exists(png + ".tmp")) fs::rename(png + ".tmp", png);
  fs::remove(script);
}

}  // namespace

int cmd_train(const args& a) {
  namespace po = boost::program_options;
  po::options_description opts(
      "kspike train [options]: train the Fashion-MNIST reference network (conv-BN-LIF-pool x2, linear;\n"
      "docs/training.md), spiking over T steps or as the ANN, and report test accuracy per epoch\n\noptions");
  classify::fmnist_options o;
  std::string model = "fmnist-snn", data = "/usr/share/datasets/fashion-mnist", out, resume, neuron = "lif";
  int threads = 0, epochs = 1;
  std::int64_t limit = 0, test_limit = 0;
  opts.add_options()
      ("model,m", po::value(&model), "fmnist-snn (default) or fmnist-ann")
      ("data", po::value(&data), "folder with the Fashion-MNIST IDX files (default: Debian's)")
      ("timesteps,T", po::value(&o.timesteps), "time steps T (default 4)")
      ("neuron", po::value(&neuron), "lif (default), mpbn (the official MPBN-LIF) or hoyer (Hoyer spikes, T = 1)")
      ("surrogate", po::value(&o.surrogate), "surrogate gradient, e.g. arctan, sigmoid:4, triangle:0.3,1 (default arctan)")
      ("epochs,e", po::value(&epochs), "epochs (default 1)")
      ("batch", po::value(&o.batch), "batch size (default 64)")
      ("lr", po::value(&o.lr), "Adam learning rate, cosine-annealed over the epochs (default 2e-3)")
      ("seed,s", po::value(&o.seed), "seed: initial weights and batch order (default 0)")
      ("limit", po::value(&limit), "use only the first N training images")
      ("test-limit", po::value(&test_limit), "evaluate on the first N test images only")
      ("threads,t", po::value(&threads), "threads for the openmp backend")
      ("backend,b", po::value(&o.backend), "serial, openmp or cuda")
      ("out,o", po::value(&out), "folder for metrics.csv, curves.png, checkpoint.h5 (default train-MODEL-T<T>-seed<S>)")
      ("resume", po::value(&resume), "continue from a checkpoint.h5 (bit for bit; --epochs is the total)");
  po::variables_map vm;
  std::string unused;
  if (!parse_arguments(a, opts, "unused", unused, vm)) return exit_ok;
  if (model != "fmnist-snn" && model != "fmnist-ann") throw error("--model: unknown model '" + model + "' (fmnist-snn, fmnist-ann)");
  o.ann = model == "fmnist-ann";
  if (neuron != "lif" && neuron != "mpbn" && neuron != "hoyer")
    throw error("--neuron: unknown '" + neuron + "' (lif, mpbn, hoyer)");
  o.mpbn = neuron == "mpbn" && !o.ann;
  o.hoyer = neuron == "hoyer" && !o.ann;
  if (o.hoyer && vm.count("timesteps") && o.timesteps != 1) throw error("--timesteps: the Hoyer network runs with T = 1");
  if (o.hoyer) o.timesteps = 1;
  if (o.ann) o.timesteps = 1;
  if (o.timesteps < 1) throw error("--timesteps: T must be >= 1 (got " + std::to_string(o.timesteps) + ")");
  if (epochs < 1) throw error("--epochs: must be >= 1");
  (void)learning::parse_surrogate(o.surrogate);  // a bad name fails before any work
  if (!o.backend.empty()) require_backend(o.backend);
  const split ds = load_fashion_mnist(data);
  if (out.empty())
    out = "train-" + model + (o.mpbn ? "-mpbn" : "") + (o.hoyer ? "-hoyer" : "") + "-T" + std::to_string(o.timesteps) + "-seed" + std::to_string(o.seed);

  kokkos_session session(threads);
  classify::fmnist_net net(o);
  const std::int64_t n = limit > 0 ? std::min<std::int64_t>(limit, ds.train.images.count) : ds.train.images.count;
  const std::int64_t steps_per_epoch = n / o.batch;
  std::vector<std::string> rows;
  int first_epoch = 0;
  if (!resume.empty()) {
    const classify::train_progress p = net.load(resume);
    rows = p.csv_rows;
    first_epoch = p.epochs_done;
    std::printf("resumed from %s after epoch %d\n", resume.c_str(), first_epoch);
    if (first_epoch >= epochs) std::printf("nothing to do: --epochs %d already done\n", epochs);
  }
  std::vector<float> images;
  std::vector<std::int32_t> labels;
  for (int e = first_epoch; e < epochs; ++e) {
    net.set_lr(o.lr * 0.5 * (1 + std::cos(3.14159265358979323846 * e / epochs)));
    std::vector<std::int64_t> order(static_cast<std::size_t>(ds.train.images.count));
    std::iota(order.begin(), order.end(), 0);
    for (std::size_t k = order.size(); k > 1; --k)  // the epoch's permutation, from the seed
      std::swap(order[k - 1], order[static_cast<std::size_t>(uniform01(philox4x32(o.seed, 0x74000000u + e, 0, k)) * double(k))]);
    order.resize(static_cast<std::size_t>(n));
    progress bar("epoch " + std::to_string(e + 1) + "/" + std::to_string(epochs), "images", 1.0);
    const auto t0 = std::chrono::steady_clock::now();
    double loss_sum = 0;
    std::int64_t correct = 0;
    for (std::int64_t s = 0; s < steps_per_epoch; ++s) {
      batch_of(ds.train, order, static_cast<std::size_t>(s * o.batch), static_cast<std::size_t>(o.batch), images, labels);
      int c = 0;
      const double loss = net.train_step(images, labels, &c);
      if (!std::isfinite(loss)) throw internal_error("training diverged (loss " + std::to_string(loss) + ")");
      loss_sum += loss;
      correct += c;
      bar.update((s + 1) * o.batch, steps_per_epoch * o.batch);
    }
    bar.finish();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double test = evaluate(net, ds.test, test_limit, 256);
    const double train_acc = double(correct) / double(steps_per_epoch * o.batch);
    char line[256];
    std::snprintf(line, sizeof line, "%d,%.6f,%.6f,%.6f,%.2f,%.1f", e + 1, loss_sum / double(steps_per_epoch), train_acc,
                  test, secs, double(steps_per_epoch * o.batch) / secs);
    rows.push_back(line);
    std::printf("epoch %d: loss %.4f, train accuracy %.4f, test accuracy %.4f, %.0f s (%.1f images/s)\n", e + 1,
                loss_sum / double(steps_per_epoch), train_acc, test, secs, double(steps_per_epoch * o.batch) / secs);
    std::fflush(stdout);
    fs::create_directories(out);
    const std::string csv = (fs::path(out) / "metrics.csv").string();
    {
      std::ofstream f(csv + ".tmp");
      f << "epoch,train_loss,train_accuracy,test_accuracy,seconds,images_per_second\n";
      for (const auto& r : rows) f << r << "\n";
    }
    fs::rename(csv + ".tmp", csv);
    plot_curves(csv, (fs::path(out) / "curves.png").string(), model + " T=" + std::to_string(o.timesteps));
    net.save((fs::path(out) / "checkpoint.h5").string(), classify::train_progress{e + 1, epochs, rows});
  }
  return exit_ok;
}

int cmd_fold(const args& a) {
  namespace po = boost::program_options;
  po::options_description opts(
      "kspike fold CHECKPOINT [options]: replace the MPBN layers of a kspike train --neuron mpbn checkpoint\n"
      "by per-channel thresholds and firing directions, check over the test set that the folded LIF\n"
      "fires exactly where the eval-mode MPBN-LIF does, and write the rules to an HDF5 file\n\noptions");
  std::string ckpt, out, data = "/usr/share/datasets/fashion-mnist", backend;
  int threads = 0;
  std::int64_t test_limit = 0;
  opts.add_options()("out,o", po::value(&out), "folded rules (default: CHECKPOINT's folder/folded.h5)")
      ("data", po::value(&data), "Fashion-MNIST folder (default: Debian's)")
      ("test-limit", po::value(&test_limit), "check on the first N test images only")
      ("threads,t", po::value(&threads), "threads")("backend,b", po::value(&backend), "backend");
  po::variables_map vm;
  if (!parse_arguments(a, opts, "checkpoint", ckpt, vm)) return exit_ok;
  if (ckpt.empty()) throw error("missing CHECKPOINT (a checkpoint.h5 of kspike train --neuron mpbn)");
  classify::fmnist_options o = classify::fmnist_net::options_in(ckpt);
  if (!o.mpbn) throw error(ckpt + ": not an MPBN model (train with --neuron mpbn)");
  o.backend = backend;
  if (out.empty()) out = (fs::path(ckpt).parent_path() / "folded.h5").string();
  const split ds = load_fashion_mnist(data);
  kokkos_session session(threads);
  classify::fmnist_net net(o);
  net.load(ckpt);
  const std::int64_t n = test_limit > 0 ? std::min<std::int64_t>(test_limit, ds.test.images.count) : ds.test.images.count;
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::vector<float> images;
  std::vector<std::int32_t> labels;
  std::uint64_t compared = 0, mismatched = 0;
  for (std::int64_t first = 0; first < n; first += 256) {
    const auto b = static_cast<std::size_t>(std::min<std::int64_t>(256, n - first));
    batch_of(ds.test, order, static_cast<std::size_t>(first), b, images, labels);
    net.fold_check(images, static_cast<std::int64_t>(b), &compared, &mismatched);
  }
  // The rules, as plain arrays a user can read in h5py.
  const auto rules = net.folded_rules();
  const std::string tmp = out + ".tmp";
  classify::write_folded_rules(tmp, rules, compared, mismatched);
  fs::rename(tmp, out);
  std::printf("folded %zu MPBN layers: %llu spikes compared over %lld test images, %llu mismatches -> %s\n", rules.size(),
              static_cast<unsigned long long>(compared), static_cast<long long>(n),
              static_cast<unsigned long long>(mismatched), out.c_str());
  return mismatched == 0 ? exit_ok : exit_internal;
}

int cmd_eval(const args& a) {
  namespace po = boost::program_options;
  po::options_description opts("kspike eval --model CHECKPOINT [options]: test accuracy of a kspike train checkpoint\n\noptions");
  std::string ckpt, data = "/usr/share/datasets/fashion-mnist", backend, unused;
  int threads = 0;
  std::int64_t test_limit = 0;
  opts.add_options()("model,m", po::value(&ckpt), "checkpoint.h5 written by kspike train")
      ("data", po::value(&data), "Fashion-MNIST folder (default: Debian's)")
      ("test-limit", po::value(&test_limit), "the first N test images only")
      ("threads,t", po::value(&threads), "threads")("backend,b", po::value(&backend), "backend");
  po::variables_map vm;
  if (!parse_arguments(a, opts, "unused", unused, vm)) return exit_ok;
  if (ckpt.empty()) throw error("--model: give a checkpoint.h5");
  classify::fmnist_options o = classify::fmnist_net::options_in(ckpt);
  o.backend = backend;
  const split ds = load_fashion_mnist(data);
  kokkos_session session(threads);
  classify::fmnist_net net(o);
  const auto p = net.load(ckpt);
  const double acc = evaluate(net, ds.test, test_limit, 256);
  std::printf("%s (%s, T = %d, after %d epochs): test accuracy %.4f\n", ckpt.c_str(), o.ann ? "fmnist-ann" : "fmnist-snn",
              o.timesteps, p.epochs_done, acc);
  return exit_ok;
}

int bench_train(const args& a) {
  namespace po = boost::program_options;
  po::options_description opts(
      "kspike bench train [options]: time one training step (forward, backward, Adam) and one inference\n"
      "batch of the Fashion-MNIST reference network on random images\n\noptions");
  classify::fmnist_options o;
  int threads = 0, steps = 5;
  std::string model = "fmnist-snn", unused;
  opts.add_options()("model,m", po::value(&model), "fmnist-snn or fmnist-ann")
      ("timesteps,T", po::value(&o.timesteps), "T (default 4)")("batch", po::value(&o.batch), "batch (default 64)")
      ("steps", po::value(&steps), "timed steps (default 5, after one warm-up)")
      ("threads,t", po::value(&threads), "threads")("backend,b", po::value(&o.backend), "backend")
      ("json", "one JSON object");
  po::variables_map vm;
  if (!parse_arguments(a, opts, "unused", unused, vm)) return exit_ok;
  o.ann = model == "fmnist-ann";
  if (o.ann) o.timesteps = 1;
  kokkos_session session(threads);
  classify::fmnist_net net(o);
  std::vector<float> images(static_cast<std::size_t>(o.batch) * 784);
  std::vector<std::int32_t> labels(static_cast<std::size_t>(o.batch));
  for (std::size_t i = 0; i < images.size(); ++i) images[i] = float(uniform01(philox4x32(1, 0x75000000u, std::uint32_t(i), 0)));
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = std::int32_t(i % 10);
  net.train_step(images, labels, nullptr);
  auto t0 = std::chrono::steady_clock::now();
  for (int s = 0; s < steps; ++s) net.train_step(images, labels, nullptr);
  const double train_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / steps;
  net.predict(images, o.batch);
  t0 = std::chrono::steady_clock::now();
  for (int s = 0; s < steps; ++s) net.predict(images, o.batch);
  const double infer_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / steps;
  const int used = backend_concurrency(o.backend.empty() ? default_backend() : o.backend);
  if (vm.count("json"))
    std::printf("{\"benchmark\": \"train\", \"model\": \"%s\", \"T\": %d, \"batch\": %d, \"threads\": %d, "
                "\"train_step_s\": %.5f, \"train_ms_per_image\": %.4f, \"inference_batch_s\": %.5f, \"inference_ms_per_image\": %.4f}\n",
                model.c_str(), o.timesteps, o.batch, used, train_s, 1e3 * train_s / o.batch, infer_s, 1e3 * infer_s / o.batch);
  else
    std::printf("%s, T = %d, batch %d, %d thread(s): training step %.1f ms (%.3f ms per image), inference %.1f ms per batch (%.3f ms per image)\n",
                model.c_str(), o.timesteps, o.batch, used, 1e3 * train_s, 1e3 * train_s / o.batch, 1e3 * infer_s,
                1e3 * infer_s / o.batch);
  return exit_ok;
}

}  // namespace kspike::cli
