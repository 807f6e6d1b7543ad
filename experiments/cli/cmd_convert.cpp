// kspike convert: an ANN checkpoint of kspike train becomes an IF-neuron SNN checkpoint
// (experiments/classify/conversion.hpp), with its accuracy and energy for T = 1, 2, 4, ..., max-T
// measured on the test set in one run of max-T steps.
// kspike energy: a checkpoint's counted activity on test images and every energy model's
// estimate (experiments/classify/energy_report.hpp); --compare draws accuracy against energy.
#include <boost/program_options.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>

#include "experiments/classify/conversion.hpp"
#include "experiments/classify/energy_report.hpp"
#include "experiments/classify/sequential_net.hpp"
#include "experiments/classify/trainer.hpp"
#include "experiments/cli/commands.hpp"
#include "experiments/cli/kokkos_session.hpp"
#include "experiments/cli/progress.hpp"
#include "sim/core/error.hpp"
#include "sim/energy_model.hpp"
#include "sim/io/staged_folder.hpp"
#include "sim/io/text_file.hpp"

namespace kspike::cli {

namespace {

namespace fs = std::filesystem;

std::vector<std::string> parse_models(const std::string& list) {
  std::vector<std::string> out;
  if (list.empty() || list == "all") return energy::model_names();
  std::stringstream s(list);
  std::string m;
  while (std::getline(s, m, ',')) {
    try {
      (void)energy::estimate_energy(energy::network_work{}, m);
    } catch (const error& e) {
      throw error(std::string("--energy-model: ") + e.what());
    }
    out.push_back(m);
  }
  if (std::find(out.begin(), out.end(), "ops:fp32") == out.end()) out.insert(out.begin(), "ops:fp32");  // the plots use it
  else {
    out.erase(std::find(out.begin(), out.end(), "ops:fp32"));
    out.insert(out.begin(), "ops:fp32");
  }
  return out;
}

// Test images [0, n) in batches, the predictions at every prefix in `prefixes` and the activity.
struct prefix_run {
  std::vector<std::int64_t> correct;
  classify::network_activity activity;
};

prefix_run run_prefixes(classify::sequential_net& net, const encoders::idx_dataset& test, std::int64_t n, std::int64_t batch,
                        const std::vector<std::int64_t>& prefixes, const std::string& label) {
  prefix_run r;
  r.correct.assign(prefixes.size(), 0);
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::vector<float> images;
  std::vector<std::int32_t> labels;
  progress bar(label, "images");
  for (std::int64_t first = 0; first < n; first += batch) {
    const auto b = static_cast<std::size_t>(std::min<std::int64_t>(batch, n - first));
    classify::batch_of(test, order, static_cast<std::size_t>(first), b, images, labels);
    const auto p = net.predict_prefixes(images, static_cast<std::int64_t>(b), prefixes, {}, &r.activity);
    for (std::size_t q = 0; q < prefixes.size(); ++q)
      for (std::size_t k = 0; k < b; ++k) r.correct[q] += p[q][k] == labels[k];
    bar.update(first + static_cast<std::int64_t>(b), n);
  }
  bar.finish();
  return r;
}

}  // namespace

int cmd_convert(const args& a) {
  namespace po = boost::program_options;
  po::options_description opts(
      "kspike convert ANN_CHECKPOINT [options]: convert an ANN trained by kspike train (--neuron relu or qcfs) into an\n"
      "SNN of IF neurons (reset by subtraction), write it as a checkpoint kspike eval reads, and measure its test\n"
      "accuracy and energy for T = 1, 2, 4, ..., --max-T (docs/conversion.md)\n\noptions");
  std::string ckpt, method = "qcfs", out, data = "fashion-mnist", backend, models;
  int threads = 0;
  classify::conversion_options o;
  std::int64_t max_t = 256, test_limit = 0, batch = 0;
  opts.add_options()
      ("method", po::value(&method), "qcfs (θ = the layer's trained λ), max, or percentile[:P] (data-based, P default 99.9)")
      ("calibration", po::value(&o.calibration_images), "training images for max/percentile and --calibrate-bias (default 1000)")
      ("initial-membrane", po::value(&o.initial_membrane), "initial membrane as a fraction of θ (default 0.5; 0 as in Diehl et al. 2015)")
      ("calibrate-bias", po::value(&o.calibrate_bias_steps), "bias calibration (Li et al. 2021) for a run of this many steps (default off)")
      ("timesteps,T", po::value(&o.timesteps), "T of the written model (default 32)")
      ("readout", po::value(&o.readout), "membrane (the output layer's accumulated value, default) or spikes (spike counts of IF\n"
       "neurons after the output layer; their threshold from the ANN's positive logits; ties: the first class)")
      ("max-T", po::value(&max_t), "accuracy and energy measured for T = 1, 2, 4, ... up to this (default 256)")
      ("test-limit", po::value(&test_limit), "the first N test images only")
      ("batch", po::value(&batch), "images per forward pass (default: 4096 / max-T, at least 8)")
      ("energy-model", po::value(&models), "energy models for the per-T JSON files (default all; kspike energy --help)")
      ("data", po::value(&data), "fashion-mnist (Debian's, the default) or a folder with the IDX files")
      ("out,o", po::value(&out), "output folder (default: the checkpoint's folder/converted-METHOD)");
  add_backend_options(opts, backend, threads);
  po::variables_map vm;
  if (!parse_arguments(a, opts, "checkpoint", ckpt, vm)) return exit_ok;
  if (ckpt.empty()) throw error("missing ANN_CHECKPOINT (a checkpoint.h5 of kspike train --neuron relu or qcfs)");
  if (method.rfind("percentile", 0) == 0) {
    if (method.size() > 10) {
      if (method[10] != ':') throw error("--method: unknown '" + method + "' (qcfs, max, percentile[:P])");
      char* end = nullptr;
      o.percentile = std::strtod(method.c_str() + 11, &end);
      if (*end != '\0' || !(o.percentile > 0 && o.percentile <= 100)) throw error("--method: percentile P must be in (0, 100] (got '" + method.substr(11) + "')");
    }
    method = "percentile";
  } else if (method != "qcfs" && method != "max") {
    throw error("--method: unknown '" + method + "' (qcfs, max, percentile[:P])");
  }
  o.method = method;
  o.backend = backend;
  if (o.readout != "membrane" && o.readout != "spikes") throw error("--readout: unknown '" + o.readout + "' (membrane or spikes)");
  at_least(o.timesteps, 1, "--timesteps");
  at_least(max_t, 1, "--max-T");
  if (max_t > 4096) throw error("--max-T: at most 4096 (got " + std::to_string(max_t) + ")");
  if (vm.count("calibration")) at_least(o.calibration_images, 1, "--calibration");
  if (vm.count("calibrate-bias")) at_least(o.calibrate_bias_steps, 1, "--calibrate-bias");
  if (vm.count("test-limit")) at_least(test_limit, 1, "--test-limit");
  if (vm.count("batch")) at_least(batch, 2, "--batch");
  if (vm.count("initial-membrane") && !std::isfinite(o.initial_membrane)) throw error("--initial-membrane: must be a finite number");
  const auto energy_models = parse_models(models);
  (void)classify::check_convertible(ckpt, method);  // before loading any data
  if (out.empty()) out = (fs::path(ckpt).parent_path() / ("converted-" + method)).string();
  check_output_folder(out, "--out", {ckpt});

  const classify::split ds = classify::load_fashion_mnist(data);
  kokkos_session session(threads);
  const classify::converted_model cm = classify::convert_ann(ckpt, o, ds.train);
  io::staged_folder stage(out);  // only now: the checkpoint has been read and checked
  const std::string snn_path = stage.file("snn.h5");
  const std::uint64_t seed = classify::sequential_net::seed_in(ckpt);
  classify::save_converted(cm, seed, snn_path, backend);
  io::write_text_file_atomically(stage.file("snn.toml"), classify::to_toml(cm.spec));
  std::printf("converted %s (%s, method %s) -> %s; thresholds λ:", ckpt.c_str(), cm.spec.name.c_str(), method.c_str(),
              stage.final_file("snn.h5").c_str());
  for (double t : cm.thresholds) std::printf(" %.4g", t);
  std::printf("\n");

  const std::int64_t n = test_limit > 0 ? std::min<std::int64_t>(test_limit, ds.test.images.count) : ds.test.images.count;
  // The ANN on the same images.
  classify::model_spec ann_spec = classify::sequential_net::spec_in(ckpt);
  classify::sequential_net ann(ann_spec, seed, backend);
  ann.load(ckpt);
  const double ann_acc = classify::evaluate(ann, ds.test, n, 256);

  // One run of max-T steps gives every shorter T (an IF network's first steps do not depend on
  // how many follow).
  classify::model_spec run_spec = cm.spec;
  run_spec.timesteps = max_t;
  classify::finish_model_spec(run_spec);
  classify::sequential_net snn(run_spec, seed, backend);
  for (const auto& [name, v] : cm.arrays) snn.set_array(name, v);
  std::vector<std::int64_t> prefixes;
  for (std::int64_t t = 1; t < max_t; t *= 2) prefixes.push_back(t);
  prefixes.push_back(max_t);
  if (batch == 0) batch = std::max<std::int64_t>(8, 4096 / max_t);
  const prefix_run r = run_prefixes(snn, ds.test, n, batch, prefixes, "convert: test images, T = " + std::to_string(max_t));

  std::ostringstream csv;
  csv << "timesteps,snn_accuracy,ann_accuracy,synaptic_events_per_image,snn_energy_ops_fp32_J,ann_energy_ops_fp32_J\n";
  std::printf("ANN test accuracy %.4f (%lld images)\n  T  SNN accuracy  synaptic events/image  energy ops:fp32 (J)\n", ann_acc,
              static_cast<long long>(n));
  for (std::size_t q = 0; q < prefixes.size(); ++q) {
    const double acc = double(r.correct[q]) / double(n);
    const auto w = classify::work_of(r.activity, prefixes[q]);
    double events = 0;
    for (const auto& l : w.layers) events += l.synaptic_events;
    const auto e = energy::estimate_energy(w, "ops:fp32");
    char line[200];
    std::snprintf(line, sizeof line, "%lld,%.6f,%.6f,%.6g,%.6g,%.6g", static_cast<long long>(prefixes[q]), acc, ann_acc, events, e.snn_joules,
                  e.ann_joules);
    csv << line << "\n";
    std::printf("%4lld  %.4f  %.4g  %.4g\n", static_cast<long long>(prefixes[q]), acc, events, e.snn_joules);
    io::write_text_file_atomically(stage.file("energy_T" + std::to_string(prefixes[q]) + ".json"),
                     classify::energy_json(r.activity, acc, prefixes[q], false, energy_models));
  }
  const std::string csv_path = stage.file("accuracy_vs_T.csv");
  io::write_text_file_atomically(csv_path, csv.str());
  classify::plot_accuracy_vs_T(csv_path, stage.file("accuracy_vs_T.png"), cm.spec.name + " converted (" + method + ")");
  stage.commit();
  std::printf("-> %s, %s\n", stage.final_file("accuracy_vs_T.csv").c_str(), stage.final_file("snn.h5").c_str());
  return exit_ok;
}

int cmd_energy(const args& a) {
  namespace po = boost::program_options;
  po::options_description opts(
      "kspike energy CHECKPOINT [options]: classify test images with a kspike train (or convert) checkpoint, count\n"
      "what every layer did (synaptic events, spikes, membrane updates, NeuroBench's metrics) and estimate the\n"
      "energy per inference with each model, beside the ANN of the same layers (docs/energy.md)\n"
      "kspike energy --compare A.json B.json ... --out chart.png: accuracy against energy of earlier runs\n\noptions");
  std::string ckpt, out, data = "fashion-mnist", backend, models, first_layer = "reused";
  int threads = 0;
  std::int64_t images = 1000, timesteps = 0, batch = 64;
  std::vector<std::string> compare;
  opts.add_options()
      ("images", po::value(&images), "test images to run (default 1000)")
      ("timesteps,T", po::value(&timesteps), "run a spiking model for this many steps instead of its own T")
      ("energy-model", po::value(&models), "comma-separated models (default all): ops:P, memory:P (P = fp32, fp16, int32, int8), "
       "step-assumed, lemaire:P (fp32, int32, int8), chip:loihi|truenorth|spinnaker2|tianjic")
      ("first-layer", po::value(&first_layer), "reused (an analog input layer counted as it ran: once for direct input) or per-step")
      ("batch", po::value(&batch), "images per forward pass (default 64)")
      ("data", po::value(&data), "fashion-mnist (Debian's, the default) or a folder with the IDX files")
      ("compare", po::value(&compare)->multitoken(), "energy.json files of earlier runs: plot accuracy against energy to --out")
      ("out,o", po::value(&out), "output folder (default: the checkpoint's folder/energy); with --compare, the PNG");
  add_backend_options(opts, backend, threads);
  po::variables_map vm;
  if (!parse_arguments(a, opts, "checkpoint", ckpt, vm)) return exit_ok;
  if (!compare.empty()) {
    if (out.empty()) throw error("--compare: give --out CHART.png");
    const std::string csv_path = fs::path(out).replace_extension(".csv").string();
    check_output_file(out, "--out", compare);
    check_output_file(csv_path, "--out (its .csv)", compare);
    std::ostringstream csv;
    csv << "label,energy_J,accuracy\n";
    for (const auto& f : compare) {
      const std::string text = io::read_text_file(f);
      auto field = [&](const std::string& key) {
        const auto at = text.find("\"" + key + "\":");
        if (at == std::string::npos) throw error(f + ": " + key + ": missing (not an energy.json of kspike energy or convert)");
        return text.substr(at + key.size() + 3);
      };
      const std::string model = field("model"), neuron = field("neuron");
      auto str = [&](const std::string& s) { return s.substr(s.find('"') + 1, s.find('"', s.find('"') + 1) - s.find('"') - 1); };
      const double acc = std::strtod(field("accuracy").c_str(), nullptr);
      const long long T = std::strtoll(field("timesteps").c_str(), nullptr, 10);
      const auto ops = text.find("\"model\": \"ops:fp32\"");
      if (ops == std::string::npos) throw error(f + ": energy: no ops:fp32 estimate");
      const auto sj = text.find("\"snn_joules\":", ops);
      const double joules = std::strtod(text.c_str() + sj + 13, nullptr);
      if (!(joules > 0) || !(acc >= 0 && acc <= 1)) throw error(f + ": accuracy or snn_joules out of range");
      // The run's folder names it (kspike energy writes RUN/energy/energy.json, convert RUN/energy_T<T>.json).
      fs::path folder = fs::path(f).parent_path();
      if (folder.filename() == "energy" && folder.has_parent_path()) folder = folder.parent_path();
      const std::string run = folder.filename().empty() ? str(model) : folder.filename().string();
      csv << run << " (" << str(neuron) << ") T=" << T << "," << joules << "," << acc << "\n";
    }
    io::write_text_file_atomically(csv_path, csv.str());
    classify::plot_accuracy_energy(csv_path, out, "accuracy against energy per inference");
    std::printf("%zu runs -> %s, %s\n", compare.size(), csv_path.c_str(), out.c_str());
    return exit_ok;
  }
  if (ckpt.empty()) throw error("missing CHECKPOINT (a checkpoint.h5 of kspike train or kspike convert)");
  at_least(images, 1, "--images");
  at_least(batch, 2, "--batch");
  if (vm.count("timesteps")) at_least(timesteps, 1, "--timesteps");
  if (first_layer != "reused" && first_layer != "per-step") throw error("--first-layer: reused or per-step (got '" + first_layer + "')");
  const auto energy_models = parse_models(models);
  classify::model_spec m = classify::sequential_net::spec_in(ckpt);
  if (timesteps > 0) {
    if (!m.spiking() || m.neuron.kind == classify::neuron_kind::hoyer) throw error("--timesteps: the " + std::string(classify::neuron_name(m.neuron.kind)) + " model runs with T = 1");
    m.timesteps = timesteps;
    classify::finish_model_spec(m);
  }
  if (out.empty()) out = (fs::path(ckpt).parent_path() / "energy").string();
  check_output_folder(out, "--out", {ckpt});
  const classify::split ds = classify::load_fashion_mnist(data);
  kokkos_session session(threads);
  const std::uint64_t seed = classify::sequential_net::seed_in(ckpt);
  classify::model_spec stored = classify::sequential_net::spec_in(ckpt);
  classify::sequential_net net(m, seed, backend);
  if (timesteps > 0) {  // the same parameters at another T
    classify::sequential_net src(stored, seed, backend);
    src.load(ckpt);
    for (const auto& name : src.array_names()) net.set_array(name, src.get_array(name));
  } else {
    net.load(ckpt);
  }
  io::staged_folder stage(out);  // only now: every input has been read and checked
  const std::int64_t n = std::min<std::int64_t>(images, ds.test.images.count);
  const prefix_run r = run_prefixes(net, ds.test, n, batch, {m.effective_timesteps()}, "energy: test images");
  const double acc = double(r.correct[0]) / double(n);
  const bool per_step = first_layer == "per-step";
  io::write_text_file_atomically(stage.file("energy.json"), classify::energy_json(r.activity, acc, 0, per_step, energy_models));
  const std::string csv = stage.file("energy_layers.csv");
  io::write_text_file_atomically(csv, classify::energy_layers_csv(r.activity, 0, per_step, energy_models));
  classify::plot_energy_layers(csv, stage.file("energy_layers.png"),
                               m.name + " (" + classify::neuron_name(m.neuron.kind) + ", T = " + std::to_string(m.effective_timesteps()) + ")");
  const auto w = classify::work_of(r.activity, 0, per_step);
  std::printf("%s (%s, T = %lld), %lld test images: accuracy %.4f\n", ckpt.c_str(), classify::neuron_name(m.neuron.kind),
              static_cast<long long>(m.effective_timesteps()), static_cast<long long>(n), acc);
  // "snn" in the JSON and here is the network that ran, counted; for an ANN checkpoint the two
  // columns agree (the ANN is its own ANN of the same layers).
  const char* ran = m.spiking() ? "SNN" : "this ANN";
  for (const auto& name : energy_models) {
    const auto e = energy::estimate_energy(w, name);
    if (e.ann_joules >= 0)
      std::printf("  %-15s %s %.4g J  ANN of the same layers %.4g J  (ratio ANN/SNN %.3g)%s\n", e.model.c_str(), ran, e.snn_joules,
                  e.ann_joules, e.ann_joules / e.snn_joules, e.secondary ? "  [secondary source]" : "");
    else
      std::printf("  %-15s %s %.4g J%s\n", e.model.c_str(), ran, e.snn_joules, e.secondary ? "  [secondary source]" : "");
  }
  stage.commit();
  std::printf("-> %s\n", out.c_str());
  return exit_ok;
}

}  // namespace kspike::cli
