#include "sim/window_engine.hpp"

#include "sim/backend.hpp"
#include "sim/backend_dispatch.hpp"
#include "sim/window_engine_impl.hpp"

namespace kspike {

std::unique_ptr<engine_base> make_window_engine(const network& net, const engine_options& options) {
  // "auto" keeps the window schedule on the CPU: its GPU kernel (a team of threads per instance)
  // has not been timed against the CPU yet. --backend cuda runs it on the GPU.
  const std::string name = resolve_backend(options.backend, false);
  // The per-instance kernel gives each instance one work item: with one instance, or one
  // thread, threads have nothing to share. The team kernel shares an instance among threads.
  const bool team = options.window_kernel == engine_options::window_kernel_kind::team;
  const auto run_serial = [&](int threads) { return threads == 1 || (options.instances == 1 && !team); };
  return dispatch_backend<std::unique_ptr<engine_base>>(name, run_serial, [&](auto space, const char* kernels) {
    using Exec = typename decltype(space)::type;
    return std::unique_ptr<engine_base>(std::make_unique<window_engine<Exec>>(net, options, name, kernels));
  });
}

}  // namespace kspike
