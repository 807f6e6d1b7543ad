// kspike bench backends: every workload on every backend compiled in (Serial, OpenMP at 1..N
// threads, CUDA), checking that they agree and writing a table (Markdown, CSV, JSON) and a
// plot of the speed-ups (docs/benchmarks.md).
//
// Each (workload, backend, threads) runs in a process of its own, `kspike bench WORKLOAD
// --backend B --threads T --json`: Kokkos fixes its thread count once per process, and a fresh
// process gives every run the same start. The workloads' own JSON carries what must agree
// (spike and event counts, spikes per image, the training loss).
//
// --against OLD runs another kspike binary (a build of an earlier commit) on each workload and
// backend right before this one, alternately, so that both see the same machine: a VM's speed
// drifts by a third within minutes, and a figure from another day compares machines, not builds.
#include <boost/program_options.hpp>
#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <unistd.h>

#include "experiments/cli/commands.hpp"
#include "sim/backend.hpp"
#include "sim/core/error.hpp"
#include "sim/io/png_check.hpp"
#include "sim/io/text_file.hpp"

namespace kspike::cli {

namespace {

namespace fs = std::filesystem;

struct workload {
  std::string name;
  std::vector<std::string> arguments;  // after `kspike bench`
  std::string time_key, time_unit;     // the timed quantity (lower is faster)
  std::vector<std::string> agree;      // what every backend must reproduce
};

struct config {
  std::string backend;
  int threads = 1;
  std::string label() const { return backend == "openmp" ? "openmp-" + std::to_string(threads) : backend; }
};

struct result {
  std::string workload, backend;
  int threads = 1;
  double time = 0, speedup = 0;
  std::string kernels;   // the execution space whose kernels ran, where the workload says
  std::string differs;   // empty: agrees with the first run of the workload
  std::vector<std::pair<std::string, std::string>> checked;
  double against_time = 0;      // --against: the other binary's time (0: not run)
  std::string against_differs;  // --against: where its results differ from this build's
};

// A string as a JSON string's contents.
std::string json_escaped(const std::string& s) {
  std::string e;
  for (char c : s) {
    if (c == '"' || c == '\\') e += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) e += c;
  }
  return e;
}

std::string quoted(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string self_path() {
  std::error_code ec;
  const fs::path p = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw error("bench backends: cannot find this program's path (/proc/self/exe)");
  return p.string();
}

// The CPU's name, as lscpu prints it.
std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      return colon == std::string::npos ? line : line.substr(colon + 2);
    }
  return "unknown CPU";
}

// `forced`: the OpenMP kernels run whatever the network's size (else the engine may choose its
// Serial kernels for small networks, as it does for a user by default).
workload make_workload(const std::string& w, double duration, int images, int modules, int steps, bool forced) {
  const std::string d = std::to_string(duration);
  std::vector<std::string> threshold;
  if (forced) threshold = {"--parallel-threshold", "0"};
  auto with = [&](std::vector<std::string> v) {
    v.insert(v.end(), threshold.begin(), threshold.end());
    return v;
  };
  if (w == "cuba") return {"cuba", with({"cuba", "--duration", d}), "wall_s", "s", {"spikes", "synaptic_events"}};
  if (w == "vpr")
    return {"vpr", {"vpr", "--images", std::to_string(images), "--modules", std::to_string(modules), "--data", "random"},
            "train_ms_per_batch_image", "ms per training image (" + std::to_string(modules) + " modules)",
            {"train_spikes_per_image", "test_spikes_per_image"}};
  if (w == "train") return {"train", {"train", "--steps", std::to_string(steps)}, "train_ms_per_image", "ms per image", {"loss"}};
  std::string file = w;
  const bool named = w == "brunel" || w == "microcircuit-0.1" || w == "microcircuit";
  if (named) file = "experiments/networks/" + w + ".toml";
  if (file.size() > 5 && file.substr(file.size() - 5) == ".toml") {
    if (!fs::is_regular_file(file)) throw error("--workloads: " + file + ": no such network file" + (named ? " (run from the repository)" : ""));
    return {fs::path(file).stem().string(), with({file, "--duration", d}), "wall_s", "s", {"spikes", "synaptic_events"}};
  }
  throw error("--workloads: unknown workload '" + w + "' (cuba, brunel, microcircuit-0.1, microcircuit, vpr, train, or a network .toml)");
}

