// ANN-to-SNN conversion: batch norm folded exactly, thresholds from the calibration data, and the
// converted IF network's averaged output converging to the ANN's logits as T grows (the rate
// code's error falls as 1/T); bad input refused before any output.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "encoders/idx_reader.hpp"
#include "experiments/classify/conversion.hpp"
#include "experiments/classify/sequential_net.hpp"
#include "sim/core/error.hpp"
#include "sim/core/rng.hpp"
#include "support/cli_runner.hpp"
#include "support/fixtures.hpp"
#include "support/paths.hpp"

using namespace kspike;

namespace {

// conv(1→2, k3, pad 1)–BN–ReLU–avgpool 2–flatten–linear(392→3) on 28×28 images.
classify::model_spec small_ann(const std::string& extra_layer = "") {
  return classify::parse_model_spec(R"(
[model]
input = [1, 28, 28]
classes = 3
timesteps = 1
[neuron]
kind = "relu"
[[layers]]
type = "conv"
out = 2
kernel = 3
padding = 1
[[layers]]
type = "batchnorm"
[[layers]]
type = "spike"
[[layers]]
type = ")" + (extra_layer.empty() ? std::string("avgpool") : extra_layer) + R"("
size = 2
[[layers]]
type = "flatten"
[[layers]]
type = "linear"
out = 3
[train]
batch = 4
)",
                                    "small.toml");
}

float u(std::uint32_t i, std::uint32_t stream) { return static_cast<float>(uniform01(philox4x32(7, stream, i, 0))); }

// Random images with a gradient so that activations vary.
encoders::idx_dataset images(std::int64_t n) {
  encoders::idx_dataset d;
  d.images.count = n;
  d.images.rows = d.images.cols = 28;
  d.images.pixels.resize(static_cast<std::size_t>(n * 784));
  for (std::size_t i = 0; i < d.images.pixels.size(); ++i) d.images.pixels[i] = static_cast<std::uint8_t>(255 * u(std::uint32_t(i), 1));
  d.labels.assign(static_cast<std::size_t>(n), 0);
  return d;
}

// An ANN with random weights and non-trivial batch-norm statistics, saved as a checkpoint.
std::string save_ann(const kspike_test::temp_dir& dir) {
  classify::sequential_net net(small_ann(), 1);
  std::vector<float> w(18);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = u(std::uint32_t(i), 2) - 0.4f;
  net.set_array("param.layers.0.conv.weight", w);
  net.set_array("param.layers.0.conv.bias", {0.1f, -0.05f});
  net.set_array("param.layers.1.batchnorm.gamma", {1.5f, -0.7f});
  net.set_array("param.layers.1.batchnorm.beta", {0.2f, 0.3f});
  net.set_array("layers.1.batchnorm.running_mean", {0.4f, 0.1f});
  net.set_array("layers.1.batchnorm.running_var", {0.25f, 2.0f});
  std::vector<float> fc(3 * 392);
  for (std::size_t i = 0; i < fc.size(); ++i) fc[i] = (u(std::uint32_t(i), 3) - 0.5f) * 0.2f;
  net.set_array("param.layers.5.linear.weight", fc);
  net.set_array("param.layers.5.linear.bias", {0.0f, 0.1f, -0.1f});
  const std::string path = dir.file("ann.h5");
  net.save(path, {});
  return path;
}

}  // namespace

