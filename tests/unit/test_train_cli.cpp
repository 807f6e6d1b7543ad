// kspike train end to end: the Fashion-MNIST reference network learns (a few hundred images
// take it far above chance), writes its per-epoch CSV, and bad input is one line and exit 2.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "learning/gemm.hpp"
#include "sim/io/hdf5_handle.hpp"
#include "support/cli_runner.hpp"
#include "support/fixtures.hpp"

namespace {

using kspike_test::read_text;

kspike_test::cli_result run_cli(const std::string& arguments, const kspike_test::temp_dir& dir) {
  return kspike_test::run_kspike(arguments, dir);
}

const char* fmnist = "/usr/share/datasets/fashion-mnist";

// Field k (0-based) of a CSV row, as a number.
double csv_field(const std::string& row, int k) {
  std::size_t at = 0;
  for (int i = 0; i < k; ++i) at = row.find(',', at) + 1;
  return std::stod(row.substr(at));
}

}  // namespace

TEST_CASE("kspike train: a short run learns Fashion-MNIST far above chance and writes metrics.csv", "[train][cli]") {
  if (!std::filesystem::exists(std::string(fmnist) + "/train-labels-idx1-ubyte.gz")) {
    WARN("skipped: " << fmnist << " is absent (scripts/setup installs dataset-fashion-mnist)");
    return;
  }
  kspike_test::temp_dir dir;
  const auto r = run_cli("train --limit 640 --test-limit 500 --timesteps 2 --batch 32 --threads 2 --epochs 1 --out run", dir);
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
  CHECK(values[3] > 0.4);  // test accuracy after 640 images (about 0.5); chance is 0.1
  CHECK(values[1] < 2.3);  // below the loss of a uniform guess, ln 10
  CHECK(std::filesystem::exists(dir.file("run/checkpoint.h5")));
  // What computed the GEMMs is printed and recorded: a trained network's last digits depend on
  // it. (Not necessarily this process's kernels: the command line may select better-fitting ones.)
  const auto by = r.out.find("GEMM by ");
  REQUIRE(by != std::string::npos);
  const std::string gemm = r.out.substr(by + 8, r.out.find('\n', by) - by - 8);
  CHECK_THAT(gemm, Catch::StartsWith(kspike::learning::gemm_uses_blas ? "OpenBLAS" : "Kokkos kernel"));
  {
    namespace h5 = kspike::io::h5;
    const std::string path = dir.file("run/checkpoint.h5");
    h5::handle file = h5::file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
    REQUIRE(file);
    CHECK(h5::read_string_attribute(file.get(), "gemm", path) == gemm);
  }
  // The issue's form: --data fashion-mnist and --out a checkpoint file (metrics beside it).
  const auto f = run_cli("train --model fmnist-snn --data fashion-mnist --timesteps 2 --surrogate sigmoid:4 --epochs 1 --seed 3 "
                        "--limit 192 --test-limit 200 --batch 32 --out ckpt.h5", dir);
  INFO(f.out << f.err);
  REQUIRE(f.status == 0);
  CHECK(std::filesystem::exists(dir.file("ckpt.h5")));
  CHECK(std::filesystem::exists(dir.file("ckpt.metrics.csv")));
  CHECK_FALSE(std::filesystem::exists(dir.file("ckpt.h5.tmp")));
  CHECK(run_cli("eval --model ckpt.h5 --test-limit 100", dir).status == 0);
}

