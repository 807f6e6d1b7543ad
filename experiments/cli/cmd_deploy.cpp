// kspike deploy: a trained or converted checkpoint run event-driven on the engine
// (experiments/classify/deploy.hpp), checked against the tensor path spike for spike, and timed
// against it on the same images and threads.
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>

#include "experiments/classify/deploy.hpp"
#include "experiments/classify/sequential_net.hpp"
#include "experiments/classify/trainer.hpp"
#include "experiments/cli/commands.hpp"
#include "experiments/cli/kokkos_session.hpp"
#include "experiments/cli/progress.hpp"
#include "sim/core/error.hpp"
#include "sim/recorder.hpp"

namespace kspike::cli {

namespace {

// Every spike decision of the engine's spike layers, to compare with the tensor path's:
// [population][(t · images + image) · size + neuron], 1 where it fired in model step t.
struct decision_sink final : recording_sink {
  const std::vector<classify::deployed_population>* pops;
  std::int64_t T = 0, images = 0;
  std::vector<std::vector<std::uint8_t>> fired;
  recording_sink* next = nullptr;
  void spikes(step_t step, std::size_t p, const std::int64_t* ids, std::size_t n) override {
    if (next) next->spikes(step, p, ids, n);
    if (p >= pops->size()) return;  // the input population (its spikes are the encoder's)
    const auto& pop = (*pops)[p];
    const std::int64_t t = step - pop.first_step;
    if (t < 0 || t >= T) return;
    for (std::size_t k = 0; k < n; ++k) {
      const std::int64_t image = ids[k] / pop.size, neuron = ids[k] % pop.size;
      fired[p][static_cast<std::size_t>((t * images + image) * pop.size + neuron)] = 1;
    }
  }
  void state(step_t step, std::size_t r, const float* v, std::size_t n) override {
    if (next) next->state(step, r, v, n);
  }
};

}  // namespace

int cmd_deploy(const args& a) {
  namespace po = boost::program_options;
  po::options_description opts(
      "kspike deploy CHECKPOINT [options]: run a LIF, IF, MPBN or Hoyer network of kspike train or kspike convert event-driven on\n"
      "the engine (a population per spike layer, convolutions and linear layers as procedural projections),\n"
      "classify test images, compare every spike decision with the tensor path, and time both (docs/deploy.md)\n\noptions");
  std::string ckpt, out, data = "fashion-mnist", backend;
  int threads = 0;
  std::int64_t images = 1000, batch = 100;
  opts.add_options()
      ("images,n", po::value(&images), "test images (default 1000; 0: all)")
      ("batch", po::value(&batch), "images per engine run, as engine instances (default 100)")
      ("out,o", po::value(&out), "write the first batch's spikes of every layer as SONATA (populations spikeL.k: layer L, image k)")
      ("data", po::value(&data), "fashion-mnist (Debian's, the default) or a folder with the IDX files");
  add_backend_options(opts, backend, threads);
  po::variables_map vm;
  if (!parse_arguments(a, opts, "checkpoint", ckpt, vm)) return exit_ok;
  if (ckpt.empty()) throw error("missing CHECKPOINT (a checkpoint.h5 of kspike train or kspike convert)");
  at_least(images, 0, "--images");  // 0: all
  at_least(batch, 1, "--batch");
  if (!out.empty()) check_output_file(out, "--out", {ckpt});
  kokkos_session session(threads);
  const classify::deployed_network dn(ckpt, backend);
  const classify::model_spec& m = dn.spec();
  const classify::split ds = classify::load_fashion_mnist(data);
  const std::int64_t n = images == 0 ? ds.test.images.count : std::min<std::int64_t>(images, ds.test.images.count);
  const std::int64_t T = m.effective_timesteps();
  classify::sequential_net& tensor = dn.tensor();
  const auto& pops = dn.populations();
  const std::size_t layers = pops.size() - 1;
  std::vector<int> spike_layers;
  for (std::size_t l = 0; l < layers; ++l) spike_layers.push_back(pops[l].model_layer);

  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
  std::vector<std::uint64_t> engine_spikes(layers, 0), tensor_spikes(layers, 0), mismatched(layers, 0), decisions(layers, 0);
  std::int64_t engine_correct = 0, tensor_correct = 0, same_prediction = 0;
  double engine_s = 0, tensor_s = 0;
  std::uint64_t events = 0;
  std::vector<float> px;
  std::vector<std::int32_t> labels;
  std::vector<std::uint64_t> ids;
  std::unique_ptr<file_recorder> recorder;
  progress bar("deploy", "images", 1.0);
  for (std::int64_t first = 0; first < n; first += batch) {
    const std::int64_t b = std::min(batch, n - first);
    classify::batch_of(ds.test, order, static_cast<std::size_t>(first), static_cast<std::size_t>(b), px, labels);
    ids.resize(static_cast<std::size_t>(b));  // a Poisson encoder's draws: those of kspike eval for these images
    for (std::int64_t k = 0; k < b; ++k) ids[static_cast<std::size_t>(k)] = classify::test_id(first + k);
    decision_sink sink;
    sink.pops = &pops;
    sink.T = T;
    sink.images = b;
    for (std::size_t l = 0; l < layers; ++l) sink.fired.emplace_back(static_cast<std::size_t>(T * b * pops[l].size), 0);
    if (first == 0 && !out.empty()) {
      recorder = std::make_unique<file_recorder>(dn.description(), out, false, static_cast<int>(b));
      sink.next = recorder.get();
    }
    const classify::deploy_result r = dn.run(px, b, &sink, ids);
    if (recorder && first == 0) recorder->commit();
    engine_s += r.seconds;
    events += r.synaptic_events;
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<int> dense = tensor.predict(px, b, ids);
    tensor_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const auto outs = tensor.layer_outputs(px, b, spike_layers, ids);
    for (std::size_t l = 0; l < layers; ++l)
      for (std::size_t k = 0; k < outs[l].size(); ++k) {
        const bool t_fired = outs[l][k] > 0.5f, e_fired = sink.fired[l][k] != 0;
        tensor_spikes[l] += t_fired;
        engine_spikes[l] += e_fired;
        mismatched[l] += t_fired != e_fired;
        ++decisions[l];
      }
    for (std::int64_t k = 0; k < b; ++k) {
      engine_correct += r.predictions[static_cast<std::size_t>(k)] == labels[static_cast<std::size_t>(k)];
      tensor_correct += dense[static_cast<std::size_t>(k)] == labels[static_cast<std::size_t>(k)];
      same_prediction += r.predictions[static_cast<std::size_t>(k)] == dense[static_cast<std::size_t>(k)];
    }
    bar.update(first + b, n);
  }
  bar.finish();
  std::uint64_t all_mismatched = 0, all_decisions = 0;
  std::printf("kspike deploy %s: %s, T = %lld, %s input, %lld test images\n", ckpt.c_str(), m.name.c_str(), static_cast<long long>(T),
              classify::encoding_name(m.input_encoding), static_cast<long long>(n));
  std::printf("  %-10s %14s %14s %12s %14s\n", "layer", "engine spikes", "tensor spikes", "mismatches", "decisions");
  for (std::size_t l = 0; l < layers; ++l) {
    std::printf("  %-10s %14llu %14llu %12llu %14llu\n", pops[l].name.c_str(), static_cast<unsigned long long>(engine_spikes[l]),
                static_cast<unsigned long long>(tensor_spikes[l]), static_cast<unsigned long long>(mismatched[l]),
                static_cast<unsigned long long>(decisions[l]));
    all_mismatched += mismatched[l];
    all_decisions += decisions[l];
  }
  std::printf("  spike decisions that differ: %llu of %llu (%.3g)\n", static_cast<unsigned long long>(all_mismatched),
              static_cast<unsigned long long>(all_decisions), all_decisions ? double(all_mismatched) / double(all_decisions) : 0.0);
  std::printf("  accuracy: engine %.4f, tensor %.4f; same prediction for %lld of %lld images\n", double(engine_correct) / double(n),
              double(tensor_correct) / double(n), static_cast<long long>(same_prediction), static_cast<long long>(n));
  std::printf("  engine: %.1f images/s, %.3g synaptic events/s; tensor path (dense): %.1f images/s\n", double(n) / engine_s,
              double(events) / engine_s, double(n) / tensor_s);
  if (recorder) std::printf("  wrote %s (the first %lld images)\n", out.c_str(), static_cast<long long>(std::min(batch, n)));
  return exit_ok;
}

}  // namespace kspike::cli