// Runs `kspike bench ARGS --backend B --threads T --json` and returns its JSON object.
boost::property_tree::ptree run_child(const std::string& self, const workload& w, const config& c, std::string* log) {
  std::string cmd = quoted(self) + " bench";
  for (const auto& a : w.arguments) cmd += " " + quoted(a);
  cmd += " --backend " + c.backend + " --threads " + std::to_string(c.threads) + " --json 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) throw error("bench backends: cannot start " + cmd);
  std::string out;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  const int status = pclose(p);
  *log = out;
  std::string json;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);)
    if (!line.empty() && line[0] == '{') json = line;
  if (status != 0 || json.empty()) throw error("bench backends: `" + cmd + "` failed:\n" + out);
  boost::property_tree::ptree t;
  std::istringstream in(json);
  boost::property_tree::read_json(in, t);
  return t;
}

// A clustered bar chart of the speed-ups over Serial, log scale, one cluster per workload.
void plot(const fs::path& dir, const std::vector<workload>& ws, const std::vector<config>& cs, const std::vector<result>& rs) {
  std::ostringstream data;
  data << "workload";
  for (const auto& c : cs) data << ' ' << c.label();
  data << '\n';
  for (const auto& w : ws) {
    data << w.name;
    for (const auto& c : cs) {
      double s = 0;
      for (const auto& r : rs)
        if (r.workload == w.name && r.backend == c.backend && r.threads == c.threads) s = r.speedup;
      data << ' ' << (s > 0 ? s : 1e-9);
    }
    data << '\n';
  }
  const fs::path dat = dir / "backends.dat", png = dir / "backends.png";
  io::write_text_file_atomically(dat.string(), data.str());
  std::ostringstream gp;
  gp << "set terminal pngcairo size 900,500\nset output '" << png.string() << ".tmp'\n"
     << "set title 'Speed-up over Serial per workload (" << cpu_model() << ")'\n"
     << "set style data histogram\nset style histogram cluster gap 1\nset style fill solid border -1\n"
     << "set logscale y\nset yrange [0.1:*]\nset ylabel 'speed-up over serial (log scale)'\nset key outside right\nset grid ytics\n"
     << "plot '" << dat.string() << "' using 2:xtic(1) title columnheader(2)";
  for (std::size_t k = 1; k < cs.size(); ++k) gp << ", '' using " << k + 2 << " title columnheader(" << k + 2 << ")";
  gp << "\n";
  io::plot_with_gnuplot(gp.str(), png.string());
  fs::remove(dat);
}

}  // namespace

