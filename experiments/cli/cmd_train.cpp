// kspike train: a model of experiments/models (or a model TOML) trained on Fashion-MNIST, with
// per-epoch metrics (CSV), learning curves (PNG), checkpoints, and timestep reduction.
// kspike eval / kspike fold: a checkpoint's test accuracy / its MPBN layers folded into thresholds.
// kspike bench train: time one training step and one inference batch of a model.
#include <boost/program_options.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <numeric>
#include <sstream>

#include "encoders/idx_reader.hpp"
#include "experiments/classify/sequential_net.hpp"
#include "experiments/classify/trainer.hpp"
#include "learning/surrogate_spec.hpp"
#include "experiments/cli/commands.hpp"
#include "experiments/cli/kokkos_session.hpp"
#include "experiments/cli/progress.hpp"
#include "sim/backend.hpp"
#include "sim/core/error.hpp"
#include "sim/core/rng.hpp"
#include "sim/io/text_file.hpp"

namespace kspike::cli {

using classify::batch_of;
using classify::evaluate;
using classify::load_fashion_mnist;
using classify::plot_reduction;
using classify::run_setup;
using classify::split;
using classify::train_run;

namespace {

namespace fs = std::filesystem;

void override_neuron(classify::model_spec& m, classify::neuron_kind k) {
  m.neuron.kind = k;
  for (auto& L : m.layers)
    if (L.kind == classify::layer_kind::spike) L.neuron.kind = k;
}

}  // namespace

int cmd_train(const args& a) {
  namespace po = boost::program_options;
  po::options_description opts(
      "kspike train [options]: train a classification model (a preset of experiments/models or a model TOML;\n"
      "docs/training.md) on Fashion-MNIST by BPTT, reporting test accuracy per epoch\n\noptions");
  std::string model = "fmnist-snn", data = "fashion-mnist", out, resume, neuron, surrogate, encoding,
              optimizer, rmp_schedule;
  run_setup run;
  int threads = 0, reduce_to = 0, stage_epochs = 1;
  std::int64_t levels = 8;
  std::int64_t timesteps = 0, epochs = 0, batch = 0;
  double lr = 0, hoyer_weight = -1, rmp_weight = -1;
  opts.add_options()
      ("model,m", po::value(&model), "a preset (fmnist-snn, fmnist-ann, fmnist-vgg, ...) or a model .toml (default fmnist-snn)")
      ("data", po::value(&data), "fashion-mnist (Debian's /usr/share/datasets/fashion-mnist) or a folder with the IDX files")
      ("timesteps,T", po::value(&timesteps), "time steps T (default: the model's)")
      ("neuron", po::value(&neuron), "every spike layer: lif, if, mpbn (MPBN-LIF), hoyer (T = 1), relu (the ANN) or qcfs (the ANN for kspike convert)")
      ("levels", po::value(&levels), "qcfs: quantisation steps L (default 8); the initial λ is the model's threshold")
      ("surrogate", po::value(&surrogate), "surrogate gradient, e.g. arctan, sigmoid:4, triangle:0.3,1")
      ("encoding", po::value(&encoding), "input: direct, poisson or latency")
      ("epochs,e", po::value(&epochs), "epochs (default: the model's)")
      ("batch", po::value(&batch), "batch size")
      ("lr", po::value(&lr), "learning rate (the model's schedule applies)")
      ("optimizer", po::value(&optimizer), "adam, adamw or sgd")
      ("hoyer-weight", po::value(&hoyer_weight), "weight of the Hoyer regulariser (hoyer neurons)")
      ("rmp-weight", po::value(&rmp_weight), "weight of the RMP loss (lif/if neurons)")
      ("rmp-schedule", po::value(&rmp_schedule), "constant or linear (ramp over the epochs)")
      ("reduce-to", po::value(&reduce_to), "timestep reduction: after training at T, train T-1, ..., down to this T, each initialised from the one before")
      ("stage-epochs", po::value(&stage_epochs), "epochs per reduction stage (default 1)")
      ("seed,s", po::value<std::string>(), "seed: initial weights, batch order, Poisson spikes (default 0)")
      ("limit", po::value(&run.limit), "use only the first N training images")
      ("test-limit", po::value(&run.test_limit), "evaluate on the first N test images only")
      ("out,o", po::value(&out), "folder for metrics.csv, curves.png, checkpoint.h5 (default train-MODEL-NEURON-T<T>-seed<S>), "
       "or a checkpoint NAME.h5 (NAME.metrics.csv, NAME.curves.png beside it)")
      ("resume", po::value(&resume), "continue from a checkpoint.h5 (bit for bit; --epochs is the total)");
  add_backend_options(opts, run.backend, threads);
  po::variables_map vm;
  std::string unused;
  if (!parse_arguments(a, opts, "unused", unused, vm)) return exit_ok;
  if (vm.count("seed")) run.seed = parse_seed(vm["seed"].as<std::string>());
  classify::model_spec m = classify::load_model_spec(model);
  if (!neuron.empty()) {
    const std::map<std::string, classify::neuron_kind> kinds{{"lif", classify::neuron_kind::lif}, {"if", classify::neuron_kind::if_},
                                                             {"mpbn", classify::neuron_kind::mpbn}, {"hoyer", classify::neuron_kind::hoyer},
                                                             {"relu", classify::neuron_kind::relu}, {"qcfs", classify::neuron_kind::qcfs}};
    if (!kinds.count(neuron)) throw error("--neuron: unknown '" + neuron + "' (lif, if, mpbn, hoyer, relu, qcfs)");
    override_neuron(m, kinds.at(neuron));
  }
  if (vm.count("levels")) {
    at_least(levels, 1, "--levels");
    if (m.neuron.kind != classify::neuron_kind::qcfs) throw error("--levels: applies to --neuron qcfs");
    m.neuron.levels = levels;
    for (auto& L : m.layers)
      if (L.kind == classify::layer_kind::spike) L.neuron.levels = levels;
  }
  const bool one_step = m.neuron.kind == classify::neuron_kind::hoyer || !m.spiking();
  if (vm.count("timesteps")) {
    if (timesteps < 1) throw error("--timesteps: T must be >= 1 (got " + std::to_string(timesteps) + ")");
    if (one_step && timesteps != 1)
      throw error("--timesteps: the " + std::string(classify::neuron_name(m.neuron.kind)) + " network runs with T = 1");
    m.timesteps = timesteps;
  }
  if (!surrogate.empty()) {
    (void)learning::parse_surrogate(surrogate);  // a bad name fails before any work
    m.neuron.surrogate = surrogate;
    for (auto& L : m.layers)
      if (L.kind == classify::layer_kind::spike) L.neuron.surrogate = surrogate;
  }
  if (!encoding.empty()) {
    if (encoding != "direct" && encoding != "poisson" && encoding != "latency")
      throw error("--encoding: unknown '" + encoding + "' (direct, poisson, latency)");
    m.input_encoding = encoding == "poisson" ? classify::encoding::poisson
                                            : (encoding == "latency" ? classify::encoding::latency : classify::encoding::direct);
  }
  if (vm.count("epochs")) {
    if (epochs < 1) throw error("--epochs: must be >= 1");
    m.train.epochs = epochs;
  }
  if (vm.count("batch")) m.train.batch = batch;
  if (vm.count("lr")) {
    if (!(lr > 0)) throw error("--lr: must be > 0");
    m.train.lr = lr;
  }
  if (!optimizer.empty()) {
    if (optimizer != "adam" && optimizer != "adamw" && optimizer != "sgd") throw error("--optimizer: unknown '" + optimizer + "' (adam, adamw, sgd)");
    m.train.optimizer = optimizer;
  }
  if (vm.count("hoyer-weight")) m.train.hoyer_weight = non_negative(hoyer_weight, "--hoyer-weight");
  if (vm.count("rmp-weight")) m.train.rmp_weight = non_negative(rmp_weight, "--rmp-weight");
  if (vm.count("limit")) at_least(run.limit, 1, "--limit");
  if (vm.count("test-limit")) at_least(run.test_limit, 1, "--test-limit");
  if (!rmp_schedule.empty()) {
    if (rmp_schedule != "constant" && rmp_schedule != "linear") throw error("--rmp-schedule: constant or linear");
    m.train.rmp_schedule = rmp_schedule;
  }
  if (m.train.batch < 2) throw error("--batch: must be >= 2 (batch norm)");
  classify::finish_model_spec(m);
  if (vm.count("reduce-to")) {
    if (one_step) throw error("--reduce-to: the model already runs with T = 1");
    if (reduce_to < 1 || reduce_to >= m.timesteps)
      throw error("--reduce-to: must be in 1.." + std::to_string(m.timesteps - 1) + " (below T = " + std::to_string(m.timesteps) + ")");
    if (stage_epochs < 1) throw error("--stage-epochs: must be >= 1");
    if (!resume.empty()) throw error("--resume: a reduction resumes by itself from the stage checkpoints in --out");
    if (fs::path(out).extension() == ".h5") throw error("--out: a reduction writes a folder per stage; give a folder");
  }
  if (!run.backend.empty()) require_backend(run.backend);
  if (out.empty())
    out = "train-" + m.name + "-" + classify::neuron_name(m.neuron.kind) + "-T" + std::to_string(m.effective_timesteps()) + "-seed" +
          std::to_string(run.seed);
  // Before any data is read or an epoch trained: a path that cannot take the results.
  if (fs::path(out).extension() == ".h5" && !vm.count("reduce-to")) {
    check_output_folder(fs::path(out).has_parent_path() ? fs::path(out).parent_path().string() : ".", "--out");
    if (fs::exists(out) && !fs::is_regular_file(out)) throw error("--out: '" + out + "' exists and is not a regular file");
  } else {
    check_output_folder(out, "--out");
  }
  const split ds = load_fashion_mnist(data);

  kokkos_session session(threads);
  if (!vm.count("reduce-to")) {
    train_run(m, run, ds, out, resume, "");
    return exit_ok;
  }
  // Timestep reduction (IIR-SNN): T, T-1, ..., reduce_to; stage k starts from stage k-1's
  // parameters (weights, BN statistics, thresholds, leaks) with a fresh optimiser. Each stage
  // has its own folder; a stage whose checkpoint is complete is not trained again.
  std::vector<std::string> rows;
  double first_acc = 0, last_acc = 0;
  std::string previous;
  for (std::int64_t t = m.timesteps; t >= reduce_to; --t) {
    classify::model_spec stage = m;
    stage.timesteps = t;
    if (t != m.timesteps) stage.train.epochs = stage_epochs;
    const std::string dir = (fs::path(out) / ("T" + std::to_string(t))).string();
    const std::string ckpt = (fs::path(dir) / "checkpoint.h5").string();
    std::string resume_stage;
    if (fs::exists(ckpt)) {
      resume_stage = ckpt;
      std::printf("stage T = %lld: continuing from %s\n", static_cast<long long>(t), ckpt.c_str());
    }
    double before = std::nan("");
    if (!previous.empty()) {  // what the T+1 parameters give at T, before any training
      classify::sequential_net probe(stage, run.seed, run.backend);
      probe.init_from(previous);
      before = evaluate(probe, ds.test, run.test_limit, 256);
      std::printf("stage T = %lld: initialised from T = %lld, test accuracy before training %.4f\n", static_cast<long long>(t),
                  static_cast<long long>(t + 1), before);
    }
    const double acc = train_run(stage, run, ds, dir, resume_stage, resume_stage.empty() ? previous : "");
    if (t == m.timesteps) first_acc = acc;
    last_acc = acc;
    // Empty where a value does not exist: no accuracy before training for the first stage, no
    // fraction of a first stage that got nothing right.
    const auto field = [](bool exists, double x) {
      char text[32] = "";
      if (exists) std::snprintf(text, sizeof text, "%.6f", x);
      return std::string(text);
    };
    rows.push_back(std::to_string(t) + "," + field(!previous.empty(), before) + "," + field(true, acc) + "," +
                   field(first_acc > 0, acc / first_acc));
    previous = ckpt;
  }
  fs::create_directories(out);
  const std::string csv = (fs::path(out) / "reduction.csv").string();
  {
    std::ostringstream f;
    f << "timesteps,test_accuracy_before_training,test_accuracy,fraction_of_first\n";
    for (const auto& r : rows) f << r << "\n";
    io::write_text_file_atomically(csv, f.str());
  }
  plot_reduction(csv, (fs::path(out) / "reduction.png").string(), m.name + ": timestep reduction");
  char share[64] = "";
  if (first_acc > 0) std::snprintf(share, sizeof share, " (%.1f%% of T = %lld)", 100 * last_acc / first_acc, static_cast<long long>(m.timesteps));
  std::printf("timestep reduction %lld -> %d: test accuracy %.4f -> %.4f%s; %s\n", static_cast<long long>(m.timesteps), reduce_to,
              first_acc, last_acc, share, csv.c_str());
  return exit_ok;
}

int cmd_fold(const args& a) {
  namespace po = boost::program_options;
  po::options_description opts(
      "kspike fold CHECKPOINT [options]: replace the MPBN layers of a kspike train --neuron mpbn checkpoint\n"
      "by per-channel thresholds and firing directions, check over the test set that the folded LIF\n"
      "fires exactly where the eval-mode MPBN-LIF does, and write the rules to an HDF5 file\n\noptions");
  std::string ckpt, out, data = "fashion-mnist", backend;
  int threads = 0;
  std::int64_t test_limit = 0;
  opts.add_options()("out,o", po::value(&out), "folded rules (default: CHECKPOINT's folder/folded.h5)")
      ("data", po::value(&data), "fashion-mnist (Debian's, the default) or a folder with the IDX files")
      ("test-limit", po::value(&test_limit), "check on the first N test images only");
  add_backend_options(opts, backend, threads);
  po::variables_map vm;
  if (!parse_arguments(a, opts, "checkpoint", ckpt, vm)) return exit_ok;
  if (ckpt.empty()) throw error("missing CHECKPOINT (a checkpoint.h5 of kspike train --neuron mpbn)");
  if (vm.count("test-limit")) at_least(test_limit, 1, "--test-limit");
  const classify::model_spec m = classify::sequential_net::spec_in(ckpt);
  if (m.neuron.kind != classify::neuron_kind::mpbn) throw error(ckpt + ": not an MPBN model (train with --neuron mpbn)");
  if (out.empty()) out = (fs::path(ckpt).parent_path() / "folded.h5").string();
  const split ds = load_fashion_mnist(data);
  kokkos_session session(threads);
  classify::sequential_net net(m, classify::sequential_net::seed_in(ckpt), backend);
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
  const std::string tmp = io::temporary_for(out);
  try {
    classify::write_folded_rules(tmp, rules, compared, mismatched);
  } catch (...) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  }
  fs::rename(tmp, out);
  std::printf("folded %zu MPBN layers: %llu spikes compared over %lld test images, %llu mismatches -> %s\n", rules.size(),
              static_cast<unsigned long long>(compared), static_cast<long long>(n),
              static_cast<unsigned long long>(mismatched), out.c_str());
  return mismatched == 0 ? exit_ok : exit_internal;
}

