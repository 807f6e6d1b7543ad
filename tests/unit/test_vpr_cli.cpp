// kspike vpr end to end: a small modular run on the Nordland frames writes every output,
// resuming from its checkpoint reproduces the test results without training, and bad input
// is one line naming the problem, exit status 2 and no output folder.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <iomanip>

#include "experiments/vpr/vpr_config.hpp"
#include "experiments/vpr/vpr_outputs.hpp"
#include "sim/core/error.hpp"
#include "sim/io/sonata.hpp"
#include "support/cli_runner.hpp"
#include "support/fixtures.hpp"
#include "support/paths.hpp"

namespace {

using result = kspike_test::cli_result;
using kspike_test::read_text;

result vpr_cli(const std::string& arguments, const kspike_test::temp_dir& dir) {
  return kspike_test::run_kspike("vpr " + arguments, dir);
}

// A modular configuration small enough for a unit test: 3 modules of 5 places, 20 + 20 neurons.
std::string tiny_config(const std::string& root, const std::string& extra = "", int seed = 4) {
  return "name = \"tiny\"\nseed = " + std::to_string(seed) + "\n[data]\nroot = \"" + root +
         "\"\n[network]\nn_e = 20\ntc_gi_ms = 0.5\n[training]\nepochs = 2\nassignment_epochs = 1\nshuffle = true\n"
         "[places]\nper_module = 5\ncalibration = 5\ntest = 10\n[evaluation]\nassignment = \"standard\"\n"
         "hyperactive = \"calibrate\"\n" + extra;
}

// The part of metrics.json after "test": the evaluation, without timings.
std::string test_section(const std::string& json) { return json.substr(json.rfind("\"test\": {")); }

// A one-line error, exit 2, and no output folder.
void require_clean_failure(const result& r, const std::string& needle, const kspike_test::temp_dir& dir) {
  INFO(r.out << r.err);
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Catch::Contains(needle));
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(!std::filesystem::exists(dir.file("out")));
}

}  // namespace

