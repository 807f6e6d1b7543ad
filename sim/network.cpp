// validate(): every check on a network description that needs no device state. The engine
// calls it before building anything, so a network made in code gets the same one-line
// "FILE: FIELD: what" errors as one read from a TOML file (docs/config.md).
#include "sim/network.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <type_traits>
#include <utility>

#include "sim/core/error.hpp"
#include "sim/core/plain_name.hpp"

namespace kspike {

namespace {

constexpr std::int64_t max_neurons = std::int64_t{1} << 30;
// Synaptic delays are stored as 16-bit step counts (see connectivity.cpp).
constexpr double max_delay_steps = 65535;
// "0.1 ms" and 1e-4 can differ in the last bit; a delay that close to dt is one step.
constexpr double delay_tolerance = 1e-9;


// What a model's description says, for any population (sources: none of it).
bool is_neuron_model(const neuron_model& m) { return m.index() < neurons::models::size; }
bool weights_non_negative(const neuron_model& m) {
  bool r = false;
  visit_neuron_model(m, [&](auto tag, const auto&) { r = decltype(tag)::type::non_negative_weights; });
  return r;
}
bool uses_current(const neuron_model& m) {
  bool r = false;
  visit_neuron_model(m, [&](auto tag, const auto&) { r = decltype(tag)::type::uses_current; });
  return r;
}

// Throws "FILE: FIELD: what" for one network.
class checker {
 public:
  explicit checker(const network& net) : net_(net) {}

  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw error(where(net_.source, field) + ": " + what);
  }
  void require(bool ok, const std::string& field, const std::string& what) const {
    if (!ok) fail(field, what);
  }
  void finite(double x, const std::string& field) const {
    require(std::isfinite(x), field, "must be a finite number (got " + short_number(x) + ")");
  }

  // A value drawn per neuron or synapse: every parameter finite, uniform low <= high, sd >= 0.
  void distribution(const value_dist& d, const std::string& field) const {
    finite(d.a, field);
    finite(d.b, field);
    if (d.type == value_dist::kind::uniform)
      require(d.a <= d.b, field, "uniform low " + short_number(d.a) + " is above high " + short_number(d.b));
    if (d.type == value_dist::kind::normal) {
      require(d.b >= 0, field, "normal standard deviation must be >= 0 (got " + short_number(d.b) + ")");
      require(!std::isnan(d.lo) && !std::isnan(d.hi) && d.lo < d.hi, field,
              "min " + short_number(d.lo) + " must be below max " + short_number(d.hi));
      // Out-of-range draws are drawn again: the interval must hold a fair share of the
      // distribution, or the draws would never end.
      const double share = d.b > 0 ? 0.5 * (std::erfc((d.lo - d.a) / (d.b * std::sqrt(2.0))) -
                                            std::erfc((d.hi - d.a) / (d.b * std::sqrt(2.0))))
                                   : (d.a >= d.lo && d.a <= d.hi ? 1.0 : 0.0);
      require(share >= 1e-3, field,
              "[min, max] = [" + short_number(d.lo) + ", " + short_number(d.hi) + "] holds " + short_number(share) +
                  " of the normal distribution (at least 0.001 is needed: out-of-range draws are drawn again)");
    }
  }

  // Smallest and largest value a distribution can produce (for a normal one its bounds, or
  // the mean where unbounded: the connectivity builder checks the tails per synapse).
  static std::pair<double, double> range(const value_dist& d) {
    if (d.type == value_dist::kind::uniform) return {d.a, d.b};
    if (d.type == value_dist::kind::normal)
      return {std::isfinite(d.lo) ? d.lo : d.a, std::isfinite(d.hi) ? d.hi : d.a};
    return {d.a, d.a};
  }

  // Runs once per listed synapse: messages are built only on failure.
  template <class What>
  void delay(double d, const std::string& field, const What& what) const {
    if (!std::isfinite(d)) fail(field, what() + " must be a finite number (got " + short_number(d) + ")");
    if (d < net_.dt * (1 - delay_tolerance))
      fail(field, what() + " " + short_number(d) + " s is shorter than dt (" + short_number(net_.dt) + " s)");
    if (d / net_.dt > max_delay_steps + 0.5)
      fail(field, what() + " " + short_number(d) + " s exceeds " + short_number(max_delay_steps) + " steps of dt");
  }

  // Index of a named population, or an error naming `field`.
  std::size_t find(const std::string& name, const std::string& field) const {
    const int i = net_.find_population(name);
    require(i >= 0, field, "unknown population '" + name + "'");
    return static_cast<std::size_t>(i);
  }

