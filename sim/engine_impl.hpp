#pragma once
// The engine on one Kokkos execution space: engine_impl<Exec>, its state and its member
// functions, written once and compiled for each space (engine.cpp instantiates
// engine_impl<Serial>, <OpenMP>, <Cuda> as compiled in). The class is declared here; its larger
// member functions are defined in sim/engine_build.hpp (construction), sim/engine_step.hpp (one
// step), sim/engine_plasticity.hpp (STDP) and sim/engine_device_steps.hpp (the deferred and
// fused steps); the helpers the kernels share are in sim/engine_kernels.hpp. Those definitions
// are declared `inline`, as a definition inside the class is implicitly: GCC inlines functions
// declared inline more readily, and without it the 10 % microcircuit ran 13 % slower.
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
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "sim/connectivity.hpp"
#include "sim/engine.hpp"
#include "sim/engine_base.hpp"
#include "sim/engine_kernels.hpp"

namespace kspike {

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
  // Views may point into the engine's own vectors (keep_on_device): never copied.
  engine_impl(const engine_impl&) = delete;
  engine_impl& operator=(const engine_impl&) = delete;
  engine_impl(const network& description, const std::string& backend_name, const std::string& space_name,
              engine_options::delivery_mode delivery = engine_options::delivery_mode::automatic,
              bool structured_projections = true, int instances = 1,
              engine_options::step_sync_kind step_sync = engine_options::step_sync_kind::automatic,
              engine_options::table_walk_kind table_walk = engine_options::table_walk_kind::automatic,
              std::function<void(std::int64_t, std::int64_t)> build_progress = {})
      : structured_(structured_projections), instances_(instances), build_progress_(std::move(build_progress)),
        delivery_(delivery) {
    net = description;  // validated by make_engine (engine.cpp), the only place that builds an engine_impl
    backend = backend_name;
    kernel_space = space_name;
    if (instances_ < 1) throw error("instances: must be >= 1");
    engine_base::instances = instances_;  // the member, not the constructor argument of that name
    offsets_ = population_offsets(net, instances_);
    n_ = offsets_.back();
    build_populations();
    choose_table_walk(table_walk, step_sync);  // before the table is built: it sets the rows' order
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

  // The synapse table's columns: a host memory space uses the built vectors' own storage
  // (kept in `storage`), so that the largest arrays of a network are never held twice; other
  // spaces get a copy, and the host vector is freed at once.
  template <class T>
  view<T> keep_on_device(const std::string& label, std::vector<T>& host_data, std::vector<T>& storage) {
    if constexpr (host_memory) {
      bytes += host_data.size() * sizeof(T);
      storage = std::move(host_data);
      return view<T>(storage.data(), storage.size());
    } else {
      view<T> v = to_device(label, host_data);
      std::vector<T>().swap(host_data);
      return v;
    }
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

  // Construction (sim/engine_build.hpp). Each population's range, model coefficients and state
  // (v drawn from v_init where given), Poisson thresholds and background tables, spike arrays.
  void build_populations();

  // The synapse table and the projections of their own kinds on the device, the fixed-point
  // scale of the delay ring and the ring itself; then the plasticity.
  void build_synapses_on_device();

  // The current sources: their neurons (every instance) and their changes in step order.
  void build_inputs();

  // The state recorders: their neurons, buffers and sampling intervals.
  void build_recorders();

  // ---------------------------------------------------------------- plasticity
  // (sim/engine_plasticity.hpp; the two builders below are in sim/engine_build.hpp.)
  // The rules of the plastic projections, each synapse's rule, the traces, and a column index
  // of the plastic synapses (by post neuron, with their pre neuron) from the host table `t`.
  void build_plasticity(synapse_table& t);

  // The delayed plastic synapses (connectivity.hpp delayed_plastic_table) on the device, their
  // traces, a column index for the post updates, and a history of the last max-delay steps'
  // spikes of their pre populations.
  void build_delayed_plasticity(const delayed_plastic_table& d, const std::vector<real_t>& pre_tables);

  // Keeps this step's spikes of the delayed plastic projections' pre populations (slot step mod
  // max-delay), then delivers and learns at every delayed plastic synapse a spike reaches now:
  // a spike of step e reaches the synapses of delay d at step e + d - 1 (a one-step synapse in
  // its emission step, as the table's plastic synapses), where (1) the weight it finds is
  // delivered, to act in the next step as any input, (2) the weight learns from the post trace
  // as it was before this step's post spikes, (3) the synapse's pre trace takes the spike.
  // One work item per spike of the last max-delay steps; a synapse is reached by at most one
  // spike per step, so no two items write one synapse. Returns the synaptic events.
  template <class Add>
  std::int64_t arrive(const Add& add);

  // The counter of alloc_events_() once the kernels that add to it are done.
  std::int64_t read_events_();

  // A one-element event counter for the kernels that count as they go (arrive, procedural), zeroed.
  view<std::int64_t> alloc_events_();

  // At each post spike, every delayed plastic synapse onto it learns from its pre trace as it is
  // now (this step's arrivals included).
  void learn_delayed_post(int n_spikes);

  // Traces decay by one step, before this step's spikes add to them (a clock-driven
  // exp(-dt/tau) per step, the same on every backend).
  void decay_traces();

  // After this step's spikes were delivered with the weights they carried: (1) each spiking
  // pre neuron's trace takes its spike, and its plastic synapses learn from the post traces
  // (as they were before this step's post spikes); (2) each spiking post neuron's trace takes
  // its spike, and its plastic synapses learn from the pre traces (this step's included).
  // Each synapse is written by one work item per phase: no races, the same result everywhere.
  void learn(int n_spikes);

  // The index of a plastic projection's rule; an error naming it when unknown or not plastic.
  std::size_t rule_of(const std::string& projection) const;

  void redraw_delays(const std::string& projection, std::uint32_t) override {
    throw error("redraw_delays: projection '" + projection +
                "': the step schedule keeps the delays it was built with (the window schedule can draw them again)");
  }

  void set_learning(const std::string& projection, bool on) override;

  // The range of the projection's generation-ordered positions that `instance` covers.
  std::pair<std::size_t, std::size_t> instance_range(const std::string& projection, int instance) const;

  std::vector<float> weights(const std::string& projection, int instance) const override;

  void set_weights(const std::string& projection, const std::vector<float>& values, int instance) override;

  std::vector<std::string> trace_names(const std::string& projection) const override;

  // Where a trace of `projection` lives: per synapse (positions in generation order, as the
  // weights), or per neuron ([first, last) of a trace array).
  struct trace_place {
    bool per_synapse = false;
    std::size_t first = 0, last = 0;
  };
  trace_place place_of(const std::string& projection, const std::string& trace, int instance) const;
  const view<real_t>& neuron_traces(const std::string& trace) const { return trace == "pre" ? x_pre_ : (trace == "post" ? x_post_ : x_post2_); }

  std::vector<double> traces(const std::string& projection, const std::string& trace, int instance) const override;

  void set_traces(const std::string& projection, const std::string& trace, const std::vector<double>& values, int instance) override;

  // The weights a plastic projection's positions index: the table's, or the delayed plastic
  // synapses' (per-synapse traces).
  view<float> weights_of(const std::string& projection) const {
    return rules_[rule_of(projection)].per_synapse ? d_weight_ : weight_;
  }

  // Scales each post neuron's plastic synapses of `projection` so that their weights sum to
  // `column_sum` (columns summing to 0 stay). One work item per post neuron, summing its column
  // in a fixed order (in double): the same weights on every backend.
  void normalise_weights(const std::string& projection, double column_sum) override;

  // ---------------------------------------------------------------- one step (sim/engine_step.hpp)
  // One step: delivery of the slot due, currents, each population's update (counting its
  // spikes), then propagation, learning and recording of the step's spikes.
  void advance();

  // Sets synaptic variables below 1e-30 to zero (see neurons::flush_tiny): every 16 steps,
  // at fixed steps, so all backends flush alike.
  static constexpr step_t flush_period = 16;
  void flush_synapses();

  // The spike list's length, read on the host once the kernels writing it are done; setting it.
  int read_count();
  void set_count(int c);

  // The ring slot due now into the neurons' synaptic variables, and the slot zeroed: its listed
  // cells, or a scan of the whole slot after dense propagation.
  void deliver(int slot);

  // Every cell of a ring slot (`ring`: its first cell) into the synaptic variables, and the slot
  // zeroed: one work item per cell, or on a CPU a block of neurons per work item in a loop that
  // vectorises (detail::deliver_span). No atomics: each cell is read by one work item.
  void deliver_whole_slot(fixed_t* ring);

  // The injected currents that change at this step (a host loop for up to host_loop_limit
  // neurons: cheaper than a launch).
  static constexpr std::int64_t host_loop_limit = 4096;
  void apply_currents();

  // One population's step, by its kind: neuron model, Poisson source or spike array.
  void update_population(detail::population_info& info);

  // The update kernel: a vectorisable loop over a block of neurons, then a scan of the
  // block that appends the neurons that fired to the spike list.
  template <class Model>
  void update_neurons(const typename Model::coeffs c, const detail::population_info& info);

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
    int terms;  // the table's entries below 2^32 (its last entry, 2^32, ends it)
    // Words [first, first + n) of instance `instance`'s draws at this step (n <= words) into
    // out[0, n): host_block's draws.
    static constexpr index_t words = 256;
    KOKKOS_INLINE_FUNCTION void draw_words(index_t instance, std::uint64_t first, index_t n, std::uint32_t* out) const {
      const std::uint64_t b0 = first >> 2, blocks = ((first + static_cast<std::uint64_t>(n) - 1) >> 2) - b0 + 1;
      constexpr std::uint64_t spans = words / 4 + 1;  // n words from any offset span at most this many blocks
      std::uint32_t lane[4][spans], raw[4 * spans];
      // Philox of consecutive counters: a loop the compiler vectorises (multiplies and xors).
      const std::uint64_t key = seed + static_cast<std::uint64_t>(instance);
      if ((b0 >> 32) == ((b0 + blocks - 1) >> 32)) {
        // One counter for all: 32-bit lanes throughout (a 64-bit counter per lane makes the
        // compiler multiply in 64-bit lanes, about 2x slower).
        const std::uint64_t counter = t | ((b0 >> 32) << 40);
        const std::uint32_t first_block = static_cast<std::uint32_t>(b0);
        for (std::uint32_t k = 0; k < static_cast<std::uint32_t>(blocks); ++k) {
          const philox_block r = philox4x32(key, stream, first_block + k, counter);
          for (int q = 0; q < 4; ++q) lane[q][k] = r.x[q];
        }
      } else {
        for (std::uint64_t k = 0; k < blocks; ++k) {
          const std::uint64_t at = b0 + k;
          const philox_block r = philox4x32(key, stream, static_cast<std::uint32_t>(at), t | ((at >> 32) << 40));
          for (int q = 0; q < 4; ++q) lane[q][k] = r.x[q];
        }
      }
      for (std::uint64_t k = 0; k < blocks; ++k)
        for (int q = 0; q < 4; ++q) raw[4 * k + q] = lane[q][k];
      const std::uint64_t skip = first & 3;
      for (index_t m = 0; m < n; ++m) out[m] = raw[skip + static_cast<std::uint64_t>(m)];
    }
    // The CPU's form of operator(): the same draws and counts, `words` words at a time. The
    // words are drawn into an array, then counted against the table's first 16 entries in loops
    // of fixed length (compares and adds the compiler vectorises); the rare word beyond them (a
    // count above 16) is counted on by the table walk. The scalar form's walk branches
    // unpredictably, word by word (docs/architecture.md has the measured difference).
    KOKKOS_INLINE_FUNCTION void host_block(index_t lo, index_t hi) const {
      constexpr int head = 16;
      if (chunks > static_cast<std::uint64_t>(words)) {  // never with the config's limit (1000 a step: 125 chunks)
        (*this)(lo, hi);
        return;
      }
      const int k_head = terms < head ? terms : head;
      std::uint32_t th[head];
      for (int k = 0; k < k_head; ++k) th[k] = static_cast<std::uint32_t>(cdf[k]);
      const std::uint32_t beyond = k_head < terms ? static_cast<std::uint32_t>(cdf[k_head]) : 0;
      const index_t group = words / static_cast<index_t>(chunks);  // neurons per pass
      const real_t weight = w;  // a local: stores into the target could alias the field
      for (index_t c = lo; c < hi;) {
        const index_t instance = (c - begin) / size, local = c - begin - instance * size;
        const index_t run_end = begin + (instance + 1) * size;
        const index_t e = c + group < hi ? (c + group < run_end ? c + group : run_end) : (hi < run_end ? hi : run_end);
        const index_t n = (e - c) * static_cast<index_t>(chunks);
        std::uint32_t x[words];
        int count[words];
        draw_words(instance, static_cast<std::uint64_t>(local) * chunks, n, x);
        for (index_t m = 0; m < n; ++m) count[m] = 0;
        for (int k = 0; k < k_head; ++k) {
          const std::uint32_t v = th[k];
          for (index_t m = 0; m < n; ++m) count[m] += x[m] >= v ? 1 : 0;
        }
        if (k_head < terms) {  // the head is not the whole table: a word may reach beyond it
          unsigned far = 0;  // an unsigned or-reduction vectorises; a bool one does not
          for (index_t m = 0; m < n; ++m) far |= x[m] >= beyond ? 1u : 0u;
          if (far)
            for (index_t m = 0; m < n; ++m)
              if (x[m] >= beyond) count[m] = detail::poisson_count(x[m], cdf);
        }
        if (chunks > 1)
          for (index_t i = 0; i < e - c; ++i) {
            int sum = 0;
            for (std::uint64_t j = 0; j < chunks; ++j) sum += count[static_cast<std::uint64_t>(i) * chunks + j];
            count[i] = sum;
          }
        real_t* to = target + c;
        // Adding -0 leaves every value as it is (-0 too), as skipping a count of 0 does; a select
        // of what to add vectorises where a conditional add does not.
        for (index_t i = 0; i < e - c; ++i) to[i] += count[i] > 0 ? static_cast<real_t>(count[i]) * weight : real_t(-0.0);
        c = e;
      }
    }
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
    if (background.chunks > 0) {
      if constexpr (host_memory)
        background.host_block(lo, hi);
      else
        background(lo, hi);
    }
    const int fired = injected ? detail::update_block<Model, true>(c, own, stride, se, si, since, iext, lo, hi, local)
                               : detail::update_block<Model, false>(c, own, stride, se, si, since, iext, lo, hi, local);
    detail::collect_spikes<Exec>(since, lo, hi, fired, spikes, count);
  }

  // The population's adder for this step (chunks = 0: no background).
  background_adder background_of(const detail::population_info& info) const;

  // Appends the inversion table of a Poisson distribution of mean `lambda` (<= 8):
  // floor(P(count <= k) 2^32) for k = 0, 1, ... while below 2^32, then 2^32.
  static void append_poisson_table(double lambda, std::vector<std::uint64_t>& tables);

  // Sources drawn every step: each fires when its 32-bit draw is below its threshold.
  void update_poisson(const detail::population_info& info);

  // Sources drawn by gaps: a source fires when its next spike is due and draws the one after.
  void update_poisson_gaps(const detail::population_info& info);

  // A spike array's spikes due at this step, appended to the spike list.
  void emit_array_spikes(detail::population_info& info);

  // The step's spikes through the synapse table and the projections of their own kinds into
  // the delay ring, listing cells (sparse activity) or adding only (dense).
  void propagate(int slot, int n_spikes);

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
    // Weight w in the ring's fixed point; the ring slot d steps after slot s0 of ns.
    KOKKOS_INLINE_FUNCTION static fixed_t to_fixed(float w, double scale) { return static_cast<fixed_t>(static_cast<double>(w) * scale); }
    KOKKOS_INLINE_FUNCTION static int slot_after(int s0, int d, int ns) { return s0 + d >= ns ? s0 + d - ns : s0 + d; }

    KOKKOS_INLINE_FUNCTION void operator()(int d, index_t cell, float w) const {
      const fixed_t x = to_fixed(w, scale);
      if (list && x == 0) return;
      const int s = slot_after(slot, d, slots);
      if (!atomic) {
        ring[s * slot_cells + cell] += x;
        return;
      }
      if (detail::fetch_add<Exec>(ring + s * slot_cells + cell, x) == 0 && list) {
        const int k = detail::fetch_add<Exec>(dirty_count + s, 1);
        if (static_cast<std::size_t>(k) < capacity) dirty[s * capacity + k] = cell;
      }
    }

    // A row of a dense or all-but-self projection on a host backend: synapse j (j != skip) of
    // the row takes delay d[j] and weight w[j] (d[0], w[0] for all where one_d, one_w) into
    // cell first_cell + 2 j. The same additions as operator() for each synapse, with the
    // decisions taken once per row and the adder's fields in locals: stores into the ring
    // (64-bit integers) may alias the struct's size_t fields as far as the compiler knows, so
    // calling operator() per synapse reloads them after every store and runs about twice as
    // slowly (docs/benchmarks.md, projection kinds).
    void row(const std::uint16_t* d, const float* w, bool one_d, bool one_w, index_t first_cell, index_t n,
             index_t skip) const {
      const bool plain = !list && (detail::is_serial<Exec>() || !atomic);
      if (!plain) {
        for (index_t j = 0; j < n; ++j)
          if (j != skip) (*this)(d[one_d ? 0 : j], first_cell + 2 * j, w[one_w ? 0 : j]);
        return;
      }
      if (one_d && one_w) return row_plain<true, true>(d, w, first_cell, n, skip);
      if (one_d) return row_plain<true, false>(d, w, first_cell, n, skip);
      if (one_w) return row_plain<false, true>(d, w, first_cell, n, skip);
      row_plain<false, false>(d, w, first_cell, n, skip);
    }
    template <bool OneD, bool OneW>
    void row_plain(const std::uint16_t* d, const float* w, index_t first_cell, index_t n, index_t skip) const {
      fixed_t* const r = ring + first_cell;
      const std::size_t cells = slot_cells;
      const int s0 = slot, ns = slots;
      const double sc = scale;
      const fixed_t x0 = to_fixed(w[0], sc);
      fixed_t* const r0 = r + static_cast<std::size_t>(slot_after(s0, d[0], ns)) * cells;
      for (index_t j = 0; j < n; ++j) {
        if (j == skip) continue;
        const fixed_t x = OneW ? x0 : to_fixed(w[j], sc);
        fixed_t* const at = OneD ? r0 : r + static_cast<std::size_t>(slot_after(s0, d[j], ns)) * cells;
        at[2 * static_cast<std::size_t>(j)] += x;
      }
    }
  };
  ring_adder adder(int slot, bool list);