TEST_CASE("kspike bench train: OpenBLAS kernels that fit the CPU, or a note where the user chose older ones", "[train][cli]") {
#if defined(__x86_64__)
  if (!kspike::learning::gemm_uses_blas || !__builtin_cpu_supports("avx2")) {
    WARN("skipped: needs OpenBLAS and an AVX2 CPU");
    return;
  }
  kspike_test::temp_dir dir;
  // OpenBLAS reads OPENBLAS_CORETYPE when it loads: Prescott is its fallback for CPUs it does not know.
  const std::string bin = "'" + kspike_test::kspike_binary() + "' bench train --steps 1 --batch 2 --timesteps 1 --threads 1";
  const auto run = [&](const std::string& core) {
    const std::string out = dir.file("out.txt");
    const std::string env = core.empty() ? "env -u OPENBLAS_CORETYPE" : "OPENBLAS_CORETYPE=" + core;
    const int rc = std::system((env + " OMP_PROC_BIND=false " + bin + " > '" + out + "' 2>&1").c_str());
    CHECK(rc == 0);
    return read_text(out);
  };
  // Unset: the command line selects kernels that fit the CPU itself (where OpenBLAS knows the
  // CPU, its own choice fits already), so no run of it uses the fallback.
  const std::string automatic = run(""), old = run("Prescott"), fitting = run("Haswell");
  INFO(automatic << old << fitting);
  CHECK_THAT(automatic, Catch::Contains("GEMM: OpenBLAS"));
  CHECK_THAT(automatic, !Catch::Contains("Prescott kernels"));
  CHECK_THAT(automatic, !Catch::Contains("note:"));
  CHECK_THAT(old, Catch::Contains("GEMM: OpenBLAS"));
  CHECK_THAT(old, Catch::Contains("Prescott kernels"));
  CHECK_THAT(old, Catch::Contains("note: OpenBLAS runs its Prescott kernels, far older than this CPU"));
  CHECK_THAT(old, Catch::Contains(__builtin_cpu_supports("avx512bw") ? "OPENBLAS_CORETYPE=SkylakeX" : "OPENBLAS_CORETYPE=Haswell"));
  CHECK_THAT(fitting, Catch::Contains("Haswell kernels"));
  CHECK_THAT(fitting, !Catch::Contains("note:"));
#else
  WARN("skipped: x86-64 only");
#endif
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
    const auto r = run_cli(c.args, dir);
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
  const auto r = run_cli("train --data trunc", dir);
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
  REQUIRE(run_cli(common + " --out straight", dir).status == 0);
  REQUIRE(run_cli("train --limit 192 --test-limit 200 --timesteps 2 --batch 32 --threads 2 --epochs 1 --out half", dir).status == 0);
  const auto r = run_cli(common + " --out resumed --resume half/checkpoint.h5", dir);
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
  const auto e = run_cli("eval --model straight/checkpoint.h5 --test-limit 200", dir);
  INFO(e.err);
  REQUIRE(e.status == 0);
  CHECK_THAT(e.out, Catch::Contains("after 2 epochs"));
  // Another model's checkpoint is refused, naming the field.
  const auto wrong = run_cli("train --limit 192 --timesteps 3 --batch 32 --epochs 2 --out w --resume half/checkpoint.h5", dir);
  CHECK(wrong.status == 2);
  CHECK_THAT(wrong.err, Catch::Contains("timesteps"));
  std::ofstream(dir.file("junk.h5")) << "not hdf5";
  CHECK(run_cli("eval --model junk.h5", dir).status == 2);
}

