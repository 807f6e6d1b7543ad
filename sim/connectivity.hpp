#pragma once
// Builds the synapse table of a network on the host: every projection's connector is
// expanded with the counter-based RNG (so the same seed gives the same synapses whatever
// the backend), then all synapses are grouped by pre-synaptic neuron into one CSR table.
// Host-only; the engine copies the table to its memory space.
#include <cstdint>
#include <vector>

#include "sim/network.hpp"
#include "sim/core/scalar_types.hpp"

namespace kspike {

struct synapse_table {
  std::vector<std::int64_t> row_ptr;   // global pre id -> first synapse; size n_total + 1
  std::vector<index_t> target;         // post global id * 2 + receptor
  std::vector<std::uint16_t> delay;    // whole steps, >= 1
  std::vector<float> weight;
  std::vector<std::int64_t> per_projection;  // synapse count of each projection
  // Only when some projection is plastic (else empty): the plastic rule of every synapse, the
  // index of its projection among the plastic ones, or -1 for a static synapse; and, for each
  // plastic projection, where its synapses (in the order they were generated) sit in the table.
  std::vector<std::int16_t> rule;
  std::vector<std::vector<std::int64_t>> position;  // per projection; empty for static ones
  int max_delay = 1;
  double max_abs_weight = 0.0;
  std::int64_t size() const { return static_cast<std::int64_t>(target.size()); }
};

// First global id of each population (size populations + 1; the last is the total).
std::vector<index_t> population_offsets(const network& net);

synapse_table build_synapses(const network& net, const std::vector<index_t>& offsets);

// Draws one value of a distribution (also used for initial membrane potentials).
double draw(const value_dist& d, std::uint64_t seed, std::uint32_t stream, std::uint32_t index,
            std::uint64_t counter);

}  // namespace kspike
