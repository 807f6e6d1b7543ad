#include "sim/backend.hpp"

#include <Kokkos_Core.hpp>

#include "sim/core/error.hpp"

namespace kspike {

std::vector<std::string> compiled_backends() {
  std::vector<std::string> b;
#ifdef KOKKOS_ENABLE_CUDA
  b.push_back("cuda");
#endif
#ifdef KOKKOS_ENABLE_OPENMP
  b.push_back("openmp");
#endif
#ifdef KOKKOS_ENABLE_SERIAL
  b.push_back("serial");
#endif
  return b;
}

std::string default_backend() { return compiled_backends().front(); }

void require_backend(const std::string& name) {
  if (name == "auto") return;
  std::string list;
  for (const auto& b : compiled_backends()) {
    if (b == name) return;
    list += (list.empty() ? "" : ", ") + b;
  }
  throw error("--backend: unknown or not compiled in: '" + name + "' (this build has: auto, " + list + ")");
}

std::string resolve_backend(const std::string& requested, bool device_pays) {
  if (!requested.empty() && requested != "auto") {
    require_backend(requested);
    return requested;
  }
  for (const auto& b : compiled_backends())
    if (b != "cuda" || device_pays) return b;
  return default_backend();
}

int backend_concurrency(const std::string& name) {
#ifdef KOKKOS_ENABLE_CUDA
  if (name == "cuda") return Kokkos::Cuda().concurrency();
#endif
#ifdef KOKKOS_ENABLE_OPENMP
  if (name == "openmp") return Kokkos::OpenMP().concurrency();
#endif
  return 1;
}

std::string kokkos_version() {
  const int v = KOKKOS_VERSION;
  return std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." + std::to_string(v % 100);
}

}  // namespace kspike