  // The delayed plastic synapses reached now (arrive()), delivered into the ring as any input.
  void deliver_arrivals(int slot);

  // The walk at arrival (engine_options::table_walk). choose_table_walk decides whether it
  // runs, before the table is built (its rows are then sorted by delay within each target
  // part). Each spike leaves one `flight` per target part: the part of its row not yet
  // reached, whose synapses are in order of delay. Every step, walk_arrivals adds each
  // flight's run of synapses whose delay ends in the next step into `arrivals_` (one slot,
  // the same memory every step, so in cache) and drops the flights it finishes; deliver()
  // takes that slot with the ring's, summing a cell's two integers before converting them,
  // so that every cell gets exactly the value the ring alone gave it.
  void choose_table_walk(engine_options::table_walk_kind walk, engine_options::step_sync_kind sync);
  void queue_flights(int n_spikes);
  void walk_arrivals();
  // The step's delivery when the table's buffer holds input (else false: deliver() takes the
  // ring's slot alone).
  bool deliver_with_arrivals(int slot, int ring_listed);
  void deliver_listed_arrivals();  // each part's listed cells of arrivals_, a work item per part
  // The ring's slot, each cell summed with its cell of arrivals_ (both zeroed): all cells, or
  // the `n` the ring listed.
  void deliver_ring_with_arrivals(fixed_t* ring, const index_t* list, int n);

