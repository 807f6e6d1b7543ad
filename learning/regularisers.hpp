#pragma once
// Loss terms on a spiking layer's internal values, as Kokkos kernels for the trainer:
//  - the Hoyer regulariser (docs/models.md "Hoyer spikes") of a Hoyer layer's pre-activation x:
//      H(y) = (Σ|y|)² / Σy²,  y = clip(x, 0, |θ|)  (θ detached, as the reference),
//    whose host form learning/hoyer.hpp hoyer_regulariser() is the tests' reference;
//  - RMP-Loss (docs/models.md, an unverified reconstruction) of a LIF layer's membrane H:
//      L = mean over (t, neurons) of (û − round(û))²,  û = clip(H/θ, 0, 1).
// Sums are taken over fixed chunks, then added on the host in order, so the value and the
// gradient are identical on every backend and thread count.
#include <Kokkos_Core.hpp>

#include <cstdint>
#include <vector>

#include "sim/core/kokkos_math.hpp"

namespace kspike::learning {

namespace detail {

// Σ_i f(i) for i in [0, n): each chunk of 4096 terms is summed in order by one work item, and the
// chunk sums in order on the host. f(i) returns K doubles in `out[K]`.
template <class Exec, int K, class F>
std::vector<double> chunked_sums(std::int64_t n, const F& f) {
  constexpr std::int64_t chunk = 4096;
  const std::int64_t chunks = (n + chunk - 1) / chunk;
  Kokkos::View<double**, Kokkos::LayoutRight, typename Exec::memory_space> part("kspike::chunked_sums", chunks > 0 ? chunks : 1, K);
  Kokkos::parallel_for(
      "kspike::chunked_sums", Kokkos::RangePolicy<Exec, Kokkos::IndexType<std::int64_t>>(0, chunks),
      KOKKOS_LAMBDA(const std::int64_t c) {
        double acc[K] = {};
        const std::int64_t hi = (c + 1) * chunk < n ? (c + 1) * chunk : n;
        for (std::int64_t i = c * chunk; i < hi; ++i) {
          double v[K];
          f(i, v);
          for (int k = 0; k < K; ++k) acc[k] += v[k];
        }
        for (int k = 0; k < K; ++k) part(c, k) = acc[k];
      });
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), part);
  std::vector<double> out(K, 0.0);
  for (std::int64_t c = 0; c < chunks; ++c)
    for (int k = 0; k < K; ++k) out[static_cast<std::size_t>(k)] += h(c, k);
  return out;
}

}  // namespace detail

// Returns H of x[0, n) and adds weight · dH/dx into grad[0, n).
template <class Exec, class Real>
double hoyer_regulariser_add(const Real* x, Real* grad, std::int64_t n, double theta, double weight) {
  const double top = theta < 0 ? -theta : theta;
  const auto s = detail::chunked_sums<Exec, 2>(n, KOKKOS_LAMBDA(const std::int64_t i, double* v) {
    const double a = static_cast<double>(x[i]);
    const double y = a < 0 ? 0 : (a > top ? top : a);
    v[0] = y;
    v[1] = y * y;
  });
  const double l1 = s[0], l2 = s[1];
  if (l2 == 0) return 0.0;
  const double a = weight * 2 * l1 / l2, b = weight * 2 * l1 * l1 / (l2 * l2);
  if (weight != 0)
    Kokkos::parallel_for(
        "kspike::hoyer_regulariser::grad", Kokkos::RangePolicy<Exec, Kokkos::IndexType<std::int64_t>>(0, n),
        KOKKOS_LAMBDA(const std::int64_t i) {
          const double xi = static_cast<double>(x[i]);
          if (xi > 0 && xi < top) grad[i] += static_cast<Real>(a - b * xi);
        });
  return l1 * l1 / l2;
}

// RMP-Loss of the membrane h[0, n) of a layer with threshold θ: returns the loss, writes
// weight · dL/dh into grad_h[0, n) (not added: the LIF backward takes it as its own input) and
// weight · dL/dθ into *grad_theta.
template <class Exec, class Real>
double rmp_loss(const Real* h, Real* grad_h, std::int64_t n, double theta, double weight, double* grad_theta) {
  const double inv_theta = 1.0 / theta, scale = 1.0 / double(n);
  const auto s = detail::chunked_sums<Exec, 2>(n, KOKKOS_LAMBDA(const std::int64_t i, double* v) {
    const double u = static_cast<double>(h[i]) * inv_theta;
    v[0] = 0;
    v[1] = 0;
    if (u > 0 && u < 1) {
      const double r = u - kmath::floor(u + 0.5);
      v[0] = r * r;
      v[1] = -2 * r * u * inv_theta;  // d(r²)/dθ = 2r · dû/dθ, dû/dθ = -û/θ
    }  // û clipped to 0 or 1 lies on a spike value: no loss, no gradient
  });
  const double g = weight * 2 * scale * inv_theta;
  Kokkos::parallel_for(
      "kspike::rmp_loss::grad", Kokkos::RangePolicy<Exec, Kokkos::IndexType<std::int64_t>>(0, n),
      KOKKOS_LAMBDA(const std::int64_t i) {
        const double u = static_cast<double>(h[i]) * inv_theta;
        grad_h[i] = (u > 0 && u < 1) ? static_cast<Real>(g * (u - kmath::floor(u + 0.5))) : Real(0);
      });
  if (grad_theta) *grad_theta = weight * scale * s[1];
  return s[0] * scale;
}

}  // namespace kspike::learning
