#pragma once
// Hoyer spike layer and Hoyer regulariser of the one-timestep SNNs of Datta, Liu & Beerel
// (docs/models.md "Hoyer spikes"; reference code godatta/Ultra-Low-Latency-SNN, HoyerBiAct):
//
//   z = x / |θ|               θ: trainable clipping threshold of the layer (init 1)
//   z_c = clip(z, 0, 1)
//   Ext = Σ z_c² / Σ |z_c|    Hoyer extremum of the detached z_c: one scalar over the batch
//                             ("sum", layer-wise) or one per channel over (N, H, W) ("cw");
//                             0/0 -> 1
//   o = [z >= s · Ext]        s = x_thr_scale = 1
//   training: r <- 0.1 Ext + 0.9 r (r starts at 0); eval: r replaces Ext
//   backward: do/dz = 0.5 on 0 < z < 1 (0.5 "grad_scale", and the in-place clip passes no
//             gradient outside (0, 1)); nothing flows through Ext; θ gets its gradient via z = x/|θ|
//   regulariser: H(y) = (Σ|y|)² / Σ y² on y = clip(x, 0, |θ|) with θ detached, summed over
//             spiking layers and added to the loss with weight λ_H.
// Tensors are [N, C, S] (S = H·W; 1 for dense layers), contiguous.
#include <Kokkos_Core.hpp>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "sim/core/error.hpp"

namespace kspike::learning {

enum class hoyer_mode { layer, channel };  // the reference's 'sum' and 'cw'

// The surrogate (docs/models.md "Hoyer spikes"): 0.5 on 0 < z < 1 (the repo's 0.5 on (0, 2] cut
// by the clip).
KOKKOS_INLINE_FUNCTION double hoyer_surrogate(double z) { return (z > 0.0 && z < 1.0) ? 0.5 : 0.0; }

template <class Exec, class Real = float>
class hoyer_spike {
  using mem = typename Exec::memory_space;
  using view1 = Kokkos::View<Real*, mem>;
  using dview1 = Kokkos::View<double*, mem>;
  using range = Kokkos::RangePolicy<Exec, Kokkos::IndexType<std::int64_t>>;

 public:
  hoyer_spike(std::int64_t channels, std::int64_t spatial, hoyer_mode mode, double threshold = 1.0,
              double x_thr_scale = 1.0, double momentum = 0.1)
      : c_(channels), s_(spatial), mode_(mode), theta_(threshold), scale_(x_thr_scale), momentum_(momentum) {
    if (channels < 1 || spatial < 1) throw error("hoyer_spike: channels and spatial size must be >= 1");
    if (threshold == 0 || !std::isfinite(threshold)) throw error("hoyer_spike: threshold must be finite and non-zero");
    running_ = dview1("kspike::hoyer::running", groups());
    ext_ = dview1("kspike::hoyer::ext", groups());
  }

  std::int64_t groups() const { return mode_ == hoyer_mode::layer ? 1 : c_; }
  void set_training(bool on) { training_ = on; }
  double threshold() const { return theta_; }
  void set_threshold(double t) { theta_ = t; }
  double grad_threshold() const { return grad_theta_; }
  void zero_grad() { grad_theta_ = 0; }
  std::vector<double> running_extremum() const { return host(running_); }
  // The running extremum eval mode uses, on the device (checkpoints save and restore it).
  const dview1& running_extremum_view() const { return running_; }
  std::vector<double> last_extremum() const { return host(ext_); }