TEST_CASE("kspike train --neuron mpbn: learns, checkpoints, and its checkpoint is not a LIF one", "[train][cli]") {
  if (!std::filesystem::exists(std::string(fmnist) + "/train-labels-idx1-ubyte.gz")) {
    WARN("skipped: " << fmnist << " is absent");
    return;
  }
  kspike_test::temp_dir dir;
  const auto r = run_cli("train --neuron mpbn --limit 640 --test-limit 500 --timesteps 2 --batch 32 --threads 2 --epochs 1 --out mp", dir);
  INFO(r.out << r.err);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("test accuracy"));
  const auto e = run_cli("eval --model mp/checkpoint.h5 --test-limit 500", dir);
  REQUIRE(e.status == 0);
  // The fold: zero spike mismatches between the eval-mode MPBN layers and the folded LIF over
  // 2000 test images (both layers, T = 2).
  const auto f = run_cli("fold mp/checkpoint.h5 --test-limit 2000 --threads 2", dir);
  INFO(f.out << f.err);
  REQUIRE(f.status == 0);
  CHECK_THAT(f.out, Catch::Contains(", 0 mismatches"));
  CHECK(std::filesystem::exists(dir.file("mp/folded.h5")));
  CHECK(run_cli("fold run/nothing.h5", dir).status == 2);
  const auto wrong = run_cli("train --limit 640 --timesteps 2 --batch 32 --epochs 2 --out w --resume mp/checkpoint.h5", dir);
  CHECK(wrong.status == 2);
  CHECK_THAT(wrong.err, Catch::Contains("neuron"));
  CHECK(run_cli("train --neuron izhikevich --data .", dir).status == 2);
  CHECK(run_cli("train --neuron hoyer --timesteps 4 --data .", dir).status == 2);  // Hoyer runs at T = 1
  // Hoyer spikes (T = 1): learns too, and resumes into the same kind of model only.
  const auto h = run_cli("train --neuron hoyer --limit 640 --test-limit 500 --batch 32 --threads 2 --epochs 1 --out hy", dir);
  INFO(h.out << h.err);
  REQUIRE(h.status == 0);
  std::istringstream csv(read_text(dir.file("hy/metrics.csv")));
  std::string header, row;
  std::getline(csv, header);
  std::getline(csv, row);
  const double test_acc = csv_field(row, 3);
  CHECK(test_acc > 0.3);  // chance is 0.1; 640 images take the Hoyer net to about 0.45
  // The checkpoint restores the eval-mode state too (the running Hoyer extremum): kspike eval
  // gives the accuracy the run reported.
  const auto he = run_cli("eval --model hy/checkpoint.h5 --test-limit 500", dir);
  REQUIRE(he.status == 0);
  char expect[32];
  std::snprintf(expect, sizeof expect, "test accuracy %.4f", test_acc);
  CHECK_THAT(he.out, Catch::Contains(expect));
  CHECK(run_cli("train --neuron mpbn --timesteps 1 --limit 640 --epochs 2 --out w2 --resume hy/checkpoint.h5", dir).status == 2);
}

TEST_CASE("kspike train --reduce-to: T, T-1, ..., in one command, each stage resumable", "[train][cli][reduction]") {
  if (!std::filesystem::exists(std::string(fmnist) + "/train-labels-idx1-ubyte.gz")) {
    WARN("skipped: " << fmnist << " is absent");
    return;
  }
  kspike_test::temp_dir dir;
  const std::string cmd =
      "train --model fmnist-iir --timesteps 3 --reduce-to 1 --limit 320 --test-limit 300 --batch 32 --epochs 1 --threads 2 --out red";
  const auto r = run_cli(cmd, dir);
  INFO(r.out << r.err);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("stage T = 2: initialised from T = 3"));
  const std::string csv = read_text(dir.file("red/reduction.csv"));
  std::istringstream in(csv);
  std::string line;
  std::vector<std::string> rows;
  while (std::getline(in, line)) rows.push_back(line);
  REQUIRE(rows.size() == 4);
  CHECK(rows[1].rfind("3,,", 0) == 0);  // no accuracy before training for the first stage
  CHECK(csv.find("nan") == std::string::npos);
  CHECK(rows[3].rfind("1,", 0) == 0);
  for (const char* t : {"T3", "T2", "T1"}) CHECK(std::filesystem::exists(dir.file(std::string("red/") + t + "/checkpoint.h5")));
  // The T = 1 stage learnt something beyond what it was initialised with (chance is 0.1).
  CHECK(csv_field(rows[3], 2) > 0.3);
  // Run again: every stage is complete, nothing is retrained, the table is the same.
  const auto again = run_cli(cmd, dir);
  REQUIRE(again.status == 0);
  CHECK_THAT(again.out, Catch::Contains("continuing from"));
  CHECK(read_text(dir.file("red/reduction.csv")) == csv);
  // Stages need the same layers: a checkpoint of another model is refused.
  CHECK(run_cli("train --reduce-to 5 --timesteps 3 --data .", dir).status == 2);
  CHECK(run_cli("train --model fmnist-ann --reduce-to 1 --data .", dir).status == 2);
}

