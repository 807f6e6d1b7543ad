#include "sim/memory_budget.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "sim/connectivity.hpp"
#include "sim/core/error.hpp"

namespace kspike {

namespace {

// Bytes per neuron outside the ring: v, syn_e, syn_i, theta, i_ext (4 each), since (4), the
// Poisson threshold (8), the spike list (4), the row pointer (8).
constexpr double bytes_per_neuron = 44;
// Per ring slot and neuron: two receptor cells of 8 bytes and two list entries of 4.
constexpr double ring_bytes_per_slot_neuron = 24;
// Per synapse at the peak of building. A large projection is drawn twice (connectivity.hpp,
// drawn_twice): the table (10 bytes: target, delay, weight) and its per-chunk counts (at most
// 2). A small one is first drawn into records (16 more). On the CPU backends the engine keeps
// the table's own storage; a GPU gets a copy, column by column straight from the host
// vectors (no host mirror), each freed once copied. (Measured: the full-scale microcircuit,
// 0.3 billion static synapses, peaks at 2.9 GiB, 10.5 bytes per synapse with its neurons and
// delay ring.) Plastic synapses add their rule, positions and column index (20 more, rounded
// up).
constexpr double bytes_per_synapse_drawn_twice = 12;
constexpr double bytes_per_synapse = 26;
constexpr double bytes_per_plastic_synapse = 46;
// The most chunks a projection is drawn in: four per host thread (connectivity.cpp). More
// chunks make fewer projections large enough to be drawn twice, so the estimate assumes
// every hardware thread is used.
std::int64_t most_chunks() { return 4 * static_cast<std::int64_t>(std::max(1u, std::thread::hardware_concurrency())); }
// A projection of a kind of its own (sim/connectivity.hpp) keeps a weight and a delay per
// synapse on the host while building and on the device (at most; one of each when constant).
constexpr double bytes_per_structured_synapse = 12;

double longest_delay_steps(const projection& pr, double dt) {
  if (pr.conn.type == connector::kind::from_list && pr.conn.list_has_delay) {
    double d = dt;
    for (const auto& e : pr.conn.list) d = std::max(d, e.delay);
    return d / dt;
  }
  if (!pr.has_delay) return 1;
  switch (pr.delay.type) {
    case value_dist::kind::constant: return pr.delay.a / dt;
    case value_dist::kind::uniform: return pr.delay.b / dt;
    case value_dist::kind::normal: return std::min(pr.delay.a + 6 * pr.delay.b, pr.delay.hi) / dt;  // a draw beyond is an error anyway
  }
  return 1;
}

std::string gigabytes(double bytes) {
  char s[32];
  std::snprintf(s, sizeof s, "%.3g GB", bytes / 1e9);
  return s;
}

}  // namespace

double expected_synapses(const network& net, const projection& pr) {
  const int a = net.find_population(pr.pre), b = net.find_population(pr.post);
  if (a < 0 || b < 0) return 0;
  const double n_pre = static_cast<double>(net.populations[static_cast<std::size_t>(a)].size);
  const double n_post = static_cast<double>(net.populations[static_cast<std::size_t>(b)].size);
  if (pr.procedural.type != procedural_connection::kind::none) {
    // Computed synapses: the pairs a spike can reach (at most kernel taps per output channel).
    const auto& g = pr.procedural;
    const double pooled = double(g.in_c) * double(g.in_h / g.pool) * double(g.in_w / g.pool) * double(g.pool * g.pool);
    return g.type == procedural_connection::kind::conv ? pooled * double(g.out_c) * double(g.kernel * g.kernel) : pooled * n_post;
  }
  switch (pr.conn.type) {
    case connector::kind::all_to_all: return n_pre * n_post;
    case connector::kind::one_to_one: return std::min(n_pre, n_post);
    case connector::kind::fixed_probability: return n_pre * n_post * pr.conn.p;
    case connector::kind::fixed_in_degree: return n_post * static_cast<double>(pr.conn.n);
    case connector::kind::fixed_total_number: return static_cast<double>(pr.conn.n);
    case connector::kind::from_list: return static_cast<double>(pr.conn.list.size());
  }
  return 0;
}

memory_estimate estimate_memory(const network& net, int instances) {
  memory_estimate m;
  const double copies = static_cast<double>(std::max(instances, 1));
  for (const auto& p : net.populations) m.neurons += copies * static_cast<double>(p.size);
  double synapse_bytes = 0;
  for (const auto& pr : net.projections) {
    const double n = copies * expected_synapses(net, pr);
    m.synapses += n;
    if (pr.procedural.type != procedural_connection::kind::none)
      synapse_bytes += 8.0 * static_cast<double>(pr.procedural.weights.size());  // the kernel or matrix, host and device
    else
      synapse_bytes += n * (choose_kind(net, pr) != projection_kind::sparse ? bytes_per_structured_synapse
                            : pr.plastic                                    ? bytes_per_plastic_synapse
                            : drawn_twice(net, pr, most_chunks())           ? bytes_per_synapse_drawn_twice
                                                                            : bytes_per_synapse);
    m.max_delay_steps = std::max(m.max_delay_steps, std::min(65535.0, longest_delay_steps(pr, net.dt) + 0.5));
  }
  m.neuron_bytes = m.neurons * bytes_per_neuron;
  m.ring_bytes = m.neurons * m.max_delay_steps * ring_bytes_per_slot_neuron;
  m.synapse_bytes = synapse_bytes;
  return m;
}

double available_memory_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  double kb = 0;
  while (in >> key >> kb) {
    if (key == "MemAvailable:") return kb * 1024;
    in.ignore(1 << 10, '\n');
  }
  return static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGE_SIZE));
}

void check_memory_budget(const network& net, double limit_bytes, const std::string& raise_hint, int instances) {
  const memory_estimate m = estimate_memory(net, instances);
  const double limit = limit_bytes > 0 ? limit_bytes : available_memory_bytes();
  if (m.total() <= limit) return;
  std::ostringstream what;
  what.precision(3);
  what << where(net.source, "") << ": the network needs about " << gigabytes(m.total()) << " (" << m.synapses
       << " synapses: " << gigabytes(m.synapse_bytes) << "; delay ring of " << static_cast<long long>(m.max_delay_steps)
       << " steps for " << m.neurons << " neurons: " << gigabytes(m.ring_bytes) << "; neuron state: "
       << gigabytes(m.neuron_bytes) << "), more than the " << gigabytes(limit)
       << (limit_bytes > 0 ? " allowed" : " this machine has available") << " (" << raise_hint << ")";
  throw error(what.str());
}

}  // namespace kspike