  void neuron_ids(const std::vector<std::int64_t>& ids, std::int64_t size, const std::string& field) const {
    for (std::size_t k = 0; k < ids.size(); ++k)
      if (ids[k] < 0 || ids[k] >= size)
        fail(field, "neuron " + std::to_string(ids[k]) + " (entry " + std::to_string(k) + ") is outside [0, " +
                        std::to_string(size) + ")");
  }

  void globals() const {
    require(std::isfinite(net_.dt) && net_.dt > 0, "dt", "must be a finite time > 0 (got " + short_number(net_.dt) + " s)");
    require(std::isfinite(net_.duration) && net_.duration >= 0, "duration",
            "must be a finite time >= 0 (got " + short_number(net_.duration) + " s)");
    countable(net_.duration, "duration");
  }

  // A time of at most max_time_steps steps of dt: beyond, its count of steps would overflow.
  void countable(double t, const std::string& field) const {
    if (t / net_.dt > max_time_steps)
      fail(field, short_number(t) + " s is " + short_number(t / net_.dt) + " steps of dt, more than a run can count (at most 9e15)");
  }

  void populations() const {
    require(!net_.populations.empty(), "populations", "the network has no population");
    std::set<std::string> names;
    std::int64_t total = 0;
    for (const population& p : net_.populations) {
      require(!p.name.empty(), "populations", "a population has an empty name");
      // It names HDF5 groups and state files (OUT_NAME_VARIABLE.h5).
      if (const std::string why = plain_name_problem(p.name); !why.empty()) fail("populations", "a population's name " + why);
      const std::string field = "populations." + p.name;
      require(names.insert(p.name).second, field, "population name used twice");
      require(p.size > 0, field + ".size", "must be > 0 (got " + std::to_string(p.size) + ")");
      // Neuron indices are 32-bit on the device (see connectivity.cpp).
      total += std::min<std::int64_t>(p.size, max_neurons);
      require(total < max_neurons, field + ".size", "network too large (more than 2^30 neurons in all)");
      std::visit([&](const auto& m) { model(p, m, field); }, p.model);
      background(p, field + ".background");
    }
  }

  void background(const population& p, const std::string& field) const {
    const population::background_input& b = p.background;
    require(b.inputs >= 0, field + ".inputs", "must be >= 0 (got " + std::to_string(b.inputs) + ")");
    require(std::isfinite(b.rate) && b.rate >= 0, field + ".rate", "must be a finite rate >= 0 (got " + short_number(b.rate) + " Hz)");
    finite(b.weight, field + ".weight");
    if (b.inputs == 0) return;
    require(is_neuron(p), field, "a spike source takes no input");
    if (is_conductance(p))
      require(b.weight >= 0, field + ".weight",
              "weights onto " + model_name(p) + " neurons are conductances and must be >= 0 (got " + short_number(b.weight) + ")");
    // Counts are drawn per neuron and step in chunks of mean <= 8: bound the work per step.
    const double mean = static_cast<double>(b.inputs) * b.rate * net_.dt;
    require(mean <= 1000, field, "inputs * rate * dt = " + short_number(mean) + " spikes per neuron and step (at most 1000)");
  }

  void projections() const {
    std::set<std::string> names;
    for (const projection& pr : net_.projections) {
      require(!pr.name.empty(), "projections", "a projection has an empty name");
      // It names the HDF5 datasets of a weights file.
      if (const std::string why = plain_name_problem(pr.name); !why.empty()) fail("projections", "a projection's name " + why);
      const std::string field = "projections." + pr.name;
      require(names.insert(pr.name).second, field, "projection name used twice");
      const population& pre = net_.populations[find(pr.pre, field + ".pre")];
      const population& post = net_.populations[find(pr.post, field + ".post")];
      require(is_neuron(post), field + ".post",
              "population '" + post.name + "' is a spike source and receives no synapses");
      if (pr.procedural.type != procedural_connection::kind::none) {
        procedural(pr, pre, post, field);
        continue;
      }
      connection(pr, pre, post, field);
      if (!(pr.conn.type == connector::kind::from_list && pr.conn.list_has_weight)) {
        distribution(pr.weight, field + ".weight");
        if (is_conductance(post))
          require(range(pr.weight).first >= 0, field + ".weight",
                  "weights onto " + model_name(post) + " neurons are conductances and must be >= 0 (got " + short_number(range(pr.weight).first) + ")");
      }
      if (pr.has_delay && !(pr.conn.type == connector::kind::from_list && pr.conn.list_has_delay)) {
        distribution(pr.delay, field + ".delay");
        const auto [lo, hi] = range(pr.delay);
        const auto what = [] { return std::string("delay"); };
        delay(lo, field + ".delay", what);
        delay(hi, field + ".delay", what);
      }
      if (pr.plastic) stdp(pr, post, field);
    }
  }