TEST_CASE("kspike vpr: a small modular run writes metrics, plots, checkpoint and spikes; resume skips training",
          "[vpr][cli]") {
  if (!kspike_test::have_shared("vpr/nordland64/frames.txt")) return;
  kspike_test::temp_dir dir;
  std::ofstream(dir.file("tiny.toml")) << tiny_config(kspike_test::shared_data("vpr/nordland64"));
  const auto r = vpr_cli("tiny.toml --out out --record-spikes --threads 2", dir);
  INFO(r.out << r.err);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("R@1"));
  for (const char* f : {"metrics.json", "checkpoint.h5", "test_spikes.h5"}) CHECK(std::filesystem::exists(dir.file(std::string("out/") + f)));
  for (const auto& e : std::filesystem::directory_iterator(dir.file("out")))
    CHECK(e.path().extension() != ".tmp");
  const std::string metrics = read_text(dir.file("out/metrics.json"));
  CHECK_THAT(metrics, Catch::Contains("\"chosen_threshold\""));
  CHECK_THAT(metrics, Catch::Contains("\"recall_at_n\""));
  CHECK_THAT(metrics, Catch::Contains("\"trained_here\": true"));
  // The test phase's work per query image and its energy estimates (docs/vpr.md "Energy").
  CHECK_THAT(r.out, Catch::Contains("energy per query image (2 test modules)"));
  const auto energy = metrics.find("\"energy_per_query_image\"");
  REQUIRE(energy != std::string::npos);
  const auto events_at = metrics.find("\"synaptic_events\": ", energy);
  REQUIRE(events_at != std::string::npos);
  CHECK(std::stod(metrics.substr(events_at + 19)) > 1000);  // thousands of input events per query
  CHECK_THAT(metrics.substr(energy), Catch::Contains("\"model\": \"chip:loihi\""));
  if (std::system("command -v gnuplot > /dev/null 2>&1") == 0) {
    CHECK(std::filesystem::file_size(dir.file("out/pr_curve.png")) > 1000);
    CHECK(std::filesystem::file_size(dir.file("out/similarity.png")) > 1000);
  }
  const auto pops = kspike::io::read_spike_report(dir.file("out/test_spikes.h5"));
  REQUIRE(pops.size() == 1);
  CHECK(pops[0].name == "excitatory");
  CHECK(pops[0].sorting == "by_time");
  for (auto id : pops[0].node_ids) CHECK(id < 2 * 20);  // 2 test modules of 20 neurons

  // Resume: no training, the same test results (the test phase is deterministic).
  const auto again = vpr_cli("tiny.toml --out out2 --resume out/checkpoint.h5", dir);
  INFO(again.out << again.err);
  REQUIRE(again.status == 0);
  CHECK_THAT(again.out, Catch::Contains("resumed"));
  const std::string metrics2 = read_text(dir.file("out2/metrics.json"));
  CHECK_THAT(metrics2, Catch::Contains("\"trained_here\": false"));
  CHECK(test_section(metrics2) == test_section(metrics));

  // A checkpoint of another configuration is refused, naming the file.
  std::ofstream(dir.file("other.toml")) << tiny_config(kspike_test::shared_data("vpr/nordland64"), "", 5);
  const auto wrong = vpr_cli("other.toml --out out3 --resume out/checkpoint.h5", dir);
  CHECK(wrong.status == 2);
  CHECK_THAT(wrong.err, Catch::Contains("checkpoint.h5: trained with seed = 4, this run has 5"));
  CHECK(!std::filesystem::exists(dir.file("out3")));
  // Another training setting with the same places: refused, naming the key, unless asked for.
  std::string longer = tiny_config(kspike_test::shared_data("vpr/nordland64"));
  longer.replace(longer.find("epochs = 2"), 10, "epochs = 3");
  std::ofstream(dir.file("longer.toml")) << longer;
  const auto changed = vpr_cli("longer.toml --out out5 --resume out/checkpoint.h5", dir);
  CHECK(changed.status == 2);
  CHECK_THAT(changed.err, Catch::Contains("trained with training.epochs = 2, this run has 3"));
  CHECK(!std::filesystem::exists(dir.file("out5")));
  CHECK(vpr_cli("longer.toml --out out5 --resume out/checkpoint.h5 --allow-changed-config", dir).status == 0);
  // Evaluation settings are not training settings: another read-out rule resumes as it is.
  std::string plain = tiny_config(kspike_test::shared_data("vpr/nordland64"));
  const std::string calibrate = "hyperactive = \"calibrate\"";
  plain.replace(plain.find(calibrate), calibrate.size(), "hyperactive = \"off\"");
  std::ofstream(dir.file("plain.toml")) << plain;
  CHECK(vpr_cli("plain.toml --out out6 --resume out/checkpoint.h5", dir).status == 0);

  // An ensemble of two seeds: the summed similarity matrices, with sequence matching.
  REQUIRE(vpr_cli("other.toml --out out4", dir).status == 0);
  const auto ens = vpr_cli("ensemble out out4 --out ens", dir);
  INFO(ens.err);
  REQUIRE(ens.status == 0);
  const std::string e = read_text(dir.file("ens/metrics.json"));
  CHECK_THAT(e, Catch::Contains("\"hyperactive_on\""));
  CHECK_THAT(e, Catch::Contains("\"length\": 4"));
  const auto s1 = kspike::vpr::read_similarity(dir.file("out/results.h5"), true);
  const auto s2 = kspike::vpr::read_similarity(dir.file("out4/results.h5"), true);
  REQUIRE(s1.rows == 10);
  REQUIRE(s1.cols == 10);
  kspike::vpr::matrix sum = s1;
  for (std::size_t k = 0; k < sum.values.size(); ++k) sum.values[k] += s2.values[k];
  const auto m = kspike::vpr::metrics_of(kspike::vpr::distance_from_similarity(sum));
  std::ostringstream r1;
  r1 << "\"1\": " << std::setprecision(10) << m.recall_at_n[0];
  CHECK_THAT(e.substr(e.find("hyperactive_on")), Catch::Contains(r1.str()));
  CHECK(vpr_cli("ensemble out --out ens2", dir).status == 2);  // one run is no ensemble
}

TEST_CASE("vpr metrics_of: Recall@N and sequence matching on a hand-made distance matrix", "[vpr][readout]") {
  // 6 places; query q's best match is q except query 2 (matches 3). Sequences of 2 fix it.
  kspike::vpr::matrix d(6, 6, 10.0);
  for (std::size_t q = 0; q < 6; ++q) d(q, q) = 1.0;
  d(2, 2) = 5.0;
  d(3, 2) = 2.0;
  const auto single = kspike::vpr::metrics_of(d);
  CHECK(single.recall_at_n[0] == Approx(5.0 / 6.0));
  CHECK(single.square);
  const auto seq = kspike::vpr::metrics_of(d, 2);  // 5 x 5: diagonal sums 2, 6, 6, 2, 2 vs off-diagonal >= 11
  CHECK(seq.recall_at_n[0] == Approx(1.0));
}

