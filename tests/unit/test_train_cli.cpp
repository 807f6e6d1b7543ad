// kspike train end to end: the Fashion-MNIST reference network learns (a few hundred images
// take it far above chance), writes its per-epoch CSV, and bad input is one line and exit 2.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/cli_runner.hpp"
#include "support/fixtures.hpp"

namespace {

using kspike_test::read_text;

kspike_test::cli_result kspike(const std::string& arguments, const kspike_test::temp_dir& dir) {
  return kspike_test::run_kspike(arguments, dir);
}

const char* fmnist = "/usr/share/datasets/fashion-mnist";

}  // namespace

TEST_CASE("kspike train: a short run learns Fashion-MNIST far above chance and writes metrics.csv", "[train][cli]") {
  if (!std::filesystem::exists(std::string(fmnist) + "/train-labels-idx1-ubyte.gz")) {
    WARN("skipped: " << fmnist << " is absent (scripts/setup installs dataset-fashion-mnist)");
    return;
  }
  kspike_test::temp_dir dir;
  const auto r = kspike("train --limit 640 --test-limit 500 --timesteps 2 --batch 32 --threads 2 --out run", dir);
  INFO(r.out << r.err);
  REQUIRE(r.status == 0);
  const std::string csv = read_text(dir.file("run/metrics.csv"));
  REQUIRE(csv.rfind("epoch,train_loss,train_accuracy,test_accuracy", 0) == 0);
  std::istringstream lines(csv);
  std::string header, row;
  std::getline(lines, header);
  std::getline(lines, row);
  double values[6];
  char comma;
  std::istringstream fields(row);
  fields >> values[0];
  for (int k = 1; k < 6; ++k) fields >> comma >> values[k];
  CHECK(values[0] == 1);
  CHECK(values[3] > 0.5);  // test accuracy after 640 images; chance is 0.1
  CHECK(values[1] < 2.3);  // below the loss of a uniform guess, ln 10
}

TEST_CASE("kspike train: bad input is one line naming it, exit 2", "[train][cli]") {
  kspike_test::temp_dir dir;
  const struct {
    const char* args;
    const char* needle;
  } cases[] = {{"train --model resnet --data .", "--model"},
               {"train --timesteps 0 --data .", "T must be >= 1"},
               {"train --surrogate nosuch --data .", "nosuch"},
               {"train --data no-such-folder", "no-such-folder"}};
  for (const auto& c : cases) {
    const auto r = kspike(c.args, dir);
    INFO(c.args << ": " << r.err);
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Catch::Contains(c.needle));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
  // A truncated dataset file.
  std::filesystem::create_directories(dir.file("trunc"));
  for (const char* f : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}) {
    std::ofstream o(dir.file(std::string("trunc/") + f), std::ios::binary);
    o << std::string("\x00\x00\x08\x03\x00\x00\x00\x0a", 8);
  }
  const auto r = kspike("train --data trunc", dir);
  CHECK(r.status == 2);
  CHECK_THAT(r.err, Catch::Contains("trunc"));
}

