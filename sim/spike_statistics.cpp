#include "sim/spike_statistics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "sim/core/error.hpp"

namespace kspike {

namespace {

// Mean over neurons of std(ISI) / mean(ISI), from each neuron's sorted spike times.
void irregularity(const std::vector<std::vector<double>>& per_neuron, std::int64_t min_spikes,
                  population_statistics& out) {
  double sum = 0;
  std::int64_t n = 0;
  for (const auto& t : per_neuron) {
    if (static_cast<std::int64_t>(t.size()) < std::max<std::int64_t>(min_spikes, 3)) continue;
    double mean = 0;
    for (std::size_t k = 1; k < t.size(); ++k) mean += t[k] - t[k - 1];
    mean /= static_cast<double>(t.size() - 1);
    double var = 0;
    for (std::size_t k = 1; k < t.size(); ++k) var += (t[k] - t[k - 1] - mean) * (t[k] - t[k - 1] - mean);
    var /= static_cast<double>(t.size() - 1);
    if (mean > 0) {
      sum += std::sqrt(var) / mean;
      ++n;
    }
  }
  out.cv_neurons = n;
  out.cv_isi = n > 0 ? sum / static_cast<double>(n) : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace

std::vector<population_statistics> spike_statistics(const std::vector<population_spikes>& pops,
                                                    const spike_window& w) {
  if (!(w.to_ms > w.from_ms) || !std::isfinite(w.to_ms) || !std::isfinite(w.from_ms))
    throw error("the window [from, to) must be a finite interval of positive length");
  if (!(w.bin_ms > 0)) throw error("the synchrony bin must be > 0 ms");
  const double span = w.to_ms - w.from_ms;
  const auto bins = static_cast<std::size_t>(std::ceil(span / w.bin_ms));
  std::vector<population_statistics> out;
  for (const auto& p : pops) {
    population_statistics s;
    s.name = p.name;
    s.size = p.size;
    if (p.size <= 0) throw error(p.name + ": a population needs at least one neuron");
    std::vector<std::vector<double>> per_neuron(static_cast<std::size_t>(p.size));
    std::vector<double> counts(bins, 0.0);
    for (std::size_t k = 0; k < p.node_ids.size(); ++k) {
      const double t = p.times_ms[k];
      if (!(t >= w.from_ms && t < w.to_ms)) continue;
      const std::uint64_t id = p.node_ids[k];
      if (id >= static_cast<std::uint64_t>(p.size))
        throw error(p.name + ": node id " + std::to_string(id) + " is outside the population's " +
                    std::to_string(p.size) + " neurons");
      ++s.spikes;
      per_neuron[static_cast<std::size_t>(id)].push_back(t);
      if (static_cast<std::int64_t>(id) < w.synchrony_neurons)
        counts[std::min(bins - 1, static_cast<std::size_t>((t - w.from_ms) / w.bin_ms))] += 1;
    }
    s.rate_hz = static_cast<double>(s.spikes) / (static_cast<double>(p.size) * span * 1e-3);
    for (auto& t : per_neuron) std::sort(t.begin(), t.end());
    irregularity(per_neuron, w.min_spikes_for_cv, s);
    double mean = 0, var = 0;
    for (double c : counts) mean += c;
    mean /= static_cast<double>(bins);
    for (double c : counts) var += (c - mean) * (c - mean);
    var /= static_cast<double>(bins);
    s.synchrony = mean > 0 ? var / mean : std::numeric_limits<double>::quiet_NaN();
    out.push_back(s);
  }
  return out;
}

}  // namespace kspike
