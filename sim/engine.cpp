#include "sim/engine.hpp"

#include <algorithm>

#include "sim/backend.hpp"
#include "sim/backend_dispatch.hpp"
#include "sim/memory_budget.hpp"
#include "sim/engine_impl.hpp"
#include "sim/window_engine.hpp"

namespace kspike {

namespace {

// Work per step as engine_options describes it.
std::int64_t work_estimate(const network& net, int instances) {
  std::int64_t neurons = 0, synapses = 0;
  for (const auto& p : net.populations) neurons += p.size;
  for (const auto& pr : net.projections) synapses += static_cast<std::int64_t>(expected_synapses(net, pr));
  return (neurons + synapses / 1000) * std::max(instances, 1);
}

std::unique_ptr<engine_base> make_engine(const network& net, const engine_options& options) {
  validate(net);  // once, here: the memory estimate reads sizes and delays, the engine builds from them
  if (options.instances < 1) throw error("instances: must be >= 1 (got " + std::to_string(options.instances) + ")");
  if (options.schedule == engine_options::schedule_kind::windows) return make_window_engine(net, options);
  if (!options.input_keys.empty()) throw error("input_keys: only the window schedule takes them");
  if (options.memory_limit >= 0)
    check_memory_budget(net, options.memory_limit, "kspike run --max-memory GB raises the limit", options.instances);
  // "auto": the GPU only for networks with enough work per step to pay for a dozen kernel
  // launches per step (engine_options::device_threshold).
  const std::string name = resolve_backend(options.backend, work_estimate(net, options.instances) >= options.device_threshold);
  // One thread, or too little work per step, gains nothing from OpenMP but pays for atomics
  // and fork/join: such an OpenMP request runs the Serial kernels (same spikes bit for bit).
  const auto run_serial = [&](int threads) { return threads == 1 || work_estimate(net, options.instances) < options.parallel_threshold; };
  return dispatch_backend<std::unique_ptr<engine_base>>(name, run_serial, [&](auto space, const char* kernels) {
    using Exec = typename decltype(space)::type;
    return std::unique_ptr<engine_base>(std::make_unique<engine_impl<Exec>>(net, name, kernels, options.delivery,
                                                                               options.structured_projections,
                                                                               options.instances, options.step_sync, options.table_walk,
                                                                               options.build_progress));
  });
}

}  // namespace

engine::engine(const network& net, const engine_options& options) : impl_(make_engine(net, options)) {}
engine::~engine() = default;

bool engine::run(double duration, const std::function<bool(step_t, step_t)>& progress) {
  return impl_->run(duration, progress);
}
bool engine::run_steps(step_t steps, const std::function<bool(step_t, step_t)>& progress) {
  if (steps < 0) throw error("run_steps: steps must be >= 0");
  // run() rounds duration / dt to the nearest step: steps * dt comes back exactly.
  return impl_->run(static_cast<double>(steps) * impl_->net.dt, progress);
}
void engine::redraw_delays(const std::string& projection, std::uint32_t draw) { impl_->redraw_delays(projection, draw); }
void engine::set_sink(recording_sink* sink) { impl_->sink = sink; }
void engine::set_poisson_rates(const std::string& population, const std::vector<double>& rates) {
  impl_->set_poisson_rates(population, rates);
}
void engine::set_adaptation(const std::string& population, bool adapt) { impl_->set_adaptation(population, adapt); }
std::vector<float> engine::state(const std::string& population, const std::string& variable) const {
  return impl_->state(population, variable);
}
void engine::set_state(const std::string& population, const std::string& variable, const std::vector<float>& values) {
  impl_->set_state(population, variable, values);
}
void engine::set_learning(const std::string& projection, bool on) { impl_->set_learning(projection, on); }
std::vector<float> engine::weights(const std::string& projection, int instance) const {
  return impl_->weights(projection, instance);
}
void engine::normalise_weights(const std::string& projection, double column_sum) {
  impl_->normalise_weights(projection, column_sum);
}
void engine::set_weights(const std::string& projection, const std::vector<float>& values, int instance) {
  impl_->set_weights(projection, values, instance);
}
std::vector<std::string> engine::trace_names(const std::string& projection) const { return impl_->trace_names(projection); }
std::vector<double> engine::traces(const std::string& projection, const std::string& trace, int instance) const {
  return impl_->traces(projection, trace, instance);
}
void engine::set_traces(const std::string& projection, const std::string& trace, const std::vector<double>& values, int instance) {
  impl_->set_traces(projection, trace, values, instance);
}
double engine::dt() const { return impl_->net.dt; }
step_t engine::current_step() const { return impl_->step; }
const engine_stats& engine::stats() const { return impl_->stats; }
std::int64_t engine::synapse_count() const { return impl_->synapses; }
int engine::instances() const { return impl_->instances; }
const network& engine::description() const { return impl_->net; }
const std::string& engine::backend() const { return impl_->backend; }
const std::string& engine::kernel_space() const { return impl_->kernel_space; }
bool engine::table_walk_at_arrival() const { return impl_->table_walk_at_arrival; }
std::size_t engine::memory_bytes() const { return impl_->bytes; }

}  // namespace kspike
