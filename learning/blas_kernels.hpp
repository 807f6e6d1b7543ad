#pragma once
// Which OpenBLAS kernels run, and which would fit the CPU better (no Kokkos here: the command
// line's entry point uses it before anything else starts).
//
// OpenBLAS (Debian's build has every x86-64 kernel set) picks its kernels when the library
// loads, from the CPU model. On a model it does not know, such as one newer than the OpenBLAS
// release, it falls back to its oldest set, Prescott (SSE3): on one such CPU (Intel family 6,
// model 207, OpenBLAS 0.3.21) training took 1.7-2.4x the time it takes with the AVX-512
// (SkylakeX) set. The environment variable OPENBLAS_CORETYPE, read when the library loads,
// names the set instead (docs/training.md "gemm").
#include <string>

#if defined(KSPIKE_USE_OPENBLAS) && defined(__has_include)
#if __has_include(<cblas.h>)
#include <cblas.h>
#define KSPIKE_HAVE_CBLAS 1
#endif
#endif

namespace kspike::learning {

// The kernel set OpenBLAS runs ("SkylakeX", "Haswell", "Prescott", ...), or "" without OpenBLAS.
inline std::string openblas_kernels() {
#ifdef KSPIKE_HAVE_CBLAS
  const char* core = openblas_get_corename();
  return core ? core : "";
#else
  return "";
#endif
}

// Where OpenBLAS runs a fallback set older than the CPU's instruction set: the set made for
// the CPU ("SkylakeX" with AVX-512, "Haswell" with AVX2). Otherwise nullptr.
inline const char* fitting_openblas_kernels() {
#if defined(KSPIKE_HAVE_CBLAS) && (defined(__x86_64__) || defined(__i386__))
  const std::string name = openblas_kernels();
  if (name != "Prescott" && name != "Core2" && name != "Penryn" && name != "Dunnington" && name != "Nehalem") return nullptr;
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")) return "SkylakeX";
  if (__builtin_cpu_supports("avx2")) return "Haswell";
#endif
  return nullptr;
}

}  // namespace kspike::learning