int cmd_eval(const args& a) {
  namespace po = boost::program_options;
  po::options_description opts("kspike eval --model CHECKPOINT [options]: test accuracy of a kspike train checkpoint\n\noptions");
  std::string ckpt, data = "fashion-mnist", backend, unused;
  int threads = 0;
  std::int64_t test_limit = 0;
  opts.add_options()("model,m", po::value(&ckpt), "checkpoint.h5 written by kspike train")
      ("data", po::value(&data), "fashion-mnist (Debian's, the default) or a folder with the IDX files")
      ("test-limit", po::value(&test_limit), "the first N test images only");
  add_backend_options(opts, backend, threads);
  po::variables_map vm;
  if (!parse_arguments(a, opts, "unused", unused, vm)) return exit_ok;
  if (ckpt.empty()) throw error("--model: give a checkpoint.h5");
  if (vm.count("test-limit")) at_least(test_limit, 1, "--test-limit");
  const classify::model_spec m = classify::sequential_net::spec_in(ckpt);
  const split ds = load_fashion_mnist(data);
  kokkos_session session(threads);
  classify::sequential_net net(m, classify::sequential_net::seed_in(ckpt), backend);
  const auto p = net.load(ckpt);
  const double acc = evaluate(net, ds.test, test_limit, 256);
  std::printf("%s (%s, %s, T = %lld, after %d epochs): test accuracy %.4f\n", ckpt.c_str(), m.name.c_str(),
              classify::neuron_name(m.neuron.kind), static_cast<long long>(m.effective_timesteps()), p.epochs_done, acc);
  return exit_ok;
}

