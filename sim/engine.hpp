#pragma once
// The simulation engine: compiles a network description into device state and advances it.
//
// Each step (docs/architecture.md "One step"): deliver the synaptic input due now
// from the delay ring buffer -> update every neuron (clock-driven, exact where the model
// allows) -> compact the spikes into a list -> walk the outgoing rows of the neurons that
// fired only, adding weights into the ring slot (t + delay) -> plastic projections learn from
// the step's spikes (traces, STDP) -> hand spikes and sampled state to the recorder. Work per
// step is O(N + events), never O(synapses).
//
// Host-only header: the Kokkos kernels are in engine_impl.hpp, compiled once per backend.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sim/network.hpp"
#include "sim/core/scalar_types.hpp"

namespace kspike {

// Receives what the recorders of a network ask for, on the host, in step order.
class recording_sink {
 public:
  virtual ~recording_sink() = default;
  // Spikes of one population emitted in `step` (time (step + 1) dt), local ids ascending.
  virtual void spikes(step_t step, std::size_t population, const std::int64_t* ids, std::size_t n) = 0;
  // One sample of state recorder `recorder` taken at the end of `step`.
  virtual void state(step_t step, std::size_t recorder, const float* values, std::size_t n) = 0;
};

struct engine_stats {
  step_t steps = 0;
  std::vector<std::uint64_t> spikes;  // per population
  std::uint64_t synaptic_events = 0;  // synapses walked by propagation
  double wall_seconds = 0;            // inside run()
  std::uint64_t total_spikes() const {
    std::uint64_t s = 0;
    for (auto x : spikes) s += x;
    return s;
  }
};

class engine_base;

struct engine_options {
  std::string backend;  // "serial", "openmp", "cuda", or "" / "auto" for the default (device_threshold)
  // A step of a small network costs a few microseconds, about what starting a parallel region
  // costs on a small VM, and a step starts a dozen: threads can make a run slower. The OpenMP
  // kernels run only when the network's work per step, estimated as neurons + synapses / 1000
  // (a 10 Hz, 0.1 ms guess at activity), reaches this; below it the Serial kernels run (same
  // results). 0: always thread. On the 2-core machine we measure on (docs/benchmarks.md), with
  // the table walked at arrival, CUBA (4,300) and the 10 % microcircuit (11,000) run slower
  // with 2 threads (0.084 against 0.026, 0.40 against 0.29), Brunel's network (50,625) and the
  // full microcircuit (376,000) faster (1.44 against 2.17, 5.4 against 7.6).
  std::int64_t parallel_threshold = 25000;
  // backend "" or "auto" with a GPU in the build: the GPU runs networks whose work per step (as
  // above) reaches this, the CPU the others. Provisional: on an H100 the CUBA network (4,300)
  // ran 12x slower than one CPU core, launch-bound (docs/benchmarks.md); larger networks have not
  // been measured on a GPU yet, so only very large ones go there by default.
  std::int64_t device_threshold = 1000000;
  // How synaptic input is delivered: `automatic` lists the cells each step's events reach
  // while activity is sparse and scans whole delay slots when it is dense; the other two fix
  // one mode (for tests and tuning: the spikes are the same in every mode).
  enum class delivery_mode { automatic, sparse, dense };
  delivery_mode delivery = delivery_mode::automatic;
  // How the step schedule's host loop meets the kernels (docs/architecture.md "The deferred
  // step"):
  //   every_step: spike and event counts come back to the host every step, which sizes the
  //               next launches (free on a CPU, where the counts are in host memory);
  //   deferred:   counts stay on the device: each population's spikes go to a segment of the
  //               spike list of their own with a device counter, propagation and delivery are
  //               launched for the worst case and read the counts themselves, and statistics
  //               are read back at the end of run(), so a step issues launches and waits for
  //               nothing (one read-back per step only while a sink records spikes). Networks
  //               with plastic projections, spike arrays, state recorders or convolution and
  //               matrix projections need the host each step, and are refused;
  //   fused:      the deferred step's layout, but one team of threads runs a whole window of
  //               steps in one launch, with team barriers between a step's phases (for small
  //               networks on a GPU, where a step's work costs less than a launch);
  //   automatic:  on a GPU where the network allows, fused up to 20,000 neurons (provisional:
  //               not yet timed on a GPU) and deferred above; every_step otherwise.
  // The spikes are the same in every mode.
  enum class step_sync_kind { automatic, every_step, deferred, fused };
  step_sync_kind step_sync = step_sync_kind::automatic;
  // When the step schedule walks a spike's row of the synapse table (docs/architecture.md
  // "Walking the table at arrival"):
  //   at_spike:   the whole row in the spike's step, each event added into the delay-ring slot
  //               of its delay (any backend; on a GPU the only walk);
  //   at_arrival: on the host, a row sorted by delay is walked a run at a time: in each step,
  //               the synapses whose delay ends in the next step, all added into one buffer
  //               of a single slot. The ring of every delay (tens of MB for the microcircuit)
  //               is then not touched at random by the table; the one slot stays in cache.
  //               Not with plastic projections (they learn at the spike's step) or with the
  //               deferred and fused host loops;
  //   automatic:  at_arrival where it can run, else at_spike.
  // The spikes are the same either way (exact integer sums).
  enum class table_walk_kind { automatic, at_spike, at_arrival };
  table_walk_kind table_walk = table_walk_kind::automatic;
  // Projections get the kind that suits their connector (sim/connectivity.hpp: dense,
  // one_to_one, all_but_self, each with its own kernel); false puts every projection in the
  // sparse table (for tests and benchmarks: the spikes are the same).
  bool structured_projections = true;
  // Independent copies of the network advanced together, each kernel covering all of them.
  // Instance k uses seed + k for everything random (connectivity, weights, delays, initial
  // state, Poisson input), so it computes exactly what a single run with that seed computes.
  // Population p's instance k holds its neurons k * size .. (k + 1) * size - 1; state(),
  // set_state(), set_poisson_rates() and weights() take or give the values of all instances,
  // instance after instance (set_poisson_rates also takes one value, or one instance's worth
  // for all), and recording sinks receive ids k * size + i.
  int instances = 1;
  // Before anything is allocated the network's memory is estimated from its description
  // (sim/memory_budget.hpp) and refused above this many bytes: 0 means what the machine has
  // available now, a negative value skips the check.
  double memory_limit = 0;
  // How the engine advances (docs/architecture.md "Schedules"):
  //   steps:   every kernel covers one step of all instances (any network);
  //   windows: one work item runs one instance through a whole run() window, step after step,
  //            without synchronising: for many small instances (the place-recognition
  //            modules). It runs one circuit, Poisson input -> plastic excitatory layer <->
  //            inhibitory partners (sim/window_circuit.hpp says which networks qualify and
  //            refuses others, naming what does not fit), and its instances share
  //            connectivity, weights and delays (drawn from the seed) and differ in input noise.
  enum class schedule_kind { steps, windows };
  schedule_kind schedule = schedule_kind::steps;
  // Window schedule: the Poisson input of instance k is drawn from random stream input_keys[k]
  // (empty: k); instances with the same key get the same input spikes.
  std::vector<std::uint32_t> input_keys;
  // Window schedule: how an instance is spread over threads (docs/architecture.md "Schedules").
  //   per_instance: one work item runs one instance (on a CPU, the fast choice);
  //   team:         one team of threads runs one instance, its neurons, inputs and synapse
  //                 events of each step shared among the threads (on a GPU, where one thread
  //                 per instance leaves the card idle);
  //   automatic:    team on CUDA, per_instance elsewhere.
  // The spikes are the same, bit for bit, in both kernels.
  enum class window_kernel_kind { automatic, per_instance, team };
  window_kernel_kind window_kernel = window_kernel_kind::automatic;
  // Threads per team (0: Kokkos chooses), and the synapse events per target and step a team
  // keeps in a list to sort; a target with more walks the step's event records instead (the
  // same sums, slower).
  int window_team_size = 0;
  int window_team_list = 64;
  // Called while the synapse table is drawn, with (synapses placed, about how many in all),
  // from the thread that constructs the engine, after each chunk of about a million synapses
  // (sim/connectivity.hpp, table_drawing). It may throw to abandon the build (an interrupted
  // command): the exception leaves the constructor. Not called for the window schedule.
  std::function<void(std::int64_t done, std::int64_t total)> build_progress;
};

class engine {
 public:
  // Kokkos must be initialised.
  engine(const network& net, const engine_options& options);
  explicit engine(const network& net, const std::string& backend = "") : engine(net, options_for(backend)) {}
  ~engine();
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  // Advances by `duration` seconds (rounded to whole steps). Can be called again and again;
  // state carries over. progress(done, total) is called about ten times a second; if it
  // returns false the run stops after the current step and run() returns false.
  bool run(double duration, const std::function<bool(step_t, step_t)>& progress = {});
  // The same, for a whole number of steps.
  bool run_steps(step_t steps, const std::function<bool(step_t, step_t)>& progress = {});

