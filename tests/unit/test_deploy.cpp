// Trained and converted networks deployed on the engine (experiments/classify/deploy): every
// spike decision of every layer and every prediction equal to the tensor path's, on every
// backend, for LIF (soft and hard reset, β and τ forms) and converted IF networks with
// convolution, batch norm, average pooling and linear layers; what cannot be deployed is
// refused naming the layer.
#include <algorithm>
#include <catch2/catch.hpp>

#include "experiments/classify/conversion.hpp"
#include "experiments/classify/deploy.hpp"
#include "experiments/classify/sequential_net.hpp"
#include "sim/core/error.hpp"
#include "sim/core/rng.hpp"
#include "sim/io/sonata.hpp"
#include "sim/recorder.hpp"
#include "support/backends.hpp"
#include "support/fixtures.hpp"
#include "support/memory_sink.hpp"

using namespace kspike;

namespace {

float u(std::uint32_t i, std::uint32_t stream) { return static_cast<float>(uniform01(philox4x32(11, stream, i, 0))); }

// conv(1→3, k3, pad 1)–BN–spike–avgpool 2–conv(3→4, k3, stride 2)–spike–flatten–linear(36→3).
std::string model_toml(const std::string& neuron, int timesteps = 4) {
  return R"(
[model]
input = [1, 28, 28]
classes = 3
timesteps = )" + std::to_string(timesteps) + R"(
[neuron]
)" + neuron + R"(
[[layers]]
type = "conv"
out = 3
kernel = 3
padding = 1
[[layers]]
type = "batchnorm"
[[layers]]
type = "spike"
[[layers]]
type = "avgpool"
size = 2
[[layers]]
type = "conv"
out = 4
kernel = 3
stride = 2
[[layers]]
type = "spike"
[[layers]]
type = "flatten"
[[layers]]
type = "linear"
out = 3
[train]
batch = 4
)";
}

// Random weights and batch-norm statistics, saved as a checkpoint.
std::string save_model(const classify::model_spec& m, const kspike_test::temp_dir& dir, const std::string& name) {
  classify::sequential_net net(m, 1);
  auto fill = [&](const std::string& array, std::uint32_t stream, float lo, float hi) {
    std::vector<float> v = net.get_array(array);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = lo + (hi - lo) * u(std::uint32_t(i), stream);
    net.set_array(array, v);
  };
  fill("param.layers.0.conv.weight", 1, -0.3f, 0.9f);
  fill("param.layers.0.conv.bias", 2, -0.1f, 0.2f);
  fill("param.layers.1.batchnorm.gamma", 3, 0.5f, 1.5f);
  fill("param.layers.1.batchnorm.beta", 4, -0.2f, 0.4f);
  fill("layers.1.batchnorm.running_mean", 5, 0.0f, 0.4f);
  fill("layers.1.batchnorm.running_var", 6, 0.2f, 1.0f);
  fill("param.layers.4.conv.weight", 7, -0.2f, 0.8f);
  fill("param.layers.4.conv.bias", 8, -0.1f, 0.1f);
  fill("param.layers.7.linear.weight", 9, -0.5f, 0.5f);
  fill("param.layers.7.linear.bias", 10, -0.1f, 0.1f);
  if (m.neuron.kind == classify::neuron_kind::mpbn) {  // batch norm of the membrane: γ of both signs, statistics
    net.set_array("param.layers.2.spike.gamma", {1.2f, -0.8f, 0.9f});
    net.set_array("param.layers.2.spike.beta", {0.1f, 0.2f, -0.1f});
    net.set_array("layers.2.spike.running_mean", {0.3f, 0.2f, 0.5f});
    net.set_array("layers.2.spike.running_var", {0.4f, 0.3f, 0.6f});
    net.set_array("param.layers.5.spike.gamma", {1.0f, 0.7f, 1.4f, 0.6f});
    net.set_array("param.layers.5.spike.beta", {0.0f, 0.1f, 0.2f, -0.1f});
    net.set_array("layers.5.spike.running_mean", {0.4f, 0.3f, 0.2f, 0.5f});
    net.set_array("layers.5.spike.running_var", {0.5f, 0.4f, 0.3f, 0.2f});
  }
  if (m.neuron.kind == classify::neuron_kind::hoyer) {  // learnt θ and running extrema of both spike layers
    net.set_array("param.layers.2.spike.threshold", {1.3f});
    net.set_array("param.layers.5.spike.threshold", {0.7f});
    net.set_double_array("layers.2.spike.running_extremum", {0.35, 0.5, 0.62});
    net.set_double_array("layers.5.spike.running_extremum", {0.3, 0.45, 0.55, 0.4});
  }
  const std::string path = dir.file(name);
  net.save(path, {});
  return path;
}

std::vector<float> images(std::int64_t n) {
  std::vector<float> px(static_cast<std::size_t>(n * 784));
  for (std::size_t i = 0; i < px.size(); ++i) px[i] = u(std::uint32_t(i), 20);
  return px;
}

