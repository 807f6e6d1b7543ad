#include "sim/window_engine.hpp"

#include "sim/backend.hpp"
#include "sim/backend_dispatch.hpp"
#include "sim/window_engine_impl.hpp"

namespace kspike {

std::unique_ptr<engine_base> make_window_engine(const network& net, const engine_options& options) {
  // On a GPU the window kernel runs one thread per instance, each through its whole window: far
  // slower than a CPU core per instance. Until an instance becomes a team of threads, "auto"
  // keeps the window schedule on the CPU; --backend cuda still runs it on the GPU.
  const std::string name = resolve_backend(options.backend, false);
  // One instance per work item: with one instance, or one thread, threads have nothing to share.
  const auto run_serial = [&](int threads) { return options.instances == 1 || threads == 1; };
  return dispatch_backend<std::unique_ptr<engine_base>>(name, run_serial, [&](auto space, const char* kernels) {
    using Exec = typename decltype(space)::type;
    return std::unique_ptr<engine_base>(std::make_unique<window_engine<Exec>>(net, options, name, kernels));
  });
}

}  // namespace kspike