  template <class XV, class OV>
  void forward(const XV& x, const OV& out, std::int64_t N) {
    const std::int64_t total = N * c_ * s_;
    if (N < 1 || static_cast<std::int64_t>(x.size()) != total || static_cast<std::int64_t>(out.size()) != total)
      throw error("hoyer_spike: input has " + std::to_string(x.size()) + " values, expected N*C*S = " + std::to_string(total));
    N_ = N;
    x_ = view1("kspike::hoyer::x", total);
    Kokkos::deep_copy(x_, Kokkos::View<const Real*, mem, Kokkos::MemoryTraits<Kokkos::Unmanaged>>(x.data(), total));
    const Real* xp = x_.data();
    Real* op = out.data();
    double *ext = ext_.data(), *run = running_.data();
    const std::int64_t C = c_, S = s_;
    const bool layer = mode_ == hoyer_mode::layer, train = training_;
    const double inv_theta = 1.0 / std::abs(theta_), mom = momentum_, s = scale_;
    Kokkos::parallel_for("kspike::hoyer::extremum", range(0, groups()), KOKKOS_LAMBDA(std::int64_t g) {
      double sq = 0, ab = 0;
      for (std::int64_t n = 0; n < N; ++n)
        for (std::int64_t c = layer ? 0 : g; c < (layer ? C : g + 1); ++c)
          for (std::int64_t k = 0; k < S; ++k) {
            double z = static_cast<double>(xp[(n * C + c) * S + k]) * inv_theta;
            z = z < 0 ? 0 : (z > 1 ? 1 : z);
            sq += z * z;
            ab += z;
          }
      const double e = ab > 0 ? sq / ab : 1.0;  // 0/0 -> NaN -> 1, as the reference
      ext[g] = e;
      if (train) run[g] = mom * e + (1 - mom) * run[g];
    });
    Kokkos::parallel_for("kspike::hoyer::fire", range(0, total), KOKKOS_LAMBDA(std::int64_t i) {
      const std::int64_t g = layer ? 0 : (i / S) % C;
      const double z = static_cast<double>(xp[i]) * inv_theta;
      op[i] = z >= s * (train ? ext[g] : run[g]) ? Real(1) : Real(0);
    });
    Kokkos::fence();
  }

  // dL/dx from dL/do, and dL/dθ accumulated (z = x/|θ|: dz/dθ = -x sign(θ)/θ²).
  template <class GV, class XV>
  void backward(const GV& grad_out, const XV& grad_x) {
    if (x_.data() == nullptr) throw internal_error("hoyer_spike: backward called before forward");
    const std::int64_t total = N_ * c_ * s_;
    if (static_cast<std::int64_t>(grad_out.size()) != total || static_cast<std::int64_t>(grad_x.size()) != total)
      throw error("hoyer_spike: gradient shapes do not match the forward input");
    const Real* xp = x_.data();
    const Real* gy = grad_out.data();
    Real* gx = grad_x.data();
    const double theta = theta_, inv_theta = 1.0 / std::abs(theta_), sign = theta_ > 0 ? 1.0 : -1.0;
    double gt = 0;
    Kokkos::parallel_reduce(
        "kspike::hoyer::backward", range(0, total),
        KOKKOS_LAMBDA(std::int64_t i, double& acc) {
          const double x = static_cast<double>(xp[i]), z = x * inv_theta;
          const double d = static_cast<double>(gy[i]) * hoyer_surrogate(z);
          gx[i] = static_cast<Real>(d * inv_theta);
          acc += d * (-x * sign / (theta * theta));
        },
        gt);
    grad_theta_ += gt;
  }

 private:
  static std::vector<double> host(const dview1& v) {
    auto m = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
    return std::vector<double>(m.data(), m.data() + m.size());
  }
  std::int64_t c_, s_;
  hoyer_mode mode_;
  double theta_, scale_, momentum_;
  double grad_theta_ = 0;
  bool training_ = true;
  std::int64_t N_ = 0;
  dview1 running_, ext_;
  view1 x_;
};

// H(y) = (Σ|y|)² / Σy² of y = clip(x, 0, |θ|), and (when grad is given) dH/dx, which is nonzero
// where 0 < x < |θ| (θ detached). H is scale-free, so H(y) = H(y/|θ|). 0 when y is all zero.
inline double hoyer_regulariser(const std::vector<double>& x, double theta, std::vector<double>* grad = nullptr) {
  const double top = std::abs(theta);
  double l1 = 0, l2 = 0;
  for (double v : x) {
    const double y = v < 0 ? 0 : (v > top ? top : v);
    l1 += y;
    l2 += y * y;
  }
  if (grad) grad->assign(x.size(), 0.0);
  if (l2 == 0) return 0.0;
  if (grad)
    for (std::size_t i = 0; i < x.size(); ++i)
      if (x[i] > 0 && x[i] < top) (*grad)[i] = 2 * l1 / l2 - 2 * l1 * l1 * x[i] / (l2 * l2);
  return l1 * l1 / l2;
}

}  // namespace kspike::learning
