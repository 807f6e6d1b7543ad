#pragma once
// The engine's kernels, written once and compiled for each Kokkos execution space
// (engine.cpp instantiates engine_impl<Serial>, <OpenMP>, <Cuda> as compiled in).
//
// Determinism: neuron updates are independent per neuron; random numbers come from the
// counter-based RNG; synaptic input is accumulated as 64-bit fixed point (integer addition
// is associative), so the order in which threads deliver events cannot change a sum. The
// spike list is filled in arbitrary order by parallel backends and sorted per population
// before it reaches a recorder.
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
KOKKOS_INLINE_FUNCTION void deliver_cell(real_t* se, real_t* si, index_t cell, fixed_t x, double inv) {
  if (x == 0) return;
  real_t* const receptor = (cell & 1) ? si : se;
  receptor[cell >> 1] += static_cast<real_t>(static_cast<double>(x) * inv);
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
KOKKOS_INLINE_FUNCTION bool bernoulli_fires(std::uint64_t threshold, std::uint64_t seed, std::uint32_t stream,
                                            index_t i, index_t begin, index_t size, std::int64_t t) {
  if (threshold == 0) return false;
  const index_t instance = (i - begin) / size, local = i - begin - instance * size;
  const std::uint32_t u = philox4x32(seed + static_cast<std::uint64_t>(instance), stream,
                                     static_cast<std::uint32_t>(local), static_cast<std::uint64_t>(t)).x[0];
  return u < threshold;
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
  real_t bg_weight = 0;
  int bg_receptor = 0;
};

}  // namespace detail

template <class Exec>
class engine_impl final : public engine_base {
  using mem = typename Exec::memory_space;
  template <class T>
  using view = Kokkos::View<T*, mem>;
  static constexpr bool host_memory = Kokkos::SpaceAccessibility<Kokkos::HostSpace, mem>::accessible;
  // Neurons per work item in the update kernels: a block vectorises on a CPU; one thread
  // per neuron on a GPU.
  static constexpr index_t block = host_memory ? 512 : 1;

 public:
  engine_impl(const network& description, const std::string& backend_name, const std::string& space_name,
              engine_options::delivery_mode delivery = engine_options::delivery_mode::automatic,
              bool structured_projections = true, int instances = 1,
              engine_options::step_sync_kind step_sync = engine_options::step_sync_kind::automatic)
      : structured_(structured_projections), instances_(instances), delivery_(delivery) {
    net = description;  // validated by make_engine (engine.cpp), the only place that builds an engine_impl
    backend = backend_name;
    kernel_space = space_name;
    if (instances_ < 1) throw error("instances: must be >= 1");
    engine_base::instances = instances_;  // the member, not the constructor argument of that name
    offsets_ = population_offsets(net, instances_);
    n_ = offsets_.back();
    build_populations();
    build_synapses_on_device();  // also builds the plasticity from the table it makes
    build_inputs();
    build_recorders();
    choose_step_sync(step_sync);
    stats.spikes.assign(net.populations.size(), 0);
    pop_spike_begin_.assign(pops_.size(), 0);
    pop_spike_end_.assign(pops_.size(), 0);
  }

  bool run(double duration, const std::function<bool(step_t, step_t)>& progress) override {
    if (!(duration >= 0) || !std::isfinite(duration)) throw error("duration: must be a finite number >= 0");
    // Step counts are 64-bit; beyond 2^53 steps they are not even exact as doubles.
    if (duration / net.dt > 9.0e15) {
      char what[160];
      std::snprintf(what, sizeof what, "duration: %g s is %g steps of dt, more than a run can count (at most 9e15)",
                    duration, duration / net.dt);
      throw error(what);
    }
    const step_t total = static_cast<step_t>(std::llround(duration / net.dt));
    const auto t0 = std::chrono::steady_clock::now();
    auto last_report = t0;
    bool completed = true;
    // progress(done, total) at most every 100 ms; false when it asks the run to stop.
    const auto keep_going = [&](step_t done) {
      if (!progress || done >= total) return true;
      const auto now = std::chrono::steady_clock::now();
      if (now - last_report <= std::chrono::milliseconds(100)) return true;
      last_report = now;
      return progress(done, total);
    };
    if (fused_) {
      completed = run_fused_windows(total, keep_going);
    } else {
      for (step_t k = 0; k < total; ++k) {
        advance();
        if ((k & 255) == 255 && !keep_going(k + 1)) {
          completed = false;
          break;
        }
      }
    }
    if (deferred_) {
      if (sink) flush_records(step - 1);
      read_deferred_stats();
    }
    detail::wait(exec_);
    stats.wall_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (progress && completed) progress(total, total);
    return completed;
  }

  // run() on the fused step: windows of steps, each one launch, the host acting between them.
  template <class KeepGoing>
  bool run_fused_windows(step_t total, const KeepGoing& keep_going) {
    for (step_t done = 0; done < total;) {
      apply_currents();
      const step_t n = fused_window(total - done);
      run_fused(n);
      step += n;
      stats.steps += n;
      done += n;
      if (sink) {
        rec_buffered_ += n;
        if (rec_buffered_ == record_steps_) flush_records(step - 1);
      }
      if (!keep_going(done)) return false;
    }
    return true;
  }