  // A computed projection: its geometry must match both populations and its weights.
  void procedural(const projection& pr, const population& pre, const population& post, const std::string& field) const {
    const procedural_connection& g = pr.procedural;
    const std::string f = field + ".procedural";
    require(!pr.plastic, f, "a procedural projection cannot be plastic");
    for (auto [x, key] : {std::pair{g.in_c, "in_c"}, {g.in_h, "in_h"}, {g.in_w, "in_w"}, {g.pool, "pool"}})
      require(x >= 1, f + "." + key, "must be >= 1");
    require(g.in_c * g.in_h * g.in_w == pre.size, f, "the input image [" + std::to_string(g.in_c) + ", " + std::to_string(g.in_h) + ", " +
            std::to_string(g.in_w) + "] is not the size of '" + pre.name + "' (" + std::to_string(pre.size) + ")");
    const std::int64_t ph = g.in_h / g.pool, pw = g.in_w / g.pool;
    require(ph >= 1 && pw >= 1, f + ".pool", "larger than the input image");
    std::int64_t expected = 0;
    if (g.type == procedural_connection::kind::conv) {
      for (auto [x, key] : {std::pair{g.out_c, "out_c"}, {g.out_h, "out_h"}, {g.out_w, "out_w"}, {g.kernel, "kernel"}, {g.stride, "stride"}})
        require(x >= 1, f + "." + key, "must be >= 1");
      require(g.padding >= 0, f + ".padding", "must be >= 0");
      require(g.out_c * g.out_h * g.out_w == post.size, f, "the output image is not the size of '" + post.name + "'");
      expected = g.out_c * g.in_c * g.kernel * g.kernel;
    } else {
      expected = post.size * g.in_c * ph * pw;
    }
    require(static_cast<std::int64_t>(g.weights.size()) == expected, f + ".weights",
            "has " + std::to_string(g.weights.size()) + " values, expected " + std::to_string(expected));
    for (float w : g.weights)
      if (!std::isfinite(w)) fail(f + ".weights", "must be finite");
  }

  void stdp(const projection& pr, const population& post, const std::string& field) const {
    const stdp_rule& r = pr.stdp;
    const std::string f = field + ".stdp";
    for (const auto& [x, key] : {std::pair{r.tau_pre, "tau_pre"}, std::pair{r.tau_post, "tau_post"}})
      require(std::isfinite(x) && x > 0, f + "." + key, "must be > 0 (got " + short_number(x) + ")");
    require(std::isfinite(r.tau_post2) && r.tau_post2 >= 0, f + ".tau_post2", "must be >= 0 (0: no second post trace; got " + short_number(r.tau_post2) + ")");
    for (const auto& [x, key] : {std::pair{r.a_pre, "a_pre"}, std::pair{r.a_post, "a_post"},
                                 std::pair{r.w_min, "w_min"}, std::pair{r.w_max, "w_max"}})
      finite(x, f + "." + key);
    require(r.w_min <= r.w_max, f + ".w_max", "w_max " + short_number(r.w_max) + " is below w_min " + short_number(r.w_min));
    if (is_conductance(post))
      require(r.w_min >= 0, f + ".w_min", "weights onto " + model_name(post) + " neurons are conductances and must be >= 0 (got " + short_number(r.w_min) + ")");
    // Delays other than one step are fine: such a projection keeps a pre trace per synapse
    // (docs/models.md, "STDP in the engine").
  }

