// Energy estimation: the energy models against the golden values of the spec's worked example,
// the exact fan-out tables against that example's counts and brute force, and every activity
// counter of a small network counted by hand, on every compiled backend.
#include <catch2/catch.hpp>

#include <Kokkos_Core.hpp>

#include <cmath>
#include <fstream>
#include <numeric>

#include "experiments/classify/activity.hpp"
#include "experiments/classify/energy_report.hpp"
#include "experiments/classify/model_spec.hpp"
#include "experiments/classify/sequential_net.hpp"
#include "sim/backend.hpp"
#include "sim/core/error.hpp"
#include "sim/energy_model.hpp"
#include "support/cli_runner.hpp"
#include "support/fixtures.hpp"

using namespace kspike;

namespace {

// The worked example: conv(3→16, k3, s1, p1) @ 32×32 → LIF → conv(16→32, k3, s2, p1) → LIF →
// fc(8192→10), T = 4, input rates r1 = 0.15, r2 = 0.1 spikes per neuron and step, synaptic
// operations as T·r·MAC.
energy::network_work golden(double first_layer_runs) {
  energy::network_work w;
  w.T = 4;
  energy::layer_work c1, c2, fc;
  c1.name = "conv1";
  c1.event_driven = false;
  c1.macs = 442368;
  c1.runs = first_layer_runs;
  c1.neurons = 16 * 32 * 32;
  c2.name = "conv2";
  c2.macs = 1179648;
  c2.synaptic_events = 4 * 0.15 * 1179648;
  c2.neurons = 32 * 16 * 16;
  fc.name = "fc";
  fc.macs = 81920;
  fc.synaptic_events = 4 * 0.1 * 81920;
  w.layers = {c1, c2, fc};
  return w;
}

}  // namespace

TEST_CASE("energy models reproduce the golden values of the worked example", "[energy]") {
  const auto per_step = golden(4), once = golden(1);
  // MACs 442368 + 1179648 + 81920 = 1703936; ANN 4.6 pJ each.
  const auto a = energy::estimate_energy(per_step, "ops:fp32");
  CHECK(a.ann_joules == Approx(7.8381056e-06).epsilon(1e-12));
  CHECK(a.snn_joules == Approx(8.80607232e-06).epsilon(1e-12));
  CHECK(energy::estimate_energy(once, "ops:fp32").snn_joules == Approx(2.70139392e-06).epsilon(1e-12));
  CHECK(a.ann_joules / a.snn_joules == Approx(0.89007963087).epsilon(1e-10));
  // The per-access memory accounting (labelled an assumption in the example).
  const auto m = energy::estimate_energy(per_step, "step-assumed");
  CHECK(m.snn_joules == Approx(1.7250779136e-05).epsilon(1e-12));
  CHECK(m.ann_joules == Approx(1.323106304e-05).epsilon(1e-12));
  // Per-layer parts add up to the totals.
  CHECK(std::accumulate(a.snn_layer_joules.begin(), a.snn_layer_joules.end(), 0.0) == Approx(a.snn_joules));
}

TEST_CASE("energy models: constants, chips, and the memory terms by hand", "[energy]") {
  energy::network_work w;
  w.T = 2;
  energy::layer_work l;
  l.event_driven = true;
  l.macs = 100;
  l.synaptic_events = 10;
  l.biases = 4;
  l.out_neurons = 4;
  l.neurons = 4;
  l.updates_touched = 6;
  l.updates_total = 8;
  w.layers = {l};
  CHECK(energy::estimate_energy(w, "ops:int8").snn_joules == Approx(10 * 0.03e-12));
  CHECK(energy::estimate_energy(w, "ops:fp16").ann_joules == Approx(100 * 1.5e-12));
  // memory:fp32: 10 weight reads + 4·2 bias reads + 2·6 state accesses, 32 bits at 3.12 pJ.
  CHECK(energy::estimate_energy(w, "memory:fp32").snn_joules == Approx(10 * 0.9e-12 + 32 * 3.12e-12 * (10 + 8 + 12)));
  // ANN: 100 weight reads + 4 bias reads + 4 activation writes.
  CHECK(energy::estimate_energy(w, "memory:fp32").ann_joules == Approx(100 * 4.6e-12 + 32 * 3.12e-12 * (100 + 4 + 4)));
  const auto loihi = energy::estimate_energy(w, "chip:loihi");
  CHECK(loihi.secondary);
  CHECK(loihi.ann_joules < 0);
  CHECK(loihi.snn_joules == Approx(10 * 23.6e-12 + 6 * 52e-12));
  CHECK(energy::estimate_energy(w, "chip:truenorth").snn_joules == Approx(10 * 26e-12));
  for (const auto& name : energy::model_names()) CHECK_NOTHROW(energy::estimate_energy(w, name));
  CHECK_THROWS_AS(energy::estimate_energy(w, "ops:fp64"), kspike::error);
  CHECK_THROWS_AS(energy::estimate_energy(w, "chip:nonesuch"), kspike::error);
  CHECK_THROWS_AS(energy::estimate_energy(w, "joules"), kspike::error);
}

