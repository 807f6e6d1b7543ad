#pragma once
// Statistics of recorded spike trains, per population: mean rate, irregularity (coefficient
// of variation of inter-spike intervals) and synchrony (Fano factor of the population's spike
// count in short bins), as Potjans & Diesmann (2014) characterise the asynchronous irregular
// state. Host-only; used by `kspike stats` and the microcircuit tests.
#include <cstdint>
#include <string>
#include <vector>

namespace kspike {

struct population_spikes {
  std::string name;
  std::int64_t size = 0;              // neurons, silent ones included
  std::vector<std::uint64_t> node_ids;
  std::vector<double> times_ms;
};

struct spike_window {
  double from_ms = 0, to_ms = 0;      // spikes with from <= t < to count
  double bin_ms = 3;                  // synchrony: width of the count bins
  std::int64_t synchrony_neurons = 1000;  // synchrony: the first this many neurons (ids 0..)
  std::int64_t min_spikes_for_cv = 3;     // irregularity: neurons with at least this many spikes
};

struct population_statistics {
  std::string name;
  std::int64_t size = 0;
  std::uint64_t spikes = 0;           // in the window
  double rate_hz = 0;                 // spikes / (size * window)
  double cv_isi = 0;                  // mean over neurons with enough spikes (NaN: none)
  std::int64_t cv_neurons = 0;        // how many neurons that mean is over
  double synchrony = 0;               // variance / mean of the binned count (1 for Poisson; NaN: no spike)
};

// Throws kspike::error when the window is empty or a node id is outside the population.
std::vector<population_statistics> spike_statistics(const std::vector<population_spikes>& pops,
                                                    const spike_window& window);

}  // namespace kspike
