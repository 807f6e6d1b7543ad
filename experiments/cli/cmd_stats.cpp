// kspike stats CONFIG SPIKES.h5: rate, irregularity and synchrony of each recorded population.
#include <boost/program_options.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>

#include "experiments/cli/commands.hpp"
#include "sim/core/error.hpp"
#include "sim/io/json_text.hpp"
#include "sim/io/network_config.hpp"
#include "sim/io/png_check.hpp"
#include "sim/io/sonata.hpp"
#include "sim/io/text_file.hpp"
#include "sim/spike_statistics.hpp"

namespace kspike::cli {

namespace {

// Three panels over the populations: rate (beside the reference rates when given), CV ISI and
// synchrony. The data go inline into the gnuplot script.
void draw(const std::string& png, const std::vector<population_statistics>& stats, const std::vector<double>& reference,
          double from, double to) {
  std::ostringstream data;
  for (std::size_t k = 0; k < stats.size(); ++k)
    data << k << " \"" << stats[k].name << "\" " << io::json_number(stats[k].rate_hz) << " "
         << (reference.empty() ? std::string("NaN") : io::json_number(reference[k])) << " "
         << (std::isfinite(stats[k].cv_isi) ? io::json_number(stats[k].cv_isi) : std::string("NaN")) << " "
         << (std::isfinite(stats[k].synchrony) ? io::json_number(stats[k].synchrony) : std::string("NaN")) << "\n";
  std::ostringstream gp;
  gp << "set terminal pngcairo size 1200,420 font ',10'\nset output '" << png << ".tmp'\n"
     << "$d << EOD\n" << data.str() << "EOD\n"
     << "set multiplot layout 1,3 title 'spikes from " << from << " s to " << to << " s'\n"
     << "set style fill solid 0.8 border -1\nset boxwidth 0.35\nset xtics rotate by -45\nset grid ytics\nset yrange [0:*]\n"
     << "set title 'rate [Hz]'\n"
     << (reference.empty()
             ? "plot $d using 1:3:xtic(2) with boxes lc rgb '#3060a0' notitle\n"
             : "set key top left\nplot $d using ($1-0.18):3:xtic(2) with boxes lc rgb '#3060a0' title 'kspike', "
               "$d using ($1+0.18):4 with boxes lc rgb '#c0c0c0' title 'reference'\n")
     << "set boxwidth 0.6\nset title 'CV of inter-spike intervals'\nplot $d using 1:5:xtic(2) with boxes lc rgb '#3060a0' notitle\n"
     << "set title 'synchrony (count variance / mean)'\nplot $d using 1:6:xtic(2) with boxes lc rgb '#3060a0' notitle\n"
     << "unset multiplot\n";
  io::plot_with_gnuplot(gp.str(), png);
}

}  // namespace

int cmd_stats(const args& a) {
  namespace po = boost::program_options;
  po::options_description opts(
      "kspike stats CONFIG SPIKES.h5 [options]: mean rate, irregularity (CV of inter-spike intervals) and\n"
      "synchrony (variance / mean of the spike count in bins) of each population of a spike file that\n"
      "`kspike run CONFIG` wrote; CONFIG gives the populations' sizes (docs/cli.md)\n\noptions");
  std::string config, spikes, json, plot, reference_text;
  double from = 0, to = -1, bin = 3;
  std::int64_t sync_neurons = 1000;
  opts.add_options()
      ("from", po::value(&from)->default_value(0), "start of the window [s] (leave out the start-up transient)")
      ("to", po::value(&to), "end of the window [s] (default: CONFIG's duration)")
      ("bin", po::value(&bin)->default_value(3), "synchrony: width of the count bins [ms]")
      ("synchrony-neurons", po::value(&sync_neurons)->default_value(1000),
       "synchrony: count the spikes of each population's first N neurons")
      ("reference-rates", po::value(&reference_text),
       "comma-separated rates [Hz], one per population in file order, to compare with (adds "
       "columns and bars: e.g. a published model's rates)")
      ("plot", po::value(&plot), "also draw rate, CV ISI and synchrony per population into this PNG")
      ("json", po::value(&json), "also write the table as JSON to this file");
  po::variables_map vm;
  if (!parse_arguments(a, opts, {{"config", &config}, {"spikes", &spikes}}, vm)) return exit_ok;
  if (config.empty() || spikes.empty()) throw error("usage: kspike stats CONFIG SPIKES.h5 [options]");
  const network net = io::load_network(config);
  if (!vm.count("to")) to = net.duration;
  if (!(from >= 0) || !std::isfinite(from)) throw error("--from: must be a time >= 0 s (got " + std::to_string(from) + ")");
  if (!(to > from) || !std::isfinite(to))
    throw error("--to: must be after --from (got " + std::to_string(to) + " s, from " + std::to_string(from) + " s)");
  if (!(bin > 0) || !std::isfinite(bin)) throw error("--bin: must be > 0 ms (got " + std::to_string(bin) + ")");
  if ((to - from) * 1e3 / bin > 1e8)
    throw error("--bin: " + std::to_string(bin) + " ms makes more than 1e8 bins of the window; use a wider bin");
  at_least(sync_neurons, 1, "--synchrony-neurons");
  if (!json.empty()) check_output_file(json, "--json", {config, spikes});
  if (!plot.empty()) check_output_file(plot, "--plot", {config, spikes, json});
  check_distinct_outputs({{"--json", json}, {"--plot", plot}});
  std::vector<double> reference;
  if (!reference_text.empty()) {
    std::stringstream list(reference_text);
    for (std::string item; std::getline(list, item, ',');) {
      char* end = nullptr;
      const double r = std::strtod(item.c_str(), &end);
      if (item.empty() || end != item.c_str() + item.size() || !(r >= 0) || !std::isfinite(r))
        throw error("--reference-rates: '" + item + "' is not a rate >= 0 in Hz");
      reference.push_back(r);
    }
  }

  std::map<std::string, std::int64_t> sizes;
  for (const auto& p : net.populations) sizes[p.name] = p.size;
  std::vector<population_spikes> pops;
  for (auto& r : io::read_spike_report(spikes)) {
    // Copy k of a run with --instances is population NAME.k.
    std::string base = r.name;
    if (!sizes.count(base) && base.find('.') != std::string::npos) base = base.substr(0, base.rfind('.'));
    if (!sizes.count(base))
      throw error(spikes + ": population '" + r.name + "' is not in " + config);
    if (r.units != "" && r.units != "ms") throw error(spikes + ": /spikes/" + r.name + "/timestamps: units '" + r.units + "' (expected ms)");
    // As kspike run reads a spike file: a time that is not a number >= 0 is an error, not a
    // spike to leave out of the counts.
    for (std::size_t k = 0; k < r.timestamps.size(); ++k)
      if (!(std::isfinite(r.timestamps[k]) && r.timestamps[k] >= 0))
        throw error(spikes + ": /spikes/" + r.name + "/timestamps: spike " + std::to_string(k) + " has time " +
                    short_number(r.timestamps[k]) + " ms (times must be finite and >= 0)");
    population_spikes p;
    p.name = r.name;
    p.size = sizes[base];
    p.node_ids = std::move(r.node_ids);
    p.times_ms = std::move(r.timestamps);
    pops.push_back(std::move(p));
  }
  if (pops.empty()) throw error(spikes + ": no spike population in the file");
  if (!reference.empty() && reference.size() != pops.size())
    throw error("--reference-rates: " + std::to_string(reference.size()) + " rates for " + std::to_string(pops.size()) +
                " populations in " + spikes);
  spike_window w;
  w.from_ms = from * 1e3;
  w.to_ms = to * 1e3;
  w.bin_ms = bin;
  w.synchrony_neurons = sync_neurons;
  std::vector<population_statistics> stats;
  try {
    stats = spike_statistics(pops, w);
  } catch (const error& e) {
    throw error(spikes + ": " + e.what());
  }

  char line[256];
  std::snprintf(line, sizeof line, "kspike stats %s, %g s to %g s\n", spikes.c_str(), from, to);
  std::cout << line;
  std::snprintf(line, sizeof line, "  %-14s %9s %10s %9s %8s %10s%s\n", "population", "neurons", "spikes", "rate Hz",
                "CV ISI", "synchrony", reference.empty() ? "" : "  reference Hz  deviation");
  std::cout << line;
  std::ostringstream js;
  js << "{\n  \"spikes\": " << io::json_string(spikes) << ",\n  \"from_s\": " << io::json_number(from) << ",\n  \"to_s\": " << io::json_number(to)
     << ",\n  \"bin_ms\": " << io::json_number(bin) << ",\n  \"synchrony_neurons\": " << sync_neurons << ",\n  \"populations\": [";
  for (std::size_t k = 0; k < stats.size(); ++k) {
    const auto& s = stats[k];
    std::snprintf(line, sizeof line, "  %-14s %9lld %10llu %9.3f %8.3f %10.3f", s.name.c_str(),
                  static_cast<long long>(s.size), static_cast<unsigned long long>(s.spikes), s.rate_hz, s.cv_isi,
                  s.synchrony);
    std::cout << line;
    const double deviation = reference.empty() || reference[k] == 0 ? NAN : (s.rate_hz / reference[k] - 1) * 100;
    if (!reference.empty()) {
      if (std::isnan(deviation))  // a reference of 0 Hz: no relative deviation
        std::snprintf(line, sizeof line, "  %12.3f  %10s", reference[k], "n/a");
      else
        std::snprintf(line, sizeof line, "  %12.3f  %+8.1f %%", reference[k], deviation);
      std::cout << line;
    }
    std::cout << "\n";
    js << (k ? "," : "") << "\n    {\"name\": " << io::json_string(s.name) << ", \"neurons\": " << s.size << ", \"spikes\": " << s.spikes
       << ", \"rate_hz\": " << io::json_number(s.rate_hz) << ", \"cv_isi\": " << io::json_number(s.cv_isi)
       << ", \"cv_neurons\": " << s.cv_neurons << ", \"synchrony\": " << io::json_number(s.synchrony);
    if (!reference.empty())
      js << ", \"reference_rate_hz\": " << io::json_number(reference[k]) << ", \"deviation_percent\": " << io::json_number(deviation);
    js << "}";
  }
  js << "\n  ]\n}\n";
  std::cout << "  CV ISI: mean over neurons with at least 3 spikes in the window; synchrony: 1 for independent\n"
               "  Poisson trains, larger when neurons fire together\n";
  if (!json.empty()) {
    io::write_text_file_atomically(json, js.str());
    std::cout << "  wrote " << json << "\n";
  }
  if (!plot.empty()) {
    draw(plot, stats, reference, from, to);
    if (std::filesystem::exists(plot)) std::cout << "  wrote " << plot << "\n";
  }
  return exit_ok;
}

}  // namespace kspike::cli
