// Model files (experiments/classify/model_spec.hpp): the shipped presets parse and infer the
// shapes their comments state, the canonical TOML of a checkpoint reads back to the same model,
// and every kind of bad file is an error naming the file and the layer or key.
#include <catch2/catch.hpp>

#include <string>

#include "experiments/classify/model_spec.hpp"
#include "sim/core/error.hpp"

namespace kc = kspike::classify;

namespace {

const std::string small = R"(
[model]
input = [1, 28, 28]
classes = 10
[[layers]]
type = "conv"
out = 8
kernel = 3
padding = 1
[[layers]]
type = "spike"
[[layers]]
type = "maxpool"
size = 2
[[layers]]
type = "flatten"
[[layers]]
type = "linear"
out = 10
)";

std::string error_of(const std::string& text) {
  try {
    kc::parse_model_spec(text, "m.toml");
  } catch (const kspike::error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("every shipped preset parses, and fmnist-snn has the reference network's shapes", "[train][model]") {
  const auto names = kc::preset_names();
  for (const char* want : {"fmnist-snn", "fmnist-ann", "fmnist-iir", "fmnist-vgg"})
    CHECK(std::find(names.begin(), names.end(), want) != names.end());
  for (const auto& n : names) {
    INFO(n);
    CHECK_NOTHROW(kc::load_model_spec(n));
  }
  const kc::model_spec m = kc::load_model_spec("fmnist-snn");
  REQUIRE(m.layers.size() == 10);
  CHECK(m.layers[0].out_size() == 16 * 28 * 28);
  CHECK(m.layers[3].out_size() == 16 * 14 * 14);
  CHECK(m.layers[7].out_size() == 32 * 7 * 7);
  CHECK(m.layers[9].in_size() == 1568);
  CHECK(m.timesteps == 4);
  CHECK(m.neuron.beta == 0.5);
  CHECK(m.layers[2].neuron.surrogate == "arctan");
  CHECK(kc::load_model_spec("fmnist-ann").effective_timesteps() == 1);
  const kc::model_spec vgg = kc::load_model_spec("fmnist-vgg");
  CHECK(vgg.layers[vgg.layers.size() - 5].out_size() == 64 * 7 * 7);  // the flatten input, as its comment says
}

TEST_CASE("the canonical TOML of a model reads back to the same model", "[train][model]") {
  for (const auto& n : kc::preset_names()) {
    const kc::model_spec m = kc::load_model_spec(n);
    const std::string text = kc::to_toml(m);
    const kc::model_spec back = kc::parse_model_spec(text, "canonical");
    CHECK(kc::to_toml(back) == text);
  }
  // Every neuron and training key survives the round trip, the non-default ones included.
  std::string custom = small;
  custom.replace(custom.find("type = \"spike\""), 14,
                 "type = \"spike\"\ntau = 2.5\ndecay_input = true\nfire = \">\"\nreset = \"zero\"");
  custom += "\n[train]\noptimizer = \"sgd\"\nnesterov = true\nno_weight_decay = [\"batchnorm\"]\nschedule = \"step\"\n";
  const kc::model_spec c = kc::parse_model_spec(custom, "custom.toml");
  CHECK(c.layers[1].neuron.tau == 2.5);
  CHECK(c.layers[1].neuron.decay_input);
  CHECK(c.layers[1].neuron.fire_strict);
  CHECK_FALSE(c.layers[1].neuron.soft_reset);
  CHECK(c.train.no_weight_decay == std::vector<std::string>{"batchnorm"});
  CHECK(kc::to_toml(kc::parse_model_spec(kc::to_toml(c), "again")) == kc::to_toml(c));
  kc::model_spec m = kc::parse_model_spec(small, "small.toml");
  CHECK(m.name == "small");
  CHECK(m.layers[2].out_c == 8);
  CHECK(m.layers[2].out_h == 14);
}

TEST_CASE("bad model files are one error naming the file and the layer or key", "[train][model]") {
  auto with = [](std::string from, const std::string& to) {
    std::string t = small;
    const auto at = t.find(from);
    REQUIRE(at != std::string::npos);
    return t.replace(at, from.size(), to);
  };
  CHECK_THAT(error_of(with("type = \"maxpool\"", "type = \"pool\"")), Catch::Contains("m.toml: layers[2].type: unknown value 'pool'"));
  CHECK_THAT(error_of(with("out = 10", "out = 7")), Catch::Contains("expected [10]"));
  CHECK_THAT(error_of(with("[[layers]]\ntype = \"flatten\"\n", "")), Catch::Contains("layers[3] (linear)"));
  CHECK_THAT(error_of(with("kernel = 3", "kernel = 3\nwidth = 2")), Catch::Contains("layers[0].width: unknown key"));
  CHECK_THAT(error_of(with("kernel = 3\npadding = 1", "kernel = 40")), Catch::Contains("layers[0] (conv): kernel 40"));
  CHECK_THAT(error_of(with("type = \"spike\"", "type = \"spike\"\nsurrogate = \"nosuch\"")), Catch::Contains("layers[1].surrogate"));
  CHECK_THAT(error_of(with("classes = 10", "classes = 10\ntimesteps = 0")), Catch::Contains("model.timesteps"));
  CHECK_THAT(error_of(small + "\n[train]\nbatchsize = 3\n"), Catch::Contains("train.batchsize: unknown key"));
  CHECK_THAT(error_of(small + "\n[train]\nrmp_weight = 0.1\n[neuron]\nkind = \"mpbn\"\n"), Catch::Contains("train.rmp_weight"));
  CHECK_THAT(error_of("[model]\nclasses = 10\n"), Catch::Contains("layers: missing"));
  CHECK_THAT(error_of(with("type = \"spike\"", "type = \"spike\"\nfire = \"=>\"")), Catch::Contains("layers[1].fire"));
  CHECK_THAT(error_of(with("type = \"spike\"", "type = \"spike\"\ntau = 0.5")), Catch::Contains("layers[1].tau"));
  CHECK_THAT(error_of(with("type = \"spike\"", "type = \"spike\"\ntau = 2.0\ntrainable_leak = true")),
             Catch::Contains("trainable_leak needs the beta form"));
  CHECK_THAT(error_of(small + "\n[train]\nno_weight_decay = \"bn\"\n"), Catch::Contains("train.no_weight_decay"));
  CHECK_THAT(error_of("[model\n"), Catch::Contains("m.toml: line 1"));
  CHECK_THAT(error_of(with("type = \"maxpool\"\nsize = 2", "type = \"spike\"\nkind = \"mpbn\"")), Catch::Contains("(no error)"));
  const std::string mp_flat = with("out = 10", "out = 10\n[[layers]]\ntype = \"spike\"\nkind = \"mpbn\"\n[[layers]]\ntype = \"linear\"\nout = 10");
  CHECK_THAT(error_of(mp_flat), Catch::Contains("MPBN needs an image"));
  CHECK_THROWS_WITH(kc::load_model_spec("no-such-preset"), Catch::Contains("fmnist-snn"));
}