// Deploys `ckpt` on Exec and compares with the tensor path decision by decision (images with
// sample ids 1000.., for a Poisson encoder).
template <class Exec>
void check_against_tensor(const std::string& ckpt) {
  const std::string backend = kspike_test::backend_name<Exec>();
  const classify::deployed_network dn(ckpt, backend);
  const auto& m = dn.spec();
  const std::int64_t B = 6, T = m.effective_timesteps();
  const auto px = images(B);
  std::vector<std::uint64_t> ids;
  for (std::uint64_t k = 0; k < static_cast<std::uint64_t>(B); ++k) ids.push_back(1000 + 7 * k);
  kspike_test::memory_sink sink;
  const classify::deploy_result r = dn.run(px, B, &sink, ids);
  classify::sequential_net tensor(m, classify::sequential_net::seed_in(ckpt), backend);
  tensor.load(ckpt);
  CHECK(r.predictions == tensor.predict(px, B, ids));
  const auto& pops = dn.populations();
  if (m.input_encoding != classify::encoding::direct) {
    // The input population fires the encoder's spikes, step t in engine step t.
    const std::vector<float> encoded = tensor.encoded_input(px, B, ids);
    std::vector<float> engine(encoded.size(), 0.0f);
    const std::int64_t n = dn.input().size;
    for (const auto& [step, pop, id] : sink.spike_list) {
      if (pop != pops.size()) continue;
      REQUIRE(step < T);
      engine[static_cast<std::size_t>((step * B + id / n) * n + id % n)] = 1.0f;
    }
    CHECK(engine == encoded);
    CHECK(std::count(encoded.begin(), encoded.end(), 1.0f) > 100);
  }
  std::vector<int> layers;
  for (std::size_t l = 0; l + 1 < pops.size(); ++l) layers.push_back(pops[l].model_layer);
  const auto outs = tensor.layer_outputs(px, B, layers, ids);
  std::uint64_t total = 0;
  for (std::size_t l = 0; l < layers.size(); ++l) {
    INFO("layer " << pops[l].name);
    // The engine's spikes of layer l in its window, as (t, image, neuron) flags.
    std::vector<float> engine(outs[l].size(), 0.0f);
    for (const auto& [step, pop, id] : sink.spike_list) {
      if (pop != l) continue;
      const std::int64_t t = step - pops[l].first_step;
      if (t < 0 || t >= T) continue;
      engine[static_cast<std::size_t>((t * B + id / pops[l].size) * pops[l].size + id % pops[l].size)] = 1.0f;
    }
    CHECK(engine == outs[l]);
    std::uint64_t spikes = 0;
    for (float s : engine) spikes += s > 0;
    CHECK(spikes == [&] { std::uint64_t c = 0; for (const auto& im : r.spikes) c += im[l]; return c; }());
    total += spikes;
  }
  CHECK(total > 100);  // the layers fire: the comparison means something
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("deployed LIF networks fire exactly as the tensor path, layer by layer", "[deploy]",
                        kspike_test::backends) {
  kspike_test::temp_dir dir;
  for (const char* neuron : {"kind = \"lif\"\nbeta = 0.6\nthreshold = 0.8\nreset = \"subtract\"",
                             "kind = \"lif\"\ntau = 2.0\ndecay_input = true\nthreshold = 0.5\nreset = \"zero\"",
                             "kind = \"if\"\nthreshold = 1.2\nreset = \"subtract\"\ninitial_membrane = 0.5"}) {
    INFO(neuron);
    const auto m = classify::parse_model_spec(model_toml(neuron), "deploy.toml");
    check_against_tensor<TestType>(save_model(m, dir, "model.h5"));
  }
}

TEMPLATE_LIST_TEST_CASE("deployed networks trained on Poisson or latency input fire exactly as the tensor path", "[deploy]",
                        kspike_test::backends) {
  kspike_test::temp_dir dir;
  for (const char* encoding : {"encoding = \"poisson\"\npoisson_max_rate = 0.8", "encoding = \"latency\""}) {
    INFO(encoding);
    std::string toml = model_toml("kind = \"lif\"\nbeta = 0.7\nthreshold = 0.6\nreset = \"subtract\"", 5);
    toml.replace(toml.find("timesteps"), 0, std::string(encoding) + "\n");
    const auto m = classify::parse_model_spec(toml, "deploy.toml");
    REQUIRE(m.input_encoding != classify::encoding::direct);
    check_against_tensor<TestType>(save_model(m, dir, "encoded.h5"));
  }
}

TEMPLATE_LIST_TEST_CASE("deployed one-timestep Hoyer networks fire exactly as the tensor path", "[deploy]",
                        kspike_test::backends) {
  kspike_test::temp_dir dir;
  const auto m = classify::parse_model_spec(model_toml("kind = \"hoyer\"", 1), "deploy.toml");
  check_against_tensor<TestType>(save_model(m, dir, "hoyer.h5"));
}

TEMPLATE_LIST_TEST_CASE("deployed MPBN networks, batch norm folded, fire exactly as the tensor path's eval mode", "[deploy]",
                        kspike_test::backends) {
  kspike_test::temp_dir dir;
  const auto m = classify::parse_model_spec(model_toml("kind = \"mpbn\"", 3), "deploy.toml");
  check_against_tensor<TestType>(save_model(m, dir, "mpbn.h5"));
}

TEST_CASE("deploy refuses what the engine cannot run, naming the layer", "[deploy]") {
  kspike_test::temp_dir dir;
  std::string relu = model_toml("kind = \"relu\"", 1);
  auto refused = [&](const std::string& toml, const std::string& name) {
    const auto m = classify::parse_model_spec(toml, "deploy.toml");
    try {
      classify::deployed_network dn(save_model(m, dir, name));
    } catch (const error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const auto m1 = model_toml("kind = \"lif\"\nbeta = 0.5");
  CHECK_THAT(refused(relu, "relu.h5"), Catch::Contains("layers[2] (spike): a relu model; the engine takes LIF, IF (trained or converted), MPBN and Hoyer networks"));
  std::string maxpool = m1;
  maxpool.replace(maxpool.find("type = \"avgpool\""), 16, "type = \"maxpool\"");
  CHECK_THAT(refused(maxpool, "maxpool.h5"), Catch::Contains("layers[3] (maxpool): max-pooling of spikes is not a projection"));
}
