#pragma once
// Host-side description of a network: populations, projections, inputs and recorders.
// Plain data, no Kokkos: the TOML loader fills it, the engine compiles it to device state.
// All quantities are SI (s, V, A, Ohm, Hz); spike files use ms as SONATA asks.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <variant>
#include <vector>

#include "neurons/registry.hpp"

namespace kspike {

// Sources: populations that emit spikes but have no membrane.
struct poisson_source {
  std::vector<double> rates;  // Hz, one per neuron (a single value is broadcast); >= 0
  // How spikes are drawn; both give each source a spike in a step with probability rate·dt,
  // independently from step to step, from different draws:
  //   steps: one uniform draw per source and step (cost grows with sources x steps);
  //   gaps:  one geometric draw per spike, the steps to the next one (cost grows with spikes:
  //          for sparse inputs, many sources at low rates).
  enum class sampling { steps, gaps } draw = sampling::steps;
};
struct spike_source_array {
  std::vector<std::vector<double>> times;  // s, per neuron; any order, >= 0
  std::string file;                        // the SONATA spike file they were read from, if any
};

// The step that emits a source's spike at time t: the one that ends at t, rounded (a spike
// at 0 in the first). A neuron fires at most once a step: two spikes of one source neuron that
// fall in one step (a file written with a finer dt) are emitted as one.
inline std::int64_t array_spike_step(double t, double dt) {
  const auto s = static_cast<std::int64_t>(std::llround(t / dt)) - 1;
  return s < 0 ? 0 : s;
}

// The most steps a time may span (a run's duration, a spike or current time, an interval):
// well inside what a 64-bit step counter holds, and every count of steps below it is exact in
// a double.
inline constexpr double max_time_steps = 9.0e15;

namespace detail {
template <class List>
struct model_variant;
template <class... M>
struct model_variant<neurons::model_list<M...>> {
  using type = std::variant<typename M::params..., poisson_source, spike_source_array>;
};
}  // namespace detail

// A population's model: the parameters of one of the registered neuron models
// (neurons/registry.hpp, in its order), or a spike source.
using neuron_model = detail::model_variant<neurons::models>::type;

// Calls f(neurons::model_tag<M>{}, params) when `m` is a neuron model; false for a source.
template <class F>
bool visit_neuron_model(const neuron_model& m, F&& f) {
  return neurons::with_model_at(m.index(), [&](auto tag) {
    using M = typename decltype(tag)::type;
    f(tag, std::get<typename M::params>(m));
  });
}

// The name of a population's model as network files give it.
std::string model_name(const neuron_model& m);

// A value drawn per neuron or per synapse: constant, or uniform in [low, high).
struct value_dist {
  enum class kind { constant, uniform, normal };
  kind type = kind::constant;
  double a = 0.0;  // constant value, uniform low, or normal mean
  double b = 0.0;  // uniform high, or normal standard deviation
  // Normal only: draws outside [lo, hi] are drawn again (a truncated normal, NEST's
  // "normal_clipped"); infinite when unbounded.
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  static value_dist constant(double x) { return {kind::constant, x, x}; }
  static value_dist uniform(double lo, double hi) { return {kind::uniform, lo, hi}; }
  static value_dist normal(double mean, double sd) { return {kind::normal, mean, sd}; }
  static value_dist normal(double mean, double sd, double low, double high) {
    return {kind::normal, mean, sd, low, high};
  }
};

enum class receptor { excitatory = 0, inhibitory = 1 };

struct population {
  std::string name;
  std::int64_t size = 0;
  neuron_model model;
  // Initial membrane potential [V]; unset means the model's resting value (v_leak, or v_reset
  // for IF). Ignored by sources.
  bool has_v_init = false;
  value_dist v_init;
  // Independent Poisson input to every neuron (NEST's poisson_generator connected to a
  // population): `inputs` sources per neuron firing at `rate` each, every spike adding
  // `weight` to the receptor `target`. The engine draws each neuron's
  // count per step, Poisson with mean inputs * rate * dt, so nothing is stored per source.
  struct background_input {
    std::int64_t inputs = 0;  // 0: no background
    double rate = 0.0;        // [Hz] per source
    double weight = 0.0;      // in the unit of the model's synaptic weights
    receptor target = receptor::excitatory;
  } background;
};

struct connector {
  enum class kind { all_to_all, one_to_one, fixed_probability, fixed_in_degree, fixed_total_number, from_list };
  kind type = kind::all_to_all;
  bool allow_self = true;   // all but one_to_one and from_list, within one population
  double p = 0.0;           // fixed_probability
  // fixed_in_degree: inputs per post neuron (drawn without replacement); fixed_total_number:
  // synapses of the projection, each a uniformly drawn (pre, post) pair (pairs may repeat).
  std::int64_t n = 0;
  // from_list: explicit synapses; weight/delay < 0 ... see has_weight/has_delay
  struct entry {
    std::int64_t pre = 0, post = 0;
    double weight = 0.0, delay = 0.0;
  };
  std::vector<entry> list;
  bool list_has_weight = false;  // when false, the projection's weight distribution is used
  bool list_has_delay = false;
  std::string list_file;         // where the list came from (error messages)
};

// Trace STDP on a projection (docs/models.md, "STDP in the engine"). Every pre neuron keeps a
// trace x_pre and every post neuron a trace x_post, each decaying with its time constant; a
// pre spike adds a_pre to x_pre (all pairs) or sets it to a_pre (nearest), a post spike does
// the same to x_post with a_post. When a pre spike reaches the synapse, the weight it carried
// is delivered first, then w += x_post; when the post neuron fires, w += x_pre. Additive
// updates add the trace as it is; multiplicative (soft-bound) updates scale potentiation by
// (w_max - w) / (w_max - w_min) and depression by (w - w_min) / (w_max - w_min). The weight is
// then clipped to [w_min, w_max]. Weights, a_pre, a_post, w_min and w_max share the post
// model's weight unit.
struct stdp_rule {
  enum class pairing { all_pairs, nearest };
  enum class update { additive, multiplicative };
  double tau_pre = 20e-3, tau_post = 20e-3;  // s, > 0
  double a_pre = 0.01, a_post = -0.0105;
  // s; > 0: a second post trace (1 per post spike, paired as the first, decaying with this time
  // constant) multiplies the update at a post spike, read as it was before that spike: the
  // triplet rule of Pfister & Gerstner (2006) without a pair term, as Diehl & Cook (2015) and
  // the place-recognition modules use it. 0: no second trace.
  double tau_post2 = 0;
  double w_min = 0.0, w_max = 1.0;           // w_min <= w_max
  pairing pairs = pairing::all_pairs;
  update rule = update::additive;
  bool learning = true;  // false: weights stay as they are (traces still follow the spikes)
};

// A projection whose synapses are computed from a shared kernel or matrix rather than listed:
// the layers of trained networks deployed on the engine (docs/deploy.md). The pre population is
// read as an image [in_c, in_h, in_w], first through an average pooling of `pool` x `pool`
// (stride `pool`, floor), then
//   conv:   a convolution, weights [out_c][in_c][kernel][kernel], onto the post population as
//           [out_c, out_h, out_w] (stride, zero padding);
//   matrix: a weight matrix [post][pooled pre] (a linear layer after flattening).
// A spike adds weight / pool^2 to each target it reaches, one step later, on the excitatory
// receptor. C++ API only (network files cannot describe it yet).
struct procedural_connection {
  enum class kind { none, conv, matrix };
  kind type = kind::none;
  std::int64_t in_c = 0, in_h = 0, in_w = 0, pool = 1;
  std::int64_t out_c = 0, out_h = 0, out_w = 0, kernel = 1, stride = 1, padding = 0;
  std::vector<float> weights;
};

struct projection {
  std::string name;
  std::string pre, post;  // population names
  receptor target = receptor::excitatory;
  connector conn;
  value_dist weight = value_dist::constant(0.0);  // V (delta), A (current), 1 (conductance)
  value_dist delay;                                // s; default: one step (see engine)
  bool has_delay = false;
  bool plastic = false;  // learns with `stdp` (any delays: docs/models.md)
  stdp_rule stdp;
  procedural_connection procedural;  // type != none: this, not `conn`/`weight`, makes the synapses
};

// Injected current [A]: amplitude[k] from times[k] on (a constant current has one entry at 0).
struct current_source {
  std::string name;
  std::string population;
  std::vector<std::int64_t> neurons;  // empty: every neuron of the population
  std::vector<double> times;          // s, strictly increasing, >= 0
  std::vector<double> amplitudes;     // A
};

struct spike_recorder {
  std::string population;
};

// Samples one state variable ("v", "syn_e", "syn_i", "theta") of chosen neurons.
struct state_recorder {
  std::string population;
  std::string variable = "v";
  std::vector<std::int64_t> neurons;  // empty: all
  double interval = 0.0;              // s; 0 = every step
};

struct network {
  std::string source;  // file it was read from, for error messages
  double dt = 1e-4;
  double duration = 1.0;
  std::uint64_t seed = 1;
  std::vector<population> populations;
  std::vector<projection> projections;
  std::vector<current_source> currents;
  std::vector<spike_recorder> spike_recorders;
  std::vector<state_recorder> state_recorders;

  // Index of a population by name, or -1.
  int find_population(const std::string& name) const {
    for (std::size_t i = 0; i < populations.size(); ++i)
      if (populations[i].name == name) return static_cast<int>(i);
    return -1;
  }
};

// Checks everything that can be checked without building the network (names resolve,
// sizes, probabilities, delays >= dt, parameters): throws kspike::error naming the field.
void validate(const network& net);

// Every file the description was read from: the network file itself, spike files of sources
// and lists of synapses (outputs must not replace any of them).
std::vector<std::string> files_read(const network& net);

}  // namespace kspike
