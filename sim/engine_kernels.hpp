#pragma once
// What the engine's kernels share: helpers written once for every Kokkos execution space
// (launches, atomics where threads share, the update and spike-collection loops, the random
// draws of Poisson sources and background input, STDP's trace and weight steps) and the plain
// structs the kernels capture. sim/engine_impl.hpp's member functions call them.
#include <Kokkos_Core.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <type_traits>
#include <variant>

#include "sim/connectivity.hpp"
#include "sim/engine.hpp"
#include "sim/engine_base.hpp"
#include "sim/core/device_copy.hpp"
#include "sim/core/error.hpp"
#include "sim/core/geometric_gap.hpp"
#include "sim/core/kokkos_math.hpp"
#include "sim/core/rng.hpp"

namespace kspike {

namespace detail {

template <class Exec>
constexpr bool is_serial() {
#ifdef KOKKOS_ENABLE_SERIAL
  return std::is_same<Exec, Kokkos::Serial>::value;
#else
  return false;
#endif
}

// Adds v to *p and returns the old value: a plain add where only one thread runs.
template <class Exec, class T>
KOKKOS_INLINE_FUNCTION T fetch_add(T* p, T v) {
  if constexpr (is_serial<Exec>()) {
    const T old = *p;
    *p = old + v;
    return old;
  } else {
    return Kokkos::atomic_fetch_add(p, v);
  }
}

template <class Exec, class T>
KOKKOS_INLINE_FUNCTION T exchange(T* p, T v) {
  if constexpr (is_serial<Exec>()) {
    const T old = *p;
    *p = v;
    return old;
  } else {
    return Kokkos::atomic_exchange(p, v);
  }
}

// The per-neuron loop of one block. A function of its own, with restrict-qualified
// arguments, so that the compiler knows the arrays do not overlap and vectorises it. `own`
// holds the model's own state variables of the population, one array of `stride` neurons
// after the other in the order of Model::variables; `local` is neuron lo's index in them.
template <class Model, bool injected_current>
KOKKOS_INLINE_FUNCTION int update_block(const typename Model::coeffs c,  // by value: no aliasing with the arrays
                                         real_t* KOKKOS_RESTRICT own, index_t stride, real_t* KOKKOS_RESTRICT se,
                                         real_t* KOKKOS_RESTRICT si, std::int32_t* KOKKOS_RESTRICT since,
                                         const real_t* KOKKOS_RESTRICT iext, index_t lo, index_t hi, index_t local) {
  using state = typename Model::state;
  int fired = 0;
  for (index_t i = lo; i < hi; ++i, ++local) {
    // A current nobody injects is not read: the loop is bound by memory traffic.
    state s{};
    index_t at = local;
    Model::variables([&](const char*, real_t state::*m, const char*, const char*) {
      s.*m = own[at];
      at += stride;
    });
    s.syn_e = se[i];
    s.syn_i = si[i];
    s.since = since[i];
    Model::step(c, s, (Model::uses_current && injected_current) ? iext[i] : real_t(0));
    at = local;
    Model::variables([&](const char*, real_t state::*m, const char*, const char*) {
      own[at] = s.*m;
      at += stride;
    });
    se[i] = s.syn_e;
    si[i] = s.syn_i;
    since[i] = s.since;
    fired += s.since == 0;  // a vectorised count, so that quiet blocks skip the spike scan
  }
  return fired;
}

// Appends the `fired` neurons of [lo, hi) that fired in this step (since == 0, see
// neurons/common.hpp) to the spike list, stopping as soon as all are found.
template <class Exec>
KOKKOS_INLINE_FUNCTION void collect_spikes(const std::int32_t* since, index_t lo, index_t hi, int fired,
                                           index_t* spikes, int* count) {
  if (fired == 0) return;
  const int at = fetch_add<Exec>(count, fired);
  int k = 0;
  // Chunks of 64 are tested with one vectorised count; only a chunk with a spike is walked.
  for (index_t c = lo; c < hi && k < fired; c += 64) {
    const index_t e = c + 64 < hi ? c + 64 : hi;
    int zeros = 0;
    for (index_t i = c; i < e; ++i) zeros += since[i] == 0;
    if (zeros == 0) continue;
    for (index_t i = c; i < e; ++i)
      if (since[i] == 0) spikes[at + k++] = i;
  }
}

// A delivered ring cell (2 × neuron + receptor) into its neuron's synaptic input; nothing for
// 0 (a cell listed twice reads 0 the second time, so two work items never write one neuron).
// The receptor's array is chosen into a named pointer first, never as the operand of a
// subscript: GCC 12 with -fsanitize=shift (part of -fsanitize=undefined) miscompiles
// `(c ? p : q)[i >> 1] += y`. Its C++ front end pushes the subscript into both arms of the
// conditional, and the saved value of the instrumented shift is then computed in one arm only,
// so the other arm indexes with garbage and the input is lost (no sanitizer report).
// Well-defined C++, a compiler defect: docs/builds.md has the reproducer, and
// tests/lint/source_rules.py keeps the shape out of the code.
// The synaptic variable y after a delivered cell's fixed-point sum x: every delivery path adds
// through here, so GPU and CPU kernels compute the same value.
KOKKOS_INLINE_FUNCTION real_t delivered(real_t y, fixed_t x, double inv) {
  return y + static_cast<real_t>(static_cast<double>(x) * inv);
}
// Part p's synapses [first, second) in row `pre` of a table whose rows are split by target
// part (connectivity.hpp row_part_splits: `inner` = parts - 1 offsets per row; none when
// there is one part).
KOKKOS_INLINE_FUNCTION Kokkos::pair<std::int64_t, std::int64_t> row_part(const std::int64_t* row, const std::uint32_t* split,
                                                                         std::int64_t inner, index_t pre, std::int64_t p) {
  const std::uint32_t* s = inner > 0 ? split + static_cast<std::int64_t>(pre) * inner : nullptr;
  return {p == 0 ? row[pre] : row[pre] + s[p - 1], p == inner ? row[pre + 1] : row[pre] + s[p]};
}

KOKKOS_INLINE_FUNCTION void deliver_cell(real_t* se, real_t* si, index_t cell, fixed_t x, double inv) {
  if (x == 0) return;
  real_t* const receptor = (cell & 1) ? si : se;
  receptor[cell >> 1] = delivered(receptor[cell >> 1], x, inv);
}

// Neurons [lo, hi) of a ring slot (cells 2 i, 2 i + 1: excitatory, inhibitory) into their
// synaptic variables, and the cells zeroed: the scan of a whole slot on a CPU. The additions of
// deliver_cell as selects, so that the loop vectorises (a cell of 0 leaves its variable
// untouched, as there).
KOKKOS_INLINE_FUNCTION void deliver_span(fixed_t* KOKKOS_RESTRICT slot, real_t* KOKKOS_RESTRICT se,
                                         real_t* KOKKOS_RESTRICT si, index_t lo, index_t hi, double inv) {
  for (index_t i = lo; i < hi; ++i) {
    const fixed_t xe = slot[2 * i], xi = slot[2 * i + 1];
    const real_t ye = delivered(se[i], xe, inv), yi = delivered(si[i], xi, inv);
    se[i] = xe != 0 ? ye : se[i];
    si[i] = xi != 0 ? yi : si[i];
    slot[2 * i] = 0;
    slot[2 * i + 1] = 0;
  }
}

// deliver_span for a cell's input held in two buffers (the ring's slot and the walk at
// arrival's): their integers summed first, so that the cell converts the one sum the ring
// alone would have held.
KOKKOS_INLINE_FUNCTION void deliver_span_of_two(fixed_t* KOKKOS_RESTRICT a, fixed_t* KOKKOS_RESTRICT b, real_t* KOKKOS_RESTRICT se,
                                                real_t* KOKKOS_RESTRICT si, index_t lo, index_t hi, double inv) {
  for (index_t i = lo; i < hi; ++i) {
    const fixed_t xe = a[2 * i] + b[2 * i], xi = a[2 * i + 1] + b[2 * i + 1];
    const real_t ye = delivered(se[i], xe, inv), yi = delivered(si[i], xi, inv);
    se[i] = xe != 0 ? ye : se[i];
    si[i] = xi != 0 ? yi : si[i];
    a[2 * i] = 0;
    a[2 * i + 1] = 0;
    b[2 * i] = 0;
    b[2 * i + 1] = 0;
  }
}

// After a step's delivery (one thread): the delivered slot's list is empty again (`listed`,
// unless null), and the last step's spike counts go to the totals and start from zero.
KOKKOS_INLINE_FUNCTION void close_step_counts(int* listed, int* count, std::uint64_t* total, int pops) {
  if (listed != nullptr) *listed = 0;
  for (int p = 0; p < pops; ++p) {
    total[p] += static_cast<std::uint64_t>(count[p]);
    count[p] = 0;
  }
}

// A step's spikes appended to the record buffer at *fill, population after population (each
// population's segment starts at its first neuron), and the step's counts to `row_counts`: one
// team.
template <class Team>
KOKKOS_INLINE_FUNCTION void record_step(const Team& m, const index_t* spikes, const index_t* begin, const int* count,
                                        int pops, index_t* buffer, std::int64_t* fill, int* row_counts) {
  std::int64_t at = *fill;
  for (int p = 0; p < pops; ++p) {
    const index_t* from = spikes + begin[p];
    index_t* to = buffer + at;
    Kokkos::parallel_for(Kokkos::TeamThreadRange(m, count[p]), [&](int k) { to[k] = from[k]; });
    at += count[p];
  }
  m.team_barrier();  // every thread has read *fill
  Kokkos::single(Kokkos::PerTeam(m), [&] {
    for (int p = 0; p < pops; ++p) row_counts[p] = count[p];
    *fill = at;
  });
}

// Kernel names for profiling tools, as strings made once: Kokkos takes a std::string, and
// building one from a literal at every launch would allocate on the hot path.
namespace label {
inline const std::string count_events = "kspike::count_events";
inline const std::string current = "kspike::current";
inline const std::string deliver = "kspike::deliver";
inline const std::string deliver_all = "kspike::deliver_all";
inline const std::string learn_pre = "kspike::learn_pre";
inline const std::string learn_post = "kspike::learn_post";
inline const std::string arrive = "kspike::arrive";
inline const std::string spike_history = "kspike::spike_history";
inline const std::string normalise = "kspike::normalise";
inline const std::string trace_decay = "kspike::trace_decay";
inline const std::string flush = "kspike::flush";
inline const std::string poisson = "kspike::poisson";
inline const std::string probe = "kspike::probe";
inline const std::string propagate = "kspike::propagate";
inline const std::string propagate_dense = "kspike::propagate_dense";
inline const std::string propagate_one_to_one = "kspike::propagate_one_to_one";
inline const std::string propagate_procedural = "kspike::propagate_procedural";
inline const std::string spike_array = "kspike::spike_array";
inline const std::string step_begin = "kspike::step_begin";
inline const std::string record = "kspike::record";
inline const std::string fused = "kspike::fused";
inline const std::string update = "kspike::update";
}  // namespace label

// Runs f(i) for i in [0, n) on Exec. On Serial this is the loop Kokkos would run, called
// directly: a CUBA step is a few microseconds, and Kokkos' per-launch bookkeeping (profiling
// hooks, policy set-up) is a measurable part of that. Other spaces go through Kokkos.
template <class Exec, class F>
void launch(const Exec& exec, const std::string& label, std::int64_t n, const F& f) {
  if constexpr (is_serial<Exec>()) {
    for (std::int64_t i = 0; i < n; ++i) f(i);
  } else {
    Kokkos::parallel_for(label, Kokkos::RangePolicy<Exec, Kokkos::IndexType<std::int64_t>>(exec, 0, n), f);
  }
}

// Waits for the kernels launched so far; nothing to wait for on Serial.
template <class Exec>
void wait(const Exec& exec) {
  if constexpr (!is_serial<Exec>()) exec.fence();
}

// One population's update, with its model's coefficients: the alternatives are the
// registered models' coeffs in registry order (neurons/registry.hpp), then none (sources).
template <class List>
struct coeffs_variant;
template <class... M>
struct coeffs_variant<neurons::model_list<M...>> {
  using type = std::variant<typename M::coeffs..., std::monostate>;
};
using model_coeffs = coeffs_variant<neurons::models>::type;

// One plastic projection's rule as the kernels use it (sim/network.hpp stdp_rule), with its
// populations' global id ranges; traces of rule r sit at [r * n, (r + 1) * n).
struct plastic_rule {
  index_t pre_begin = 0, pre_end = 0, post_begin = 0, post_end = 0;
  real_t decay_pre = 0, decay_post = 0, a_pre = 0, a_post = 0, w_min = 0, w_max = 0, inv_range = 0;
  bool nearest = false, multiplicative = false, learning = true;
  // A second post trace (stdp_rule::tau_post2) multiplying the update at post spikes.
  bool triplet = false;
  real_t decay_post2 = 0;
  // Delays other than one step: a pre trace per synapse, decayed from its last arrival with
  // decay_pre^k read from a table (at pre_table, pre_table_len entries; beyond it the trace is 0).
  bool per_synapse = false;
  std::int64_t pre_table = 0, pre_table_len = 0;
};

// A step count that no trace has seen: the synapse has had no arrival yet.
constexpr std::int64_t no_arrival = -(std::int64_t{1} << 62);

// A per-synapse pre trace as it is at step s, from its value at its last arrival.
KOKKOS_INLINE_FUNCTION real_t trace_at(const plastic_rule& r, const real_t* table, real_t x, std::int64_t last, std::int64_t s) {
  const std::int64_t k = s - last;
  return (last == no_arrival || k >= r.pre_table_len) ? real_t(0) : x * table[r.pre_table + k];
}

// Poisson source i of a population from `begin` in instances of `size` sources: instance k
// draws from seed + k with the source's index within its instance.
// Drawn every step: whether it fires at step t (its threshold: the spike probability scaled to
// 2^32; 0 never fires).
// The step's 32-bit draw of source `local` of instance `instance` (bernoulli_fires, poisson_block).
KOKKOS_INLINE_FUNCTION std::uint32_t bernoulli_word(std::uint64_t seed, std::uint32_t stream, index_t instance,
                                                    index_t local, std::int64_t t) {
  return philox4x32(seed + static_cast<std::uint64_t>(instance), stream, static_cast<std::uint32_t>(local),
                    static_cast<std::uint64_t>(t)).x[0];
}
KOKKOS_INLINE_FUNCTION bool bernoulli_fires(std::uint64_t threshold, std::uint64_t seed, std::uint32_t stream,
                                            index_t i, index_t begin, index_t size, std::int64_t t) {
  if (threshold == 0) return false;  // u < 0 is false anyway; this skips the draw
  const index_t instance = (i - begin) / size, local = i - begin - instance * size;
  return bernoulli_word(seed, stream, instance, local, t) < threshold;
}
// Sources [lo, hi) of a population drawn every step (bernoulli_fires's draws), those that fire
// appended to the spike list in index order: a CPU's block of sources. The draws of 64 sources
// go into a mask first, one instance's run at a time, in a loop the compiler vectorises
// (Philox is multiplies and xors: about 20x faster than drawing and appending source by
// source), then the sources that fire are appended.
template <class Exec>
KOKKOS_INLINE_FUNCTION void poisson_block(const std::uint64_t* thr, std::uint64_t seed, std::uint32_t stream,
                                          index_t lo, index_t hi, index_t begin, index_t size, std::int64_t t,
                                          index_t* spikes, int* count) {
  constexpr index_t chunk = 64;
  for (index_t c = lo; c < hi; c += chunk) {
    const index_t e = c + chunk < hi ? c + chunk : hi;
    unsigned char fired[chunk];
    for (index_t i = c; i < e;) {
      const index_t instance = (i - begin) / size, local = i - begin - instance * size;
      const index_t run_end = begin + (instance + 1) * size < e ? begin + (instance + 1) * size : e;
      const std::uint64_t* th = thr + i;
      unsigned char* f = fired + (i - c);
      const index_t n = run_end - i;
      for (index_t j = 0; j < n; ++j)  // a threshold of 0 never fires
        f[j] = static_cast<unsigned char>(bernoulli_word(seed, stream, instance, local + j, t) < th[j]);
      i = run_end;
    }
    int n = 0;
    for (index_t k = 0; k < e - c; ++k) n += fired[k];
    if (n == 0) continue;
    const int at = fetch_add<Exec>(count, n);
    int m = 0;
    for (index_t k = 0; k < e - c; ++k)
      if (fired[k]) spikes[at + m++] = c + k;
  }
}

// Drawn by gaps: the step of its next spike after it fired at step t, `draws` counting its draws.
KOKKOS_INLINE_FUNCTION std::int64_t next_spike_after(double inv_log_q, std::uint64_t seed, std::uint32_t stream,
                                                     index_t i, index_t begin, index_t size, std::int64_t t,
                                                     std::uint64_t& draws) {
  const index_t instance = (i - begin) / size, local = i - begin - instance * size;
  const std::int64_t gap = geometric_gap(inv_log_q, seed + static_cast<std::uint64_t>(instance), stream,
                                         static_cast<std::uint32_t>(local), draws++);
  return gap >= never_fires ? never_fires : t + 1 + gap;
}

// Background input: a Poisson count from one 32-bit uniform word x by inversion against a
// population's table of cumulative probabilities scaled to 2^32 (computed once on the host in
// double): the count is the number of entries <= x. Integer comparisons only, so every backend
// draws the same counts. The last entry is 2^32, above every word.
KOKKOS_INLINE_FUNCTION int poisson_count(std::uint32_t x, const std::uint64_t* cdf) {
  int k = 0;
  while (x >= cdf[k]) ++k;
  return k;
}

// A trace taking a spike: added (all pairs) or reset to the amplitude (nearest).
KOKKOS_INLINE_FUNCTION void take_spike(real_t& x, bool nearest, real_t a) { x = nearest ? a : x + a; }

// A weight after one STDP update by trace value x (potentiation when x > 0), clipped.
KOKKOS_INLINE_FUNCTION float stdp_step(const plastic_rule& r, float w, real_t x) {
  real_t dw = x;
  if (r.multiplicative) dw *= (x > 0 ? (r.w_max - w) : (w - r.w_min)) * r.inv_range;  // soft bounds
  const real_t v = w + dw;
  return v < r.w_min ? r.w_min : (v > r.w_max ? r.w_max : v);
}

// Calls f(model_tag<M>{}) for the registered model at `index`, in a kernel (the host's
// neurons::with_model_at is not a device function).
template <class F, class... M>
KOKKOS_INLINE_FUNCTION void on_model_at(neurons::model_list<M...>, int index, const F& f) {
  int k = 0;
  (void)((k++ == index ? (f(neurons::model_tag<M>{}), true) : false) || ...);
}
template <class... M>
constexpr std::size_t largest_coeffs(neurons::model_list<M...>) {
  std::size_t n = 0;
  ((n = sizeof(typename M::coeffs) > n ? sizeof(typename M::coeffs) : n), ...);
  return n;
}
constexpr std::size_t coeff_bytes = largest_coeffs(neurons::models{});

// The geometry of a procedural projection (network.hpp procedural_connection, without its
// weights): plain values a kernel can capture.
struct grid {
  std::int64_t in_c, in_h, in_w, pool, out_c, out_h, out_w, kernel, stride, padding;
};

struct population_info {
  index_t begin = 0, end = 0;  // every instance's neurons: instance k at begin + k * size
  index_t size = 0;            // neurons of one instance
  enum class kind { neuron, poisson, spike_array } type = kind::neuron;
  bool gaps = false;         // poisson: drawn as geometric gaps (poisson_source::sampling::gaps)
  bool has_current = false;  // some current source injects into this population
  model_coeffs coeffs;
  std::size_t state_offset = 0;         // where its model's own variables start in the state array
  std::size_t array_first = 0, array_end = 0, array_cursor = 0;  // spike arrays: its events, the next due
  std::vector<std::string> variables;   // their names, in storage order
  // Background Poisson input (population::background_input): per neuron and step, `chunks`
  // Poisson counts of mean <= 8 each, drawn against the table at `bg_table` in the engine's
  // background tables, times `weight`.
  int bg_chunks = 0;  // 0: none
  std::size_t bg_table = 0;
  int bg_terms = 0;  // its entries below 2^32
  real_t bg_weight = 0;
  int bg_receptor = 0;
};

}  // namespace detail

}  // namespace kspike