  void set_sink(recording_sink* sink);
  // New rates [Hz] for a poisson population (one value: all neurons), from the next step.
  void set_poisson_rates(const std::string& population, const std::vector<double>& rates);
  // Switches threshold adaptation of an adaptive_lif population on or off (off: theta frozen,
  // as at test time in the place-recognition experiment), from the next step.
  void set_adaptation(const std::string& population, bool adapt);
  // Reads or overwrites a state variable ("v", "syn_e", "syn_i", "theta") of a population.
  std::vector<float> state(const std::string& population, const std::string& variable) const;
  void set_state(const std::string& population, const std::string& variable, const std::vector<float>& values);
  // Plastic projections (those with an stdp rule): learning on or off from the next step, and
  // their weights in the order the connector generated the synapses (the order of the list
  // file for from_list). Other projections throw kspike::error.
  void set_learning(const std::string& projection, bool on);
  // A plastic projection's weights in generation order: of one instance, or of all (-1),
  // instance after instance (instances may differ in synapse count with random connectors).
  std::vector<float> weights(const std::string& projection, int instance = -1) const;
  void set_weights(const std::string& projection, const std::vector<float>& values, int instance = -1);
  // A plastic projection's STDP traces, of one instance or all (-1), by name (trace_names):
  //   "pre"     per pre neuron; with delays (a trace per synapse) per synapse in generation
  //             order, its value as the last arrival left it
  //   "pre_age" with delays: steps since that arrival (-1: none yet), so that the trace now is
  //             "pre" decayed by that many steps (docs/models.md)
  //   "post"    per post neuron; "post2" the second post trace of a triplet rule (tau_post2)
  // Values are as the kernels hold them (float), returned as double so that ages are exact;
  // set_traces checks sizes and values (kspike::error naming the projection and trace).
  std::vector<std::string> trace_names(const std::string& projection) const;
  std::vector<double> traces(const std::string& projection, const std::string& trace, int instance = -1) const;
  void set_traces(const std::string& projection, const std::string& trace, const std::vector<double>& values, int instance = -1);
  // Scales each post neuron's incoming weights of a plastic projection to sum to `column_sum`
  // (as Diehl & Cook normalise before every training image); a column summing to 0 stays.
  void normalise_weights(const std::string& projection, double column_sum);
  // Window schedule: draws the delays of a projection again from its delay distribution, with
  // draw number `draw` (0 is the draw it was built with), keeping every synapse's weight (as the
  // place-recognition protocol draws new delays in every phase). The step schedule refuses.
  void redraw_delays(const std::string& projection, std::uint32_t draw);

  double dt() const;
  step_t current_step() const;
  double time() const { return static_cast<double>(current_step()) * dt(); }
  const engine_stats& stats() const;
  std::int64_t synapse_count() const;
  int instances() const;  // engine_options::instances
  const network& description() const;
  // The backend asked for, and the execution space whose kernels actually run (an OpenMP
  // request with one thread, or for a small network, runs the Serial kernels: same results,
  // no fork/join cost; see engine_options).
  const std::string& backend() const;
  const std::string& kernel_space() const;
  std::size_t memory_bytes() const;  // engine state on the backend's memory space
  // Whether the step schedule walks the synapse table at arrival (engine_options::table_walk).
  bool table_walk_at_arrival() const;

 private:
  static engine_options options_for(const std::string& backend) {
    engine_options o;
    o.backend = backend;
    return o;
  }
  std::unique_ptr<engine_base> impl_;
};

}  // namespace kspike
