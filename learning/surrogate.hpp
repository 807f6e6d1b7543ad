#pragma once
// Surrogate gradients for kernels. The forward pass of a spiking neuron stays a Heaviside step
// S = Θ(x), x = H - θ; backward replaces the step's derivative (zero almost everywhere) by a
// bump g'(x) of one of the families of docs/training.md "Surrogates".
//
// Each family has g'(x) and its primitive g(x) = ∫_{-∞}^x g'. The primitive is what gradient
// checks differentiate numerically, and what a layer fires with when it is asked for a smooth
// forward pass (learning/spiking_lif.hpp). For most families g rises from 0 to 1; fast_sigmoid,
// super_spike, triangle and piecewise_leaky_relu are not normalised (their g' integrates to
// 2/k, 2α, γw and beyond 1 respectively), as in the references.
#include <Kokkos_Core.hpp>

#include "sim/core/kokkos_math.hpp"
#include "learning/surrogate_spec.hpp"

namespace kspike::learning {

namespace surrogates {

// Derivatives g'(x), then primitives g(x), one pair per family, in that table's order.

template <class Real>
KOKKOS_INLINE_FUNCTION Real rectangular(Real x, Real a) {
  // Strict at the edges: g'(±a/2) = 0 (docs/models.md "Surrogate gradients").
  return kmath::abs(x) < a / Real(2) ? Real(1) / a : Real(0);
}
template <class Real>
KOKKOS_INLINE_FUNCTION Real rectangular_primitive(Real x, Real a) {
  return kmath::clamp(x / a + Real(0.5), Real(0), Real(1));
}

template <class Real>
KOKKOS_INLINE_FUNCTION Real triangle(Real x, Real gamma, Real w) {
  return gamma * kmath::max(Real(0), Real(1) - kmath::abs(x) / w);
}
template <class Real>
KOKKOS_INLINE_FUNCTION Real triangle_primitive(Real x, Real gamma, Real w) {
  // In u = x/w: (1+u)²/2 on (-1, 0], 1 - (1-u)²/2 on (0, 1); scaled by γw.
  const Real u = kmath::clamp(x / w, Real(-1), Real(1));
  const Real half = u <= Real(0) ? Real(0.5) * (Real(1) + u) * (Real(1) + u)
                                 : Real(1) - Real(0.5) * (Real(1) - u) * (Real(1) - u);
  return gamma * w * half;
}

template <class Real>
KOKKOS_INLINE_FUNCTION Real sigmoid(Real x, Real alpha) {
  // α σ(αx)(1 - σ(αx)) written as α e/(1+e)² with e = e^{-α|x|}: even in x, and for large
  // |x| it keeps the tiny tail (the tests' reference value: 1.3e-15 at x = 1.5, k = 25) that
  // 1 - σ loses.
  const Real e = kmath::exp(-alpha * kmath::abs(x));
  return alpha * e / ((Real(1) + e) * (Real(1) + e));
}
template <class Real>
KOKKOS_INLINE_FUNCTION Real sigmoid_primitive(Real x, Real alpha) {
  const Real e = kmath::exp(-alpha * kmath::abs(x));  // never overflows
  return x >= Real(0) ? Real(1) / (Real(1) + e) : e / (Real(1) + e);
}

template <class Real>
KOKKOS_INLINE_FUNCTION Real arctan(Real x, Real alpha) {
  const Real y = kmath::pi<Real>() / Real(2) * alpha * x;
  return alpha / Real(2) / (Real(1) + y * y);
}
template <class Real>
KOKKOS_INLINE_FUNCTION Real arctan_primitive(Real x, Real alpha) {
  return kmath::atan(kmath::pi<Real>() / Real(2) * alpha * x) / kmath::pi<Real>() + Real(0.5);
}

// snnTorch's fast_sigmoid(slope = k): SuperSpike with the slope inside the square.
template <class Real>
KOKKOS_INLINE_FUNCTION Real fast_sigmoid(Real x, Real k) {
  const Real d = k * kmath::abs(x) + Real(1);
  return Real(1) / (d * d);
}
template <class Real>
KOKKOS_INLINE_FUNCTION Real fast_sigmoid_primitive(Real x, Real k) {
  return x / (k * kmath::abs(x) + Real(1)) + Real(1) / k;
}

// SpikingJelly's SuperSpike(alpha): the same shape with the scale outside.
template <class Real>
KOKKOS_INLINE_FUNCTION Real super_spike(Real x, Real alpha) {
  const Real d = kmath::abs(x) + Real(1);
  return alpha / (d * d);
}
template <class Real>
KOKKOS_INLINE_FUNCTION Real super_spike_primitive(Real x, Real alpha) {
  return alpha * (x / (kmath::abs(x) + Real(1)) + Real(1));
}

template <class Real>
KOKKOS_INLINE_FUNCTION Real piecewise_quadratic(Real x, Real alpha) {
  return kmath::max(Real(0), alpha - alpha * alpha * kmath::abs(x));
}
template <class Real>
KOKKOS_INLINE_FUNCTION Real piecewise_quadratic_primitive(Real x, Real alpha) {
  const Real xc = kmath::clamp(x, Real(-1) / alpha, Real(1) / alpha);  // flat at 0 and 1 outside
  return Real(0.5) + alpha * xc - Real(0.5) * alpha * alpha * xc * kmath::abs(xc);
}

template <class Real>
KOKKOS_INLINE_FUNCTION Real piecewise_exp(Real x, Real alpha) {
  return alpha / Real(2) * kmath::exp(-alpha * kmath::abs(x));
}
template <class Real>
KOKKOS_INLINE_FUNCTION Real piecewise_exp_primitive(Real x, Real alpha) {
  const Real half_tail = Real(0.5) * kmath::exp(-alpha * kmath::abs(x));
  return x >= Real(0) ? Real(1) - half_tail : half_tail;
}

template <class Real>
KOKKOS_INLINE_FUNCTION Real erf(Real x, Real alpha) {
  const Real y = alpha * x;
  return alpha * kmath::inv_sqrt_pi<Real>() * kmath::exp(-y * y);
}
template <class Real>
KOKKOS_INLINE_FUNCTION Real erf_primitive(Real x, Real alpha) {
  return Real(0.5) * kmath::erfc(-alpha * x);
}

template <class Real>
KOKKOS_INLINE_FUNCTION Real softsign(Real x, Real alpha) {
  const Real d = Real(1) + alpha * kmath::abs(x);
  return alpha / (Real(2) * d * d);
}
template <class Real>
KOKKOS_INLINE_FUNCTION Real softsign_primitive(Real x, Real alpha) {
  return Real(0.5) * (alpha * x / (Real(1) + alpha * kmath::abs(x)) + Real(1));
}

// Inclusive at |x| = w, as the table in docs/training.md writes it (abs(x) <= w).
template <class Real>
KOKKOS_INLINE_FUNCTION Real piecewise_leaky_relu(Real x, Real w, Real c) {
  return kmath::abs(x) <= w ? Real(1) / (Real(2) * w) : c;
}
template <class Real>
KOKKOS_INLINE_FUNCTION Real piecewise_leaky_relu_primitive(Real x, Real w, Real c) {
  if (x < -w) return c * (x + w);
  if (x > w) return c * (x - w) + Real(1);
  return x / (Real(2) * w) + Real(0.5);
}

}  // namespace surrogates

// A surrogate chosen at run time, in the precision of the kernel that calls it. Trivially
// copyable: kernels capture it by value. The switch costs one predictable branch per call;
// every thread takes the same path, so it does not diverge on a GPU.
template <class Real>
struct surrogate_fn {
  surrogate_kind kind = surrogate_kind::sigmoid;
  Real p = Real(4);
  Real p2 = Real(0);