  void set_poisson_rates(const std::string& population, const std::vector<double>& rates) override {
    const auto& info = pops_.at(population_index(population));
    if (info.type != detail::population_info::kind::poisson)
      throw error("set_poisson_rates: population '" + population + "' is not a poisson source");
    const auto n = static_cast<std::size_t>(info.end - info.begin), size = static_cast<std::size_t>(info.size);
    if (rates.size() != 1 && rates.size() != size && rates.size() != n)
      throw error("set_poisson_rates: population '" + population + "' has " + std::to_string(size) + " neurons" +
                  (n != size ? " in each of " + std::to_string(instances_) + " instances" : std::string()) + ", got " +
                  std::to_string(rates.size()) + " rates");
    auto host = Kokkos::create_mirror_view(poisson_threshold_);
    Kokkos::deep_copy(host, poisson_threshold_);
    for (std::size_t i = 0; i < n; ++i) {
      const double r = rates.size() == 1 ? rates[0] : rates.size() == n ? rates[i] : rates[i % size];
      if (!(r >= 0) || !std::isfinite(r)) throw error("set_poisson_rates: rate must be a finite number >= 0");
      host(info.begin + static_cast<index_t>(i)) = threshold_of(r * net.dt);
    }
    Kokkos::deep_copy(poisson_threshold_, host);
    if (info.gaps) {
      auto q = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), inv_log_q_);
      for (std::size_t i = 0; i < n; ++i) {
        const double r = rates.size() == 1 ? rates[0] : rates.size() == n ? rates[i] : rates[i % size];
        q(info.begin + static_cast<index_t>(i)) = inv_log_q_of(r * net.dt);
      }
      Kokkos::deep_copy(inv_log_q_, q);
      redraw_gaps(info);  // the process restarts at the new rate from this step
    }
  }

  // Each source of a gaps population draws its next spike counted from the current step.
  void redraw_gaps(const detail::population_info& info) {
    const double* q = inv_log_q_.data();
    std::int64_t* next = next_spike_.data();
    std::uint64_t* draws = draws_.data();
    const std::uint64_t seed = net.seed;
    const auto stream = stream_id(kspike::stream::poisson_source, static_cast<std::uint32_t>(&info - pops_.data()));
    const index_t begin = info.begin, size = info.size;
    const step_t t = step;
    detail::launch(exec_, detail::label::poisson, info.end - info.begin, KOKKOS_LAMBDA(std::int64_t k) {
      // Counted from step t itself: the draw after a spike "at" t - 1.
      const index_t i = begin + static_cast<index_t>(k);
      next[i] = detail::next_spike_after(q[i], seed, stream, i, begin, size, t - 1, draws[i]);
    });
    detail::wait(exec_);
  }

  void set_adaptation(const std::string& population, bool adapt) override {
    auto* c = std::get_if<neurons::adaptive_lif::coeffs>(&pops_.at(population_index(population)).coeffs);
    if (!c) throw error("set_adaptation: population '" + population + "' is not an adaptive_lif population");
    c->adapt = adapt;
  }

  std::vector<float> state(const std::string& population, const std::string& variable) const override {
    const auto pi = population_index(population);
    const auto& info = pops_[pi];
    std::vector<float> out(static_cast<std::size_t>(info.end - info.begin));
    unmanaged src(variable_data(pi, variable), out.size());
    auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), src);
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = host(i);
    return out;
  }

  void set_state(const std::string& population, const std::string& variable,
                 const std::vector<float>& values) override {
    const auto pi = population_index(population);
    const auto& info = pops_[pi];
    const auto n = static_cast<std::size_t>(info.end - info.begin);
    unmanaged dst(variable_data(pi, variable), n);
    if (values.size() != n)
      throw error("set_state: population '" + population + "' has " + std::to_string(n) + " neurons, got " +
                  std::to_string(values.size()) + " values");
    auto host = Kokkos::create_mirror_view(dst);
    for (std::size_t i = 0; i < n; ++i) host(i) = values[i];
    Kokkos::deep_copy(dst, host);
  }

 // The kernels below stay public: nvcc rejects device lambdas defined in private or
  // protected member functions. Use the engine class, not these.
 public:
  // ---------------------------------------------------------------- construction
  std::size_t population_index(const std::string& name) const {
    const int i = net.find_population(name);
    if (i < 0) throw error("unknown population '" + name + "'");
    return static_cast<std::size_t>(i);
  }

  using unmanaged = Kokkos::View<real_t*, mem, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;

  // Where population pi's values of `variable` start (device memory, one per neuron): the
  // receptors syn_e and syn_i, or one of its model's own variables.
  real_t* variable_data(std::size_t pi, const std::string& variable) const {
    const auto& info = pops_[pi];
    if (info.type != detail::population_info::kind::neuron)
      throw error("population '" + net.populations[pi].name + "' is a spike source and has no state variables");
    if (variable == "syn_e") return syn_e_.data() + info.begin;
    if (variable == "syn_i") return syn_i_.data() + info.begin;
    std::string names;
    for (std::size_t k = 0; k < info.variables.size(); ++k) {
      if (info.variables[k] == variable)
        return model_state_.data() + info.state_offset + k * static_cast<std::size_t>(info.end - info.begin);
      names += info.variables[k] + ", ";
    }
    throw error("unknown state variable '" + variable + "' of population '" + net.populations[pi].name + "' (" +
                names + "syn_e, syn_i)");
  }

  template <class T>
  view<T> alloc(const std::string& label, std::size_t n) {
    bytes += n * sizeof(T);
    return view<T>(label, n);
  }

  template <class T>
  view<T> to_device(const std::string& label, const std::vector<T>& host_data) {
    bytes += host_data.size() * sizeof(T);
    return copy_to_device<mem>(label, host_data);
  }

  // 1 / log(1 − p) for geometric_gap: 0 when p >= 1 (every step), +inf when p = 0 (never).
  static double inv_log_q_of(double p) {
    if (p >= 1) return 0.0;
    if (p <= 0) return std::numeric_limits<double>::infinity();
    return 1.0 / std::log1p(-p);
  }

  static std::uint64_t threshold_of(double p) {
    // A source fires when a 32-bit draw is below p 2^32; integer compare, so every backend agrees.
    if (p >= 1) return std::uint64_t{1} << 32;
    return static_cast<std::uint64_t>(std::llround(p * 4294967296.0));
  }

  void build_populations() {
    const auto n = static_cast<std::size_t>(n_);
    std::vector<real_t> own;  // every population's own state variables, array after array
    std::vector<std::uint64_t> thr(n, 0);
    std::vector<double> inv_log_q;  // sources drawn by gaps (empty without)
    std::vector<std::uint64_t> bg_tables;  // background input: every population's inversion table
    for (std::size_t pi = 0; pi < net.populations.size(); ++pi) {
      const population& p = net.populations[pi];
      detail::population_info info;
      info.begin = offsets_[pi];
      info.end = offsets_[pi + 1];
      info.size = static_cast<index_t>(p.size);
      const auto size = static_cast<std::size_t>(info.end - info.begin);  // all instances
      const std::string field = where(net.source, "populations." + p.name);
      try {
        const bool is_neuron = visit_neuron_model(p.model, [&](auto tag, const auto& prm) {
          using M = typename decltype(tag)::type;
          info.coeffs = M::make(prm, net.dt);
          info.variables = neurons::variable_names<M>();
          info.state_offset = own.size();
          own.resize(own.size() + info.variables.size() * size);
          // Every neuron starts at the model's rest, with v drawn from v_init when given.
          typename M::state rest = M::initial(prm);
          for (std::size_t i = 0; i < size; ++i) {
            typename M::state s = rest;
            // Instance k draws with seed + k, as a single run with that seed would.
            const std::uint64_t instance = i / static_cast<std::size_t>(p.size), local = i % static_cast<std::size_t>(p.size);
            if (p.has_v_init)
              s.v = static_cast<real_t>(draw(p.v_init, net.seed + instance,
                                             stream_id(stream::initial_state, static_cast<std::uint32_t>(pi)),
                                             static_cast<std::uint32_t>(local), 0));
            std::size_t at = info.state_offset + i;
            M::variables([&](const char*, real_t M::state::*m, const char*, const char*) {
              own[at] = s.*m;
              at += size;
            });
          }
        });
        if (is_neuron) {
          const auto& bg = p.background;
          const double lambda = static_cast<double>(bg.inputs) * bg.rate * net.dt;  // per neuron and step
          if (bg.inputs > 0 && lambda > 0 && bg.weight != 0) {
            info.bg_chunks = static_cast<int>(std::ceil(lambda / 8));
            info.bg_table = bg_tables.size();
            append_poisson_table(lambda / info.bg_chunks, bg_tables);
            info.bg_weight = static_cast<real_t>(bg.weight);
            info.bg_receptor = bg.target == receptor::inhibitory ? 1 : 0;
          }
        } else if (const auto* src = std::get_if<poisson_source>(&p.model)) {
          info.type = detail::population_info::kind::poisson;
          info.gaps = src->draw == poisson_source::sampling::gaps;
          if (info.gaps && inv_log_q.empty()) inv_log_q.assign(n, 0.0);
          for (index_t i = info.begin; i < info.end; ++i) {
            const double r = src->rates.size() == 1 ? src->rates[0] : src->rates.at((i - info.begin) % info.size);
            thr[i] = threshold_of(r * net.dt);
            if (info.gaps) inv_log_q[static_cast<std::size_t>(i)] = inv_log_q_of(r * net.dt);
          }
        } else {
          const auto& arr = std::get<spike_source_array>(p.model);
          info.type = detail::population_info::kind::spike_array;
          info.array_first = info.array_cursor = array_events_.size();
          for (int inst = 0; inst < instances_; ++inst)  // every instance replays the same spikes
            for (std::size_t k = 0; k < arr.times.size(); ++k)
              for (double t : arr.times[k]) {
                // A spike at time t is emitted by the step that ends at t (rounded).
                const step_t s = std::max<step_t>(0, std::llround(t / net.dt) - 1);
                array_events_.emplace_back(s, info.begin + inst * info.size + static_cast<index_t>(k));
              }
          // Each population's spikes in step order (stable: by neuron within a step), in a
          // range of their own, so that they fill this population's segment of the spike list.
          info.array_end = array_events_.size();
          std::stable_sort(array_events_.begin() + static_cast<std::ptrdiff_t>(info.array_first), array_events_.end(),
                           [](const auto& a, const auto& b) { return a.first < b.first; });
        }
      } catch (const error& e) {
        throw error(field + "." + e.what());
      }
      pops_.push_back(info);
    }
    model_state_ = to_device("model_state", own);
    syn_e_ = alloc<real_t>("syn_e", n);
    syn_i_ = alloc<real_t>("syn_i", n);
    i_ext_ = alloc<real_t>("i_ext", n);
    since_ = to_device("since", std::vector<std::int32_t>(n, neurons::since_never));
    poisson_threshold_ = to_device("poisson_threshold", thr);
    bg_tables_ = to_device("background_tables", bg_tables);
    if (!inv_log_q.empty()) {
      inv_log_q_ = to_device("poisson_inv_log_q", inv_log_q);
      next_spike_ = alloc<std::int64_t>("poisson_next_spike", n);
      draws_ = alloc<std::uint64_t>("poisson_draws", n);
      for (const auto& info : pops_)
        if (info.gaps) redraw_gaps(info);
    }
    spikes_ = alloc<index_t>("spikes", n);
    spike_count_ = alloc<int>("spike_count", 1);
    std::vector<index_t> ids;
    for (const auto& e : array_events_) ids.push_back(e.second);
    array_ids_ = to_device("array_ids", ids);
  }

  void build_synapses_on_device() {
    if constexpr (host_memory && !detail::is_serial<Exec>()) {
      target_ranges_ = std::max(1, static_cast<int>(Exec().concurrency()));
      split_by_target_ = target_ranges_ > 1;
    }
    synapse_table t = build_synapses(net, offsets_, structured_, instances_, split_by_target_);
    synapses = t.size() + t.delayed.size();
    for (const auto& sp : t.structured) {
      kind_projection k;
      k.kind = sp.kind;
      k.receptor = sp.receptor;
      k.pre_population = sp.pre_population;
      k.pre_begin = sp.pre_begin;
      k.n_pre = sp.n_pre;
      k.post_begin = sp.post_begin;
      k.n_post = sp.n_post;
      k.skip_self = sp.skip_self;
      k.cells = sp.cells;
      k.synapses = sp.synapses;
      const auto& pc = sp.procedural;
      k.geometry = {pc.in_c, pc.in_h, pc.in_w, pc.pool, pc.out_c, pc.out_h, pc.out_w, pc.kernel, pc.stride, pc.padding};
      k.weight = to_device("kind_weight", sp.weight);
      k.delay = to_device("kind_delay", sp.delay);
      kinds_.push_back(k);
      synapses += sp.synapses;
    }
    row_ptr_ = to_device("row_ptr", t.row_ptr);
    row_ptr_host_ = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), row_ptr_);
    target_ = to_device("target", t.target);
    delay_ = to_device("delay", t.delay);
    weight_ = to_device("weight", t.weight);
    slots_ = t.max_delay;
    // Fixed-point scale: a power of two (exact in float), so that the largest weight is
    // 2^40. Sums of up to 2^22 such events per slot fit in 63 bits; the absolute
    // resolution is max|w| 2^-40.
    const double wmax = t.max_abs_weight > 0 ? t.max_abs_weight : 1.0;
    max_weight_ = wmax;
    scale_ = std::ldexp(1.0, 40 - std::ilogb(wmax) - 1);
    inv_scale_ = 1.0 / scale_;
    const auto cells = static_cast<std::size_t>(slots_) * 2 * static_cast<std::size_t>(n_);
    ring_ = alloc<fixed_t>("ring", cells);
    dirty_capacity_ = 2 * n_;
    dirty_ = alloc<index_t>("dirty", cells);
    dirty_count_ = alloc<int>("dirty_count", static_cast<std::size_t>(slots_));
    dirty_count_host_ = Kokkos::create_mirror_view(dirty_count_);
    slot_dense_.assign(static_cast<std::size_t>(slots_), 0);
    build_plasticity(t);
  }

  void build_inputs() {
    for (std::size_t ci = 0; ci < net.currents.size(); ++ci) {
      const current_source& c = net.currents[ci];
      const auto pi = population_index(c.population);
      std::vector<index_t> ids;  // in every instance
      if (c.neurons.empty())
        for (index_t i = offsets_[pi]; i < offsets_[pi + 1]; ++i) ids.push_back(i);
      else
        for (int inst = 0; inst < instances_; ++inst)
          for (auto k : c.neurons) ids.push_back(offsets_[pi] + inst * pops_[pi].size + static_cast<index_t>(k));
      std::sort(ids.begin(), ids.end());
      ids.erase(std::unique(ids.begin(), ids.end()), ids.end());  // one neuron, one update
      current_ids_.push_back(to_device("current_ids", ids));
      pops_[pi].has_current = true;
      double previous = 0;
      for (std::size_t k = 0; k < c.times.size(); ++k) {
        current_events_.push_back({std::llround(c.times[k] / net.dt), ci, c.amplitudes[k] - previous});
        previous = c.amplitudes[k];
      }
    }
    std::stable_sort(current_events_.begin(), current_events_.end(),
                     [](const auto& a, const auto& b) { return a.step < b.step; });
  }

  void build_recorders() {
    for (const auto& r : net.state_recorders) {
      const auto pi = population_index(r.population);
      std::vector<index_t> ids;  // within the population: instance after instance
      if (r.neurons.empty())
        for (index_t i = 0; i < offsets_[pi + 1] - offsets_[pi]; ++i) ids.push_back(i);
      else
        for (int inst = 0; inst < instances_; ++inst)
          for (auto k : r.neurons) ids.push_back(inst * pops_[pi].size + static_cast<index_t>(k));
      state_probe probe;
      probe.ids = to_device("probe_ids", ids);
      probe.values = alloc<real_t>("probe_values", ids.size());
      probe.host = Kokkos::create_mirror_view(probe.values);
      probe.every = std::max<step_t>(1, std::llround(r.interval / net.dt));
      probe.source = variable_data(pi, r.variable);
      probes_.push_back(probe);
    }
  }

  // ---------------------------------------------------------------- plasticity
  // The rules of the plastic projections, each synapse's rule, the traces, and a column index
  // of the plastic synapses (by post neuron, with their pre neuron) from the host table `t`.
  void build_plasticity(synapse_table& t) {
    bool any = false;
    for (const auto& pr : net.projections) any = any || pr.plastic;
    if (!any) return;
    std::vector<real_t> pre_tables;  // decay_pre^k of every per-synapse rule
    plastic_position_ = std::move(t.position);
    plastic_instance_start_ = std::move(t.instance_start);
    for (std::size_t pi = 0; pi < net.projections.size(); ++pi) {
      const projection& pr = net.projections[pi];
      if (!pr.plastic) continue;
      const stdp_rule& r = pr.stdp;
      const auto a = population_index(pr.pre), b = population_index(pr.post);
      detail::plastic_rule k;
      k.pre_begin = offsets_[a];
      k.pre_end = offsets_[a + 1];
      k.post_begin = offsets_[b];
      k.post_end = offsets_[b + 1];
      k.decay_pre = static_cast<real_t>(std::exp(-net.dt / r.tau_pre));
      k.decay_post = static_cast<real_t>(std::exp(-net.dt / r.tau_post));
      k.a_pre = static_cast<real_t>(r.a_pre);
      k.a_post = static_cast<real_t>(r.a_post);
      k.w_min = static_cast<real_t>(r.w_min);
      k.w_max = static_cast<real_t>(r.w_max);
      k.inv_range = r.w_max > r.w_min ? static_cast<real_t>(1.0 / (r.w_max - r.w_min)) : real_t(0);
      k.nearest = r.pairs == stdp_rule::pairing::nearest;
      k.multiplicative = r.rule == stdp_rule::update::multiplicative;
      k.learning = r.learning;
      k.triplet = r.tau_post2 > 0;
      k.decay_post2 = k.triplet ? static_cast<real_t>(std::exp(-net.dt / r.tau_post2)) : real_t(0);
      any_triplet_ = any_triplet_ || k.triplet;
      k.per_synapse = has_per_synapse_traces(pr, net.dt);
      if (k.per_synapse) {
        // decay^k in double, rounded once: the same on every backend; ends below 1e-30.
        k.pre_table = static_cast<std::int64_t>(pre_tables.size());
        for (std::int64_t s = 0;; ++s) {
          const double x = std::exp(-static_cast<double>(s) * net.dt / r.tau_pre);
          if (x < 1e-30 || s > (std::int64_t{1} << 24)) break;
          pre_tables.push_back(static_cast<real_t>(x));
        }
        k.pre_table_len = static_cast<std::int64_t>(pre_tables.size()) - k.pre_table;
      }
      rules_.push_back(k);
      rule_projection_.push_back(pi);
    }
    rules_dev_ = to_device("stdp_rules", rules_);
    syn_rule_ = to_device("syn_rule", t.rule);
    x_pre_ = alloc<real_t>("x_pre", rules_.size() * static_cast<std::size_t>(n_));
    x_post_ = alloc<real_t>("x_post", rules_.size() * static_cast<std::size_t>(n_));
    if (any_triplet_) x_post2_ = alloc<real_t>("x_post2", rules_.size() * static_cast<std::size_t>(n_));
    // The plastic synapses by post neuron, each with its pre neuron, for the updates at post spikes.
    const auto& rule = t.rule;
    std::vector<std::int64_t> col_ptr(static_cast<std::size_t>(n_) + 1, 0);
    for (std::size_t j = 0; j < rule.size(); ++j)
      if (rule[j] >= 0) ++col_ptr[static_cast<std::size_t>(t.target[j] >> 1) + 1];
    for (std::size_t i = 0; i < static_cast<std::size_t>(n_); ++i) col_ptr[i + 1] += col_ptr[i];
    std::vector<std::int64_t> fill(col_ptr.begin(), col_ptr.end() - 1), col_syn(static_cast<std::size_t>(col_ptr.back()));
    std::vector<index_t> col_pre(col_syn.size());
    for (index_t i = 0; i < n_; ++i)
      for (std::int64_t j = t.row_ptr[static_cast<std::size_t>(i)]; j < t.row_ptr[static_cast<std::size_t>(i) + 1]; ++j)
        if (rule[static_cast<std::size_t>(j)] >= 0) {
          const auto at = static_cast<std::size_t>(fill[static_cast<std::size_t>(t.target[static_cast<std::size_t>(j)] >> 1)]++);
          col_syn[at] = j;
          col_pre[at] = i;
        }
    col_ptr_ = to_device("col_ptr", col_ptr);
    col_syn_ = to_device("col_syn", col_syn);
    col_pre_ = to_device("col_pre", col_pre);
    build_delayed_plasticity(t.delayed, pre_tables);
  }

  // The delayed plastic synapses (connectivity.hpp delayed_plastic_table) on the device, their
  // traces, a column index for the post updates, and a history of the last max-delay steps'
  // spikes of their pre populations.
  void build_delayed_plasticity(const delayed_plastic_table& d, const std::vector<real_t>& pre_tables) {
    if (d.size() == 0) return;
    pre_table_ = to_device("stdp_pre_decay", pre_tables);
    d_row_ptr_ = to_device("delayed_row_ptr", d.row_ptr);
    d_target_ = to_device("delayed_target", d.target);
    d_weight_ = to_device("delayed_weight", d.weight);
    d_rule_ = to_device("delayed_rule", d.rule);
    d_run_ptr_ = to_device("delayed_run_ptr", d.run_ptr);
    d_run_delay_ = to_device("delayed_run_delay", d.run_delay);
    d_run_first_ = to_device("delayed_run_first", d.run_first);
    d_trace_ = alloc<real_t>("delayed_trace", d.target.size());
    d_last_ = to_device("delayed_last", std::vector<std::int64_t>(d.target.size(), detail::no_arrival));
    std::vector<std::int64_t> col_ptr(static_cast<std::size_t>(n_) + 1, 0);
    for (index_t c : d.target) ++col_ptr[static_cast<std::size_t>(c >> 1) + 1];
    for (std::size_t i = 0; i < static_cast<std::size_t>(n_); ++i) col_ptr[i + 1] += col_ptr[i];
    std::vector<std::int64_t> fill(col_ptr.begin(), col_ptr.end() - 1), col_syn(d.target.size());
    for (std::size_t j = 0; j < d.target.size(); ++j) col_syn[static_cast<std::size_t>(fill[static_cast<std::size_t>(d.target[j] >> 1)]++)] = static_cast<std::int64_t>(j);
    d_col_ptr_ = to_device("delayed_col_ptr", col_ptr);
    d_col_syn_ = to_device("delayed_col_syn", col_syn);
    // The populations whose spikes arrive later at delayed plastic synapses, and room for a
    // step's spikes of all of them in each of max-delay history slots.
    std::vector<char> is_pre(pops_.size(), 0);
    for (std::size_t r = 0; r < rules_.size(); ++r)
      if (rules_[r].per_synapse) is_pre[population_index(net.projections[rule_projection_[r]].pre)] = 1;
    std::int64_t capacity = 0;
    for (std::size_t p = 0; p < pops_.size(); ++p)
      if (is_pre[p]) {
        delayed_pre_populations_.push_back(p);
        capacity += pops_[p].end - pops_[p].begin;
      }
    history_slots_ = d.max_delay;
    history_capacity_ = capacity;
    history_ = alloc<index_t>("spike_history", static_cast<std::size_t>(history_slots_ * capacity));
    history_count_.assign(static_cast<std::size_t>(history_slots_), 0);
    history_prefix_ = alloc<std::int64_t>("spike_history_prefix", static_cast<std::size_t>(history_slots_) + 1);
    history_prefix_host_ = Kokkos::create_mirror_view(history_prefix_);
    history_offset_ = alloc<std::int32_t>("spike_history_offset", static_cast<std::size_t>(history_slots_ * capacity));
    // Each row's run of each delay found by one load, not a search, where the table of
    // (neuron, delay) -> run is no larger than the synapses' targets (dense delays, as the
    // place-recognition input's); else a binary search over the row's runs.
    const auto cells = static_cast<std::size_t>(n_) * static_cast<std::size_t>(d.max_delay);
    if (cells <= d.target.size() + (std::size_t{1} << 16) && d.run_delay.size() < (std::size_t{1} << 31)) {
      std::vector<std::int32_t> at(cells, -1);
      for (std::size_t i = 0; i < static_cast<std::size_t>(n_); ++i)
        for (std::int64_t r = d.run_ptr[i]; r < d.run_ptr[i + 1]; ++r)
          at[i * static_cast<std::size_t>(d.max_delay) + d.run_delay[static_cast<std::size_t>(r)] - 1u] = static_cast<std::int32_t>(r);
      d_run_at_ = to_device("delayed_run_at", at);
    }
  }

  // Keeps this step's spikes of the delayed plastic projections' pre populations (slot step mod
  // max-delay), then delivers and learns at every delayed plastic synapse a spike reaches now:
  // a spike of step e reaches the synapses of delay d at step e + d - 1 (a one-step synapse in
  // its emission step, as the table's plastic synapses), where (1) the weight it finds is
  // delivered, to act in the next step as any input, (2) the weight learns from the post trace
  // as it was before this step's post spikes, (3) the synapse's pre trace takes the spike.
  // One work item per spike of the last max-delay steps; a synapse is reached by at most one
  // spike per step, so no two items write one synapse. Returns the synaptic events.
  template <class Add>
  std::int64_t arrive(const Add& add) {
    const std::int64_t H = history_slots_;
    const auto slot = static_cast<std::size_t>(step % H);
    // This step's spikes of the pre populations into their slot.
    int kept = 0;
    for (std::size_t p : delayed_pre_populations_) {
      const int b = pop_spike_begin_[p], n = pop_spike_end_[p] - b;
      if (n == 0) continue;
      const index_t* from = spikes_.data() + b;
      index_t* to = history_.data() + slot * static_cast<std::size_t>(history_capacity_) + static_cast<std::size_t>(kept);
      detail::launch(exec_, detail::label::spike_history, n, KOKKOS_LAMBDA(int k) { to[k] = from[k]; });
      kept += n;
    }
    history_count_[slot] = kept;
    // Every kept spike of the last H steps, as one flat range: offset o (o = 0: this step) holds
    // the spikes of step - o, which reach their synapses of delay o + 1 now.
    std::int64_t total = 0;
    for (std::int64_t o = 0; o < H; ++o) {
      history_prefix_host_(static_cast<std::size_t>(o)) = total;
      if (o <= step) total += history_count_[static_cast<std::size_t>((step - o) % H)];
    }
    history_prefix_host_(static_cast<std::size_t>(H)) = total;
    if (total == 0) return 0;
    Kokkos::deep_copy(history_prefix_, history_prefix_host_);
    const std::int64_t* prefix = history_prefix_.data();
    // The offset of every kept spike, written per offset, so that the delivery below finds its
    // spike's offset by one load.
    std::int32_t* offset_of = history_offset_.data();
    detail::launch(exec_, detail::label::spike_history, H, KOKKOS_LAMBDA(std::int64_t o) {
      for (std::int64_t k = prefix[o]; k < prefix[o + 1]; ++k) offset_of[k] = static_cast<std::int32_t>(o);
    });
    detail::wait(exec_);
    const std::int32_t* run_at = d_run_at_.data();
    const bool direct = d_run_at_.extent(0) > 0;
    const index_t* history = history_.data();
    const std::int64_t cap = history_capacity_, s = step;
    const std::int64_t *row = d_row_ptr_.data(), *run_ptr = d_run_ptr_.data(), *run_first = d_run_first_.data();
    const std::uint16_t* run_delay = d_run_delay_.data();
    const index_t* target = d_target_.data();
    float* weight = d_weight_.data();
    const std::int16_t* syn_rule = d_rule_.data();
    real_t* trace = d_trace_.data();
    std::int64_t* last = d_last_.data();
    const real_t* table = pre_table_.data();
    const real_t* xpost = x_post_.data();
    const detail::plastic_rule* rules = rules_dev_.data();
    const std::size_t n = static_cast<std::size_t>(n_);
    view<std::int64_t> reached = alloc_events_();
    std::int64_t* events = reached.data();
    detail::launch(exec_, detail::label::arrive, total, KOKKOS_LAMBDA(std::int64_t k) {
      const std::int64_t o = offset_of[k];  // prefix[o] <= k < prefix[o + 1]
      const index_t i = history[((s - o) % H) * cap + (k - prefix[o])];
      std::int64_t a;  // the run of delay o + 1, if the row has one
      if (direct) {
        a = run_at[static_cast<std::size_t>(i) * static_cast<std::size_t>(H) + static_cast<std::size_t>(o)];
        if (a < 0) return;
      } else {
        const auto d = static_cast<std::uint16_t>(o + 1);
        std::int64_t b = run_ptr[i + 1];
        a = run_ptr[i];
        while (a < b) {
          const std::int64_t mid = (a + b) / 2;
          if (run_delay[mid] < d) a = mid + 1; else b = mid;
        }
        if (a == run_ptr[i + 1] || run_delay[a] != d) return;
      }
      const std::int64_t first = run_first[a], end = a + 1 < run_ptr[i + 1] ? run_first[a + 1] : row[i + 1];
      for (std::int64_t j = first; j < end; ++j) {
        const detail::plastic_rule& r = rules[syn_rule[j]];
        add(1, target[j], weight[j]);
        if (r.learning)
          weight[j] = detail::stdp_step(r, weight[j], xpost[static_cast<std::size_t>(syn_rule[j]) * n + static_cast<std::size_t>(target[j] >> 1)]);
        const real_t x = detail::trace_at(r, table, trace[j], last[j], s);
        trace[j] = r.nearest ? r.a_pre : x + r.a_pre;
        last[j] = s;
      }
      detail::fetch_add<Exec>(events, end - first);
    });
    return read_events_();
  }

  // The counter of alloc_events_() once the kernels that add to it are done.
  std::int64_t read_events_() {
    std::int64_t count = 0;
    if constexpr (host_memory) {
      detail::wait(exec_);
      count = arrive_events_.data()[0];
    } else {
      Kokkos::deep_copy(Kokkos::View<std::int64_t, Kokkos::HostSpace>(&count), Kokkos::subview(arrive_events_, 0));
    }
    return count;
  }

  // A one-element event counter for the kernels that count as they go (arrive, procedural), zeroed.
  view<std::int64_t> alloc_events_() {
    if (arrive_events_.extent(0) == 0) arrive_events_ = alloc<std::int64_t>("arrive_events", 1);
    if constexpr (host_memory) {
      arrive_events_.data()[0] = 0;
    } else {
      Kokkos::deep_copy(arrive_events_, 0);
    }
    return arrive_events_;
  }

  // At each post spike, every delayed plastic synapse onto it learns from its pre trace as it is
  // now (this step's arrivals included).
  void learn_delayed_post(int n_spikes) {
    const index_t* spikes = spikes_.data();
    const std::int64_t *col_ptr = d_col_ptr_.data(), *col_syn = d_col_syn_.data();
    float* weight = d_weight_.data();
    const std::int16_t* syn_rule = d_rule_.data();
    const real_t* trace = d_trace_.data();
    const std::int64_t* last = d_last_.data();
    const real_t* table = pre_table_.data();
    const detail::plastic_rule* rules = rules_dev_.data();
    const real_t* xpost2 = x_post2_.data();
    const std::size_t n = static_cast<std::size_t>(n_);
    const std::int64_t s = step;
    detail::launch(exec_, detail::label::learn_post, n_spikes, KOKKOS_LAMBDA(int q) {
      const index_t k = spikes[q];
      for (std::int64_t c = col_ptr[k]; c < col_ptr[k + 1]; ++c) {
        const std::int64_t j = col_syn[c];
        const detail::plastic_rule& r = rules[syn_rule[j]];
        if (!r.learning) continue;
        real_t x = detail::trace_at(r, table, trace[j], last[j], s);
        if (r.triplet) x *= xpost2[static_cast<std::size_t>(syn_rule[j]) * n + static_cast<std::size_t>(k)];
        weight[j] = detail::stdp_step(r, weight[j], x);
      }
    });
  }

  // Traces decay by one step, before this step's spikes add to them (a clock-driven
  // exp(-dt/tau) per step, the same on every backend).
  void decay_traces() {
    real_t* xpre = x_pre_.data();
    real_t* xpost = x_post_.data();
    for (std::size_t r = 0; r < rules_.size(); ++r) {
      const detail::plastic_rule k = rules_[r];
      const std::size_t base = r * static_cast<std::size_t>(n_);
      real_t* a = xpre + base;
      real_t* b = xpost + base;
      detail::launch(exec_, detail::label::trace_decay, k.pre_end - k.pre_begin,
          KOKKOS_LAMBDA(std::int64_t i) { a[k.pre_begin + i] *= k.decay_pre; });
      detail::launch(exec_, detail::label::trace_decay, k.post_end - k.post_begin,
          KOKKOS_LAMBDA(std::int64_t i) { b[k.post_begin + i] *= k.decay_post; });
      if (k.triplet) {
        real_t* c = x_post2_.data() + base;
        detail::launch(exec_, detail::label::trace_decay, k.post_end - k.post_begin,
            KOKKOS_LAMBDA(std::int64_t i) { c[k.post_begin + i] *= k.decay_post2; });
      }
    }
  }

  // After this step's spikes were delivered with the weights they carried: (1) each spiking
  // pre neuron's trace takes its spike, and its plastic synapses learn from the post traces
  // (as they were before this step's post spikes); (2) each spiking post neuron's trace takes
  // its spike, and its plastic synapses learn from the pre traces (this step's included).
  // Each synapse is written by one work item per phase: no races, the same result everywhere.
  void learn(int n_spikes) {
    const index_t* spikes = spikes_.data();
    const std::int64_t* row = row_ptr_.data();
    const index_t* target = target_.data();
    float* weight = weight_.data();
    const std::int16_t* syn_rule = syn_rule_.data();
    const detail::plastic_rule* rules = rules_dev_.data();
    const int n_rules = static_cast<int>(rules_.size());
    const std::size_t n = static_cast<std::size_t>(n_);
    real_t* xpre = x_pre_.data();
    real_t* xpost = x_post_.data();
    const std::int64_t* col_ptr = col_ptr_.data();
    const std::int64_t* col_syn = col_syn_.data();
    const index_t* col_pre = col_pre_.data();
    const real_t* xpost2 = x_post2_.data();
    detail::launch(exec_, detail::label::learn_pre, n_spikes, KOKKOS_LAMBDA(int s) {
      const index_t i = spikes[s];
      for (int r = 0; r < n_rules; ++r)
        if (i >= rules[r].pre_begin && i < rules[r].pre_end)
          detail::take_spike(xpre[static_cast<std::size_t>(r) * n + static_cast<std::size_t>(i)], rules[r].nearest, rules[r].a_pre);
      for (std::int64_t j = row[i]; j < row[i + 1]; ++j) {
        const int r = syn_rule[j];
        if (r < 0 || !rules[r].learning) continue;
        const real_t x = xpost[static_cast<std::size_t>(r) * n + static_cast<std::size_t>(target[j] >> 1)];
        weight[j] = detail::stdp_step(rules[r], weight[j], x);
      }
    });
    detail::wait(exec_);
    detail::launch(exec_, detail::label::learn_post, n_spikes, KOKKOS_LAMBDA(int s) {
      const index_t k = spikes[s];
      for (int r = 0; r < n_rules; ++r)
        if (k >= rules[r].post_begin && k < rules[r].post_end)
          detail::take_spike(xpost[static_cast<std::size_t>(r) * n + static_cast<std::size_t>(k)], rules[r].nearest, rules[r].a_post);
      for (std::int64_t c = col_ptr[k]; c < col_ptr[k + 1]; ++c) {
        const std::int64_t j = col_syn[c];
        const int r = syn_rule[j];
        if (!rules[r].learning) continue;
        real_t x = xpre[static_cast<std::size_t>(r) * n + static_cast<std::size_t>(col_pre[c])];
        if (rules[r].triplet) x *= xpost2[static_cast<std::size_t>(r) * n + static_cast<std::size_t>(k)];
        weight[j] = detail::stdp_step(rules[r], weight[j], x);
      }
    });
    if (d_weight_.extent(0) > 0) {
      detail::wait(exec_);
      learn_delayed_post(n_spikes);
    }
    if (any_triplet_) {
      // The second post traces take this step's spikes once every update has read them.
      detail::wait(exec_);
      real_t* x2 = x_post2_.data();
      detail::launch(exec_, detail::label::learn_post, n_spikes, KOKKOS_LAMBDA(int s) {
        const index_t k = spikes[s];
        for (int r = 0; r < n_rules; ++r)
          if (rules[r].triplet && k >= rules[r].post_begin && k < rules[r].post_end)
            detail::take_spike(x2[static_cast<std::size_t>(r) * n + static_cast<std::size_t>(k)], rules[r].nearest, real_t(1));
      });
    }
  }

  std::size_t rule_of(const std::string& projection) const {
    for (std::size_t r = 0; r < rule_projection_.size(); ++r)
      if (net.projections[rule_projection_[r]].name == projection) return r;
    for (const auto& pr : net.projections)
      if (pr.name == projection) throw error("projection '" + projection + "' is not plastic (no stdp)");
    throw error("unknown projection '" + projection + "'");
  }

  void redraw_delays(const std::string& projection, std::uint32_t) override {
    throw error("redraw_delays: projection '" + projection +
                "': the step schedule keeps the delays it was built with (the window schedule can draw them again)");
  }

  void set_learning(const std::string& projection, bool on) override {
    rules_[rule_of(projection)].learning = on;
    auto host = Kokkos::create_mirror_view(rules_dev_);
    for (std::size_t r = 0; r < rules_.size(); ++r) host(r) = rules_[r];
    Kokkos::deep_copy(rules_dev_, host);
  }

  // The range of the projection's generation-ordered positions that `instance` covers.
  std::pair<std::size_t, std::size_t> instance_range(const std::string& projection, int instance) const {
    const std::size_t pi = rule_projection_[rule_of(projection)];
    if (instance < 0) return {0, plastic_position_[pi].size()};
    if (instance >= instances_)
      throw error("instance " + std::to_string(instance) + " of projection '" + projection + "': there are " +
                  std::to_string(instances_));
    const auto& start = plastic_instance_start_[pi];
    return {static_cast<std::size_t>(start[static_cast<std::size_t>(instance)]),
            static_cast<std::size_t>(start[static_cast<std::size_t>(instance) + 1])};
  }

  std::vector<float> weights(const std::string& projection, int instance) const override {
    const auto& where_ = plastic_position_[rule_projection_[rule_of(projection)]];
    const auto [first, last] = instance_range(projection, instance);
    auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), weights_of(projection));
    std::vector<float> out(last - first);
    for (std::size_t k = 0; k < out.size(); ++k) out[k] = host(where_[first + k]);
    return out;
  }

  void set_weights(const std::string& projection, const std::vector<float>& values, int instance) override {
    const auto& all = plastic_position_[rule_projection_[rule_of(projection)]];
    const auto [first, last] = instance_range(projection, instance);
    const std::int64_t* where_ = all.data() + first;
    if (values.size() != last - first)
      throw error("set_weights: projection '" + projection + "' has " + std::to_string(last - first) +
                  " synapses, got " + std::to_string(values.size()) + " weights");
    const view<float> target = weights_of(projection);
    auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), target);
    for (std::size_t k = 0; k < values.size(); ++k) {
      // Compared in float: learning clips to float(w_max), which may lie just above w_max.
      if (!std::isfinite(values[k]) || std::abs(values[k]) > static_cast<float>(max_weight_))
        throw error("set_weights: weight " + std::to_string(k) + " of projection '" + projection +
                    "' must be finite and within the magnitude the network was built for (" +
                    std::to_string(max_weight_) + ")");
      host(where_[k]) = values[k];
    }
    Kokkos::deep_copy(target, host);
  }

  std::vector<std::string> trace_names(const std::string& projection) const override {
    const detail::plastic_rule& k = rules_[rule_of(projection)];
    std::vector<std::string> names = k.per_synapse ? std::vector<std::string>{"pre", "pre_age", "post"} : std::vector<std::string>{"pre", "post"};
    if (k.triplet) names.push_back("post2");
    return names;
  }

  // Where a trace of `projection` lives: per synapse (positions in generation order, as the
  // weights), or per neuron ([first, last) of a trace array).
  struct trace_place {
    bool per_synapse = false;
    std::size_t first = 0, last = 0;
  };
  trace_place place_of(const std::string& projection, const std::string& trace, int instance) const {
    const std::size_t r = rule_of(projection);
    const detail::plastic_rule& k = rules_[r];
    const auto names = trace_names(projection);
    if (std::find(names.begin(), names.end(), trace) == names.end()) {
      std::string list;
      for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
      throw error("projection '" + projection + "': no trace '" + trace + "' (it has " + list + ")");
    }
    if (k.per_synapse && trace.rfind("pre", 0) == 0) {
      const auto [first, last] = instance_range(projection, instance);
      return {true, first, last};
    }
    const bool pre = trace == "pre";
    const index_t begin = pre ? k.pre_begin : k.post_begin, end = pre ? k.pre_end : k.post_end;
    const index_t size = (end - begin) / instances_;
    if (instance >= instances_)
      throw error("instance " + std::to_string(instance) + " of projection '" + projection + "': there are " + std::to_string(instances_));
    const std::size_t base = r * static_cast<std::size_t>(n_);
    if (instance < 0) return {false, base + static_cast<std::size_t>(begin), base + static_cast<std::size_t>(end)};
    const std::size_t from = base + static_cast<std::size_t>(begin + instance * size);
    return {false, from, from + static_cast<std::size_t>(size)};
  }
  const view<real_t>& neuron_traces(const std::string& trace) const { return trace == "pre" ? x_pre_ : (trace == "post" ? x_post_ : x_post2_); }

  std::vector<double> traces(const std::string& projection, const std::string& trace, int instance) const override {
    const trace_place at = place_of(projection, trace, instance);
    std::vector<double> out(at.last - at.first);
    if (!at.per_synapse) {
      auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), neuron_traces(trace));
      for (std::size_t q = 0; q < out.size(); ++q) out[q] = host(at.first + q);
      return out;
    }
    const auto& where_ = plastic_position_[rule_projection_[rule_of(projection)]];
    auto value = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), d_trace_);
    auto last = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), d_last_);
    for (std::size_t q = 0; q < out.size(); ++q) {
      const auto j = static_cast<std::size_t>(where_[at.first + q]);
      if (trace == "pre") out[q] = value(j);
      else out[q] = last(j) == detail::no_arrival ? -1.0 : static_cast<double>(step - last(j));
    }
    return out;
  }

  void set_traces(const std::string& projection, const std::string& trace, const std::vector<double>& values, int instance) override {
    const trace_place at = place_of(projection, trace, instance);
    if (values.size() != at.last - at.first)
      throw error("set_traces: trace '" + trace + "' of projection '" + projection + "' has " + std::to_string(at.last - at.first) +
                  " values, got " + std::to_string(values.size()));
    const bool age = trace == "pre_age";
    for (std::size_t q = 0; q < values.size(); ++q) {
      const double x = values[q];
      const bool ok = age ? (x == -1.0 || (x >= 0 && x <= 9e15 && x == std::floor(x))) : (std::isfinite(x) && std::abs(x) < 1e30);
      if (!ok)
        throw error("set_traces: value " + std::to_string(q) + " of trace '" + trace + "' of projection '" + projection + "' must be " +
                    (age ? "a whole number of steps >= 0, or -1 (no arrival yet)" : "finite"));
    }
    if (!at.per_synapse) {
      const view<real_t>& target = neuron_traces(trace);
      auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), target);
      for (std::size_t q = 0; q < values.size(); ++q) host(at.first + q) = static_cast<real_t>(values[q]);
      Kokkos::deep_copy(target, host);
      return;
    }
    const auto& where_ = plastic_position_[rule_projection_[rule_of(projection)]];
    if (age) {
      auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), d_last_);
      for (std::size_t q = 0; q < values.size(); ++q)
        host(static_cast<std::size_t>(where_[at.first + q])) = values[q] < 0 ? detail::no_arrival : step - static_cast<std::int64_t>(values[q]);
      Kokkos::deep_copy(d_last_, host);
    } else {
      auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), d_trace_);
      for (std::size_t q = 0; q < values.size(); ++q) host(static_cast<std::size_t>(where_[at.first + q])) = static_cast<real_t>(values[q]);
      Kokkos::deep_copy(d_trace_, host);
    }
  }

  // The weights a plastic projection's positions index: the table's, or the delayed plastic
  // synapses' (per-synapse traces).
  view<float> weights_of(const std::string& projection) const {
    return rules_[rule_of(projection)].per_synapse ? d_weight_ : weight_;
  }

  // Scales each post neuron's plastic synapses of `projection` so that their weights sum to
  // `column_sum` (columns summing to 0 stay). One work item per post neuron, summing its column
  // in a fixed order (in double): the same weights on every backend.
  void normalise_weights(const std::string& projection, double column_sum) override {
    if (!(column_sum > 0) || !std::isfinite(column_sum))
      throw error("normalise_weights: the column sum must be a finite number > 0");
    const int r = static_cast<int>(rule_of(projection));
    const detail::plastic_rule k = rules_[static_cast<std::size_t>(r)];
    float* weight = k.per_synapse ? d_weight_.data() : weight_.data();
    const std::int16_t* syn_rule = k.per_synapse ? d_rule_.data() : syn_rule_.data();
    const std::int64_t* col_ptr = k.per_synapse ? d_col_ptr_.data() : col_ptr_.data();
    const std::int64_t* col_syn = k.per_synapse ? d_col_syn_.data() : col_syn_.data();
    const float w_limit = static_cast<float>(max_weight_);
    detail::launch(exec_, detail::label::normalise, k.post_end - k.post_begin, KOKKOS_LAMBDA(std::int64_t q) {
      const index_t post = k.post_begin + static_cast<index_t>(q);
      double sum = 0;
      for (std::int64_t c = col_ptr[post]; c < col_ptr[post + 1]; ++c)
        if (syn_rule[col_syn[c]] == r) sum += weight[col_syn[c]];
      if (sum <= 0) return;
      const double factor = column_sum / sum;
      for (std::int64_t c = col_ptr[post]; c < col_ptr[post + 1]; ++c)
        if (syn_rule[col_syn[c]] == r) {
          const float w = static_cast<float>(weight[col_syn[c]] * factor);
          weight[col_syn[c]] = w < w_limit ? w : w_limit;  // the fixed-point input was sized for this
        }
    });
    detail::wait(exec_);
  }

  // ---------------------------------------------------------------- one step
  void advance() {
    if (deferred_) return advance_deferred();
    const int slot = static_cast<int>(step % slots_);
    if (step % flush_period == 0) flush_synapses();
    deliver(slot);
    apply_currents();
    set_count(0);
    for (std::size_t pi = 0; pi < pops_.size(); ++pi) {
      const int before = read_count();
      update_population(pops_[pi]);
      const int after = read_count();
      pop_spike_end_[pi] = after;
      pop_spike_begin_[pi] = before;
      stats.spikes[pi] += static_cast<std::uint64_t>(after - before);
    }
    const int n_spikes = read_count();
    if (!rules_.empty()) decay_traces();
    if (n_spikes > 0) propagate(slot, n_spikes);
    else last_events_ = 0;  // the events of this step, for next step's choice of delivery mode
    if (history_slots_ > 0) deliver_arrivals(slot);  // before learn(): its post phase sees these arrivals
    if (n_spikes > 0 && !rules_.empty()) learn(n_spikes);
    record(n_spikes);
    ++step;
    ++stats.steps;
  }

  // Sets synaptic variables below 1e-30 to zero (see neurons::flush_tiny): every 16 steps,
  // at fixed steps, so all backends flush alike.
  static constexpr step_t flush_period = 16;
  void flush_synapses() {
    real_t* se = syn_e_.data();
    real_t* si = syn_i_.data();
    const index_t n = n_;
    const index_t blocks = (n + block - 1) / block;
    detail::launch(exec_, detail::label::flush, blocks, KOKKOS_LAMBDA(index_t b) {
      const index_t lo = b * block, hi = lo + block < n ? lo + block : n;
      for (index_t i = lo; i < hi; ++i) {
        se[i] = neurons::flush_tiny(se[i]);
        si[i] = neurons::flush_tiny(si[i]);
      }
    });
  }

  int read_count() {
    detail::wait(exec_);
    if constexpr (host_memory) {
      return spike_count_.data()[0];
    } else {
      int c = 0;
      Kokkos::deep_copy(Kokkos::View<int, Kokkos::HostSpace>(&c), Kokkos::subview(spike_count_, 0));
      return c;
    }
  }

  void set_count(int c) {
    if constexpr (host_memory) {
      spike_count_.data()[0] = c;
    } else {
      Kokkos::deep_copy(Kokkos::subview(spike_count_, 0), c);
    }
  }

  void deliver(int slot) {
    if constexpr (!host_memory) Kokkos::deep_copy(dirty_count_host_, dirty_count_);
    const int n = dirty_count_host_(slot);
    if (n == 0 && !slot_dense_[static_cast<std::size_t>(slot)]) return;
    fixed_t* ring = ring_.data() + static_cast<std::size_t>(slot) * 2 * static_cast<std::size_t>(n_);
    real_t* se = syn_e_.data();
    real_t* si = syn_i_.data();
    const double inv = inv_scale_;
    auto apply = KOKKOS_LAMBDA(index_t idx) {
      detail::deliver_cell(se, si, idx, detail::exchange<Exec>(ring + idx, fixed_t{0}), inv);
    };
    // A scan of the whole slot reads every cell once, each from one work item: no atomics.
    auto apply_once = KOKKOS_LAMBDA(index_t idx) {
      const fixed_t x = ring[idx];
      if (x == 0) return;
      ring[idx] = 0;
      detail::deliver_cell(se, si, idx, x, inv);
    };
    if (slot_dense_[static_cast<std::size_t>(slot)]) {
      // Filled by dense propagation, which keeps no list: scan the whole slot.
      detail::launch(exec_, detail::label::deliver_all, 2 * n_, apply_once);
      slot_dense_[static_cast<std::size_t>(slot)] = 0;
    } else if (n <= dirty_capacity_) {
      const index_t* list = dirty_.data() + static_cast<std::size_t>(slot) * static_cast<std::size_t>(dirty_capacity_);
      detail::launch(exec_, detail::label::deliver, n,
          KOKKOS_LAMBDA(int k) { apply(list[k]); });
    } else {  // the list overflowed (many sums through zero): scan the whole slot
      detail::launch(exec_, detail::label::deliver_all, 2 * n_, apply_once);
    }
    dirty_count_host_(slot) = 0;
    if constexpr (host_memory) {
      detail::wait(exec_);
    } else {
      Kokkos::deep_copy(Kokkos::subview(dirty_count_, slot), 0);
    }
  }

  static constexpr std::int64_t host_loop_limit = 4096;
  void apply_currents() {
    while (current_cursor_ < current_events_.size() && current_events_[current_cursor_].step <= step) {
      const auto& e = current_events_[current_cursor_++];
      const index_t* ids = current_ids_[e.source].data();
      real_t* iext = i_ext_.data();
      const auto delta = static_cast<real_t>(e.delta);
      const auto n = static_cast<std::int64_t>(current_ids_[e.source].extent(0));
      if (host_memory && n <= host_loop_limit) {
        // A few neurons' currents (a current stepping every dt, say): a parallel launch costs
        // more than the loop, and with other processes on the cores, far more.
        for (std::int64_t k = 0; k < n; ++k) iext[ids[k]] += delta;
      } else {
        detail::launch(exec_, detail::label::current, n, KOKKOS_LAMBDA(int k) { iext[ids[k]] += delta; });
      }
    }
  }

  void update_population(detail::population_info& info) {
    using kind = detail::population_info::kind;
    if (info.type == kind::poisson) return update_poisson(info);
    if (info.type == kind::spike_array) return emit_array_spikes(info);
    neurons::with_model_at(info.coeffs.index(), [&](auto tag) {
      using M = typename decltype(tag)::type;
      update_neurons<M>(std::get<typename M::coeffs>(info.coeffs), info);
    });
  }

  // The update kernel: a vectorisable loop over a block of neurons, then a scan of the
  // block that appends the neurons that fired to the spike list.
  template <class Model>
  void update_neurons(const typename Model::coeffs c, const detail::population_info& info) {
    const index_t begin = info.begin, end = info.end;
    const bool injected = info.has_current;
    real_t* own = model_state_.data() + info.state_offset;
    real_t* se = syn_e_.data();
    real_t* si = syn_i_.data();
    const real_t* iext = i_ext_.data();
    std::int32_t* since = since_.data();
    index_t* spikes = spike_list_of(info);
    int* count = spike_counter_of(info);
    const background_adder background = background_of(info);
    const index_t blocks = (end - begin + block - 1) / block;
    detail::launch(exec_, detail::label::update, blocks, KOKKOS_LAMBDA(index_t b) {
      update_block_of<Model>(c, background, injected, own, begin, end, b, se, si, since, iext, spikes, count);
    });
  }

  // Background Poisson input: each neuron's count this step, added to its receptor as if that
  // many spikes of the given weight arrived now; the update kernel calls it on each block of
  // neurons just before updating them. Neuron n's chunk j at step t uses 32-bit word
  // w = n * chunks + j of the step's draws: word w % 4 of Philox block w / 4 (seed + instance,
  // the population's stream, counter t), so one block serves four neurons.
  struct background_adder {
    real_t* target;
    const std::uint64_t* cdf;
    std::uint64_t seed, chunks, t;
    std::uint32_t stream;
    index_t begin, size;
    real_t w;
    KOKKOS_INLINE_FUNCTION void operator()(index_t lo, index_t hi) const {
      philox_block r{};
      std::uint64_t have = ~std::uint64_t{0};  // (instance, block) of r: consecutive neurons share blocks
      for (index_t i = lo; i < hi; ++i) {
        const index_t instance = (i - begin) / size, local = i - begin - instance * size;
        int count = 0;
        for (std::uint64_t j = 0; j < chunks; ++j) {
          const std::uint64_t word = static_cast<std::uint64_t>(local) * chunks + j, at = word >> 2;
          const std::uint64_t key = (static_cast<std::uint64_t>(instance) << 40) | at;
          if (key != have) {
            // Block numbers beyond 32 bits go to the counter's top bits (steps stay below 2^40).
            r = philox4x32(seed + static_cast<std::uint64_t>(instance), stream, static_cast<std::uint32_t>(at),
                           t | ((at >> 32) << 40));
            have = key;
          }
          count += detail::poisson_count(r.x[word & 3], cdf);
        }
        if (count > 0) target[i] += static_cast<real_t>(count) * w;
      }
    }
  };

  // Block b of a population [begin, end) (own: its model state): its background input, the
  // model's update, its spikes appended to the list. The update kernel and the fused kernel.
  // The coefficients and the adder by value, as update_block takes them: no aliasing with the
  // arrays written (by reference the update loop runs about 8 % slower).
  template <class Model>
  KOKKOS_INLINE_FUNCTION static void update_block_of(const typename Model::coeffs c, const background_adder background,
                                                     bool injected, real_t* own, index_t begin, index_t end, index_t b,
                                                     real_t* se, real_t* si, std::int32_t* since, const real_t* iext,
                                                     index_t* spikes, int* count) {
    const index_t lo = begin + b * block, hi = lo + block < end ? lo + block : end;
    const index_t stride = end - begin, local = lo - begin;
    if (background.chunks > 0) background(lo, hi);
    const int fired = injected ? detail::update_block<Model, true>(c, own, stride, se, si, since, iext, lo, hi, local)
                               : detail::update_block<Model, false>(c, own, stride, se, si, since, iext, lo, hi, local);
    detail::collect_spikes<Exec>(since, lo, hi, fired, spikes, count);
  }

  // The population's adder for this step (chunks = 0: no background).
  background_adder background_of(const detail::population_info& info) const {
    return background_adder{info.bg_receptor == 1 ? syn_i_.data() : syn_e_.data(),
                            bg_tables_.data() + info.bg_table,
                            net.seed,
                            static_cast<std::uint64_t>(info.bg_chunks),
                            static_cast<std::uint64_t>(step),
                            stream_id(kspike::stream::background_input, static_cast<std::uint32_t>(&info - pops_.data())),
                            info.begin,
                            info.size,
                            info.bg_weight};
  }

  // Appends the inversion table of a Poisson distribution of mean `lambda` (<= 8):
  // floor(P(count <= k) 2^32) for k = 0, 1, ... while below 2^32, then 2^32.
  static void append_poisson_table(double lambda, std::vector<std::uint64_t>& tables) {
    const double two32 = 4294967296.0;
    double p = std::exp(-lambda), cdf = p;
    for (int k = 1; k <= 64; ++k) {
      const double scaled = std::floor(cdf * two32);
      if (scaled >= two32) break;
      tables.push_back(static_cast<std::uint64_t>(scaled));
      p *= lambda / k;
      cdf += p;
    }
    tables.push_back(std::uint64_t{1} << 32);
  }

  void update_poisson(const detail::population_info& info) {
    if (info.gaps) return update_poisson_gaps(info);
    const index_t begin = info.begin, end = info.end;
    const std::uint64_t* thr = poisson_threshold_.data();
    index_t* spikes = spike_list_of(info);
    int* count = spike_counter_of(info);
    const std::uint64_t seed = net.seed;
    const auto stream = stream_id(kspike::stream::poisson_source, static_cast<std::uint32_t>(&info - pops_.data()));
    const step_t t = step;
    const index_t size = info.size;
    const index_t blocks = (end - begin + block - 1) / block;
    detail::launch(exec_, detail::label::poisson, blocks, KOKKOS_LAMBDA(index_t b) {
          const index_t lo = begin + b * block, hi = lo + block < end ? lo + block : end;
          for (index_t i = lo; i < hi; ++i)
            if (detail::bernoulli_fires(thr[i], seed, stream, i, begin, size, t)) spikes[detail::fetch_add<Exec>(count, 1)] = i;
        });
  }

  // Sources drawn by gaps: a source fires when its next spike is due and draws the one after.
  void update_poisson_gaps(const detail::population_info& info) {
    const index_t begin = info.begin, end = info.end, size = info.size;
    const double* q = inv_log_q_.data();
    std::int64_t* next = next_spike_.data();
    std::uint64_t* draws = draws_.data();
    index_t* spikes = spike_list_of(info);
    int* count = spike_counter_of(info);
    const std::uint64_t seed = net.seed;
    const auto stream = stream_id(kspike::stream::poisson_source, static_cast<std::uint32_t>(&info - pops_.data()));
    const step_t t = step;
    const index_t blocks = (end - begin + block - 1) / block;
    detail::launch(exec_, detail::label::poisson, blocks, KOKKOS_LAMBDA(index_t b) {
          const index_t lo = begin + b * block, hi = lo + block < end ? lo + block : end;
          for (index_t i = lo; i < hi; ++i) {
            if (next[i] != t) continue;
            spikes[detail::fetch_add<Exec>(count, 1)] = i;
            next[i] = detail::next_spike_after(q[i], seed, stream, i, begin, size, t, draws[i]);
          }
        });
  }

  void emit_array_spikes(detail::population_info& info) {
    const std::size_t first = info.array_cursor;
    while (info.array_cursor < info.array_end && array_events_[info.array_cursor].first <= step) ++info.array_cursor;
    const auto n = static_cast<int>(info.array_cursor - first);
    if (n == 0) return;
    const int at = read_count();
    const index_t* ids = array_ids_.data() + first;
    index_t* spikes = spikes_.data();
    detail::launch(exec_, detail::label::spike_array, n,
        KOKKOS_LAMBDA(int k) { spikes[at + k] = ids[k]; });
    set_count(at + n);
  }

  void propagate(int slot, int n_spikes) {
    const index_t* spikes = spikes_.data();
    const std::int64_t* row = row_ptr_.data();
    const index_t* target = target_.data();
    const std::uint16_t* delay = delay_.data();
    const float* weight = weight_.data();
    const std::size_t slot_cells = 2 * static_cast<std::size_t>(n_);
    // Sparse activity (most steps of most networks): list each cell on its first input, so
    // that delivery touches only those. Dense activity (last step's events could fill an
    // eighth of a slot): listing costs more than it saves, so add only, and let delivery scan
    // the slots written. A prediction from the previous step; either way the sums are exact.
    const bool dense = delivery_ == engine_options::delivery_mode::dense ||
                       (delivery_ == engine_options::delivery_mode::automatic &&
                        last_events_ * 8 > static_cast<std::uint64_t>(slot_cells));
    const ring_adder sparse_add = adder(slot, true), dense_add = adder(slot, false);
    std::int64_t events = 0;
    if (dense) {
      std::fill(slot_dense_.begin(), slot_dense_.end(), 1);
      if (split_by_target_) {
        ring_adder own_add = dense_add;  // each thread owns its targets' cells: no atomics
        own_add.atomic = false;
        walk_rows_by_target(n_spikes, KOKKOS_LAMBDA(std::int64_t j) { own_add(delay[j], target[j], weight[j]); });
      } else {
        walk_rows(n_spikes, KOKKOS_LAMBDA(std::int64_t j) { dense_add(delay[j], target[j], weight[j]); });
      }
      events += walk_kinds(dense_add);
    } else {
      walk_rows(n_spikes, KOKKOS_LAMBDA(std::int64_t j) { sparse_add(delay[j], target[j], weight[j]); });
      events += walk_kinds(sparse_add);
    }
    // Events walked in the table: the row lengths of the neurons that fired.
    if constexpr (host_memory) {
      detail::wait(exec_);
      for (int k = 0; k < n_spikes; ++k) events += row[spikes[k] + 1] - row[spikes[k]];
    } else {
      std::int64_t table_events = 0;
      Kokkos::parallel_reduce(
          detail::label::count_events, Kokkos::RangePolicy<Exec>(exec_, 0, n_spikes),
          KOKKOS_LAMBDA(int k, std::int64_t& acc) { acc += row[spikes[k] + 1] - row[spikes[k]]; }, table_events);
      events += table_events;
    }
    stats.synaptic_events += static_cast<std::uint64_t>(events);
    last_events_ = static_cast<std::uint64_t>(events);
  }

  // One synaptic event, whatever the projection kind: weight w reaches `cell` d steps after the
  // current slot. Listing (sparse activity): the first input to a cell since its last delivery
  // lists the cell for delivery; otherwise (dense activity) it only adds, and delivery scans.
  struct ring_adder {
    fixed_t* ring;
    index_t* dirty;
    int* dirty_count;
    int slot, slots;
    std::size_t slot_cells, capacity;
    double scale;
    bool list;
    bool atomic = true;  // false: the caller guarantees one thread per cell (and list is false)
    KOKKOS_INLINE_FUNCTION void operator()(int d, index_t cell, float w) const {
      const auto x = static_cast<fixed_t>(static_cast<double>(w) * scale);
      if (list && x == 0) return;
      int s = slot + d;
      if (s >= slots) s -= slots;
      if (!atomic) {
        ring[s * slot_cells + cell] += x;
        return;
      }
      if (detail::fetch_add<Exec>(ring + s * slot_cells + cell, x) == 0 && list) {
        const int k = detail::fetch_add<Exec>(dirty_count + s, 1);
        if (static_cast<std::size_t>(k) < capacity) dirty[s * capacity + k] = cell;
      }
    }
  };
  ring_adder adder(int slot, bool list) {
    return ring_adder{ring_.data(), dirty_.data(), dirty_count_.data(), slot, slots_,
                      2 * static_cast<std::size_t>(n_), static_cast<std::size_t>(dirty_capacity_), scale_, list};
  }

  // The delayed plastic synapses reached now (arrive()), delivered into the ring as any input.
  void deliver_arrivals(int slot) {
    const std::int64_t events = arrive(adder(slot, true));
    stats.synaptic_events += static_cast<std::uint64_t>(events);
    last_events_ += static_cast<std::uint64_t>(events);
  }

  // Calls event(j) for every synapse j of the neurons in the spike list: one spike per work
  // item on a CPU, a team per spike with its threads over the row on a GPU.
  template <class Event>
  void walk_rows(int n_spikes, const Event& event) {
    if (row_ptr_host_(static_cast<std::size_t>(n_)) == 0) return;  // every projection has a kind of its own
    const index_t* spikes = spikes_.data();
    const std::int64_t* row = row_ptr_.data();
    if constexpr (host_memory) {
      detail::launch(exec_, detail::label::propagate, n_spikes, KOKKOS_LAMBDA(int k) {
        const index_t pre = spikes[k];
        for (std::int64_t j = row[pre]; j < row[pre + 1]; ++j) event(j);
      });
    } else {
      using team = typename Kokkos::TeamPolicy<Exec>::member_type;
      Kokkos::parallel_for(
          detail::label::propagate, Kokkos::TeamPolicy<Exec>(exec_, n_spikes, Kokkos::AUTO),
          KOKKOS_LAMBDA(const team& m) {
            const index_t pre = spikes[m.league_rank()];
            Kokkos::parallel_for(Kokkos::TeamThreadRange(m, row[pre], row[pre + 1]), event);
          });
    }
  }

  // walk_rows for CPU threads without atomics: the ring's cells are split into one contiguous
  // range of targets per thread, and each thread walks every spike's row over its own range only
  // (rows are in target order, connectivity.cpp sort_rows_by_target: a binary search finds where
  // the range starts). Every cell then has one writer.
  template <class Event>
  void walk_rows_by_target(int n_spikes, const Event& event) {
    if (row_ptr_host_(static_cast<std::size_t>(n_)) == 0) return;
    const index_t* spikes = spikes_.data();
    const std::int64_t* row = row_ptr_.data();
    const index_t* target = target_.data();
    const std::int64_t cells = 2 * static_cast<std::int64_t>(n_), parts = target_ranges_;
    detail::launch(exec_, detail::label::propagate, parts, KOKKOS_LAMBDA(std::int64_t p) {
      const auto lo = static_cast<index_t>(cells * p / parts), hi = static_cast<index_t>(cells * (p + 1) / parts);
      for (int k = 0; k < n_spikes; ++k) {
        const index_t pre = spikes[k];
        std::int64_t a = row[pre], b = row[pre + 1];
        while (a < b) {  // the first synapse with target >= lo
          const std::int64_t m = a + (b - a) / 2;
          if (target[m] < lo) a = m + 1;
          else b = m;
        }
        for (std::int64_t j = a; j < row[pre + 1] && target[j] < hi; ++j) event(j);
      }
    });
  }

  // A procedural projection (convolution or matrix, network.hpp procedural_connection): for each
  // spike, its pooled position, then every target its kernel or matrix column reaches, with
  // weight / pool^2. Returns the events (exact: counted as they are made).
  template <class Projection, class Add>
  std::int64_t walk_procedural(const Projection& p, const index_t* spikes, int n, const Add& add) {
    const detail::grid g = p.geometry;
    const bool conv = p.kind == projection_kind::conv;
    const float* w = p.weight.data();
    const index_t pre_begin = p.pre_begin, post_begin = p.post_begin, n_pre = p.n_pre, n_post = p.n_post;
    const std::int64_t ph = g.in_h / g.pool, pw = g.in_w / g.pool;
    const float scale = 1.0f / static_cast<float>(g.pool * g.pool);
    const std::int64_t k = g.kernel, taps = conv ? g.out_c * k * k : n_post;
    const std::int64_t cols = g.in_c * ph * pw;  // matrix: its columns (the pooled, flattened input)
    // Target r of a spike at pooled (c, py, px) in instance `base`: adds and returns 1 if reached.
    auto target = KOKKOS_LAMBDA(std::int64_t c, std::int64_t py, std::int64_t px, index_t base, std::int64_t r) -> int {
      if (!conv) {
        add(1, (base + static_cast<index_t>(r)) * 2, w[r * cols + (c * ph + py) * pw + px] * scale);
        return 1;
      }
      const std::int64_t co = r / (k * k), ky = (r / k) % k, kx = r % k;
      const std::int64_t oy = py + g.padding - ky, ox = px + g.padding - kx;
      if (oy < 0 || ox < 0 || oy % g.stride != 0 || ox % g.stride != 0) return 0;
      const std::int64_t y = oy / g.stride, x = ox / g.stride;
      if (y >= g.out_h || x >= g.out_w) return 0;
      add(1, (base + static_cast<index_t>((co * g.out_h + y) * g.out_w + x)) * 2, w[((co * g.in_c + c) * k + ky) * k + kx] * scale);
      return 1;
    };
    view<std::int64_t> reached = alloc_events_();
    std::int64_t* events = reached.data();
    auto one_spike = KOKKOS_LAMBDA(int s, std::int64_t& py, std::int64_t& px, std::int64_t& c, index_t& base) -> bool {
      const index_t rel = spikes[s] - pre_begin, inst = rel / n_pre, i = rel - inst * n_pre;
      c = i / (g.in_h * g.in_w);
      const std::int64_t y = (i / g.in_w) % g.in_h, x = i % g.in_w;
      py = y / g.pool;
      px = x / g.pool;
      base = post_begin + inst * n_post;
      return py < ph && px < pw;  // average pooling floors: the last rows and columns may drop out
    };
    if constexpr (host_memory) {
      detail::launch(exec_, detail::label::propagate_procedural, n, KOKKOS_LAMBDA(int s) {
        std::int64_t py, px, c;
        index_t base;
        if (!one_spike(s, py, px, c, base)) return;
        std::int64_t made = 0;
        for (std::int64_t r = 0; r < taps; ++r) made += target(c, py, px, base, r);
        detail::fetch_add<Exec>(events, made);
      });
    } else {
      using team = typename Kokkos::TeamPolicy<Exec>::member_type;
      Kokkos::parallel_for(
          detail::label::propagate_procedural, Kokkos::TeamPolicy<Exec>(exec_, n, Kokkos::AUTO), KOKKOS_LAMBDA(const team& m) {
            std::int64_t py, px, c;
            index_t base;
            if (!one_spike(m.league_rank(), py, px, c, base)) return;
            std::int64_t made = 0;
            Kokkos::parallel_reduce(
                Kokkos::TeamThreadRange(m, std::int64_t{0}, taps),
                [&](std::int64_t r, std::int64_t& acc) { acc += target(c, py, px, base, r); }, made);
            Kokkos::single(Kokkos::PerTeam(m), [&] { detail::fetch_add<Exec>(events, made); });
          });
    }
    return read_events_();
  }

  // The projections of a kind of their own (sim/connectivity.hpp): for each, the spikes of its
  // pre population (its segment of the spike list) and their targets, computed from the
  // index, with add(delay, cell, weight) per synapse. Returns the events.
  template <class Add>
  std::int64_t walk_kinds(const Add& add) {
    std::int64_t events = 0;
    for (const kind_projection& p : kinds_) {
      const int first = pop_spike_begin_[p.pre_population];
      const int n = pop_spike_end_[p.pre_population] - first;
      if (n == 0) continue;
      const index_t* spikes = spikes_.data() + first;
      const float* w = p.weight.data();
      const std::uint16_t* d = p.delay.data();
      const bool one_w = p.weight.extent(0) == 1, one_d = p.delay.extent(0) == 1;
      const index_t pre_begin = p.pre_begin, post_begin = p.post_begin, n_pre = p.n_pre, n_post = p.n_post;
      const std::size_t cells = p.cells;
      const int rec = p.receptor;
      if (p.kind == projection_kind::conv || p.kind == projection_kind::matrix) {
        events += walk_procedural(p, spikes, n, add);
        continue;
      }
      if (p.kind == projection_kind::one_to_one) {
        detail::launch(exec_, detail::label::propagate_one_to_one, n, KOKKOS_LAMBDA(int k) {
          const index_t rel = spikes[k] - pre_begin, inst = rel / n_pre, i = rel - inst * n_pre;
          const std::size_t at = static_cast<std::size_t>(inst) * cells + static_cast<std::size_t>(i);
          add(d[one_d ? 0 : at], (post_begin + inst * n_post + i) * 2 + rec, w[one_w ? 0 : at]);
        });
        events += n;
        continue;
      }
      // dense and all_but_self: the spike's row of the matrix (one weight and delay for all
      // in all_but_self), without the diagonal when self-connections are excluded.
      const bool skip = p.skip_self;
      // Synapse (i, j) of instance inst: the row's values start at `row`, its targets at `base`.
      auto synapse = KOKKOS_LAMBDA(index_t i, index_t j, std::size_t row, index_t base) {
        if (skip && j == i) return;
        const std::size_t at = row + static_cast<std::size_t>(j);
        add(d[one_d ? 0 : at], (base + j) * 2 + rec, w[one_w ? 0 : at]);
      };
      if constexpr (host_memory) {
        detail::launch(exec_, detail::label::propagate_dense, n, KOKKOS_LAMBDA(int k) {
          const index_t rel = spikes[k] - pre_begin, inst = rel / n_pre, i = rel - inst * n_pre;
          const std::size_t row = static_cast<std::size_t>(inst) * cells + static_cast<std::size_t>(i) * static_cast<std::size_t>(n_post);
          const index_t base = post_begin + inst * n_post;
          for (index_t j = 0; j < n_post; ++j) synapse(i, j, row, base);
        });
      } else {
        using team = typename Kokkos::TeamPolicy<Exec>::member_type;
        Kokkos::parallel_for(
            detail::label::propagate_dense, Kokkos::TeamPolicy<Exec>(exec_, n, Kokkos::AUTO),
            KOKKOS_LAMBDA(const team& m) {
              const index_t rel = spikes[m.league_rank()] - pre_begin, inst = rel / n_pre, i = rel - inst * n_pre;
              const std::size_t row = static_cast<std::size_t>(inst) * cells + static_cast<std::size_t>(i) * static_cast<std::size_t>(n_post);
              const index_t base = post_begin + inst * n_post;
              Kokkos::parallel_for(Kokkos::TeamThreadRange(m, index_t{0}, n_post), [&](index_t j) { synapse(i, j, row, base); });
            });
      }
      events += static_cast<std::int64_t>(n) * (n_post - (skip ? 1 : 0));
    }
    return events;
  }

  // ---------------------------------------------------------------- the fused step
  // engine_options::step_sync = fused: one team of threads runs a window of steps in one
  // launch, the phases of each step (flush, delivery, updates, propagation, recording) as
  // team-wide loops with barriers between them, in the deferred step's layout (per-population
  // spike segments and counters, listing delivery, device totals and record buffer). For small
  // networks on a GPU, where a step's work costs less than a launch. Windows end where an
  // injected current changes (the host applies it between windows), when the record buffer is
  // full, and after max_fused_window steps (progress is reported between windows). The
  // member functions of this and the next section are defined in sim/engine_device_steps.hpp.
  static constexpr step_t max_fused_window = 1024;

  // A population as the fused kernel reads it.
  struct fused_population {
    int kind = 0;  // 0: a neuron model, 1: Poisson by thresholds, 2: Poisson by gaps
    int model = 0;
    index_t begin = 0, end = 0, size = 0;
    std::size_t state_offset = 0;
    int injected = 0;
    std::uint32_t stream = 0;
    background_adder background{};
    alignas(16) unsigned char coeffs[detail::coeff_bytes] = {};
  };
  // A projection of a kind of its own (dense, all_but_self, one_to_one) as the deferred and
  // fused kernels read it: plain values.
  struct kind_args {
    int one_to_one = 0, receptor = 0, skip_self = 0, one_w = 0, one_d = 0;
    int pre_population = 0;
    index_t pre_begin = 0, n_pre = 0, post_begin = 0, n_post = 0;
    std::size_t cells = 0;
    const float* weight = nullptr;
    const std::uint16_t* delay = nullptr;
    // Work items per spike: one (one_to_one) or one per target of the row.
    KOKKOS_INLINE_FUNCTION std::int64_t per_spike() const { return one_to_one ? 1 : n_post; }
    // Synaptic events per spike: the row less the diagonal where it is skipped.
    KOKKOS_INLINE_FUNCTION std::uint64_t events_per_spike() const {
      return static_cast<std::uint64_t>(one_to_one ? 1 : n_post - (skip_self ? 1 : 0));
    }
    // Work item j (< per_spike()) of the spike of neuron `spike`: its synapse, through add.
    template <class Add>
    KOKKOS_INLINE_FUNCTION void synapse(index_t spike, index_t j, const Add& add) const {
      const index_t rel = spike - pre_begin, inst = rel / n_pre, i = rel - inst * n_pre;
      const std::size_t row = static_cast<std::size_t>(inst) * cells;
      if (one_to_one) {
        const std::size_t at = row + static_cast<std::size_t>(i);
        add(delay[one_d ? 0 : at], (post_begin + inst * n_post + i) * 2 + receptor, weight[one_w ? 0 : at]);
        return;
      }
      if (skip_self && j == i) return;
      const std::size_t at = row + static_cast<std::size_t>(i) * static_cast<std::size_t>(n_post) + static_cast<std::size_t>(j);
      add(delay[one_d ? 0 : at], (post_begin + inst * n_post + j) * 2 + receptor, weight[one_w ? 0 : at]);
    }
  };
  template <class KindProjection>  // kind_projection, declared with the members below
  static kind_args args_of(const KindProjection& p) {
    kind_args k;
    k.one_to_one = p.kind == projection_kind::one_to_one ? 1 : 0;
    k.receptor = p.receptor;
    k.skip_self = p.skip_self ? 1 : 0;
    k.one_w = p.weight.extent(0) == 1 ? 1 : 0;
    k.one_d = p.delay.extent(0) == 1 ? 1 : 0;
    k.pre_population = static_cast<int>(p.pre_population);
    k.pre_begin = p.pre_begin;
    k.n_pre = p.n_pre;
    k.post_begin = p.post_begin;
    k.n_post = p.n_post;
    k.cells = p.cells;
    k.weight = p.weight.data();
    k.delay = p.delay.data();
    return k;
  }

  // The populations and kind projections as the fused kernel reads them (fused_pops_, fused_kinds_).
  void build_fused();

  // Steps until the host must act between windows: a current changing, the record buffer full.
  step_t fused_window(step_t left) const;

  // One window of `steps` steps from `step`, in one launch.
  void run_fused(step_t steps);

  // ---------------------------------------------------------------- the deferred step
  // engine_options::step_sync. Each population's spikes of a step fill the segment of the
  // spike list at its first neuron, counted by a device counter of its own (pop_count_), so
  // nothing needs a count on the host: propagation strides a fixed number of teams over the
  // counted spikes, delivery covers the whole slot and reads the slot's list length itself, and
  // spike and event totals accumulate on the device until run() ends. The ring's fixed-point
  // sums make the order of the adds irrelevant, so the spikes are those of every_step.

  // What keeps a network off the deferred step (empty: nothing).
  std::string deferred_obstacle() const;

  // Picks the host loop (deferred_, fused_) and allocates what the chosen one needs.
  void choose_step_sync(engine_options::step_sync_kind sync);

  index_t* spike_list_of(const detail::population_info& info) {
    return deferred_ ? spikes_.data() + info.begin : spikes_.data();
  }
  int* spike_counter_of(const detail::population_info& info) {
    return deferred_ ? pop_count_.data() + (&info - pops_.data()) : spike_count_.data();
  }

  // One step of the deferred loop: launches only.
  void advance_deferred();

  // The slot's listed cells when its list held them all, else every cell of the slot: one
  // launch for the whole slot either way, each work item reading the list length itself.
  void deliver_deferred(int slot);

  // After delivery, before the updates: the delivered slot's list is empty again (`listed`,
  // unless null), last step's spike counts go to the totals and start from zero.
  void begin_step_deferred(int* listed);

  // The step's spikes through the synapse table and the projections of their own kinds, in
  // listing mode (the ring adder lists each cell on its first input).
  void propagate_deferred(int slot);

  // Appends the step's spikes, population after population, to the device's record buffer,
  // and the step's counts to its table; every record_steps_ steps (and when run() ends) the
  // buffer comes to the host at once and goes to the sink, step by step.
  void record_deferred();

  // The buffered steps' spikes to the sink, the last of them `last`: one read-back for all.
  void flush_records(step_t last);

  // The device's totals into stats (the last step's counts included), and back to zero.
  void read_deferred_stats();

  // Population pi's spikes of step s, spike_host_[b, e) in any order, to the sink as sorted
  // local ids (every recording path goes through here, so every sink sees the same lists).
  void send_spikes(step_t s, std::size_t pi, std::size_t b, std::size_t e) {
    if (b == e) return;
    const auto first = spike_host_.begin();
    std::sort(first + static_cast<std::ptrdiff_t>(b), first + static_cast<std::ptrdiff_t>(e));
    local_ids_.clear();
    for (std::size_t k = b; k < e; ++k) local_ids_.push_back(spike_host_[k] - pops_[pi].begin);
    sink->spikes(s, pi, local_ids_.data(), local_ids_.size());
  }

  void record(int n_spikes) {
    if (!sink) return;
    if (n_spikes > 0) {
      if (spike_host_.size() < static_cast<std::size_t>(n_spikes)) spike_host_.resize(static_cast<std::size_t>(n_));
      if constexpr (host_memory) {
        std::copy(spikes_.data(), spikes_.data() + n_spikes, spike_host_.begin());
      } else {
        Kokkos::View<index_t*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> h(spike_host_.data(), n_spikes);
        Kokkos::deep_copy(h, Kokkos::subview(spikes_, std::make_pair(0, n_spikes)));
      }
      for (std::size_t pi = 0; pi < pops_.size(); ++pi)
        send_spikes(step, pi, static_cast<std::size_t>(pop_spike_begin_[pi]), static_cast<std::size_t>(pop_spike_end_[pi]));
    }
    for (std::size_t r = 0; r < probes_.size(); ++r) {
      auto& p = probes_[r];
      if ((step + 1) % p.every != 0) continue;
      const index_t* ids = p.ids.data();
      const real_t* src = p.source;
      real_t* dst = p.values.data();
      detail::launch(exec_, detail::label::probe, p.ids.extent(0),
          KOKKOS_LAMBDA(int k) { dst[k] = src[ids[k]]; });
      Kokkos::deep_copy(p.host, p.values);
      sink->state(step, r, p.host.data(), p.host.extent(0));
    }
  }

  Exec exec_;
  std::vector<index_t> offsets_;
  index_t n_ = 0;
  std::vector<detail::population_info> pops_;
  std::vector<int> pop_spike_begin_, pop_spike_end_;  // this step's spike-list segment of each population
  // The deferred step (engine_options::step_sync): per-population spike counters and totals.
  bool deferred_ = false, fused_ = false;
  static constexpr index_t fused_neuron_limit = 20000;
  view<fused_population> fused_pops_;
  view<kind_args> fused_kinds_;
  view<int> pop_count_;
  view<std::uint64_t> pop_total_, event_total_;
  view<index_t> pop_begin_;
  std::int64_t stride_teams_ = 1;
  view<index_t> rec_buffer_;  // spike ids of the buffered steps, population after population
  view<int> rec_counts_;      // [buffered step][population]
  view<std::int64_t> rec_fill_;
  std::int64_t record_steps_ = 1, rec_buffered_ = 0;

  view<real_t> model_state_;  // each population's own model variables (population_info::state_offset)
  view<real_t> syn_e_, syn_i_, i_ext_;
  view<std::int32_t> since_;
  view<std::uint64_t> poisson_threshold_;
  view<std::uint64_t> bg_tables_;  // background input (add_background)
  // Sources drawn by gaps (all neurons' entries; only those of gaps populations are used).
  view<double> inv_log_q_;
  view<std::int64_t> next_spike_;
  view<std::uint64_t> draws_;
  view<index_t> spikes_;
  view<int> spike_count_;

  view<std::int64_t> row_ptr_;
  typename view<std::int64_t>::HostMirror row_ptr_host_;
  // The projections with a kind of their own (not in the table), as their kernels read them.
  struct kind_projection {
    projection_kind kind = projection_kind::dense;
    int receptor = 0;
    std::size_t pre_population = 0;
    index_t pre_begin = 0, n_pre = 0, post_begin = 0, n_post = 0;
    bool skip_self = false;
    std::size_t cells = 0;        // synapse positions of one instance
    std::int64_t synapses = 0;
    detail::grid geometry;        // conv and matrix (the kernel or matrix lives in `weight`)
    view<float> weight;           // per synapse, or one for all
    view<std::uint16_t> delay;    // the same
  };
  std::vector<kind_projection> kinds_;
  bool structured_ = true;
  int instances_ = 1;  // copies of the network advanced together (engine_options::instances)
  view<index_t> target_;
  view<std::uint16_t> delay_;
  view<float> weight_;
  // Per projection (empty for static ones): where its synapses, in generation order, sit in
  // the table; for reading and writing a plastic projection's weights.
  std::vector<std::vector<std::int64_t>> plastic_position_;
  std::vector<std::vector<std::int64_t>> plastic_instance_start_;  // per projection: each instance's first position
  int slots_ = 1;
  // Plasticity (empty without plastic projections): the rules, their projections, each
  // synapse's rule, the traces, and the plastic synapses by post neuron (CSC).
  std::vector<detail::plastic_rule> rules_;
  std::vector<std::size_t> rule_projection_;
  view<detail::plastic_rule> rules_dev_;
  view<std::int16_t> syn_rule_;
  view<real_t> x_pre_, x_post_;
  view<real_t> x_post2_;      // the second post traces (triplet rules only; else empty)
  bool any_triplet_ = false;
  view<std::int64_t> col_ptr_, col_syn_;
  view<index_t> col_pre_;
  // Plastic projections with delays (delayed_plastic_table): synapses grouped by pre neuron and
  // delay, their per-synapse pre traces and last arrival steps, a column index, and the spike
  // history their arrivals are found from (empty without such projections).
  view<real_t> pre_table_;
  view<std::int64_t> d_row_ptr_, d_run_ptr_, d_run_first_, d_col_ptr_, d_col_syn_, d_last_;
  view<std::uint16_t> d_run_delay_;
  view<index_t> d_target_;
  view<float> d_weight_;
  view<std::int16_t> d_rule_;
  view<real_t> d_trace_;
  std::vector<std::size_t> delayed_pre_populations_;
  std::int64_t history_slots_ = 0, history_capacity_ = 0;
  view<index_t> history_;
  std::vector<std::int64_t> history_count_;
  view<std::int64_t> history_prefix_;
  view<std::int32_t> history_offset_;  // per kept spike of the flat range: its offset (delay − 1)
  view<std::int32_t> d_run_at_;        // (neuron, delay − 1) -> run, or -1 (empty: search instead)
  typename view<std::int64_t>::HostMirror history_prefix_host_;
  view<std::int64_t> arrive_events_;
  double scale_ = 1, inv_scale_ = 1;
  double max_weight_ = 1;            // the largest |weight| the fixed-point scale was chosen for
  view<fixed_t> ring_;
  view<index_t> dirty_;
  index_t dirty_capacity_ = 0;
  // Dense steps on CPU threads: propagate by target range (walk_rows_by_target), one range per
  // thread, instead of by spike with atomic additions. Off for Serial and on a GPU.
  bool split_by_target_ = false;
  std::int64_t target_ranges_ = 1;
  view<int> dirty_count_;
  std::vector<char> slot_dense_;      // slot written by dense propagation: deliver by scanning
  std::uint64_t last_events_ = 0;     // events of the previous step, to choose the mode
  engine_options::delivery_mode delivery_ = engine_options::delivery_mode::automatic;
  typename view<int>::HostMirror dirty_count_host_;

  std::vector<std::pair<step_t, index_t>> array_events_;  // every array population's, in its range
  view<index_t> array_ids_;

  struct current_event {
    step_t step;
    std::size_t source;
    double delta;
  };
  std::vector<current_event> current_events_;
  std::size_t current_cursor_ = 0;
  std::vector<view<index_t>> current_ids_;

  struct state_probe {
    view<index_t> ids;
    view<real_t> values;
    typename view<real_t>::HostMirror host;
    const real_t* source = nullptr;  // the population's values of the variable (engine-owned memory)
    step_t every = 1;
  };
  std::vector<state_probe> probes_;
  std::vector<index_t> spike_host_;
  std::vector<std::int64_t> local_ids_;
};

}  // namespace kspike

#include "sim/engine_device_steps.hpp"  // the deferred and fused steps' member functions