TEST_CASE("conversion folds batch norm and takes thresholds from the calibration data", "[conversion]") {
  kspike_test::temp_dir dir;
  const std::string ckpt = save_ann(dir);
  const auto cal = images(20);
  classify::conversion_options o;
  o.method = "max";
  o.calibration_images = 20;
  const auto c = classify::convert_ann(ckpt, o, cal);
  // Layers: conv, spike (IF), avgpool, flatten, linear; no batch norm.
  REQUIRE(c.spec.layers.size() == 5);
  CHECK(c.spec.layers[1].neuron.kind == classify::neuron_kind::if_);
  CHECK(c.spec.layers[1].neuron.soft_reset);
  CHECK(c.spec.layers[1].neuron.initial_membrane == 0.5);
  // Folded by hand: channel 0 scale 1.5/√(0.25+1e-5), channel 1 −0.7/√(2+1e-5).
  classify::sequential_net ann(small_ann(), 1);
  ann.load(ckpt);
  const auto w = ann.get_array("param.layers.0.conv.weight");
  const auto& fw = c.arrays.at("param.layers.0.conv.weight");
  const auto& fb = c.arrays.at("param.layers.0.conv.bias");
  const double s0 = 1.5 / std::sqrt(0.25 + 1e-5), s1 = -0.7 / std::sqrt(2.0 + 1e-5);
  for (int k = 0; k < 9; ++k) {
    CHECK(fw[std::size_t(k)] == Approx(w[std::size_t(k)] * s0).epsilon(1e-6));
    CHECK(fw[std::size_t(9 + k)] == Approx(w[std::size_t(9 + k)] * s1).epsilon(1e-6));
  }
  CHECK(fb[0] == Approx(0.2 + s0 * (0.1 - 0.4)).epsilon(1e-6));
  CHECK(fb[1] == Approx(0.3 + s1 * (-0.05 - 0.1)).epsilon(1e-6));
  // λ is the largest ReLU output over the calibration images, and the linear layer's weights carry it.
  std::vector<float> px;
  for (auto p : cal.images.pixels) px.push_back(float(p) / 255.0f);
  const auto acts = ann.layer_outputs(px, 20, {2})[0];
  double biggest = 0;
  for (float v : acts) biggest = std::max(biggest, double(v));
  REQUIRE(c.thresholds.size() == 1);
  CHECK(c.thresholds[0] == Approx(biggest).epsilon(1e-7));
  CHECK(c.arrays.at("param.layers.4.linear.weight")[7] ==
        Approx(ann.get_array("param.layers.5.linear.weight")[7] * biggest).epsilon(1e-6));
  // percentile:100 is the maximum too; a lower percentile gives a lower threshold.
  o.method = "percentile";
  o.percentile = 100;
  CHECK(classify::convert_ann(ckpt, o, cal).thresholds[0] == Approx(biggest).epsilon(1e-7));
  o.percentile = 90;
  CHECK(classify::convert_ann(ckpt, o, cal).thresholds[0] < biggest);
}

TEST_CASE("a converted network's averaged output approaches the ANN's logits as 1/T", "[conversion]") {
  kspike_test::temp_dir dir;
  const std::string ckpt = save_ann(dir);
  const auto cal = images(8);
  classify::conversion_options o;
  o.method = "max";
  o.calibration_images = 8;
  o.initial_membrane = 0.0;  // the residual then stays in [0, θ): error ≤ θ/T per neuron
  const auto c = classify::convert_ann(ckpt, o, cal);
  classify::sequential_net ann(small_ann(), 1);
  ann.load(ckpt);
  std::vector<float> px;
  for (auto p : cal.images.pixels) px.push_back(float(p) / 255.0f);
  const auto logits = ann.layer_outputs(px, 8, {5})[0];  // [8, 3]
  double previous = 1e9;
  for (std::int64_t T : {16, 256}) {
    classify::model_spec s = c.spec;
    s.timesteps = T;
    classify::finish_model_spec(s);
    classify::sequential_net snn(s, 1);
    for (const auto& [name, v] : c.arrays) snn.set_array(name, v);
    const auto out = snn.layer_outputs(px, 8, {4})[0];  // [T·8, 3], step-major
    double worst = 0;
    for (std::size_t k = 0; k < logits.size(); ++k) {
      double mean = 0;
      for (std::int64_t t = 0; t < T; ++t) mean += out[static_cast<std::size_t>(t) * logits.size() + k];
      worst = std::max(worst, std::abs(mean / double(T) - logits[k]));
    }
    INFO("T = " << T << ": largest |SNN mean output − ANN logit| = " << worst);
    CHECK(worst < previous / 4);  // 16× more steps: the error falls by well over 4
    previous = worst;
  }
  CHECK(previous < 0.05);
}