int bench_train(const args& a) {
  namespace po = boost::program_options;
  po::options_description opts(
      "kspike bench train [options]: time one training step (forward, backward, optimiser) and one inference\n"
      "batch of a model (default the Fashion-MNIST reference network) on random images\n\noptions");
  int threads = 0, steps = 5;
  std::int64_t timesteps = 0, batch = 64;
  std::string model = "fmnist-snn", backend, unused;
  opts.add_options()("model,m", po::value(&model), "a preset or model .toml (default fmnist-snn)")
      ("timesteps,T", po::value(&timesteps), "T (default: the model's)")("batch", po::value(&batch), "batch (default 64)")
      ("steps", po::value(&steps), "timed steps (default 5, after one warm-up)")
      ("json", "one JSON object");
  add_backend_options(opts, backend, threads);
  po::variables_map vm;
  if (!parse_arguments(a, opts, "unused", unused, vm)) return exit_ok;
  if (vm.count("timesteps")) at_least(timesteps, 1, "--timesteps");
  at_least(steps, 1, "--steps");
  at_least(batch, 2, "--batch");
  classify::model_spec m = classify::load_model_spec(model);
  if (timesteps > 0) m.timesteps = timesteps;
  m.train.batch = batch;
  classify::finish_model_spec(m);
  kokkos_session session(threads);
  classify::sequential_net net(m, 0, backend);
  const std::int64_t per = m.in_c * m.in_h * m.in_w;
  std::vector<float> images(static_cast<std::size_t>(batch * per));
  std::vector<std::int32_t> labels(static_cast<std::size_t>(batch));
  for (std::size_t i = 0; i < images.size(); ++i) images[i] = float(uniform01(philox4x32(1, stream_id(stream::bench_train_images), std::uint32_t(i), 0)));
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = std::int32_t(i % static_cast<std::size_t>(m.classes));
  net.train_step(images, labels, nullptr);
  auto t0 = std::chrono::steady_clock::now();
  double loss = 0;  // of the last step: equal on every CPU backend (kspike bench backends checks it)
  for (int s = 0; s < steps; ++s) loss = net.train_step(images, labels, nullptr);
  const double train_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / steps;
  net.predict(images, batch);
  t0 = std::chrono::steady_clock::now();
  for (int s = 0; s < steps; ++s) net.predict(images, batch);
  const double infer_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / steps;
  const int used = backend_concurrency(resolve_backend(backend, true));
  const long long T = static_cast<long long>(m.effective_timesteps());
  if (vm.count("json"))
    std::printf("{\"benchmark\": \"train\", \"model\": \"%s\", \"T\": %lld, \"batch\": %lld, \"threads\": %d, "
                "\"train_step_s\": %.5f, \"train_ms_per_image\": %.4f, \"inference_batch_s\": %.5f, \"inference_ms_per_image\": %.4f, "
                "\"loss\": %.9g, \"gemm\": \"%s\"}\n",
                m.name.c_str(), T, static_cast<long long>(batch), used, train_s, 1e3 * train_s / double(batch), infer_s,
                1e3 * infer_s / double(batch), loss, net.gemm_library().c_str());
  else
    std::printf("%s, T = %lld, batch %lld, %d thread(s): training step %.1f ms (%.3f ms per image), inference %.1f ms per batch (%.3f ms per image); GEMM: %s\n",
                m.name.c_str(), T, static_cast<long long>(batch), used, 1e3 * train_s, 1e3 * train_s / double(batch), 1e3 * infer_s,
                1e3 * infer_s / double(batch), net.gemm_library().c_str());
  if (const std::string advice = net.gemm_advice(); !advice.empty() && !vm.count("json")) std::printf("%s\n", advice.c_str());
  return exit_ok;
}

}  // namespace kspike::cli