TEST_CASE("exact fan-out: the worked example's stride-2 conv and brute force", "[energy]") {
  // conv(16→32, k3, s2, p1) on 32×32: Σ fan-out 1,131,008 against 1,179,648 MACs; 69.03125 per input.
  const auto t = classify::conv_fanout(16, 32, 32, 32, 3, 2, 1);
  const double sum = std::accumulate(t.begin(), t.end(), 0.0);
  CHECK(sum == 1131008);
  CHECK(sum / double(t.size()) == 69.03125);
  // Brute force: walk every output and tap, count the input each reads.
  const std::int64_t c = 2, h = 5, w = 6, o = 3, k = 3, s = 2, p = 1;
  std::vector<float> weights(static_cast<std::size_t>(o * c * k * k));
  for (std::size_t i = 0; i < weights.size(); ++i) weights[i] = (i % 4 == 0) ? 0.0f : float(i);
  std::vector<double> all(static_cast<std::size_t>(c * h * w), 0), nonzero(all.size(), 0);
  const std::int64_t oh = (h + 2 * p - k) / s + 1, ow = (w + 2 * p - k) / s + 1;
  for (std::int64_t q = 0; q < o; ++q)
    for (std::int64_t y = 0; y < oh; ++y)
      for (std::int64_t x = 0; x < ow; ++x)
        for (std::int64_t ci = 0; ci < c; ++ci)
          for (std::int64_t ky = 0; ky < k; ++ky)
            for (std::int64_t kx = 0; kx < k; ++kx) {
              const std::int64_t iy = y * s - p + ky, ix = x * s - p + kx;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              const auto at = static_cast<std::size_t>((ci * h + iy) * w + ix);
              all[at] += 1;
              nonzero[at] += weights[static_cast<std::size_t>(((q * c + ci) * k + ky) * k + kx)] != 0.0f;
            }
  CHECK(classify::conv_fanout(c, h, w, o, k, s, p) == all);
  CHECK(classify::conv_fanout(c, h, w, o, k, s, p, weights.data()) == nonzero);
  // Through a 2×2 pooling of a 1×3×3 map: the last row and column are dropped.
  const auto pooled = classify::through_pool({7.0}, 1, 3, 3, 2);
  CHECK(pooled == std::vector<double>{7, 7, 0, 7, 7, 0, 0, 0, 0});
  const std::vector<float> lw = {1, 0, 2, 0, 0, 3};  // [2, 3]
  CHECK(classify::linear_fanout(3, 2, lw.data()) == std::vector<double>{1, 0, 2});
}

namespace {

// conv(1→1, k3, pad 1) on a 4×4 image (only the centre tap non-zero: the identity) → IF (θ 1,
// reset by subtraction) → flatten → linear(16→2), T = 2.
classify::model_spec tiny_model() {
  return classify::parse_model_spec(R"(
[model]
input = [1, 4, 4]
classes = 2
timesteps = 2
[neuron]
kind = "if"
threshold = 1.0
reset = "subtract"
[[layers]]
type = "conv"
out = 1
kernel = 3
padding = 1
[[layers]]
type = "spike"
[[layers]]
type = "flatten"
[[layers]]
type = "linear"
out = 2
[train]
batch = 2
)",
                                    "tiny.toml");
}

}  // namespace

