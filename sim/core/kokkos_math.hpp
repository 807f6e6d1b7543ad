#pragma once
// Math functions for kernels that work in float or double, across Kokkos versions: Kokkos 3.4
// keeps them in Kokkos::Experimental, 3.7 and later in Kokkos (the Experimental names are
// gone in 4.x). The one place that hides it, for neuron models and training layers alike.
#include "sim/core/kokkos_core.hpp"

#include <cmath>

namespace kspike::kmath {

#if defined(KSPIKE_HOST_ONLY)
#define KSPIKE_KMATH_NS std  // a host-only unit of a CUDA build (sim/core/kokkos_core.hpp)
#elif KOKKOS_VERSION >= 30700
#define KSPIKE_KMATH_NS Kokkos
#else
#define KSPIKE_KMATH_NS Kokkos::Experimental
#endif

template <class Real>
KOKKOS_INLINE_FUNCTION Real exp(Real x) {
  return KSPIKE_KMATH_NS::exp(x);
}
template <class Real>
KOKKOS_INLINE_FUNCTION Real log(Real x) {
  return KSPIKE_KMATH_NS::log(x);
}
template <class Real>
KOKKOS_INLINE_FUNCTION Real atan(Real x) {
  return KSPIKE_KMATH_NS::atan(x);
}
template <class Real>
KOKKOS_INLINE_FUNCTION Real erfc(Real x) {
  return KSPIKE_KMATH_NS::erfc(x);
}
template <class Real>
KOKKOS_INLINE_FUNCTION Real floor(Real x) {
  return KSPIKE_KMATH_NS::floor(x);
}
template <class Real>
KOKKOS_INLINE_FUNCTION Real tanh(Real x) {
  return KSPIKE_KMATH_NS::tanh(x);
}
template <class Real>
KOKKOS_INLINE_FUNCTION Real sqrt(Real x) {
  return KSPIKE_KMATH_NS::sqrt(x);
}

#undef KSPIKE_KMATH_NS

// Written out rather than taken from Kokkos: the same code in every version, and a select
// that the compiler vectorises.
template <class Real>
KOKKOS_INLINE_FUNCTION Real abs(Real x) {
  return x < Real(0) ? -x : x;
}
template <class Real>
KOKKOS_INLINE_FUNCTION Real max(Real a, Real b) {
  return a < b ? b : a;
}
template <class Real>
KOKKOS_INLINE_FUNCTION Real clamp(Real x, Real lo, Real hi) {
  return x < lo ? lo : (hi < x ? hi : x);
}

// Constants in the precision they are used in.
template <class Real>
KOKKOS_INLINE_FUNCTION constexpr Real pi() {
  return Real(3.14159265358979323846);
}
template <class Real>
KOKKOS_INLINE_FUNCTION constexpr Real inv_sqrt_pi() {
  return Real(0.56418958354775628695);  // 1/sqrt(pi)
}

}  // namespace kspike::kmath
