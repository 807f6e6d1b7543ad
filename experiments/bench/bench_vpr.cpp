// kspike bench vpr: time per training image and per test image of the place-recognition
// network (400 + 400 neurons per module, 313,600 plastic input synapses), for a batch of
// modules on the chosen backend and threads. Images: the Nordland frames when the data folder
// is there (the real input statistics), else seeded random 28x28 images.
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "encoders/poisson_rates.hpp"
#include "encoders/vpr_dataset.hpp"
#include "experiments/cli/commands.hpp"
#include "experiments/cli/kokkos_session.hpp"
#include "experiments/vpr/module_batch.hpp"
#include "sim/backend.hpp"
#include "sim/core/error.hpp"
#include "sim/core/rng.hpp"
#include "sim/io/text_file.hpp"

namespace kspike::cli {

int bench_vpr(const args& a) {
  namespace po = boost::program_options;
  po::options_description opts(
      "kspike bench vpr [options]: time the place-recognition network (VPRSNN, n_e 400): training\n"
      "images (STDP, normalisation, theta) and test images, 350 ms + 150 ms each, for a batch of modules\n\noptions");
  // The inputs decide the spike counts: the preprocessed Nordland frames fire differently from
  // random images. The default folder is looked up from the current directory; a folder named
  // with --data must exist, and every output names the inputs used, so that a number can be
  // reproduced (docs/vpr.md once quoted random-image counts as Nordland ones).
  const std::string default_data = "../shared/data/vpr/nordland64";
  std::string backend, data = default_data, rates_out, unused;
  int threads = 0, modules = 1, images = 40, n_e = 400;
  opts.add_options()
      ("modules,m", po::value(&modules), "modules simulated together (default 1)")
      ("images,n", po::value(&images), "training images, then as many test images (default 40)")
      ("n-e", po::value(&n_e), "excitatory neurons per module (default 400)")
      ("data", po::value(&data), "Nordland folder, or 'random' for seeded random 28x28 images (default "
                                  "../shared/data/vpr/nordland64 if there, else random)")
      ("no-normalise", "leave the input weights as they are before each training image (a peer that cannot "
                       "normalise between images, e.g. Brian2's standalone mode, then runs the same network)")
      ("write-rates", po::value(&rates_out), "write the input rates (Hz) of the images used to FILE, one CSV row "
                                             "of 784 per image, so that a peer simulator can run the same inputs")
      ("json", "print one JSON object instead of text");
  add_backend_options(opts, backend, threads);
  po::variables_map vm;
  if (!parse_arguments(a, opts, "unused", unused, vm)) return exit_ok;
  if (modules < 1 || images < 1 || n_e < 1) throw error("--modules, --images, --n-e: must be >= 1");
  if (vm.count("data") && data != "random" && !std::filesystem::is_directory(data))
    throw error("--data: '" + data + "' is not a folder (a Nordland copy, or 'random')");
  if (!rates_out.empty()) check_output_file(rates_out, "--write-rates", {});

  // Input rates: preprocessed Nordland summer frames, or random pixels.
  std::vector<std::vector<double>> rates;
  std::string source = "random 28x28 images";
  std::string inputs = "random";
  if (data != "random" && std::filesystem::is_directory(data)) {
    encoders::vpr_dataset_options o;
    o.root = data;
    o.traversals = {"summer"};
    o.places = static_cast<std::size_t>(std::min(images, 100));
    const auto ds = encoders::read_vpr_dataset(o);
    for (const auto& img : encoders::preprocess_traversal(ds.traversals[0])) rates.push_back(encoders::pixel_rates_hz(img));
    source = data + " (summer, preprocessed)";
    inputs = "nordland-summer";
  } else {
    for (int k = 0; k < std::min(images, 100); ++k) {
      std::vector<double> r(784);
      for (std::size_t i = 0; i < 784; ++i)
        r[i] = std::floor(uniform01(philox4x32(1, stream_id(stream::bench_vpr_images), static_cast<std::uint32_t>(i), k)) * 256.0) / 4.0;
      rates.push_back(r);
    }
  }
  if (!rates_out.empty()) {
    std::string csv;
    char num[32];
    for (const auto& r : rates) {
      for (std::size_t i = 0; i < r.size(); ++i) {
        std::snprintf(num, sizeof num, "%s%.17g", i ? "," : "", r[i]);
        csv += num;
      }
      csv += '\n';
    }
    io::write_text_file_atomically(rates_out, csv);
  }
  const bool normalise = vm.count("no-normalise") == 0;
  if (!normalise) source += ", no weight normalisation";

  kokkos_session kokkos(threads);
  vpr::module_params p = vpr::reference_module_params(2e-3);
  p.n_e = static_cast<std::size_t>(n_e);
  std::vector<vpr::module_key> keys;
  for (int m = 0; m < modules; ++m) keys.push_back({static_cast<std::uint32_t>(m)});
  const auto t_build = std::chrono::steady_clock::now();
  vpr::module_batch b(p, keys, 0, backend);
  const double build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_build).count();
  const std::int64_t present = std::llround(0.35 / p.dt), rest = std::llround(0.15 / p.dt);
  b.set_rates({});
  b.run(std::llround(0.5 / p.dt), false);
  double spikes[2] = {0, 0}, seconds[2] = {0, 0};
  for (int phase = 0; phase < 2; ++phase) {
    b.set_learning(phase == 0);
    const auto t0 = std::chrono::steady_clock::now();
    for (int k = 0; k < images; ++k) {
      if (phase == 0 && normalise) b.normalise_weights();
      b.set_rates({rates[static_cast<std::size_t>(k) % rates.size()]});
      b.run(present, true);
      b.set_rates({});
      b.run(rest, true);
      for (const auto& c : b.take_counts())
        for (auto x : c) spikes[phase] += x;
    }
    seconds[phase] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  const double mi = double(modules) * double(images);
  const int used = backend_concurrency(b.backend());
  char buf[1024];
  if (vm.count("json")) {
    std::snprintf(buf, sizeof buf,
                  "{\"benchmark\": \"vpr\", \"inputs\": \"%s\", \"backend\": \"%s\", \"threads\": %d, \"modules\": %d, \"n_e\": %d, "
                  "\"images\": %d, \"normalise\": %s, \"build_s\": %.3f, \"train_ms_per_module_image\": %.4f, "
                  "\"train_ms_per_batch_image\": %.4f, \"test_ms_per_module_image\": %.4f, "
                  "\"test_ms_per_batch_image\": %.4f, \"train_spikes_per_image\": %.2f, \"test_spikes_per_image\": %.2f}\n",
                  inputs.c_str(), b.backend().c_str(), used, modules, n_e, images, normalise ? "true" : "false", build_s, 1e3 * seconds[0] / mi,
                  1e3 * seconds[0] / images, 1e3 * seconds[1] / mi, 1e3 * seconds[1] / images, spikes[0] / mi,
                  spikes[1] / mi);
  } else {
    std::snprintf(buf, sizeof buf,
                  "VPR network benchmark on %s (%d thread(s)): %d module(s) of %d + %d neurons, inputs: %s\n"
                  "  built in %.3f s\n"
                  "  training: %.2f ms per module-image (%.2f ms per batch image), %.1f spikes per image\n"
                  "  test:     %.2f ms per module-image (%.2f ms per batch image), %.1f spikes per image\n",
                  b.backend().c_str(), used, modules, n_e, n_e, source.c_str(), build_s, 1e3 * seconds[0] / mi,
                  1e3 * seconds[0] / images, spikes[0] / mi, 1e3 * seconds[1] / mi, 1e3 * seconds[1] / images,
                  spikes[1] / mi);
  }
  std::cout << buf;
  return exit_ok;
}

}  // namespace kspike::cli