TEST_CASE("activity counters of a small network, counted by hand, on every backend", "[energy]") {
  for (const auto& backend : compiled_backends()) {
    if (backend == "cuda") continue;  // the tensor path's host backends (the GPU path is its own issue)
    INFO("backend " << backend);
    classify::sequential_net net(tiny_model(), 0, backend);
    std::vector<float> conv_w(9, 0.0f);
    conv_w[4] = 1.0f;  // centre tap: the conv copies the image
    net.set_array("param.layers.0.conv.weight", conv_w);
    net.set_array("param.layers.0.conv.bias", {0.0f});
    std::vector<float> fc_w(32, 0.5f);
    fc_w[5] = fc_w[16 + 5] = 0.0f;  // input 5, pixel (1, 1), reaches nothing
    net.set_array("param.layers.3.linear.weight", fc_w);
    net.set_array("param.layers.3.linear.bias", {0.0f, 0.0f});
    // 1.0 at (0,0) corner, (1,1) inside, (0,2) edge; 0.5 at (3,3) corner and (2,1) inside.
    std::vector<float> image(16, 0.0f);
    image[0] = image[5] = image[2] = 1.0f;
    image[15] = image[9] = 0.5f;
    classify::network_activity a;
    net.count_activity(image, 1, &a);
    REQUIRE(a.layers.size() == 3);
    const auto& conv = a.layers[0];
    const auto& spike = a.layers[1];
    const auto& fc = a.layers[2];
    // The conv ran once (direct input reused by the IF layer for both steps).
    CHECK(conv.steps == 1);
    CHECK(conv.source == -1);
    CHECK_FALSE(conv.ternary_input);       // 0.5 is not a spike
    CHECK(conv.macs == 144);               // 9 taps × 16 outputs, padding included
    CHECK(conv.dense_pairs == 100);        // 4 corners × 4 + 8 edges × 6 + 4 inside × 9
    CHECK(conv.input_events == std::vector<double>{5});
    CHECK(conv.synaptic_events == std::vector<double>{4 + 9 + 6 + 4 + 9});
    CHECK(conv.effective_pairs == std::vector<double>{5});  // only the centre weight is non-zero
    CHECK(conv.weights == 9);
    CHECK(conv.zero_weights == 8);
    // IF: step 0 fires where x = 1 (3); step 1 where x = 1 again and where 0.5 + 0.5 reaches 1 (5).
    CHECK(spike.steps == 2);
    CHECK(spike.neurons == 16);
    CHECK(spike.output_events == std::vector<double>{3, 5});
    CHECK(spike.touched == std::vector<double>{16, 5});  // step 1: only the neurons with input change
    // The linear layer reads the spikes: 2 synapses each; input 5 has no non-zero weight.
    CHECK(fc.source == 1);
    CHECK(fc.ternary_input);
    CHECK(fc.input_events == std::vector<double>{3, 5});
    CHECK(fc.synaptic_events == std::vector<double>{6, 10});
    CHECK(fc.effective_pairs == std::vector<double>{4, 8});
    CHECK(fc.dense_pairs == 32);
    // Per inference, through work_of: the first T = 1 step only, then both.
    const auto w1 = classify::work_of(a, 1), w2 = classify::work_of(a, 2);
    CHECK(w1.layers[1].synaptic_events == 6);
    CHECK(w2.layers[1].synaptic_events == 16);
    CHECK(w2.layers[0].updates_touched == 21);
    CHECK(w2.layers[0].output_spikes == 8);
    CHECK(w2.layers[0].runs == 1);
    CHECK(classify::work_of(a, 2, true).layers[0].runs == 2);
    // ops:fp32 by hand: the conv's 144 MACs once, 16 ACs.
    CHECK(energy::estimate_energy(w2, "ops:fp32").snn_joules == Approx(144 * 4.6e-12 + 16 * 0.9e-12));
    // NeuroBench's keys in the JSON: ACs 12, MACs 5, Dense 100 + 2·32, updates 21.
    const std::string json = classify::energy_json(a, 1.0, 0, false, {"ops:fp32"});
    CHECK(json.find("\"Effective_MACs\": 5,") != std::string::npos);
    CHECK(json.find("\"Effective_ACs\": 12,") != std::string::npos);
    CHECK(json.find("\"Dense\": 164}") != std::string::npos);
    CHECK(json.find("\"MembraneUpdates\": 21") != std::string::npos);
    CHECK(json.find("\"ActivationSparsity\": 0.75,") != std::string::npos);  // 8 of 32 fire
  }
}

TEST_CASE("kspike run --energy counts a hand-countable network's events and updates", "[energy][cli]") {
  kspike_test::temp_dir dir;
  // 3 input spikes, all-to-all onto 2 neurons that never fire: 6 synaptic events; 2 neurons
  // updated at each of 100 steps (the source has no membrane): 200 updates, in 10 ms.
  std::ofstream(dir.file("net.toml")) << R"(
dt = "0.1 ms"
duration = "10 ms"
[populations.src]
size = 1
model = "spike_source_array"
spike_times = [["1 ms", "2 ms", "3 ms"]]
[populations.out]
size = 2
model = "lif"
tau = "20 ms"
v_leak = "-70 mV"
v_threshold = "-50 mV"
v_reset = "-65 mV"
[projections.p]
pre = "src"
post = "out"
receptor = "excitatory"
connector = "all_to_all"
weight = "1 mV"
delay = "1 ms"
[[record.spikes]]
population = "out"
)";
  const auto r = kspike_test::run_kspike("run net.toml --energy --out net.h5", dir);
  INFO(r.out << r.err);
  REQUIRE(r.status == 0);
  const std::string json = kspike_test::read_text(dir.file("net.energy.json"));
  CHECK(json.find("\"synaptic_events\": 6,") != std::string::npos);
  CHECK(json.find("\"neuron_updates\": 200,") != std::string::npos);
  CHECK(json.find("\"per_simulated_second\": {\"synaptic_events\": 600, \"neuron_updates\": 20000,") != std::string::npos);
  // ops:fp32: 6 accumulates at 0.9 pJ.
  CHECK(json.find("{\"model\": \"ops:fp32\", \"joules\": 5.4e-12,") != std::string::npos);
  // Every model that needs no layer geometry, as docs/energy.md lists them.
  for (const char* m : {"ops:fp16", "ops:int32", "ops:int8", "memory:fp32", "memory:fp16", "memory:int32", "memory:int8",
                        "chip:loihi", "chip:truenorth", "chip:spinnaker2", "chip:tianjic"})
    CHECK(json.find(std::string("{\"model\": \"") + m + "\"") != std::string::npos);
  CHECK(r.out.find("energy: 600 synaptic events and 2e+04 neuron updates per simulated second") != std::string::npos);
}