  static surrogate_fn from(const surrogate_spec& s) {
    validate(s);
    return surrogate_fn{s.kind, static_cast<Real>(s.param), static_cast<Real>(s.param2)};
  }

  // g'(x): the stand-in for dS/dx.
  KOKKOS_INLINE_FUNCTION Real derivative(Real x) const {
    using namespace surrogates;
    switch (kind) {
      case surrogate_kind::rectangular: return rectangular(x, p);
      case surrogate_kind::triangle: return triangle(x, p, p2);
      case surrogate_kind::sigmoid: return sigmoid(x, p);
      case surrogate_kind::arctan: return arctan(x, p);
      case surrogate_kind::fast_sigmoid: return fast_sigmoid(x, p);
      case surrogate_kind::super_spike: return super_spike(x, p);
      case surrogate_kind::piecewise_quadratic: return piecewise_quadratic(x, p);
      case surrogate_kind::piecewise_exp: return piecewise_exp(x, p);
      case surrogate_kind::erf: return surrogates::erf(x, p);
      case surrogate_kind::softsign: return softsign(x, p);
      case surrogate_kind::piecewise_leaky_relu: return piecewise_leaky_relu(x, p, p2);
    }
    return Real(0);
  }

  // g(x) = ∫_{-∞}^x g'.
  KOKKOS_INLINE_FUNCTION Real primitive(Real x) const {
    using namespace surrogates;
    switch (kind) {
      case surrogate_kind::rectangular: return rectangular_primitive(x, p);
      case surrogate_kind::triangle: return triangle_primitive(x, p, p2);
      case surrogate_kind::sigmoid: return sigmoid_primitive(x, p);
      case surrogate_kind::arctan: return arctan_primitive(x, p);
      case surrogate_kind::fast_sigmoid: return fast_sigmoid_primitive(x, p);
      case surrogate_kind::super_spike: return super_spike_primitive(x, p);
      case surrogate_kind::piecewise_quadratic: return piecewise_quadratic_primitive(x, p);
      case surrogate_kind::piecewise_exp: return piecewise_exp_primitive(x, p);
      case surrogate_kind::erf: return erf_primitive(x, p);
      case surrogate_kind::softsign: return softsign_primitive(x, p);
      case surrogate_kind::piecewise_leaky_relu: return piecewise_leaky_relu_primitive(x, p, p2);
    }
    return Real(0);
  }
};

}  // namespace kspike::learning