  void currents() const {
    for (std::size_t i = 0; i < net_.currents.size(); ++i) {
      const current_source& c = net_.currents[i];
      const std::string field = "currents[" + std::to_string(i) + "]";
      const population& p = net_.populations[find(c.population, field + ".population")];
      // adaptive_lif is conductance-based and sources have no membrane: the engine would
      // silently drop the current.
      require(takes_current(p), field + ".population",
              "population '" + p.name + "' (" + model_name(p) + ") takes no injected current");
      neuron_ids(c.neurons, p.size, field + ".neurons");
      require(!c.times.empty(), field + ".times", "needs at least one time");
      require(
          c.times.size() == c.amplitudes.size(), field + ".amplitudes",
          "has " + std::to_string(c.amplitudes.size()) + " values for " + std::to_string(c.times.size()) + " times");
      for (std::size_t k = 0; k < c.times.size(); ++k) {
        const double t = c.times[k];
        if (!(std::isfinite(t) && t >= 0)) fail(field + ".times", "times must be finite and >= 0 (got " + short_number(t) + ")");
        countable(t, field + ".times");
        if (k > 0 && !(t > c.times[k - 1]))
          fail(field + ".times", "times must be strictly increasing (" + short_number(c.times[k - 1]) + " then " + short_number(t) + ")");
        if (!std::isfinite(c.amplitudes[k])) finite(c.amplitudes[k], field + ".amplitudes");
      }
    }
  }

  void recorders() const {
    for (std::size_t i = 0; i < net_.spike_recorders.size(); ++i)
      find(net_.spike_recorders[i].population, "record.spikes[" + std::to_string(i) + "].population");
    std::set<std::pair<std::string, std::string>> seen;
    for (std::size_t i = 0; i < net_.state_recorders.size(); ++i) {
      const state_recorder& r = net_.state_recorders[i];
      const std::string field = "record.state[" + std::to_string(i) + "]";
      const population& p = net_.populations[find(r.population, field + ".population")];
      require(is_neuron(p), field + ".population",
              "population '" + p.name + "' is a spike source and has no state to record");
      {
        const auto own = neurons::variable_names_at(p.model.index());
        std::string names;
        for (const auto& n : own) names += n + ", ";
        require(std::find(own.begin(), own.end(), r.variable) != own.end() || r.variable == "syn_e" ||
                    r.variable == "syn_i",
                field + ".variable",
                "unknown variable '" + r.variable + "' of model " + kspike::model_name(p.model) + " (" + names + "syn_e or syn_i)");
      }
      // Each state recorder writes <out>_<population>_<variable>.h5: two would clash.
      require(seen.emplace(r.population, r.variable).second, field,
              "'" + r.variable + "' of '" + r.population + "' is already recorded");
      neuron_ids(r.neurons, p.size, field + ".neurons");
      require(std::isfinite(r.interval) && r.interval >= 0, field + ".interval",
              "must be a finite time >= 0 (got " + short_number(r.interval) + ")");
      countable(r.interval, field + ".interval");
    }
  }

 private:
  static bool is_neuron(const population& p) { return is_neuron_model(p.model); }
  static bool is_conductance(const population& p) { return weights_non_negative(p.model); }
  static bool takes_current(const population& p) { return uses_current(p.model); }
  static std::string model_name(const population& p) { return kspike::model_name(p.model); }

  // A neuron model: its own make() knows its parameters' ranges.
  template <class P>
  void model(const population& p, const P& params, const std::string& field) const {
    if constexpr (std::is_same_v<P, poisson_source>) {
      require(!p.has_v_init, field + ".v_init", "a poisson source has no membrane");
      const std::string key = field + (params.rates.size() == 1 ? ".rate" : ".rates");
      require(params.rates.size() == 1 || params.rates.size() == static_cast<std::size_t>(p.size), key,
              "needs one rate or one per neuron (" + std::to_string(p.size) + "), got " +
                  std::to_string(params.rates.size()));
      for (double r : params.rates) {
        if (!(std::isfinite(r) && r >= 0)) fail(key, "rates must be finite and >= 0 (got " + short_number(r) + " Hz)");
        // A source fires at most once a step: a higher rate would be cut to 1/dt unseen.
        if (r * net_.dt > 1)
          fail(key, short_number(r) + " Hz is above 1/dt = " + short_number(1 / net_.dt) + " Hz: a source fires at most once a step");
      }
    } else if constexpr (std::is_same_v<P, spike_source_array>) {
      require(!p.has_v_init, field + ".v_init", "a spike source array has no membrane");
      require(params.times.size() == static_cast<std::size_t>(p.size), field + ".spike_times",
              "needs one list per neuron (" + std::to_string(p.size) + "), got " + std::to_string(params.times.size()));
      const std::string key = field + (params.file.empty() ? ".spike_times" : ".spike_file");
      const std::string in = params.file.empty() ? "" : params.file + ": ";
      for (const auto& list : params.times)
        for (double t : list) {
          if (!(std::isfinite(t) && t >= 0)) fail(key, in + "spike times must be finite and >= 0 (got " + short_number(t) + " s)");
          countable(t, key);
        }
    } else {
      try {
        visit_neuron_model(p.model, [&](auto tag, const auto& prm) { (void)decltype(tag)::type::make(prm, net_.dt); });
      } catch (const error& e) {
        // make() says "tau: must be > 0": add the file and the population's path.
        throw error(where(net_.source, field) + "." + e.what());
      }
      if (p.has_v_init) distribution(p.v_init, field + ".v_init");
    }
  }

