#pragma once
// What a network will need in memory, estimated from its description before anything is
// allocated, so that a network of 10^9 neurons or 10^15 synapses is refused in milliseconds with
// one line instead of running for minutes and failing (or swapping) later.
#include <cstdint>
#include <string>

#include "sim/network.hpp"

namespace kspike {

struct memory_estimate {
  double neurons = 0;          // neurons in all populations
  double synapses = 0;         // expected synapse count (fixed_probability: its mean)
  double max_delay_steps = 1;  // the longest delay a projection can draw, in steps (ring slots)
  double neuron_bytes = 0;     // per-neuron state and index arrays
  double ring_bytes = 0;       // the delay ring and its delivery lists: slots x 2 receptors per neuron
  double synapse_bytes = 0;    // the synapse table while it is built (host) and kept (device)
  double total() const { return neuron_bytes + ring_bytes + synapse_bytes; }
};

// Expected synapses of one projection (the mean for fixed_probability).
double expected_synapses(const network& net, const projection& pr);
memory_estimate estimate_memory(const network& net, int instances = 1);  // N copies: N times the neurons and synapses

// Memory this machine can give now (MemAvailable of /proc/meminfo; physical memory where that
// is not readable).
double available_memory_bytes();

// Throws kspike::error naming the network file when the estimate exceeds `limit_bytes`
// (0: what available_memory_bytes() says). `raise_hint` tells the user how to allow more.
void check_memory_budget(const network& net, double limit_bytes, const std::string& raise_hint, int instances = 1);

}  // namespace kspike
