#pragma once
// The one place where a backend's name becomes a Kokkos execution space: the engine, the
// place-recognition network and the trainer all build their implementation through it, so the
// names, the default and the error for an unknown name are the same everywhere.
// Kernel-side header (includes Kokkos); host-only code uses sim/backend.hpp.
#include <Kokkos_Core.hpp>

#include <string>

#include "sim/backend.hpp"
#include "sim/core/error.hpp"

namespace kspike {

// A type carrying an execution space, so that a generic lambda can receive it as an argument.
template <class Exec>
struct exec_space_tag {
  using type = Exec;
};

// Resolves `requested` ("" or "auto" = the first backend compiled in; an unknown name throws
// kspike::error naming --backend) and returns make(exec_space_tag<Exec>{}, kernel_space_name). An "openmp" request
// runs the Serial kernels when run_serial(OpenMP threads) says threads cannot pay for
// themselves; every caller's kernels give the same results on both, so only speed changes.
template <class Result, class Make, class RunSerial>
Result dispatch_backend(const std::string& requested, const RunSerial& run_serial, const Make& make) {
  // Callers resolve "auto" themselves (resolve_backend) where the GPU may not pay; here it
  // means the first compiled in.
  const std::string name = resolve_backend(requested, true);
#ifdef KOKKOS_ENABLE_OPENMP
  if (name == "openmp") {
#ifdef KOKKOS_ENABLE_SERIAL
    if (run_serial(Kokkos::OpenMP().concurrency())) return make(exec_space_tag<Kokkos::Serial>{}, "serial");
#endif
    return make(exec_space_tag<Kokkos::OpenMP>{}, "openmp");
  }
#endif
#ifdef KOKKOS_ENABLE_CUDA
  if (name == "cuda") return make(exec_space_tag<Kokkos::Cuda>{}, "cuda");
#endif
#ifdef KOKKOS_ENABLE_SERIAL
  if (name == "serial") return make(exec_space_tag<Kokkos::Serial>{}, "serial");
#endif
  (void)run_serial;
  throw internal_error("backend '" + name + "' listed but not instantiated");
}

// For callers whose OpenMP kernels always run threaded.
inline bool never_serial(int /*openmp_threads*/) { return false; }

}  // namespace kspike
