// The kspike executable end to end: outputs, determinism across backends and thread counts,
// one-line errors with exit status 2 and no output for bad input, and SIGINT handling.
#include <catch2/catch.hpp>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "sim/backend.hpp"
#include "sim/io/sonata.hpp"
#include "support/cli_runner.hpp"
#include "support/fixtures.hpp"
#include "support/paths.hpp"
#include "support/small_network.hpp"

extern char** environ;

namespace {

using result = kspike_test::cli_result;

// Runs kspike with arguments (shell-quoted by the caller), capturing stdout and stderr.
result kspike_cli(const std::string& arguments, const kspike_test::temp_dir& dir) {
  return kspike_test::run_kspike(arguments, dir);
}

std::string cuba() { return kspike_test::source_dir() + "/experiments/networks/cuba.toml"; }

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// Starts kspike with these arguments (no shell: the tests signal the process itself).
pid_t start_kspike(std::vector<std::string> args) {
  const std::string bin = kspike_test::kspike_binary();
  args.insert(args.begin(), bin);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  REQUIRE(posix_spawn(&pid, bin.c_str(), nullptr, nullptr, argv.data(), environ) == 0);
  return pid;
}

}  // namespace

TEST_CASE("kspike run writes a SONATA file and a summary", "[cli]") {
  kspike_test::temp_dir dir;
  const auto r = kspike_cli("run '" + cuba() + "' --duration 0.2 --out spikes.h5 --csv", dir);
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("real-time factor"));
  REQUIRE(std::filesystem::exists(dir.file("spikes.h5")));
  CHECK(!std::filesystem::exists(dir.file("spikes.h5.tmp")));
  const auto pops = kspike::io::read_spike_report(dir.file("spikes.h5"));
  REQUIRE(pops.size() == 2);
  CHECK(pops[0].name == "exc");
  CHECK(pops[0].sorting == "by_time");
  CHECK(pops[0].node_ids.size() > 100);
  CHECK(std::is_sorted(pops[0].timestamps.begin(), pops[0].timestamps.end()));
  CHECK(pops[0].timestamps.back() <= 200.0);
  // The CSV copy holds the same spikes, one per line after a header.
  std::ifstream csv(dir.file("spikes.csv"));
  std::string line;
  REQUIRE(std::getline(csv, line));
  CHECK(line == "population,node_id,time_ms");
  std::size_t lines = 0;
  while (std::getline(csv, line)) ++lines;
  CHECK(lines == pops[0].node_ids.size() + pops[1].node_ids.size());
  CHECK(!std::filesystem::exists(dir.file("spikes.csv.tmp")));
}

TEST_CASE("same seed, same spike file on serial and on openmp with 1 and 2 threads", "[cli][determinism]") {
  // --parallel-threshold 0 makes the 2-thread run use the OpenMP kernels on this small network.
  kspike_test::temp_dir dir;
  std::vector<std::string> runs = {"--backend serial --out a.h5", "--backend openmp --threads 1 --out b.h5",
                                   "--backend openmp --threads 2 --parallel-threshold 0 --out c.h5"};
  for (const auto& extra : runs) {
    const auto r = kspike_cli("run '" + cuba() + "' --duration 0.3 -q " + extra, dir);
    INFO(r.err);
    REQUIRE(r.status == 0);
  }
  const auto a = kspike::io::read_spike_report(dir.file("a.h5"));
  for (const char* other : {"b.h5", "c.h5"}) {
    const auto b = kspike::io::read_spike_report(dir.file(other));
    REQUIRE(a.size() == b.size());
    for (std::size_t p = 0; p < a.size(); ++p) {
      CHECK(a[p].node_ids == b[p].node_ids);
      CHECK(a[p].timestamps == b[p].timestamps);
    }
  }
}

