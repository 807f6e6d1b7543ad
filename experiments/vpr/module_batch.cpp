#include "experiments/vpr/module_batch.hpp"

#include <algorithm>
#include <cmath>

#include "sim/core/error.hpp"
#include "sim/core/rng.hpp"

namespace kspike::vpr {

module_params reference_module_params(double tc_gi) {
  module_params p;
  // Excitatory (docs/vpr.md "The network and its learning"): theta starts at 20 mV and the
  // threshold subtracts a 20 mV offset, so the first threshold is -52 mV; a 50 ms timer
  // (t_block) on top of 5 ms refractoriness.
  auto& e = p.exc;
  e.tau = 100e-3;
  e.v_leak = -65e-3;
  e.v_reset = -65e-3;
  e.v_threshold = -52e-3;
  e.e_rev_e = 0.0;
  e.e_rev_i = -100e-3;
  e.tau_syn_e = 1e-3;
  e.tau_syn_i = tc_gi;
  e.t_ref = 5e-3;
  e.t_block = 50e-3;
  e.theta_plus = 0.05e-3;
  e.tau_theta = 1e4;
  e.theta_offset = 20e-3;
  e.theta_init = 20e-3;
  e.method = neurons::integrator::euler;
  auto& i = p.inh;
  i.tau = 10e-3;
  i.v_leak = -60e-3;
  i.v_reset = -45e-3;
  i.v_threshold = -40e-3;
  i.e_rev_e = 0.0;
  i.e_rev_i = -85e-3;
  i.tau_syn_e = 1e-3;
  i.tau_syn_i = tc_gi;
  i.t_ref = 2e-3;
  i.t_block = 0.0;
  i.theta_plus = 0.0;
  i.adapt = false;
  i.method = neurons::integrator::euler;
  return p;
}

network module_network(const module_params& p, std::uint64_t seed, bool record_inputs) {
  network net;
  net.source = "place-recognition module";
  net.dt = p.dt;
  net.seed = seed;
  population in;
  in.name = "input";
  in.size = static_cast<std::int64_t>(p.n_input);
  poisson_source src;
  src.rates = {0.0};
  src.draw = poisson_source::sampling::gaps;  // one draw per spike, as Brian2's process at any rate
  in.model = src;
  auto neurons = [&](const char* name, const neurons::adaptive_lif::params& m, double v_init) {
    population pop;
    pop.name = name;
    pop.size = static_cast<std::int64_t>(p.n_e);
    pop.model = m;
    pop.has_v_init = true;
    pop.v_init = value_dist::constant(v_init);
    return pop;
  };
  net.populations = {in, neurons("exc", p.exc, p.v_init_exc), neurons("inh", p.inh, p.v_init_inh)};

  projection input;
  input.name = "input";
  input.pre = "input";
  input.post = "exc";
  input.conn.type = connector::kind::all_to_all;
  // The reference's initial weights are set by module_batch (reference_initial_weights); this
  // is their range.
  input.weight = value_dist::uniform(p.w_init_offset * p.w_init_scale, (1 + p.w_init_offset) * p.w_init_scale);
  // The engine counts a delay from the step of the spike to the step after its delivery: one
  // step more than Brian2's.
  input.has_delay = true;
  input.delay = value_dist::uniform(p.dt, p.dt + p.max_delay);
  input.plastic = true;
  // The reference's rule in the engine's terms: a pre arrival adds nu_pre (signed) times the
  // post trace, a post spike adds nu_post times the pre trace times the second post trace.
  input.stdp.tau_pre = p.stdp.tau_pre;
  input.stdp.tau_post = p.stdp.tau_post1;
  input.stdp.tau_post2 = p.stdp.tau_post2;
  input.stdp.a_pre = p.stdp.nu_post;
  input.stdp.a_post = p.stdp.signed_nu_pre();
  input.stdp.w_min = p.stdp.w_min;
  input.stdp.w_max = p.stdp.w_max;
  input.stdp.pairs = stdp_rule::pairing::nearest;
  input.stdp.rule = stdp_rule::update::additive;

  projection ei;
  ei.name = "exc_inh";
  ei.pre = "exc";
  ei.post = "inh";
  ei.conn.type = connector::kind::one_to_one;
  ei.weight = value_dist::constant(p.w_exc_to_inh);
  projection ie;
  ie.name = "inh_exc";
  ie.pre = "inh";
  ie.post = "exc";
  ie.target = receptor::inhibitory;
  ie.conn.type = connector::kind::all_to_all;
  ie.conn.allow_self = false;
  ie.weight = value_dist::constant(p.w_inh_to_exc);
  net.projections = {input, ei, ie};
  net.spike_recorders = {{"exc"}};
  if (record_inputs) net.spike_recorders.push_back({"input"});
  return net;
}

std::vector<float> reference_initial_weights(const module_params& p, std::uint64_t seed) {
  std::vector<float> w(p.n_input * p.n_e);
  for (std::size_t i = 0; i < p.n_input; ++i)
    for (std::size_t j = 0; j < p.n_e; ++j)
      w[i * p.n_e + j] = static_cast<float>(
          (uniform01(philox4x32(seed, stream_id(stream::vpr_weight), static_cast<std::uint32_t>(i), j)) + p.w_init_offset) *
          p.w_init_scale);
  return w;
}

module_batch::module_batch(const module_params& params, const std::vector<module_key>& modules, std::uint64_t seed,
                           const std::string& backend, bool record_inputs)
    : params_(params), keys_(modules) {
  if (modules.empty()) throw error("module_batch: no modules");
  engine_options o;
  o.backend = backend;
  o.schedule = engine_options::schedule_kind::windows;
  o.instances = static_cast<int>(modules.size());
  for (const auto& k : modules) o.input_keys.push_back(k.key);
  engine_ = std::make_unique<engine>(module_network(params, seed, record_inputs), o);
  engine_->set_weights("input", reference_initial_weights(params, seed), -1);
  engine_->set_sink(this);
  counts_.assign(modules.size() * params.n_e, 0);
  spikes_.assign(modules.size(), {});
  input_spikes_.assign(modules.size(), {});
  taken_ = engine_->stats();
}

void module_batch::set_learning(bool on) {
  engine_->set_learning("input", on);
  engine_->set_adaptation("exc", on);
}

void module_batch::set_rates(const std::vector<std::vector<double>>& rates) {
  if (rates.empty()) return engine_->set_poisson_rates("input", {0.0});
  if (rates.size() != 1 && rates.size() != modules())
    throw error("rates: expected one vector per module (" + std::to_string(modules()) + ") or one for all");
  std::vector<double> all;
  all.reserve(modules() * params_.n_input);
  for (std::size_t m = 0; m < modules(); ++m) {
    const auto& v = rates.size() == 1 ? rates[0] : rates[m];
    if (v.size() != params_.n_input)
      throw error("rates: expected " + std::to_string(params_.n_input) + " inputs, got " + std::to_string(v.size()));
    all.insert(all.end(), v.begin(), v.end());
  }
  engine_->set_poisson_rates("input", all);
}

void module_batch::run(std::int64_t steps, bool count, bool record) {
  if (steps < 0) throw error("run: steps must be >= 0");
  count_ = count;
  record_ = record;
  engine_->run_steps(steps);
}

void module_batch::spikes(step_t step, std::size_t population, const std::int64_t* ids, std::size_t n) {
  const auto N = static_cast<std::int64_t>(params_.n_e), I = static_cast<std::int64_t>(params_.n_input);
  if (population == 1) {  // exc
    for (std::size_t k = 0; k < n; ++k) {
      if (count_) ++counts_[static_cast<std::size_t>(ids[k])];
      if (record_) spikes_[static_cast<std::size_t>(ids[k] / N)].push_back({step, static_cast<std::int32_t>(ids[k] % N)});
    }
  } else if (population == 0) {  // input
    for (std::size_t k = 0; k < n; ++k)
      input_spikes_[static_cast<std::size_t>(ids[k] / I)].push_back({step, static_cast<std::int32_t>(ids[k] % I)});
  }
}

std::vector<std::vector<std::int32_t>> module_batch::take_counts() {
  std::vector<std::vector<std::int32_t>> out(modules());
  for (std::size_t m = 0; m < modules(); ++m)
    out[m].assign(counts_.begin() + static_cast<std::ptrdiff_t>(m * params_.n_e),
                  counts_.begin() + static_cast<std::ptrdiff_t>((m + 1) * params_.n_e));
  std::fill(counts_.begin(), counts_.end(), 0);
  return out;
}

module_activity module_batch::take_activity() {
  const engine_stats& s = engine_->stats();
  module_activity a;
  a.steps = static_cast<std::uint64_t>(s.steps - taken_.steps);
  a.input_spikes = s.spikes[0] - taken_.spikes[0];
  a.exc_spikes = s.spikes[1] - taken_.spikes[1];
  a.inh_spikes = s.spikes[2] - taken_.spikes[2];
  a.synaptic_events = s.synaptic_events - taken_.synaptic_events;
  taken_ = s;
  return a;
}

std::vector<std::vector<module_spike>> module_batch::take_spikes() {
  auto out = std::move(spikes_);
  spikes_.assign(modules(), {});
  return out;
}

std::vector<std::vector<module_spike>> module_batch::take_input_spikes() {
  auto out = std::move(input_spikes_);
  input_spikes_.assign(modules(), {});
  return out;
}

std::vector<float> module_batch::theta(std::size_t module) const {
  if (module >= modules()) throw error("theta: module " + std::to_string(module) + " out of range");
  const auto all = engine_->state("exc", "theta");
  return std::vector<float>(all.begin() + static_cast<std::ptrdiff_t>(module * params_.n_e),
                            all.begin() + static_cast<std::ptrdiff_t>((module + 1) * params_.n_e));
}

void module_batch::set_theta(const std::vector<float>& theta_of_all) {
  const std::size_t want = modules() * params_.n_e;
  if (theta_of_all.size() != want)
    throw error("set_theta: expected " + std::to_string(want) + " values (every module's), got " +
                std::to_string(theta_of_all.size()));
  engine_->set_state("exc", "theta", theta_of_all);
}

}  // namespace kspike::vpr
