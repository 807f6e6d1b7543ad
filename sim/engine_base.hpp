#pragma once
// What every implementation of the engine provides (engine.hpp forwards to it): the step
// schedule (engine_impl.hpp) and the window schedule (window_engine_impl.hpp). Host-only.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sim/engine.hpp"

namespace kspike {

class engine_base {
 public:
  virtual ~engine_base() = default;
  virtual bool run(double duration, const std::function<bool(step_t, step_t)>& progress) = 0;
  // Draws the delays of a projection again (engine::redraw_delays).
  virtual void redraw_delays(const std::string& projection, std::uint32_t draw) = 0;
  virtual void set_poisson_rates(const std::string& population, const std::vector<double>& rates) = 0;
  virtual void set_adaptation(const std::string& population, bool adapt) = 0;
  virtual std::vector<float> state(const std::string& population, const std::string& variable) const = 0;
  virtual void set_state(const std::string& population, const std::string& variable,
                         const std::vector<float>& values) = 0;
  virtual void set_learning(const std::string& projection, bool on) = 0;
  virtual std::vector<float> weights(const std::string& projection, int instance) const = 0;
  virtual void set_weights(const std::string& projection, const std::vector<float>& values, int instance) = 0;
  virtual void normalise_weights(const std::string& projection, double column_sum) = 0;
  virtual std::vector<std::string> trace_names(const std::string& projection) const = 0;
  virtual std::vector<double> traces(const std::string& projection, const std::string& trace, int instance) const = 0;
  virtual void set_traces(const std::string& projection, const std::string& trace, const std::vector<double>& values, int instance) = 0;
  recording_sink* sink = nullptr;
  network net;
  engine_stats stats;
  step_t step = 0;
  std::int64_t synapses = 0;
  int instances = 1;
  std::string backend, kernel_space;
  bool table_walk_at_arrival = false;  // engine_options::table_walk as chosen
  std::size_t bytes = 0;
};

}  // namespace kspike