  void connection(const projection& pr, const population& pre, const population& post, const std::string& field) const {
    const connector& c = pr.conn;
    const std::string cf = field + ".connector";
    switch (c.type) {
      case connector::kind::all_to_all:
        break;
      case connector::kind::one_to_one:
        require(pre.size == post.size, cf,
                "one_to_one needs populations of equal size ('" + pre.name + "' has " + std::to_string(pre.size) +
                    ", '" + post.name + "' has " + std::to_string(post.size) + ")");
        break;
      case connector::kind::fixed_probability:
        require(std::isfinite(c.p) && c.p >= 0 && c.p <= 1, cf + ".p", "must be in [0, 1] (got " + short_number(c.p) + ")");
        break;
      case connector::kind::fixed_in_degree: {
        // Inputs are drawn without replacement, and never from the neuron itself when
        // self-connections are excluded.
        const std::int64_t available = pre.size - (pr.pre == pr.post && !c.allow_self ? 1 : 0);
        require(c.n >= 0 && c.n <= available, cf + ".n",
                "must be in [0, " + std::to_string(available) + "] (distinct inputs from '" + pre.name + "'; got " +
                    std::to_string(c.n) + ")");
        break;
      }
      case connector::kind::fixed_total_number: {
        // Pairs are drawn with repetition; without self-connections a population of one has none.
        require(c.n >= 0, cf + ".n", "must be >= 0 (got " + std::to_string(c.n) + ")");
        require(c.n < (std::int64_t{1} << 40), cf + ".n", "at most 2^40 synapses (got " + std::to_string(c.n) + ")");
        const bool no_pair = pr.pre == pr.post && !c.allow_self && pre.size < 2;
        require(c.n == 0 || !no_pair, cf + ".n",
                "population '" + pre.name + "' has one neuron and no self-connections: no pair to draw");
        break;
      }
      case connector::kind::from_list:
        list(pr, pre, post, cf + (c.list_file.empty() ? "" : ".file"));
        break;
    }
  }

  // Runs once per listed synapse: messages are built only on failure.
  void list(const projection& pr, const population& pre, const population& post, const std::string& field) const {
    const connector& c = pr.conn;
    const bool conductance = is_conductance(post);
    for (std::size_t k = 0; k < c.list.size(); ++k) {
      const connector::entry& e = c.list[k];
      const auto at = [&] {
        return (c.list_file.empty() ? "" : c.list_file + ": ") + "entry " + std::to_string(k + 1);
      };
      if (e.pre < 0 || e.pre >= pre.size)
        fail(field, at() + ": pre " + std::to_string(e.pre) + " is outside [0, " + std::to_string(pre.size) + ")");
      if (e.post < 0 || e.post >= post.size)
        fail(field, at() + ": post " + std::to_string(e.post) + " is outside [0, " + std::to_string(post.size) + ")");
      if (c.list_has_weight && !std::isfinite(e.weight)) fail(field, at() + ": weight must be finite");
      if (c.list_has_weight && conductance && e.weight < 0)
        fail(field, at() + ": conductances (adaptive_lif) must be >= 0 (got " + short_number(e.weight) + ")");
      if (c.list_has_delay) delay(e.delay, field, [&] { return at() + ": delay"; });
    }
  }

  const network& net_;
};

}  // namespace

std::string model_name(const neuron_model& m) {
  std::string name = std::holds_alternative<poisson_source>(m) ? "poisson" : "spike_source_array";
  visit_neuron_model(m, [&](auto tag, const auto&) { name = decltype(tag)::type::name; });
  return name;
}

void validate(const network& net) {
  const checker check(net);
  check.globals();
  check.populations();
  check.projections();
  check.currents();
  check.recorders();
}

std::vector<std::string> files_read(const network& net) {
  std::vector<std::string> files;
  if (!net.source.empty()) files.push_back(net.source);
  for (const population& p : net.populations)
    if (const auto* a = std::get_if<spike_source_array>(&p.model); a && !a->file.empty()) files.push_back(a->file);
  for (const projection& pr : net.projections)
    if (!pr.conn.list_file.empty()) files.push_back(pr.conn.list_file);
  return files;
}

}  // namespace kspike