TEST_CASE("kspike train: resuming from a checkpoint continues bit for bit; eval reads it", "[train][cli]") {
  if (!std::filesystem::exists(std::string(fmnist) + "/train-labels-idx1-ubyte.gz")) {
    WARN("skipped: " << fmnist << " is absent");
    return;
  }
  kspike_test::temp_dir dir;
  const std::string common = "train --limit 192 --test-limit 200 --timesteps 2 --batch 32 --threads 2 --epochs 2";
  REQUIRE(kspike(common + " --out straight", dir).status == 0);
  REQUIRE(kspike("train --limit 192 --test-limit 200 --timesteps 2 --batch 32 --threads 2 --epochs 1 --out half", dir).status == 0);
  const auto r = kspike(common + " --out resumed --resume half/checkpoint.h5", dir);
  INFO(r.out << r.err);
  REQUIRE(r.status == 0);
  // Loss and accuracies of every epoch agree exactly (timings differ).
  auto values = [&](const std::string& f) {
    std::istringstream in(read_text(dir.file(f)));
    std::string line, out;
    while (std::getline(in, line)) {
      std::size_t cut = line.size();
      for (int k = 0; k < 2; ++k) cut = line.rfind(',', cut - 1);
      out += line.substr(0, cut) + "\n";
    }
    return out;
  };
  CHECK(values("resumed/metrics.csv") == values("straight/metrics.csv"));
  const auto e = kspike("eval --model straight/checkpoint.h5 --test-limit 200", dir);
  INFO(e.err);
  REQUIRE(e.status == 0);
  CHECK_THAT(e.out, Catch::Contains("after 2 epochs"));
  // Another model's checkpoint is refused, naming the field.
  const auto wrong = kspike("train --limit 192 --timesteps 3 --batch 32 --epochs 2 --out w --resume half/checkpoint.h5", dir);
  CHECK(wrong.status == 2);
  CHECK_THAT(wrong.err, Catch::Contains("timesteps"));
  std::ofstream(dir.file("junk.h5")) << "not hdf5";
  CHECK(kspike("eval --model junk.h5", dir).status == 2);
}

TEST_CASE("kspike train --neuron mpbn: learns, checkpoints, and its checkpoint is not a LIF one", "[train][cli]") {
  if (!std::filesystem::exists(std::string(fmnist) + "/train-labels-idx1-ubyte.gz")) {
    WARN("skipped: " << fmnist << " is absent");
    return;
  }
  kspike_test::temp_dir dir;
  const auto r = kspike("train --neuron mpbn --limit 640 --test-limit 500 --timesteps 2 --batch 32 --threads 2 --out mp", dir);
  INFO(r.out << r.err);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("test accuracy"));
  const auto e = kspike("eval --model mp/checkpoint.h5 --test-limit 500", dir);
  REQUIRE(e.status == 0);
  // The fold: zero spike mismatches between the eval-mode MPBN layers and the folded LIF over
  // 2000 test images (both layers, T = 2).
  const auto f = kspike("fold mp/checkpoint.h5 --test-limit 2000 --threads 2", dir);
  INFO(f.out << f.err);
  REQUIRE(f.status == 0);
  CHECK_THAT(f.out, Catch::Contains(", 0 mismatches"));
  CHECK(std::filesystem::exists(dir.file("mp/folded.h5")));
  CHECK(kspike("fold run/nothing.h5", dir).status == 2);
  const auto wrong = kspike("train --limit 640 --timesteps 2 --batch 32 --epochs 2 --out w --resume mp/checkpoint.h5", dir);
  CHECK(wrong.status == 2);
  CHECK_THAT(wrong.err, Catch::Contains("neuron"));
  CHECK(kspike("train --neuron izhikevich --data .", dir).status == 2);
  CHECK(kspike("train --neuron hoyer --timesteps 4 --data .", dir).status == 2);  // Hoyer runs at T = 1
  // Hoyer spikes (T = 1): learns too, and resumes into the same kind of model only.
  const auto h = kspike("train --neuron hoyer --limit 640 --test-limit 500 --batch 32 --threads 2 --out hy", dir);
  INFO(h.out << h.err);
  REQUIRE(h.status == 0);
  std::istringstream csv(read_text(dir.file("hy/metrics.csv")));
  std::string header, row;
  std::getline(csv, header);
  std::getline(csv, row);
  const double test_acc = std::stod(row.substr(row.find(',', row.find(',', row.find(',') + 1) + 1) + 1));
  CHECK(test_acc > 0.3);  // chance is 0.1; 640 images take the Hoyer net to about 0.45
  CHECK(kspike("train --neuron mpbn --timesteps 1 --limit 640 --epochs 2 --out w2 --resume hy/checkpoint.h5", dir).status == 2);
}
