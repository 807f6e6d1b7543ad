#include "experiments/cli/engine_energy.hpp"

#include <cstdio>
#include <sstream>
#include <type_traits>
#include <variant>

#include "sim/energy_model.hpp"
#include "sim/io/json_text.hpp"
#include "sim/network.hpp"

namespace kspike::cli {

namespace {

// The whole run as one event-driven "layer": every synaptic event an accumulate, every neuron
// (sources excluded: they have no membrane) updated at every step, as the engine does.
struct run_counts {
  double seconds = 0, steps = 0, neurons = 0, events = 0, spikes = 0;
  energy::network_work work;
};

run_counts counts_of(const engine& eng) {
  run_counts c;
  const network& net = eng.description();
  const engine_stats& st = eng.stats();
  for (const auto& p : net.populations) {
    const bool source = std::visit(
        [](const auto& m) {
          using M = std::decay_t<decltype(m)>;
          return std::is_same_v<M, poisson_source> || std::is_same_v<M, spike_source_array>;
        },
        p.model);
    if (!source) c.neurons += double(p.size) * eng.instances();
  }
  c.seconds = eng.time();
  c.steps = double(st.steps);
  c.events = double(st.synaptic_events);
  c.spikes = double(st.total_spikes());
  c.work = energy::event_network(c.events, c.neurons, c.steps, c.spikes);
  return c;
}


}  // namespace

std::string engine_energy_json(const engine& eng) {
  const run_counts c = counts_of(eng);
  const double per_s = c.seconds > 0 ? 1.0 / c.seconds : 0.0;
  std::ostringstream o;
  o << "{\n  \"simulated_seconds\": " << io::json_number(c.seconds) << ",\n  \"steps\": " << io::json_number(c.steps) << ",\n  \"neurons\": " << io::json_number(c.neurons)
    << ",\n  \"synaptic_events\": " << io::json_number(c.events) << ",\n  \"neuron_updates\": " << io::json_number(c.neurons * c.steps)
    << ",\n  \"spikes\": " << io::json_number(c.spikes) << ",\n  \"per_simulated_second\": {\"synaptic_events\": " << io::json_number(c.events * per_s)
    << ", \"neuron_updates\": " << io::json_number(c.neurons * c.steps * per_s) << ", \"spikes\": " << io::json_number(c.spikes * per_s) << "},\n  \"energy\": [";
  bool first = true;
  for (const auto& m : energy::event_network_models()) {
    const auto e = energy::estimate_energy(c.work, m);
    o << (first ? "" : ",") << "\n    {\"model\": \"" << e.model << "\", \"joules\": " << io::json_number(e.snn_joules)
      << ", \"joules_per_simulated_second\": " << io::json_number(e.snn_joules * per_s) << ", \"secondary\": " << (e.secondary ? "true" : "false") << "}";
    first = false;
  }
  o << "\n  ]\n}\n";
  return o.str();
}

std::string engine_energy_text(const engine& eng) {
  const run_counts c = counts_of(eng);
  const double per_s = c.seconds > 0 ? 1.0 / c.seconds : 0.0;
  std::ostringstream o;
  char line[200];
  std::snprintf(line, sizeof line, "  energy: %.4g synaptic events and %.4g neuron updates per simulated second\n", c.events * per_s,
                c.neurons * c.steps * per_s);
  o << line;
  for (const auto& m : energy::event_network_models()) {
    const auto e = energy::estimate_energy(c.work, m);
    std::snprintf(line, sizeof line, "    %-16s %.4g J per simulated second%s\n", e.model.c_str(), e.snn_joules * per_s,
                  e.secondary ? " (secondary source)" : "");
    o << line;
  }
  return o.str();
}

}  // namespace kspike::cli
