#include "experiments/vpr/dc_network.hpp"

#include <cmath>

#include "experiments/vpr/dc_network_impl.hpp"
#include "sim/backend.hpp"
#include "sim/backend_dispatch.hpp"

namespace kspike::vpr {

dc_params reference_dc_params(double tc_gi) {
  dc_params p;
  // Excitatory (docs/vpr.md "The network and its learning"): theta starts at 20 mV and the
  // threshold subtracts a 20 mV offset, so the first threshold is -52 mV; a 50 ms timer (t_block) on top of 5 ms refractoriness.
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

std::int32_t dc_params::delay_steps_max() const { return static_cast<std::int32_t>(std::llround(max_delay / dt)); }

void dc_params::validate() const {
  auto need = [](bool ok, const std::string& field, const std::string& what) {
    if (!ok) throw error(field + ": " + what);
  };
  need(n_input >= 1 && n_input <= 65535, "network.n_input", "must be 1..65535");
  need(n_e >= 1 && n_e <= 4096, "network.n_e", "must be 1..4096");
  need(dt > 0 && std::isfinite(dt), "network.dt", "must be > 0");
  need(max_delay >= 0 && std::isfinite(max_delay) && std::llround(max_delay / dt) <= 255, "network.max_delay",
       "must be >= 0 and at most 255 steps");
  need(n_input * n_e < (std::size_t{1} << 40), "network.n_e", "n_input * n_e too large");
  need(std::isfinite(w_exc_to_inh) && w_exc_to_inh >= 0, "network.w_exc_to_inh", "must be >= 0");
  need(std::isfinite(w_inh_to_exc) && w_inh_to_exc >= 0, "network.w_inh_to_exc", "must be >= 0");
  need(std::isfinite(w_init_scale) && w_init_scale >= 0, "network.w_init_scale", "must be >= 0");
  need(std::isfinite(w_init_offset), "network.w_init_offset", "must be finite");
  need(std::isfinite(weight_sum) && weight_sum > 0, "network.weight_sum", "must be > 0");
  need(std::isfinite(v_init_exc) && std::isfinite(v_init_inh), "network.v_init", "must be finite");
  stdp.validate();
  // The models check their own parameters.
  try {
    (void)neurons::adaptive_lif::make(exc, dt);
  } catch (const error& e) {
    throw error(std::string("network.excitatory.") + e.what());
  }
  try {
    (void)neurons::adaptive_lif::make(inh, dt);
  } catch (const error& e) {
    throw error(std::string("network.inhibitory.") + e.what());
  }
}

namespace {

std::unique_ptr<dc_batch_base> make_batch(const dc_params& p, const std::vector<dc_module_key>& modules,
                                          std::uint64_t seed, const std::string& backend) {
  const std::string name = resolve_backend(backend, true);  // batched modules: the GPU's best case
  // One module per work item: with one module, or one thread, threads have nothing to share.
  const auto run_serial = [&](int threads) { return modules.size() == 1 || threads == 1; };
  return dispatch_backend<std::unique_ptr<dc_batch_base>>(name, run_serial, [&](auto space, const char*) {
    using Exec = typename decltype(space)::type;
    return std::unique_ptr<dc_batch_base>(std::make_unique<dc_batch_impl<Exec>>(p, modules, seed, name));
  });
}

}  // namespace

dc_batch::dc_batch(const dc_params& params, const std::vector<dc_module_key>& modules, std::uint64_t seed,
                   const std::string& backend)
    : impl_(make_batch(params, modules, seed, backend)) {}
dc_batch::~dc_batch() = default;

std::size_t dc_batch::modules() const { return impl_->keys.size(); }
const dc_params& dc_batch::params() const { return impl_->params; }
const std::string& dc_batch::backend() const { return impl_->backend; }
void dc_batch::redraw_delays(std::uint32_t phase) { impl_->redraw_delays(phase); }
void dc_batch::set_learning(bool on) { impl_->learning = on; }
void dc_batch::normalise_weights() { impl_->normalise_weights(); }
void dc_batch::set_rates(const std::vector<std::vector<double>>& rates) { impl_->set_rates(rates); }
void dc_batch::run(std::int64_t steps, bool count, bool record) { impl_->run(steps, count, record); }
std::vector<std::vector<std::int32_t>> dc_batch::take_counts() { return impl_->take_counts(); }
std::vector<dc_activity> dc_batch::take_activity() { return impl_->take_activity(); }
std::vector<std::vector<dc_spike>> dc_batch::take_spikes() {
  auto out = std::move(impl_->spikes);
  impl_->spikes.assign(modules(), {});
  return out;
}
void dc_batch::set_input_recording(bool on) { impl_->record_inputs = on; }
std::vector<std::vector<dc_spike>> dc_batch::take_input_spikes() {
  auto out = std::move(impl_->input_spikes);
  impl_->input_spikes.assign(modules(), {});
  return out;
}
std::vector<float> dc_batch::weights(std::size_t module) const { return impl_->weights(module); }
void dc_batch::set_weights(std::size_t module, const std::vector<float>& w) { impl_->set_weights(module, w); }
std::vector<float> dc_batch::theta(std::size_t module) const { return impl_->theta(module); }
void dc_batch::set_theta(std::size_t module, const std::vector<float>& theta) { impl_->set_theta(module, theta); }
std::vector<std::int32_t> dc_batch::delays() const { return impl_->delay_host; }
std::int64_t dc_batch::step() const { return impl_->step; }

}  // namespace kspike::vpr
