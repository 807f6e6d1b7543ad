#include "experiments/cli/summary.hpp"

#include <cstdio>

#include "sim/backend.hpp"

namespace kspike::cli {

void print_summary(std::ostream& os, const engine& eng, const std::string& config,
                   const std::vector<std::string>& files, std::uint64_t spikes_recorded, double build_seconds) {
  const network& net = eng.description();
  const engine_stats& st = eng.stats();
  std::int64_t neurons = 0;
  const int copies = eng.instances();
  for (const auto& p : net.populations) neurons += p.size * copies;
  char line[256];
  os << "kspike run " << config << " on " << eng.backend() << " (kernels: " << eng.kernel_space() << ", "
     << backend_concurrency(eng.kernel_space()) << " thread(s), table walked "
     << (eng.table_walk_at_arrival() ? "at arrival" : "at spike") << ")\n";
  std::snprintf(line, sizeof line, "  %lld neurons in %zu populations, %lld synapses, dt %.3g ms; engine state %.1f MB\n",
                static_cast<long long>(neurons), net.populations.size(), static_cast<long long>(eng.synapse_count()),
                net.dt * 1e3, static_cast<double>(eng.memory_bytes()) / 1e6);
  os << line;
  if (copies > 1)
    os << "  " << copies << " instances (seeds " << net.seed << " .. " << net.seed + static_cast<std::uint64_t>(copies - 1)
       << "); neurons, spikes and rates below are over all of them\n";
  const double t = eng.time();
  std::snprintf(line, sizeof line, "  built in %.3f s; simulated %.4g s in %.3f s (real-time factor %.4f)\n", build_seconds, t,
                st.wall_seconds, t > 0 ? st.wall_seconds / t : 0.0);
  os << line;
  for (std::size_t i = 0; i < net.populations.size(); ++i) {
    const auto& p = net.populations[i];
    std::snprintf(line, sizeof line, "  %-12s %8lld neurons %10llu spikes  %8.3f Hz\n", p.name.c_str(),
                  static_cast<long long>(p.size * copies), static_cast<unsigned long long>(st.spikes[i]),
                  t > 0 ? static_cast<double>(st.spikes[i]) / (static_cast<double>(p.size * copies) * t) : 0.0);
    os << line;
  }
  std::snprintf(line, sizeof line, "  %llu synaptic events\n", static_cast<unsigned long long>(st.synaptic_events));
  os << line;
  for (std::size_t i = 0; i < files.size(); ++i)
    os << "  wrote " << files[i] << (i == 0 ? " (" + std::to_string(spikes_recorded) + " spikes)" : "") << "\n";
}

}  // namespace kspike::cli