int bench_backends(const args& a) {
  namespace po = boost::program_options;
  po::options_description opts(
      "kspike bench backends [options]: run each workload on every backend compiled in (Serial, OpenMP at\n"
      "1..N threads, CUDA), each in its own process, check that they agree, and write backends.md, .csv,\n"
      ".json and a plot of the speed-ups over Serial (backends.png) to --out\n\noptions");
  std::string workloads = "cuba,brunel,microcircuit-0.1,vpr,train", out = "bench-backends", unused;
  int max_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency())), images = 10, steps = 3;
  double duration = 2.0, tolerance = 1.5;
  int repeats = 1;
  std::string against;
  bool forced = false;
  opts.add_options()
      ("workloads,w", po::value(&workloads), "comma-separated: cuba, brunel, microcircuit-0.1, microcircuit (full scale:\n"
       "about 3 GB, up to a minute to build per run), vpr, train, or network .toml files (default cuba,brunel,microcircuit-0.1,vpr,train)")
      ("max-threads", po::value(&max_threads), "OpenMP runs at 1..N threads (default: the CPU's hardware threads)")
      ("duration,d", po::value(&duration), "simulated time of the network workloads [s] (default 2)")
      ("images", po::value(&images), "vpr: training (and test) images (default 10) for as many modules as --max-threads")
      ("steps", po::value(&steps), "train: timed steps (default 3)")
      ("force-kernels", po::bool_switch(&forced), "network workloads: run each backend's own kernels at every size (by default the\n"
       "engine runs its Serial kernels where a step's work is too small to share, as kspike run does)")
      ("out,o", po::value(&out), "folder for the results (default bench-backends; created if missing)")
      ("against", po::value(&against), "another kspike binary (e.g. a build of an earlier commit): each run is made\n"
       "with it too, right before this build's, and the times and results compared")
      ("tolerance", po::value(&tolerance), "with --against: flag (and exit 1) where this build takes more than this\n"
       "factor times the other's time (default 1.5)")
      ("repeats", po::value(&repeats), "runs per backend (alternating with --against), the fastest kept (default 1)");
  po::variables_map vm;
  if (!parse_arguments(a, opts, "unused", unused, vm)) return exit_ok;
  at_least(max_threads, 1, "--max-threads");
  at_least(repeats, 1, "--repeats");
  if (!(tolerance >= 1) || tolerance > 1e6) throw error("--tolerance: must be >= 1 (got " + std::to_string(tolerance) + ")");
  if (vm.count("against") && (!fs::is_regular_file(against) || access(against.c_str(), X_OK) != 0))
    throw error("--against: " + against + ": not an executable file");
  at_least(images, 1, "--images");
  at_least(steps, 1, "--steps");
  if (!(duration > 0) || duration > 1e6) throw error("--duration: must be > 0 (got " + std::to_string(duration) + ")");
  std::vector<workload> ws;
  std::stringstream list(workloads);
  for (std::string w; std::getline(list, w, ',');)
    if (!w.empty()) ws.push_back(make_workload(w, duration, images, max_threads, steps, forced));
  if (ws.empty()) throw error("--workloads: none given");
  check_output_folder(out, "--out");  // before the workloads run, not after

  std::vector<config> cs;
  for (const auto& b : compiled_backends()) {
    if (b == "openmp")
      for (int t = 1; t <= max_threads; ++t) cs.push_back({b, t});
    else
      cs.push_back({b, 1});
  }
  std::stable_sort(cs.begin(), cs.end(), [](const config& x, const config& y) { return (x.backend == "serial") > (y.backend == "serial"); });

  const std::string self = self_path();
  std::vector<result> rs;
  bool all_agree = true;
  const std::size_t total = ws.size() * cs.size();
  std::size_t done = 0;
  for (const auto& w : ws) {
    const result* first = nullptr;
    const std::size_t begin = rs.size();
    for (const auto& c : cs) {
      std::string log;
      result r;
      r.workload = w.name;
      r.backend = c.backend;
      r.threads = c.threads;
      // What a run must reproduce, as a list of (key, value).
      const auto counts = [&](const boost::property_tree::ptree& t) {
        std::vector<std::pair<std::string, std::string>> v;
        for (const auto& k : w.agree) v.emplace_back(k, t.get<std::string>(k));
        return v;
      };
      for (int rep = 0; rep < repeats; ++rep) {
        std::vector<std::pair<std::string, std::string>> theirs;
        if (!against.empty()) {
          const auto o = run_child(against, w, c, &log);
          const double time = o.get<double>(w.time_key);
          if (rep == 0 || time < r.against_time) r.against_time = time;
          theirs = counts(o);
        }
        const auto t = run_child(self, w, c, &log);
        const double time = t.get<double>(w.time_key);
        if (rep == 0 || time < r.time) r.time = time;
        if (rep > 0) continue;  // the counts of the first round; later rounds only time
        r.kernels = t.get<std::string>("kernel_space", c.backend);
        r.checked = counts(t);
        for (std::size_t k = 0; k < theirs.size(); ++k)
          if (theirs[k] != r.checked[k])
            r.against_differs += w.agree[k] + " " + theirs[k].second + " (this build: " + r.checked[k].second + ") ";
      }
      rs.push_back(r);
      first = &rs[begin];
      if (rs.back().checked != first->checked) {
        all_agree = false;
        for (std::size_t k = 0; k < w.agree.size(); ++k)
          if (rs.back().checked[k] != first->checked[k])
            rs.back().differs += w.agree[k] + " " + rs.back().checked[k].second + " (first run: " + first->checked[k].second + ") ";
      }
      std::fprintf(stderr, "[%zu/%zu] %s on %s: %.4g %s%s", ++done, total, w.name.c_str(), c.label().c_str(), r.time, w.time_unit.c_str(),
                   rs.back().differs.empty() ? "" : "  DIFFERS");
      if (!against.empty())
        std::fprintf(stderr, " (against: %.4g, %.2fx its time)%s", r.against_time, r.against_time > 0 ? r.time / r.against_time : 0.0,
                     r.against_differs.empty() ? "" : "  DIFFERS FROM IT");
      std::fprintf(stderr, "\n");
    }
    double serial = 0;
    for (std::size_t k = begin; k < rs.size(); ++k)
      if (rs[k].backend == "serial") serial = rs[k].time;
    for (std::size_t k = begin; k < rs.size(); ++k) rs[k].speedup = serial > 0 && rs[k].time > 0 ? serial / rs[k].time : 0;
  }

  fs::create_directories(out);
  std::ostringstream md, csv, json;
  md << "# kspike bench backends\n\nCPU: " << cpu_model() << " (" << std::thread::hardware_concurrency() << " hardware threads). Command: `kspike bench backends";
  for (const auto& x : a) md << ' ' << x;
  md << "`.\n\n";
  const bool compared = !against.empty();
  if (compared)
    md << "Against: `" << against << "`, run right before this build on each row" << (repeats > 1 ? " (alternating)" : "")
       << "; a time above " << tolerance << "x the other's is marked.\n\n";
  if (repeats > 1) md << "Each time is the fastest of " << repeats << " runs.\n\n";
  md << "| workload | backend | threads | kernels | time | speed-up over serial | agrees with the first run |"
     << (compared ? " against | time / against's | agrees with against |" : "") << "\n|---|---|---|---|---|---|---|"
     << (compared ? "---|---|---|" : "") << "\n";
  csv << "workload,backend,threads,kernels,time,unit,speedup,agrees" << (compared ? ",against_time,ratio_to_against,agrees_with_against" : "")
      << "\n";
  json << "{\"cpu\": \"" << json_escaped(cpu_model()) << "\", \"results\": [";
  std::size_t slower = 0, unlike = 0;
  for (std::size_t k = 0; k < rs.size(); ++k) {
    const auto& r = rs[k];
    const workload& w = *std::find_if(ws.begin(), ws.end(), [&](const workload& x) { return x.name == r.workload; });
    std::string checked;
    for (const auto& [key, value] : r.checked) checked += (checked.empty() ? "" : ", ") + key + " " + value;
    char line[256], speedup[64];
    std::snprintf(line, sizeof line, "%.4g %s", r.time, w.time_unit.c_str());
    std::snprintf(speedup, sizeof speedup, "%.2fx", r.speedup);
    md << "| " << r.workload << " | " << r.backend << " | " << r.threads << " | " << r.kernels << " | " << line << " | " << speedup << " | "
       << (r.differs.empty() ? "yes (" + checked + ")" : "**no**: " + r.differs) << " |";
    csv << r.workload << ',' << r.backend << ',' << r.threads << ',' << r.kernels << ',' << r.time << ",\"" << w.time_unit << "\","
        << r.speedup << ',' << (r.differs.empty() ? "yes" : "no");
    json << (k ? ", " : "") << "{\"workload\": \"" << json_escaped(r.workload) << "\", \"backend\": \"" << r.backend << "\", \"threads\": " << r.threads
         << ", \"kernels\": \"" << json_escaped(r.kernels) << "\", \"time\": " << r.time << ", \"unit\": \"" << w.time_unit << "\", \"speedup\": " << r.speedup
         << ", \"agrees\": " << (r.differs.empty() ? "true" : "false");
    if (compared) {
      const double ratio = r.against_time > 0 ? r.time / r.against_time : 0;
      const bool too_slow = ratio > tolerance;
      slower += too_slow;
      unlike += !r.against_differs.empty();
      char other[64], times[64];
      std::snprintf(other, sizeof other, "%.4g", r.against_time);
      std::snprintf(times, sizeof times, "%.2fx", ratio);
      md << ' ' << other << " | " << (too_slow ? "**" + std::string(times) + "**" : std::string(times)) << " | "
         << (r.against_differs.empty() ? "yes" : "**no**: " + r.against_differs) << " |";
      csv << ',' << r.against_time << ',' << ratio << ',' << (r.against_differs.empty() ? "yes" : "no");
      json << ", \"against_time\": " << r.against_time << ", \"ratio_to_against\": " << ratio
           << ", \"agrees_with_against\": " << (r.against_differs.empty() ? "true" : "false");
    }
    md << '\n';
    csv << '\n';
    json << "}";
  }
  json << "]}\n";
  io::write_text_file_atomically((fs::path(out) / "backends.md").string(), md.str());
  io::write_text_file_atomically((fs::path(out) / "backends.csv").string(), csv.str());
  io::write_text_file_atomically((fs::path(out) / "backends.json").string(), json.str());
  plot(out, ws, cs, rs);
  std::cout << md.str();
  std::cout << "wrote " << out << "/backends.{md,csv,json,png}\n";
  if (!all_agree) std::cerr << "bench backends: some backends disagree (marked in the table)\n";
  if (unlike > 0) std::cerr << "bench backends: " << unlike << " run(s) differ from " << against << "'s results (marked in the table)\n";
  if (slower > 0)
    std::cerr << "bench backends: " << slower << " run(s) took more than " << tolerance << "x the time of " << against << " (marked in the table)\n";
  return all_agree && unlike == 0 && slower == 0 ? exit_ok : 1;
}

}  // namespace kspike::cli