TEST_CASE("kspike train --model FILE: a model TOML with Poisson input, IF/LIF layers, SGD and a membrane read-out learns",
          "[train][cli][model]") {
  if (!std::filesystem::exists(std::string(fmnist) + "/train-labels-idx1-ubyte.gz")) {
    WARN("skipped: " << fmnist << " is absent");
    return;
  }
  kspike_test::temp_dir dir;
  std::ofstream(dir.file("custom.toml")) << R"([model]
input = [1, 28, 28]
classes = 10
timesteps = 4
encoding = "poisson"
loss = "ce_membrane"
[neuron]
kind = "if"
surrogate = "triangle"
[[layers]]
type = "conv"
out = 8
kernel = 3
stride = 2
padding = 1
[[layers]]
type = "batchnorm"
[[layers]]
type = "spike"
[[layers]]
type = "maxpool"
size = 2
[[layers]]
type = "flatten"
[[layers]]
type = "dropout"
p = 0.1
[[layers]]
type = "linear"
out = 64
[[layers]]
type = "batchnorm"
[[layers]]
type = "spike"
kind = "lif"
beta = 0.8
[[layers]]
type = "linear"
out = 10
[train]
optimizer = "sgd"
lr = 0.1
nesterov = true
weight_decay = 1e-4
schedule = "step"
batch = 32
epochs = 2
)";
  const auto r = run_cli("train --model custom.toml --limit 640 --test-limit 500 --threads 2 --out c", dir);
  INFO(r.out << r.err);
  REQUIRE(r.status == 0);
  std::istringstream csv(read_text(dir.file("c/metrics.csv")));
  std::string header, row1, row2;
  std::getline(csv, header);
  std::getline(csv, row1);
  std::getline(csv, row2);
  CHECK(row2.rfind("2,", 0) == 0);
  CHECK(csv_field(row2, 3) > 0.5);  // test accuracy; chance 0.1
  // The same file with RMP-Loss on a linear ramp, and latency input: reports its term.
  const auto rmp = run_cli("train --model custom.toml --neuron lif --encoding latency --rmp-weight 0.5 --rmp-schedule linear "
                          "--limit 320 --test-limit 200 --epochs 1 --threads 2 --out c2", dir);
  INFO(rmp.out << rmp.err);
  REQUIRE(rmp.status == 0);
  CHECK_THAT(rmp.out, Catch::Contains("last RMP term"));
  // Hoyer spikes with the Hoyer regulariser in the loss.
  const auto hoyer = run_cli("train --neuron hoyer --hoyer-weight 1e-8 --limit 320 --test-limit 200 --batch 32 --epochs 1 --out h", dir);
  REQUIRE(hoyer.status == 0);
  CHECK_THAT(hoyer.out, Catch::Contains("last Hoyer term"));
  // Bad model files and combinations: one line naming the layer or key, exit 2.
  std::ofstream(dir.file("bad.toml")) << "[model]\nclasses = 10\n[[layers]]\ntype = \"conv\"\nout = 4\n[[layers]]\ntype = \"linear\"\nout = 10\n";
  const auto bad = run_cli("train --model bad.toml --data .", dir);
  CHECK(bad.status == 2);
  CHECK_THAT(bad.err, Catch::Contains("bad.toml: layers[1] (linear)"));
  CHECK(std::count(bad.err.begin(), bad.err.end(), '\n') == 1);
  const auto rmp_mpbn = run_cli("train --neuron mpbn --rmp-weight 0.1 --data .", dir);
  CHECK(rmp_mpbn.status == 2);
  CHECK_THAT(rmp_mpbn.err, Catch::Contains("rmp_weight"));
}
