#pragma once
// Builds the engine's window schedule (engine_options::schedule, window_engine_impl.hpp) for
// the backend the options ask for. Host-only.
#include <memory>

#include "sim/engine_base.hpp"

namespace kspike {

std::unique_ptr<engine_base> make_window_engine(const network& net, const engine_options& options);

}  // namespace kspike