  // Calls event(j) for every synapse j of the neurons in the spike list: one spike per work
  // item on a CPU, a team per spike with its threads over the row on a GPU.
  template <class Event>
  void walk_rows(int n_spikes, const Event& event);

  // walk_rows for CPU threads without atomics: the ring's cells are divided among the threads
  // in interleaved blocks (connectivity.hpp target_interleave), and each thread walks every
  // spike's row over its own cells only (rows list each thread's synapses together, and
  // row_split_ says where they start). Every cell then has one writer.
  template <class Event>
  void walk_rows_by_target(int n_spikes, const Event& event);

  // A procedural projection (convolution or matrix, network.hpp procedural_connection): for each
  // spike, its pooled position, then every target its kernel or matrix column reaches, with
  // weight / pool^2. Returns the events (exact: counted as they are made).
  template <class Projection, class Add>
  std::int64_t walk_procedural(const Projection& p, const index_t* spikes, int n, const Add& add);

  // The projections of a kind of their own (sim/connectivity.hpp): for each, the spikes of its
  // pre population (its segment of the spike list) and their targets, computed from the
  // index, with add(delay, cell, weight) per synapse. Returns the events.
  template <class Add>
  std::int64_t walk_kinds(const Add& add);

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

  // The step's spikes (per population, sorted) and the due state probes to the sink.
  void record(int n_spikes);

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
  std::function<void(std::int64_t, std::int64_t)> build_progress_;  // engine_options::build_progress
  view<index_t> target_;
  view<std::uint16_t> delay_;
  view<float> weight_;
  // Where target_, delay_ and weight_ live in a host memory space (keep_on_device).
  struct {
    std::vector<index_t> target;
    std::vector<std::uint16_t> delay;
    std::vector<float> weight;
  } table_storage_;
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
  view<std::uint32_t> row_split_;  // connectivity.hpp row_part_splits: (parts - 1) per row
  // The walk at arrival (choose_table_walk): per target part, its flights (flight_capacity_
  // each, grown between steps) and how many are live.
  struct flight {
    std::int64_t next, end;  // the synapses not yet reached (next < end)
    step_t fired;            // the spike's step: synapse j is reached at fired + delay[j]
  };
  view<flight> flights_;
  view<std::int64_t> flight_count_;
  std::int64_t flight_capacity_ = 0;
  view<fixed_t> arrivals_;            // 2 n cells: the table's input for the next step
  view<index_t> arrival_list_;        // per part, the cells listed on their first input (sparse activity)
  view<int> arrival_listed_;          // per part (at p * listed_stride: a cache line each), how many
  std::int64_t arrival_part_capacity_ = 0;  // list entries per part: at least the cells it owns
  static constexpr std::int64_t listed_stride = 16;
  bool arrivals_dense_ = false;       // filled without listing: deliver by scanning
  std::uint64_t arrival_events_ = 0;  // events of the last walk, to choose the mode
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

// The member functions declared above and defined out of the class, by what they do.
#include "sim/engine_build.hpp"
#include "sim/engine_device_steps.hpp"  // the deferred and fused steps
#include "sim/engine_plasticity.hpp"
#include "sim/engine_step.hpp"
#include "sim/engine_table_walk.hpp"  // the walk at arrival (host backends)