TEST_CASE("kspike vpr: bad input is one line naming it, exit 2, no output", "[vpr][cli]") {
  kspike_test::temp_dir dir;
  // An unknown key, in a section and at the top.
  std::ofstream(dir.file("typo.toml")) << tiny_config("nowhere", "hyperactiv = 5\n");
  require_clean_failure(vpr_cli("typo.toml --out out", dir), "evaluation.hyperactiv", dir);
  std::ofstream(dir.file("top.toml")) << "sed = 1\n" << tiny_config("nowhere");
  require_clean_failure(vpr_cli("top.toml --out out", dir), "sed", dir);
  // A missing data folder.
  std::ofstream(dir.file("missing.toml")) << tiny_config(dir.file("no-such-folder"));
  require_clean_failure(vpr_cli("missing.toml --out out", dir), "no-such-folder", dir);
  // --quick without a [quick] table; places not a multiple of the module size.
  require_clean_failure(vpr_cli("missing.toml --quick --out out", dir), "quick", dir);
  std::string split = tiny_config("x");
  split.replace(split.find("test = 10"), 9, "test = 12");
  std::ofstream(dir.file("split.toml")) << split;
  require_clean_failure(vpr_cli("split.toml --out out", dir), "places.test", dir);
  // A missing configuration file.
  require_clean_failure(vpr_cli("absent.toml --out out", dir), "absent.toml", dir);

  // Traversals with no common frame, and an image of another size.
  const auto pgm = [&](const std::string& path, int w, int h) {
    std::ofstream f(path, std::ios::binary);
    f << "P5\n" << w << " " << h << "\n255\n" << std::string(std::size_t(w * h), char(90));
  };
  std::filesystem::create_directories(dir.file("ds/summer"));
  std::filesystem::create_directories(dir.file("ds/winter"));
  pgm(dir.file("ds/summer/a.pgm"), 32, 16);
  pgm(dir.file("ds/winter/b.pgm"), 32, 16);
  std::ofstream(dir.file("nocommon.toml")) << tiny_config(dir.file("ds"));
  require_clean_failure(vpr_cli("nocommon.toml --out out", dir), "common", dir);
  for (const char* n : {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o"}) {
    pgm(dir.file(std::string("ds/summer/") + n + ".pgm"), 32, 16);
    pgm(dir.file(std::string("ds/winter/") + n + ".pgm"), 32, 16);
  }
  pgm(dir.file("ds/winter/g.pgm"), 20, 16);
  std::ofstream(dir.file("size.toml")) << tiny_config(dir.file("ds"));
  require_clean_failure(vpr_cli("size.toml --out out", dir), "g.pgm", dir);
  // More places than the data holds (15 frames, 16 asked).
  std::string many = tiny_config(dir.file("ds"));
  many.replace(many.find("calibration = 5"), 15, "calibration = 10");
  std::ofstream(dir.file("many.toml")) << many;
  require_clean_failure(vpr_cli("many.toml --out out", dir), "places", dir);
}

TEST_CASE("vpr config: presets parse, --quick overrides, values are checked", "[vpr][config]") {
  const std::string dir = kspike_test::source_dir() + "/experiments/vpr/";
  const auto ral = kspike::vpr::read_vpr_config(dir + "ral2022.toml");
  CHECK(ral.n_e == 400);
  CHECK(ral.epochs == 60);
  CHECK(ral.modules() == 1);
  CHECK(ral.weighted);
  CHECK(ral.tc_gi_ms == 2.0);
  const auto icra = kspike::vpr::read_vpr_config(dir + "icra2023.toml");
  CHECK(icra.places_per_module == 25);
  CHECK(icra.modules() == 10);
  CHECK(icra.calibration_modules() == 2);
  CHECK(icra.hyperactive == kspike::vpr::hyperactive_mode::calibrate);
  CHECK(!icra.weighted);
  CHECK(icra.shuffle);
  const auto quick = kspike::vpr::read_vpr_config(dir + "icra2023.toml", true);
  CHECK(quick.epochs == 10);
  CHECK(quick.modules() == 4);
  CHECK(quick.n_e == 400);
  using kspike::vpr::parse_vpr_config;
  CHECK_THROWS_WITH(parse_vpr_config("[data]\nroot = \"x\"\n[network]\nn_e = 0\n", "f.toml"),
                    Catch::Contains("f.toml: network.n_e"));
  CHECK_THROWS_WITH(parse_vpr_config("[data]\nroot = \"x\"\n[training]\nepochs = \"many\"\n", "f.toml"),
                    Catch::Contains("training.epochs: must be an integer"));
  CHECK_THROWS_WITH(parse_vpr_config("[network]\nn_e = 4\n", "f.toml"), Catch::Contains("data.root"));
  CHECK_THROWS_WITH(parse_vpr_config("[data]\nroot = \"x\"\n[evaluation]\nhyperactive = \"calibrate\"\n", "f.toml"),
                    Catch::Contains("places.calibration"));
  CHECK_THROWS_WITH(parse_vpr_config("[data\nroot = 1", "f.toml"), Catch::Contains("f.toml: line 1"));
  // The [quick] overrides are checked without --quick too: an unknown key, a bad value, a section
  // that does not exist.
  const std::string base = "[data]\nroot = \"x\"\n[training]\nepochs = 6\n";
  CHECK(parse_vpr_config(base + "[quick.training]\nepochs = 5\n", "f.toml").epochs == 6);
  CHECK(parse_vpr_config(base + "[quick.training]\nepochs = 5\n", "f.toml", true).epochs == 5);
  CHECK_THROWS_WITH(parse_vpr_config(base + "[quick.training]\nepochz = 1\n", "f.toml"),
                    Catch::Contains("epochz") && Catch::Contains("[quick] overrides"));
  CHECK_THROWS_WITH(parse_vpr_config(base + "[quick.training]\nepochs = -1\n", "f.toml"),
                    Catch::Contains("training.epochs") && Catch::Contains("[quick] overrides"));
  CHECK_THROWS_WITH(parse_vpr_config(base + "[quick.trainingg]\nepochs = 1\n", "f.toml"),
                    Catch::Contains("quick.trainingg: unknown section"));
}