TEST_CASE("bad input: one line naming file and field, exit 2, no output file", "[cli][errors]") {
  kspike_test::temp_dir dir;
  const std::string net = dir.file("net.toml");
  auto expect_error = [&](const std::string& text, const std::string& args, const std::vector<std::string>& words) {
    if (!text.empty()) write(net, text);
    const auto r = kspike_cli(args, dir);
    INFO("stderr: " << r.err);
    CHECK(r.status == 2);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    for (const auto& w : words) CHECK_THAT(r.err, Catch::Contains(w));
    CHECK(!std::filesystem::exists(dir.file("out.h5")));
    CHECK(!std::filesystem::exists(dir.file("out.h5.tmp")));
  };
  const std::string base = kspike_test::small_network_toml;
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string s = base;
    const auto at = s.find(from);
    REQUIRE(at != std::string::npos);
    return s.replace(at, from.size(), to);
  };
  const std::string run = "run net.toml --out out.h5";
  SECTION("malformed TOML") { expect_error(base + "\n[[[broken\n", run, {"net.toml"}); }
  SECTION("unknown model") { expect_error(replace("model = \"lif\"", "model = \"hodgkin\""), run, {"net.toml", "model"}); }
  SECTION("unknown parameter") { expect_error(replace("tau = \"10 ms\"", "tua = \"10 ms\""), run, {"net.toml", "tua"}); }
  SECTION("dt <= 0") { expect_error(replace("dt = \"0.1 ms\"", "dt = \"-0.1 ms\""), run, {"net.toml", "dt"}); }
  SECTION("delay shorter than dt") { expect_error(replace("delay = \"1 ms\"", "delay = \"0.01 ms\""), run, {"net.toml", "delay"}); }
  SECTION("probability outside [0, 1]") { expect_error(replace("p = 0.5", "p = 1.5"), run, {"net.toml", "p"}); }
  SECTION("negative size") { expect_error(replace("size = 5", "size = -5"), run, {"net.toml", "size"}); }
  SECTION("missing config") { expect_error("", "run nowhere.toml --out out.h5", {"nowhere.toml"}); }
  SECTION("unwritable output path") {
    write(net, base);
    const auto r = kspike_cli("run net.toml --out no/such/dir/out.h5", dir);
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Catch::Contains("no/such/dir/out.h5"));
    CHECK(!std::filesystem::exists(dir.file("no")));
  }
  SECTION("unknown backend") { expect_error(base, "run net.toml --out out.h5 --backend quantum", {"--backend", "quantum"}); }
  SECTION("negative duration") { expect_error(base, "run net.toml --out out.h5 --duration -1", {"--duration"}); }
}

TEST_CASE("SIGINT and SIGTERM close a readable partial file and exit 130 and 143", "[cli][signal]") {
  const auto [sig, code] = GENERATE(std::pair{SIGINT, 130}, std::pair{SIGTERM, 143});
  kspike_test::temp_dir dir;
  const std::string out = dir.file("long.h5");
  const std::string cfg = cuba();
  const pid_t pid = start_kspike({"run", cfg, "--duration", "1000", "--out", out, "-q"});
  // Wait until the run is under way (the temporary file exists), then interrupt it.
  for (int k = 0; k < 300 && !std::filesystem::exists(out + ".tmp"); ++k)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  kill(pid, sig);
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == code);
  CHECK(!std::filesystem::exists(out));
  REQUIRE(std::filesystem::exists(out + ".partial"));
  const auto pops = kspike::io::read_spike_report(out + ".partial");
  REQUIRE(pops.size() == 2);
  CHECK(!pops[0].timestamps.empty());
}

TEST_CASE("SIGINT while a large network is built stops the build: exit 130, no file", "[cli][signal]") {
  // 100 million synapses with normal weights and delays: seconds of drawing on any CPU.
  kspike_test::temp_dir dir;
  const std::string cfg = dir.file("large.toml");
  std::ofstream(cfg) << R"(
dt = "0.1 ms"
[populations.a]
size = 2000
model = "lif"
tau = "10 ms"
[projections.many]
pre = "a"
post = "a"
connector = { type = "fixed_total_number", n = 100000000 }
weight = { normal = ["0.1 mV", "0.02 mV"] }
delay = { normal = ["1.5 ms", "0.5 ms"], min = "0.1 ms" }
)";
  const std::string out = dir.file("large.h5");
  const pid_t pid = start_kspike({"run", cfg, "--duration", "1000", "--threads", "1", "--out", out, "-q"});
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  kill(pid, SIGINT);
  // The build checks for a signal after every chunk of about a million synapses (well under a
  // second, even under AddressSanitizer). Before it did, the signal waited for the whole build
  // (15 s on the 2-core VM) and was seen only once the simulation began.
  int status = 0;
  bool exited = false;
  for (int k = 0; k < 50 && !exited; ++k) {
    exited = waitpid(pid, &status, WNOHANG) == pid;
    if (!exited) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (!exited) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    FAIL("kspike run went on building for 5 s after SIGINT");
  }
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 130);
  CHECK(!std::filesystem::exists(out));
  CHECK(!std::filesystem::exists(out + ".tmp"));
  CHECK(!std::filesystem::exists(out + ".partial"));
}

