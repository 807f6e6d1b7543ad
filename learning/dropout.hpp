#pragma once
// Inverted dropout: in training y = x · m / (1 − p) with m ~ Bernoulli(1 − p) per value, in eval
// y = x. The mask is a counter-based Philox draw of (seed, call, value), so it is the same on
// every backend and thread count; call() advances once per forward. Backward uses the same mask.
#include <Kokkos_Core.hpp>

#include <cstdint>
#include <string>

#include "sim/core/error.hpp"
#include "sim/core/rng.hpp"

namespace kspike::learning {

template <class Exec, class Real = float>
class dropout {
  using mem = typename Exec::memory_space;
  using range = Kokkos::RangePolicy<Exec, Kokkos::IndexType<std::int64_t>>;

 public:
  explicit dropout(double p, std::uint64_t seed = 0) : p_(p), seed_(seed) {
    if (!(p >= 0 && p < 1)) throw error("dropout: p must be in [0, 1) (got " + std::to_string(p) + ")");
  }
  void set_training(bool on) { training_ = on; }
  std::uint64_t calls() const { return call_; }
  void set_calls(std::uint64_t c) { call_ = c; }  // for resuming bit for bit

  template <class XV, class YV>
  void forward(const XV& x, const YV& y) {
    if (x.size() != y.size()) throw error("dropout: output and input sizes differ");
    const auto n = static_cast<std::int64_t>(x.size());
    scale_ = Kokkos::View<Real*, mem>("kspike::dropout::scale", x.size());
    Real* s = scale_.data();
    const Real* xp = x.data();
    Real* yp = y.data();
    const bool train = training_ && p_ > 0;
    const double keep = 1.0 - p_;
    const Real inv_keep = static_cast<Real>(1.0 / keep);
    const std::uint64_t seed = seed_, call = call_;
    Kokkos::parallel_for("kspike::dropout::forward", range(0, n), KOKKOS_LAMBDA(std::int64_t i) {
      Real m = Real(1);
      if (train)
        m = uniform01(philox4x32(seed, stream_id(stream::dropout), static_cast<std::uint32_t>(i), call)) < keep ? inv_keep : Real(0);
      s[i] = m;
      yp[i] = xp[i] * m;
    });
    if (train) ++call_;
  }

  template <class GV, class XV>
  void backward(const GV& grad_y, const XV& grad_x) {
    if (scale_.data() == nullptr) throw internal_error("dropout: backward called before forward");
    if (grad_y.size() != scale_.size() || grad_x.size() != scale_.size()) throw error("dropout: gradient shapes do not match");
    const Real* s = scale_.data();
    const Real* gy = grad_y.data();
    Real* gx = grad_x.data();
    Kokkos::parallel_for("kspike::dropout::backward", range(0, static_cast<std::int64_t>(scale_.size())),
                         KOKKOS_LAMBDA(std::int64_t i) { gx[i] = gy[i] * s[i]; });
  }

 private:
  double p_;
  std::uint64_t seed_, call_ = 0;
  bool training_ = true;
  Kokkos::View<Real*, mem> scale_;
};

}  // namespace kspike::learning
