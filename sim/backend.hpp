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
// Throws kspike::error("--backend: ...") when `name` is not compiled in.
void require_backend(const std::string& name);
// Threads (or GPU lanes) the backend runs with, once Kokkos is initialised.
int backend_concurrency(const std::string& name);
std::string kokkos_version();

}  // namespace kspike