TEST_CASE("every subcommand has --help", "[cli]") {
  kspike_test::temp_dir dir;
  // The commands as kspike --help lists them: "  NAME", then " SUB" for a subcommand (one space,
  // lower case; arguments are upper case, descriptions follow after a wider gap). Each has
  // --help, and the message for an unknown command names every one.
  const auto usage = kspike_cli("--help", dir);
  REQUIRE(usage.status == 0);
  std::istringstream lines(usage.out);
  std::vector<std::string> listed;
  std::set<std::string> names;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("  ", 0) != 0 || line.size() < 3 || !std::islower(static_cast<unsigned char>(line[2]))) continue;
    std::istringstream words(line);
    std::string name, sub;
    words >> name >> sub;
    names.insert(name);
    const std::size_t after = 2 + name.size();
    const bool has_sub = line.size() > after + 1 && line[after] == ' ' && std::islower(static_cast<unsigned char>(line[after + 1]));
    listed.push_back(has_sub ? name + " " + sub : name);
  }
  for (const char* c : {"run", "stats", "info", "bench cuba", "bench vpr", "bench backends", "bench train", "vpr",
                        "vpr ensemble", "train", "eval", "fold", "convert", "energy", "deploy"})
    CHECK(std::find(listed.begin(), listed.end(), c) != listed.end());
  for (const auto& c : listed) {
    INFO(c);
    const auto r = kspike_cli(c + " --help", dir);
    CHECK(r.status == 0);
    CHECK_THAT(r.out, Catch::Contains("options"));
  }
  const auto unknown = kspike_cli("teleport", dir);
  CHECK(unknown.status == 2);
  for (const auto& n : names) CHECK_THAT(unknown.err, Catch::Contains(n));
  const auto info = kspike_cli("info", dir);
  CHECK(info.status == 0);
  CHECK_THAT(info.out, Catch::Contains("serial"));
  CHECK_THAT(info.out, Catch::Contains("Kokkos"));
}

