#pragma once
// QCFS activation (Bu et al., ICLR 2022; docs/models.md "QCFS"), the quantisation-clip-floor-shift
// ReLU used to train ANNs for conversion to IF-neuron SNNs with few time steps:
//   h(z) = λ · clip(⌊z L / λ + φ⌋ / L, 0, 1),   φ = 0.5, λ trainable per layer (init 8)
// Backward as the reference: the floor passes its gradient unchanged (straight-through), the
// clamp passes it where its argument q = ⌊z L/λ + φ⌋ / L lies in [0, 1] (torch.clamp), and λ gets
// the gradient of both the scaling and the division:
//   dh/dz = [0 ≤ q ≤ 1],   dh/dλ = clip(q, 0, 1) − [0 ≤ q ≤ 1] · z / λ.
#include <Kokkos_Core.hpp>

#include <cmath>
#include <cstdint>
#include <string>

#include "sim/core/error.hpp"
#include "sim/core/kokkos_math.hpp"

namespace kspike::learning {

template <class Exec, class Real = float>
class qcfs {
  using mem = typename Exec::memory_space;
  using range = Kokkos::RangePolicy<Exec, Kokkos::IndexType<std::int64_t>>;

 public:
  explicit qcfs(int levels = 16, double lambda = 8.0, double shift = 0.5) : levels_(levels), lambda_(lambda), shift_(shift) {
    if (levels < 1) throw error("qcfs: levels (L) must be >= 1");
    if (!(lambda > 0) || !std::isfinite(lambda)) throw error("qcfs: lambda must be > 0");
  }
  double lambda() const { return lambda_; }
  void set_lambda(double l) { lambda_ = l; }
  double grad_lambda() const { return grad_lambda_; }
  void zero_grad() { grad_lambda_ = 0; }
  int levels() const { return levels_; }

  template <class XV, class YV>
  void forward(const XV& x, const YV& y) {
    if (x.size() != y.size()) throw error("qcfs: output has " + std::to_string(y.size()) + " values, input " + std::to_string(x.size()));
    x_ = Kokkos::View<Real*, mem>("kspike::qcfs::x", x.size());
    Kokkos::deep_copy(x_, Kokkos::View<const Real*, mem, Kokkos::MemoryTraits<Kokkos::Unmanaged>>(x.data(), x.size()));
    const Real* xp = x_.data();
    Real* yp = y.data();
    const double lam = lambda_, L = levels_, phi = shift_;
    Kokkos::parallel_for("kspike::qcfs::forward", range(0, static_cast<std::int64_t>(x.size())), KOKKOS_LAMBDA(std::int64_t i) {
      const double q = kmath::floor(static_cast<double>(xp[i]) / lam * L + phi) / L;
      yp[i] = static_cast<Real>(lam * (q < 0 ? 0 : (q > 1 ? 1 : q)));
    });
  }

  template <class GV, class XV>
  void backward(const GV& grad_y, const XV& grad_x) {
    if (x_.data() == nullptr) throw internal_error("qcfs: backward called before forward");
    if (grad_y.size() != x_.size() || grad_x.size() != x_.size()) throw error("qcfs: gradient shapes do not match the forward input");
    const Real* xp = x_.data();
    const Real* gy = grad_y.data();
    Real* gx = grad_x.data();
    const double lam = lambda_, L = levels_, phi = shift_;
    double gl = 0;
    Kokkos::parallel_reduce(
        "kspike::qcfs::backward", range(0, static_cast<std::int64_t>(x_.size())),
        KOKKOS_LAMBDA(std::int64_t i, double& acc) {
          const double z = xp[i], q = kmath::floor(z / lam * L + phi) / L;
          const bool pass = q >= 0 && q <= 1;
          const double g = gy[i];
          gx[i] = static_cast<Real>(pass ? g : 0.0);
          acc += g * ((q < 0 ? 0 : (q > 1 ? 1 : q)) - (pass ? z / lam : 0.0));
        },
        gl);
    grad_lambda_ += gl;
  }

 private:
  int levels_;
  double lambda_, shift_;
  double grad_lambda_ = 0;
  Kokkos::View<Real*, mem> x_;
};

}  // namespace kspike::learning