TEST_CASE("kspike convert and energy refuse bad input with one line and exit 2", "[conversion][cli]") {
  kspike_test::temp_dir dir;
  const std::string ann = save_ann(dir);
  // An SNN checkpoint (the same layers with IF neurons).
  classify::model_spec snn_spec = small_ann();
  snn_spec.neuron.kind = classify::neuron_kind::if_;
  for (auto& L : snn_spec.layers)
    if (L.kind == classify::layer_kind::spike) L.neuron.kind = classify::neuron_kind::if_;
  snn_spec.timesteps = 2;
  classify::finish_model_spec(snn_spec);
  classify::sequential_net(snn_spec, 1).save(dir.file("snn.h5"), {});
  classify::sequential_net(small_ann("maxpool"), 1).save(dir.file("maxpool.h5"), {});
  {
    std::ifstream in(ann, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(dir.file("truncated.h5"), std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  struct bad {
    std::string args, says;
  };
  const bad cases[] = {
      {"convert snn.h5 --method max --out o1", "spiking model"},
      {"convert maxpool.h5 --method max --out o2", "max-pooling"},
      {"convert truncated.h5 --method max --out o3", "truncated.h5"},
      {"convert ann.h5 --method qcfs --out o4", "--method qcfs needs"},
      {"convert ann.h5 --method nearest --out o5", "--method: unknown"},
      {"convert ann.h5 --method percentile:120 --out o6", "percentile P"},
      {"convert ann.h5 --method max --timesteps 0 --out o7", "--timesteps"},
      {"convert ann.h5 --method max --max-T -4 --out o8", "--max-T"},
      {"convert ann.h5 --method max --energy-model ops:fp64 --out o9", "unknown energy model"},
      {"energy ann.h5 --energy-model chip:nonesuch --out o10", "unknown energy model"},
      {"energy truncated.h5 --out o11", "truncated.h5"},
      {"energy snn.h5 --timesteps 0 --out o12", "--timesteps"},
      {"energy ann.h5 --first-layer sometimes --out o13", "--first-layer"},
  };
  for (const auto& c : cases) {
    const auto r = kspike_test::run_kspike(c.args, dir);
    INFO(c.args << "\n" << r.out << r.err);
    CHECK(r.status == 2);
    CHECK(r.err.find(c.says) != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
  for (int k = 1; k <= 13; ++k) CHECK_FALSE(std::filesystem::exists(dir.file("o" + std::to_string(k))));
}

TEST_CASE("a write error in convert, train or vpr: one line, exit 2, nothing left behind", "[conversion][cli]") {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz")) {
    WARN("skipped: Debian's dataset-fashion-mnist is absent (scripts/setup installs it)");
    return;
  }
  kspike_test::temp_dir dir;
  const std::string ann = save_ann(dir);
  // The file-size limit takes the same path as a full disk; 8 KiB is below any checkpoint.
  const auto limited = [&](const std::string& args) {
    const std::string cmd = "cd '" + dir.path.string() + "' && trap '' XFSZ && ulimit -f 8 && OMP_PROC_BIND=false '" +
                            kspike_test::kspike_binary() + "' " + args + " > /dev/null 2> err.txt";
    const int rc = std::system(cmd.c_str());
    const std::string err = kspike_test::read_text(dir.file("err.txt"));
    std::filesystem::remove(dir.file("err.txt"));
    INFO(args << "\nstderr: " << err);
    CHECK((WIFEXITED(rc) && WEXITSTATUS(rc) == 2));
    CHECK(std::count(err.begin(), err.end(), '\n') == 1);
    CHECK(err.find("disk full") != std::string::npos);
  };
  auto listing = [&] {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir.path)) names.push_back(e.path().string());
    std::sort(names.begin(), names.end());
    return names;
  };
  const auto before = listing();
  limited("convert ann.h5 --method max --calibration 16 --max-T 2 --test-limit 16 --out c");
  CHECK(listing() == before);
  limited("train --model fmnist-ann --limit 64 --test-limit 64 --epochs 1 --batch 32 --out t");
  CHECK(listing() == before);
  // A one-place VPR run on the corpus's two tiny frames: its outputs are staged and committed together.
  const std::filesystem::path files = std::filesystem::path(kspike_test::source_dir()) / "tests" / "bad_inputs" / "files";
  std::filesystem::copy(files / "vpr_ok", dir.file("vpr_ok"), std::filesystem::copy_options::recursive);
  std::filesystem::copy_file(files / "vpr_ok.toml", dir.file("vpr_ok.toml"));
  const auto with_vpr = listing();
  limited("vpr vpr_ok.toml --out v");
  CHECK(listing() == with_vpr);
  // An earlier energy result survives a refused run (energy stages its files like convert).
  std::filesystem::create_directories(dir.file("e"));
  std::ofstream(dir.file("e/energy.json")) << "earlier";
  const auto r = kspike_test::run_kspike("energy ann.h5 --energy-model ops:fp99 --out e", dir);
  CHECK(r.status == 2);
  CHECK(kspike_test::read_text(dir.file("e/energy.json")) == "earlier");
}

TEST_CASE("SIGTERM or SIGINT during convert: exit 143 or 130, one line, nothing left behind", "[conversion][cli]") {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz")) {
    WARN("skipped: Debian's dataset-fashion-mnist is absent (scripts/setup installs it)");
    return;
  }
  kspike_test::temp_dir dir;
  save_ann(dir);
  for (const char* sig : {"TERM", "INT"}) {
    // A run of a minute or more, signalled after two seconds (before or after its data are
    // loaded: either way it stops at its next progress update).
    const std::string cmd = "cd '" + dir.path.string() + "' && (OMP_PROC_BIND=false '" + kspike_test::kspike_binary() +
                            "' convert ann.h5 --method max --calibration 16 --max-T 256 --out c > /dev/null 2> err.txt & pid=$!; "
                            "sleep 2; kill -" + sig + " $pid; wait $pid; echo $? > rc.txt)";
    REQUIRE(std::system(cmd.c_str()) == 0);
    const std::string err = kspike_test::read_text(dir.file("err.txt"));
    INFO("SIG" << sig << ": " << err);
    CHECK(std::stoi(kspike_test::read_text(dir.file("rc.txt"))) == (std::string(sig) == "TERM" ? 143 : 130));
    CHECK(err.find("interrupted by signal") != std::string::npos);
    CHECK(std::count(err.begin(), err.end(), '\n') == 1);
    std::filesystem::remove(dir.file("err.txt"));
    std::filesystem::remove(dir.file("rc.txt"));
    std::vector<std::string> left;
    for (const auto& e : std::filesystem::directory_iterator(dir.path)) left.push_back(e.path().filename().string());
    CHECK(left == std::vector<std::string>{"ann.h5"});
  }
}

TEST_CASE("spike-count read-out: IF neurons after the output layer fire at the rate of the positive logit", "[conversion]") {
  kspike_test::temp_dir dir;
  const std::string ckpt = save_ann(dir);
  const auto cal = images(8);
  classify::conversion_options o;
  o.method = "max";
  o.calibration_images = 8;
  o.initial_membrane = 0.0;
  o.readout = "spikes";
  const auto c = classify::convert_ann(ckpt, o, cal);
  REQUIRE(c.spec.layers.back().kind == classify::layer_kind::spike);
  CHECK(c.spec.layers.back().out_size() == 3);
  classify::sequential_net ann(small_ann(), 1);
  ann.load(ckpt);
  std::vector<float> px;
  for (auto p : cal.images.pixels) px.push_back(float(p) / 255.0f);
  const auto logits = ann.layer_outputs(px, 8, {5})[0];  // [8, 3]
  const float biggest = *std::max_element(logits.begin(), logits.end());
  REQUIRE(biggest > 0);
  CHECK(c.output_threshold == Approx(biggest).epsilon(1e-6));  // max of the positive logits
  classify::model_spec s = c.spec;
  s.timesteps = 256;
  classify::finish_model_spec(s);
  classify::sequential_net snn(s, 1);
  for (const auto& [name, v] : c.arrays) snn.set_array(name, v);
  const auto spikes = snn.layer_outputs(px, 8, {static_cast<int>(s.layers.size()) - 1})[0];  // [256·8, 3]
  double worst = 0;
  for (std::size_t k = 0; k < logits.size(); ++k) {
    double count = 0;
    for (std::int64_t t = 0; t < 256; ++t) count += spikes[static_cast<std::size_t>(t) * logits.size() + k];
    CHECK((count == 0 || count == Approx(std::round(count))));  // spikes, not values
    worst = std::max(worst, std::abs(count / 256.0 * c.output_threshold - std::max(0.0f, logits[k])));
  }
  INFO("largest |rate·θ − max(0, logit)| = " << worst);
  CHECK(worst < 0.05 * c.output_threshold);
  o.readout = "votes";
  CHECK_THROWS_WITH(classify::convert_ann(ckpt, o, cal), "readout: unknown 'votes' (membrane or spikes)");
}