// Inputs a hostile or careless user gives: each must end in one line naming the option or
// file, exit 2, no new file in the folder, and every file already there byte for byte unchanged.
TEST_CASE("hardening: absurd options, endless or special inputs, outputs that would destroy something",
          "[cli][errors][hardening]") {
  kspike_test::temp_dir dir;
  write(dir.file("net.toml"), kspike_test::small_network_toml);
  write(dir.file("existing.h5"), "not yet replaced");
  // 10^9 neurons; 10^15 synapses: refused from their description, before allocating.
  write(dir.file("neurons.toml"), "dt = \"0.1 ms\"\n[populations.a]\nsize = 1000000000\nmodel = \"lif\"\n");
  write(dir.file("synapses.toml"), "dt = \"0.1 ms\"\n[populations.a]\nsize = 10000000\nmodel = \"poisson\"\nrate = \"1 Hz\"\n"
        "[populations.b]\nsize = 100000000\nmodel = \"lif\"\n[projections.p]\npre = \"a\"\npost = \"b\"\n"
        "connector = \"all_to_all\"\nweight = \"1 mV\"\n");
  std::filesystem::create_directory(dir.file("folder"));
  std::filesystem::create_symlink(dir.file("net.toml"), dir.file("link.h5"));
  const auto listing = [&] {
    std::vector<std::pair<std::string, std::string>> files;
    for (const auto& e : std::filesystem::directory_iterator(dir.path)) {
      const std::string name = e.path().filename().string();
      if (name == "stdout.txt" || name == "stderr.txt") continue;
      files.emplace_back(name, e.is_regular_file() && !e.is_symlink() ? kspike_test::read_text(e.path().string()) : "");
    }
    std::sort(files.begin(), files.end());
    return files;
  };
  const auto before = listing();
  const auto expect_refused = [&](const std::string& args, const std::string& words) {
    const auto r = kspike_cli(args, dir);
    INFO(args << "\nstderr: " << r.err);
    CHECK(r.status == 2);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK_THAT(r.err, Catch::Contains(words));
    CHECK(listing() == before);
  };
  expect_refused("run neurons.toml --out out.h5 --max-memory 1", "neurons.toml: the network needs about 68 GB");
  expect_refused("run synapses.toml --out out.h5", "1e+15 synapses");
  expect_refused("run net.toml --out out.h5 --max-memory -3", "--max-memory");
  expect_refused("run net.toml --out out.h5 --threads 100000", "--threads");
  expect_refused("run net.toml --out out.h5 --duration 1e300", "duration");
  expect_refused("run net.toml --out out.h5 --seed -1", "--seed");
  expect_refused("run net.toml --out out.h5 --seed 7x", "--seed");
  expect_refused("run /dev/zero --out out.h5", "/dev/zero: not a regular file");
  expect_refused("run folder --out out.h5", "folder: is a folder");
  expect_refused("run net.toml --out net.toml", "is also an input");
  expect_refused("run net.toml --out folder", "not a regular file");
  expect_refused("run net.toml --out link.h5", "not a regular file");
  expect_refused("run net.toml --out /dev/null", "not a regular file");
  expect_refused("run net.toml --out missing/out.h5", "does not exist");
  expect_refused("vpr " + kspike_test::source_dir() + "/experiments/vpr/ral2022.toml --seed -3", "--seed");
  expect_refused("bench vpr --data no-such-folder", "--data");
  expect_refused("bench vpr --data random --images 1 --n-e 2 --write-rates folder", "not a regular file");
  expect_refused("bench vpr --data random --images 1 --n-e 2 --write-rates missing/rates.csv", "does not exist");
  expect_refused("train --limit -1 --epochs 1", "--limit");
  expect_refused("train --test-limit 0 --epochs 1", "--test-limit");
  expect_refused("train --hoyer-weight -0.5 --epochs 1", "--hoyer-weight");
  expect_refused("train --rmp-weight -1 --epochs 1", "--rmp-weight");
  expect_refused("bench train --steps 0", "--steps");
  expect_refused("bench train --timesteps -2", "--timesteps");
  expect_refused("eval --model nowhere.h5 --test-limit -5", "--test-limit");
  // --threads and --backend are one shared definition: every command refuses the same values.
  for (const char* command : {"run net.toml --out out.h5", "vpr net.toml", "train --epochs 1", "eval --model x.h5",
                              "fold x.h5", "bench cuba", "bench vpr", "bench train"}) {
    expect_refused(std::string(command) + " --threads 0", "--threads: must be >= 1");
    expect_refused(std::string(command) + " --backend quantum", "--backend: unknown or not compiled in: 'quantum'");
  }
  expect_refused("bench cuba --seed -4", "--seed");
  expect_refused("train --seed x --epochs 1", "--seed");
  // A write error (here the file-size limit, the same error path as a full disk): one line,
  // exit 2, no file left, nothing earlier replaced. HDF5's exit-time shutdown used to crash here.
  for (const char* net : {"net.toml --csv", "stdp.toml"}) {
    std::filesystem::copy_file(kspike_test::source_dir() + "/experiments/networks/stdp_song2000.toml",
                               dir.file("stdp.toml"), std::filesystem::copy_options::overwrite_existing);
    const std::string cmd = "cd '" + dir.path.string() + "' && trap '' XFSZ && ulimit -f 8 && OMP_PROC_BIND=false '" +
                            kspike_test::kspike_binary() + "' run " + net + " --out existing.h5 --duration 1 --quiet 2> err.txt";
    const int rc = std::system(cmd.c_str());
    const std::string err = kspike_test::read_text(dir.file("err.txt"));
    INFO(cmd << "\nstderr: " << err);
    CHECK((WIFEXITED(rc) && WEXITSTATUS(rc) == 2));
    CHECK(std::count(err.begin(), err.end(), '\n') == 1);
    CHECK_THAT(err, Catch::Contains("existing") && Catch::Contains(".h5") && Catch::Contains("disk full"));
    std::filesystem::remove(dir.file("err.txt"));
    std::filesystem::remove(dir.file("stdp.toml"));
    CHECK(listing() == before);
  }
  // Overwriting an earlier output is fine: it is replaced only once the new run is complete.
  const auto r = kspike_cli("run net.toml --out existing.h5 --duration 0.01 --quiet", dir);
  CHECK(r.status == 0);
  CHECK(kspike_test::read_text(dir.file("existing.h5")) != "not yet replaced");
}

