#pragma once
// Which Kokkos backends this build has, and choosing one by name at run time.
// Host-only: the kernels live in engine_impl.hpp.
#include <string>
#include <vector>

namespace kspike {

// Names of the execution spaces compiled into Kokkos, in order of preference for a default:
// "cuda", "openmp", "serial".
std::vector<std::string> compiled_backends();
std::string default_backend();
// Throws kspike::error("--backend: ...") when `name` is neither "auto" nor compiled in.
void require_backend(const std::string& name);
// The backend a request means. "" and "auto" (the default of every command): the GPU when
// the build has one and `device_pays` (the caller's judgement that the work is large enough
// to pay for kernel launches and transfers), otherwise the best host backend (OpenMP, or
// Serial). Any other name must be compiled in and is returned as it is.
std::string resolve_backend(const std::string& requested, bool device_pays);
// Threads (or GPU lanes) the backend runs with, once Kokkos is initialised.
int backend_concurrency(const std::string& name);
std::string kokkos_version();

}  // namespace kspike
