#pragma once
// Builds the synapse table of a network on the host: every projection's connector is
// expanded with the counter-based RNG (so the same seed gives the same synapses whatever
// the backend), then all synapses are grouped by pre-synaptic neuron into one CSR table.
// Host-only; the engine copies the table to its memory space.
#include <cstdint>
#include <functional>
#include <vector>

#include "sim/network.hpp"
#include "sim/core/scalar_types.hpp"

namespace kspike {

// How the engine stores a projection and delivers its spikes (docs/architecture.md,
// "Projection kinds"): each kind has its own propagation kernel, all of them adding into the
// same delay ring, so the kind changes memory and speed, never a spike.
//   sparse        rows of the CSR table (fixed probability, fixed in-degree, lists, plastic)
//   dense         all-to-all: a pre x post matrix of weights and delays, no targets stored
//   one_to_one    pre i -> post i: one weight and delay per pair
//   all_but_self  all-to-all within a population without self-connections, every weight
//                 and delay the same (one of each stored); with drawn values it is dense
//                 with the diagonal skipped
//   conv, matrix  procedural (network.hpp procedural_connection): targets and weights computed
//                 from a shared convolution kernel or weight matrix, nothing per synapse
enum class projection_kind { sparse, dense, one_to_one, all_but_self, conv, matrix };

struct structured_projection {
  projection_kind kind = projection_kind::dense;
  std::size_t projection = 0;  // index in network::projections
  std::size_t pre_population = 0;
  int receptor = 0;
  index_t pre_begin = 0, n_pre = 0, post_begin = 0, n_post = 0;
  bool skip_self = false;       // dense: no synapse i -> i
  std::size_t cells = 0;        // synapse positions of one instance (n_pre * n_post, or n for one_to_one)
  // Per synapse ([inst * cells + i * n_post + j] for dense, [inst * cells + i] for
  // one_to_one), or a single value when every synapse of every instance has the same.
  std::vector<float> weight;
  std::vector<std::uint16_t> delay;
  std::int64_t synapses = 0;    // of all instances
  procedural_connection procedural;  // conv and matrix: the geometry (weight holds the kernel or matrix)
};

// The synapses of plastic projections with delays longer than one step (connectivity.cpp,
// `has_per_synapse_traces`): they learn when a spike arrives, so they are kept apart from the
// CSR table, grouped by pre neuron and, within a group, sorted by delay (stably), with the
// group's distinct delays listed as runs, so that the synapses a spike of step e reaches at
// step s (delay s - e + 1) are one contiguous range.
struct delayed_plastic_table {
  std::vector<std::int64_t> row_ptr;     // pre global id -> first synapse (size neurons + 1)
  std::vector<index_t> target;           // post * 2 + receptor
  std::vector<std::uint16_t> delay;      // steps, >= 1
  std::vector<float> weight;
  std::vector<std::int16_t> rule;        // index among all plastic projections
  std::vector<std::int64_t> run_ptr;     // pre global id -> first run (size neurons + 1)
  std::vector<std::uint16_t> run_delay;  // per run: its delay
  std::vector<std::int64_t> run_first;   // per run: its first synapse
  int max_delay = 0;                     // the longest delay among them (0: none)
  std::int64_t size() const { return static_cast<std::int64_t>(target.size()); }
};

// Whether a plastic projection learns with a trace per synapse (delays other than one step).
bool has_per_synapse_traces(const projection& pr, double dt);

struct synapse_table {
  std::vector<std::int64_t> row_ptr;   // global pre id -> first synapse; size n_total + 1
  std::vector<index_t> target;         // post global id * 2 + receptor
  std::vector<std::uint16_t> delay;    // whole steps, >= 1
  std::vector<float> weight;
  std::vector<std::int64_t> per_projection;  // synapse count of each projection (all instances)
  // Only when some projection is plastic (else empty): the plastic rule of every synapse, the
  // index of its projection among the plastic ones, or -1 for a static synapse; and, for each
  // plastic projection, where its synapses (in the order they were generated) sit in the table.
  std::vector<std::int16_t> rule;
  std::vector<std::vector<std::int64_t>> position;  // per projection; empty for static ones
  // Per plastic projection: where each instance's synapses start in `position` (instances + 1).
  // For projections with per-synapse traces, `position` indexes `delayed` instead of the table.
  std::vector<std::vector<std::int64_t>> instance_start;
  delayed_plastic_table delayed;
  std::vector<structured_projection> structured;  // the projections not in the CSR table
  int max_delay = 1;
  double max_abs_weight = 0.0;  // a bound from the description (weight_bound), not the drawn maximum
  int instances = 1;
  std::int64_t size() const { return static_cast<std::int64_t>(target.size()); }
};

// First global id of each population (size populations + 1; the last is the total); with N
// instances every population holds N * size ids, instance after instance.
std::vector<index_t> population_offsets(const network& net, int instances = 1);

// The kind the engine gives a projection (sparse when `structured` is false).
projection_kind choose_kind(const network& net, const projection& pr, bool structured = true);

// How build_synapses draws the projections of the CSR table. The table is the same whichever
// way (tests compare them); `by_size` draws a projection twice where drawn_twice says so.
struct table_drawing {
  enum class mode { by_size, once, twice };
  mode how = mode::by_size;
  std::int64_t chunks = 0;  // per projection drawn twice; 0: by threads and size (connectivity.cpp, chunks_for)
  // Whether the chunks run on the host threads (Kokkos' default host space) or all on the
  // calling thread (an engine on the Serial kernels: one thread means one thread).
  bool host_threads = true;
  // Called with (synapses placed, about how many in all) from the calling thread, a few times
  // a second for large networks (after each chunk of about a million synapses). It may throw
  // to abandon the build: the exception leaves build_synapses.
  std::function<void(std::int64_t done, std::int64_t total)> progress;
};

// Expands every projection; those of a structured kind go to `structured`, the rest into the
// CSR table. Synapses are drawn identically whatever their kind. With `instances` N > 1 the
// network is built N times, instance k with seed + k, population p's instance k at global ids
// offsets[p] + k * size .. (offsets from population_offsets with the same N).
// With target_parts P > 1, every row of the CSR table is put in the order of
// target_interleave::of(cells, P) (ties in generation order; plastic positions follow), for
// the OpenMP propagation by target on P threads. With rows_by_delay, each of a row's parts
// (the whole row where P = 1) is in order of delay instead, ties in generation order, for the
// walk at arrival (engine_options::table_walk).
synapse_table build_synapses(const network& net, const std::vector<index_t>& offsets, bool structured = true,
                             int instances = 1, std::int64_t target_parts = 1, const table_drawing& drawing = {},
                             bool rows_by_delay = false);

// Propagation by target on `parts` host threads (engine_step.hpp, walk_rows_by_target): part
// p owns the ring cells of every parts-th block of `block` cells, starting with block p, and
// adds into them without atomics. Interleaved blocks give every part an even share of any
// projection's targets, so that a step's events divide evenly whichever populations fired
// (halves of the cells did not: in the microcircuit a step's spikes mostly reach some layers,
// and one thread waited for the other at the end of each step). A row lists part 0's synapses
// first, then part 1's, each in cell order: rank(cell) is a cell's place in that order, and
// part p's cells have the ranks [first(p), first(p + 1)).
struct target_interleave {
  std::int64_t parts = 1, block = 2048, rounds = 1;  // block: cells (of 8-byte sums); of() chooses
  static target_interleave of(std::int64_t cells, std::int64_t parts);
  std::int64_t rank(std::int64_t cell) const {
    const std::int64_t b = cell / block;
    return (b % parts) * rounds * block + (b / parts) * block + cell % block;
  }
  std::int64_t first(std::int64_t part) const { return part * rounds * block; }
  std::int64_t part(std::int64_t cell) const { return (cell / block) % parts; }
};

// Where each part's synapses start in each row of a table built with `il.parts` target parts:
// for row i and part p = 1 .. parts - 1, the offset from the row's start at [i * (parts - 1) +
// p - 1] (part 0 starts with the row, the last part ends with it).
std::vector<std::uint32_t> row_part_splits(const synapse_table& t, const target_interleave& il);

// Whether a projection of the CSR table can be drawn twice (counting, then placing): not a
// list, and no per-synapse traces (their table layout is built from records).
bool can_draw_twice(const network& net, const projection& pr);

// Whether build_synapses draws a projection of the CSR table twice rather than once into
// 16-byte records: when it can, and is large enough that its per-chunk counts (8 bytes per
// chunk and pre neuron) take at most 2 bytes per expected synapse.
bool drawn_twice(const network& net, const projection& pr, std::int64_t chunks);

// The positions 0 .. n - 1 in the order of their keys, ties in position order (the order
// build_synapses puts a row in with target parts), sorting `digit` bits a pass.
std::vector<std::uint32_t> stable_order(const index_t* key, std::size_t n, int digit = 11);

// The largest |weight| a projection's description allows (it sets the fixed-point scale).
double weight_bound(const projection& pr);

// Draws one value of a distribution (also used for initial membrane potentials).
double draw(const value_dist& d, std::uint64_t seed, std::uint32_t stream, std::uint32_t index,
            std::uint64_t counter);

}  // namespace kspike