TEST_CASE("kspike bench backends: every backend per workload, their agreement, and the table and plot", "[cli][bench]") {
  kspike_test::temp_dir dir;
  const std::string net = kspike_test::source_dir() + "/experiments/networks/brunel.toml";
  const auto r = kspike_cli("bench backends --workloads cuba,'" + net + "' --duration 0.05 --max-threads 2 --out results", dir);
  INFO(r.err);
  REQUIRE(r.status == 0);
  const std::string md = kspike_test::read_text(dir.file("results/backends.md"));
  const std::string csv = kspike_test::read_text(dir.file("results/backends.csv"));
  const std::string json = kspike_test::read_text(dir.file("results/backends.json"));
  // Every backend compiled in (OpenMP at 1 and 2 threads), for both workloads.
  std::size_t rows = 0;
  for (const auto& b : kspike::compiled_backends())
    for (const char* w : {"cuba", "brunel"})
      for (int t = 1; t <= (b == "openmp" ? 2 : 1); ++t) {
        CHECK_THAT(md, Catch::Contains("| " + std::string(w) + " | " + b + " | " + std::to_string(t) + " |"));
        ++rows;
      }
  CHECK_THAT(md, !Catch::Contains("**no**"));   // the CPU backends agree
  CHECK_THAT(md, Catch::Contains("yes (spikes "));
  CHECK(static_cast<std::size_t>(std::count(csv.begin(), csv.end(), '\n')) == rows + 1);  // header + a row per run
  CHECK_THAT(json, Catch::Contains("\"agrees\": true"));
  CHECK_THAT(json, !Catch::Contains("\"agrees\": false"));
  CHECK(std::filesystem::exists(dir.file("results/backends.png")));
  // Bad input: one line, exit 2.
  const auto bad = kspike_cli("bench backends --workloads cuba,warp --out other", dir);
  CHECK(bad.status == 2);
  CHECK_THAT(bad.err, Catch::Contains("--workloads: unknown workload 'warp'"));
  CHECK(!std::filesystem::exists(dir.file("other")));
  write(dir.file("plain"), "x");
  const auto not_a_folder = kspike_cli("bench backends --workloads cuba --out plain", dir);
  CHECK(not_a_folder.status == 2);
  CHECK_THAT(not_a_folder.err, Catch::Contains("--out: 'plain' exists and is not a folder"));
}

TEST_CASE("kspike bench backends --against: another binary side by side, its results and times compared", "[cli][bench]") {
  kspike_test::temp_dir dir;
  const std::string bin = kspike_test::kspike_binary();
  const auto executable = [&](const std::string& name, const std::string& script) {
    write(dir.file(name), "#!/bin/sh\n" + script + "\n");
    std::filesystem::permissions(dir.file(name), std::filesystem::perms::owner_all);
    return dir.file(name);
  };
  const std::string common = "bench backends --workloads cuba --duration 0.05 --max-threads 1 --repeats 2 --against ";
  // Against itself: the same results; the times differ by the machine's noise only.
  const auto same = kspike_cli(common + "'" + bin + "' --tolerance 1000 --out same", dir);
  INFO(same.err);
  CHECK(same.status == 0);
  const std::string md = kspike_test::read_text(dir.file("same/backends.md"));
  CHECK_THAT(md, Catch::Contains("| against | time / against's | agrees with against |"));
  CHECK_THAT(md, Catch::Contains("Each time is the fastest of 2 runs."));
  CHECK_THAT(kspike_test::read_text(dir.file("same/backends.csv")), Catch::Contains(",against_time,ratio_to_against,agrees_with_against\n"));
  CHECK_THAT(kspike_test::read_text(dir.file("same/backends.json")), Catch::Contains("\"agrees_with_against\": true"));
  // A binary whose runs report a time a billion times shorter: every row is flagged, exit 1.
  const std::string fast = executable("fast.sh", "'" + bin + "' \"$@\" | sed 's/\"wall_s\": [0-9.e+-]*/\"wall_s\": 1e-12/'");
  const auto slower = kspike_cli(common + "'" + fast + "' --out slower", dir);
  CHECK(slower.status == 1);
  CHECK_THAT(slower.err, Catch::Contains("took more than 1.5x the time of"));
  CHECK_THAT(kspike_test::read_text(dir.file("slower/backends.json")), Catch::Contains("\"agrees_with_against\": true"));
  // A binary that simulates another seed: different spikes, named, exit 1.
  const std::string other = executable("other.sh", "exec '" + bin + "' \"$@\" --seed 3");
  const auto unlike = kspike_cli(common + "'" + other + "' --tolerance 1000 --out unlike", dir);
  CHECK(unlike.status == 1);
  CHECK_THAT(unlike.err, Catch::Contains("differ from"));
  CHECK_THAT(kspike_test::read_text(dir.file("unlike/backends.md")), Catch::Contains("**no**: spikes "));
  // Bad input: one line, exit 2, nothing written.
  const auto missing = kspike_cli(common + "nowhere --out missing", dir);
  CHECK(missing.status == 2);
  CHECK_THAT(missing.err, Catch::Contains("--against: nowhere: not an executable file"));
  CHECK(!std::filesystem::exists(dir.file("missing")));
}

