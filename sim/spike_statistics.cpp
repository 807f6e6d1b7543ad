#include "sim/spike_statistics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "sim/core/error.hpp"

namespace kspike {

namespace {

// Mean over neurons of std(ISI) / mean(ISI), from the window's (neuron, time) pairs sorted by
// neuron then time: memory in proportion to the spikes, not to the population.
void irregularity(const std::vector<std::pair<std::uint64_t, double>>& spikes, std::int64_t min_spikes,
                  population_statistics& out) {
  const std::size_t least = static_cast<std::size_t>(std::max<std::int64_t>(min_spikes, 3));
  double sum = 0;
  std::int64_t n = 0;
  for (std::size_t first = 0; first < spikes.size();) {
    std::size_t last = first;
    while (last < spikes.size() && spikes[last].first == spikes[first].first) ++last;
    const std::size_t count = last - first;
    if (count >= least) {
      const double mean = (spikes[last - 1].second - spikes[first].second) / static_cast<double>(count - 1);
      double var = 0;
      for (std::size_t k = first + 1; k < last; ++k) {
        const double d = spikes[k].second - spikes[k - 1].second - mean;
        var += d * d;
      }
      var /= static_cast<double>(count - 1);
      if (mean > 0) {
        sum += std::sqrt(var) / mean;
        ++n;
      }
    }
    first = last;
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
  // The count histogram is the one allocation that grows with the window, not the spikes.
  constexpr double max_bins = 1e8;
  if (span / w.bin_ms > max_bins)
    throw error("the window holds more than 1e8 synchrony bins of " + std::to_string(w.bin_ms) + " ms: use a wider bin");
  const auto bins = static_cast<std::size_t>(std::ceil(span / w.bin_ms));
  std::vector<population_statistics> out;
  for (const auto& p : pops) {
    population_statistics s;
    s.name = p.name;
    s.size = p.size;
    if (p.size <= 0) throw error(p.name + ": a population needs at least one neuron");
    if (p.node_ids.size() != p.times_ms.size())
      throw error(p.name + ": " + std::to_string(p.node_ids.size()) + " node ids but " + std::to_string(p.times_ms.size()) +
                  " times");
    std::vector<std::pair<std::uint64_t, double>> in_window;
    std::vector<double> counts(bins, 0.0);
    for (std::size_t k = 0; k < p.node_ids.size(); ++k) {
      const double t = p.times_ms[k];
      if (!(t >= w.from_ms && t < w.to_ms)) continue;
      const std::uint64_t id = p.node_ids[k];
      if (id >= static_cast<std::uint64_t>(p.size))
        throw error(p.name + ": node id " + std::to_string(id) + " is outside the population's " +
                    std::to_string(p.size) + " neurons");
      in_window.emplace_back(id, t);
      if (static_cast<std::int64_t>(id) < w.synchrony_neurons)
        counts[std::min(bins - 1, static_cast<std::size_t>((t - w.from_ms) / w.bin_ms))] += 1;
    }
    s.spikes = in_window.size();
    s.rate_hz = static_cast<double>(s.spikes) / (static_cast<double>(p.size) * span * 1e-3);
    std::sort(in_window.begin(), in_window.end());
    irregularity(in_window, w.min_spikes_for_cv, s);
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
