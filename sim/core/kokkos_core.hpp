#pragma once
// Kokkos for kspike's own headers. In a CUDA build, the few translation units that read
// configuration files are compiled by the host compiler alone (nvcc cannot compile toml++, and
// they launch no kernels); a Kokkos built with CUDA cannot be included there. Such a unit is
// compiled with KSPIKE_HOST_ONLY (the build does this: docs/builds.md) and gets the macros the
// neuron and RNG headers need, with host-only meanings, instead of Kokkos itself.
#ifdef KSPIKE_HOST_ONLY
#ifndef KOKKOS_INLINE_FUNCTION
#define KOKKOS_INLINE_FUNCTION inline
#define KOKKOS_FORCEINLINE_FUNCTION inline
#define KOKKOS_FUNCTION
#define KOKKOS_RESTRICT __restrict__
#endif
#else
#include <Kokkos_Core.hpp>
#endif