TEST_CASE("kspike bench vpr: the input rates for a peer simulator, and the run without normalisation", "[cli][bench]") {
  // The rates a peer (experiments/bench/brian2/vpr_module.py) reads: one row of 784 per image,
  // pixel / 4 Hz, so quarters in [0, 63.75].
  kspike_test::temp_dir dir;
  const auto r = kspike_cli("bench vpr --data random --images 3 --n-e 4 --no-normalise --write-rates rates.csv --json", dir);
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("\"normalise\": false"));
  std::ifstream csv(dir.file("rates.csv"));
  std::string line;
  int rows = 0;
  while (std::getline(csv, line)) {
    ++rows;
    std::stringstream fields(line);
    std::string field;
    int n = 0;
    while (std::getline(fields, field, ',')) {
      const double hz = std::stod(field);
      CHECK(hz >= 0.0);
      CHECK(hz <= 63.75);
      CHECK(hz * 4.0 == std::floor(hz * 4.0));
      ++n;
    }
    CHECK(n == 784);
  }
  CHECK(rows == 3);
  CHECK(!std::filesystem::exists(dir.file("rates.csv.tmp")));
  // With normalisation (the default) the same run reports it.
  const auto normalised = kspike_cli("bench vpr --data random --images 1 --n-e 4 --json", dir);
  CHECK(normalised.status == 0);
  CHECK_THAT(normalised.out, Catch::Contains("\"normalise\": true"));
}

TEST_CASE("kspike stats: rate, CV ISI and synchrony of known spike trains", "[cli][stats]") {
  // Neuron 0 fires every 10 ms (intervals all equal: CV 0); neuron 1 at 10, 30 and 35 ms
  // (intervals 20 and 5 ms: mean 12.5, sd 7.5, CV 0.6). Over [0, 50 ms): 7 spikes of 2 neurons,
  // 70 Hz; the mean CV is 0.3. In 3 ms bins (17 of them, the last one short) the counts are 2, 1,
  // 2, 1, 1 and twelve zeros: mean 7/17, variance 11/17 - (7/17)^2, synchrony 1.15966.
  kspike_test::temp_dir dir;
  write(dir.file("known.toml"), R"(
dt = "0.1 ms"
duration = "50 ms"
[populations.trains]
size = 2
model = "spike_source_array"
spike_times = [["10 ms", "20 ms", "30 ms", "40 ms"], ["10 ms", "30 ms", "35 ms"]]
[[record.spikes]]
population = "trains"
)");
  REQUIRE(kspike_cli("run known.toml --out known.h5 -q", dir).status == 0);
  const auto r = kspike_cli("stats known.toml known.h5 --json known.json --reference-rates 56 --plot known.png", dir);
  INFO(r.out << r.err);
  REQUIRE(r.status == 0);
  const std::string json = kspike_test::read_text(dir.file("known.json"));
  CHECK_THAT(json, Catch::Contains("\"spikes\": 7"));
  CHECK_THAT(json, Catch::Contains("\"rate_hz\": 70,"));
  CHECK_THAT(json, Catch::Contains("\"cv_isi\": 0.3,"));
  CHECK_THAT(json, Catch::Contains("\"cv_neurons\": 2"));
  CHECK_THAT(json, Catch::Contains("\"synchrony\": 1.15966"));
  CHECK_THAT(json, Catch::Contains("\"deviation_percent\": 25"));
  CHECK_THAT(r.out, Catch::Contains("+25.0 %"));
  // A window that leaves out neuron 1's third spike: 5 spikes in [0, 32 ms), CV only where a
  // neuron has 3 spikes in it (neuron 0: 10, 20, 30 ms).
  const auto w = kspike_cli("stats known.toml known.h5 --to 0.032 --json window.json", dir);
  REQUIRE(w.status == 0);
  const std::string wj = kspike_test::read_text(dir.file("window.json"));
  CHECK_THAT(wj, Catch::Contains("\"spikes\": 5"));
  CHECK_THAT(wj, Catch::Contains("\"cv_neurons\": 1"));
  CHECK_THAT(wj, Catch::Contains("\"cv_isi\": 0,"));
}
