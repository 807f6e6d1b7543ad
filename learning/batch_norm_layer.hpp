#pragma once
// Batch normalisation (1-D and 2-D) of the tensor path.
// The conventions every tensor layer follows are in learning/tensor_common.hpp.
#include "learning/tensor_common.hpp"

namespace kspike::learning {

// batch_norm over [N, F] (Rank 2, BatchNorm1d) or [N, C, H, W] (Rank 4, BatchNorm2d), per
// channel c over the M = N (·H·W) values of that channel:
//   train: μ = mean, σ² = biased variance of the batch; y = γ (x - μ)/√(σ² + ε) + β;
//          running_mean ← (1 - m) running_mean + m μ,
//          running_var  ← (1 - m) running_var  + m σ² M/(M - 1)   (unbiased, as PyTorch)
//   eval:  the same y with μ, σ² taken from the running statistics.
// m = 0.1, ε = 1e-5 by default; running stats start at 0 and 1, γ = 1, β = 0.
// Backward, with x̂ = (x - μ)/√(σ²+ε) and g = dL/dy:
//   dL/dγ += Σ g x̂,  dL/dβ += Σ g,
//   train: dL/dx = γ/(M √(σ²+ε)) · (M g - Σ g - x̂ Σ g x̂)   (through μ and σ² of the batch)
//   eval:  dL/dx = γ g / √(σ²+ε)
// Per-channel sums run in double, in a fixed order inside one work item per channel.
template <class Exec, class Real, int Rank>
class batch_norm {
  static_assert(Rank == 2 || Rank == 4, "batch_norm: tensors are [N, F] or [N, C, H, W]");
  using tt = detail::tensor_types<Exec, Real>;
  static constexpr const char* name = Rank == 2 ? "batch_norm1d" : "batch_norm2d";

 public:
  using view1 = typename tt::template view<1>;
  using view = typename tt::template view<Rank>;
  using const_view = typename tt::template const_view<Rank>;

  explicit batch_norm(std::int64_t channels, double momentum = 0.1, double eps = 1e-5)
      : c_(channels), momentum_(momentum), eps_(eps) {
    detail::require(channels > 0, name, "channels must be positive");
    detail::require(momentum >= 0.0 && momentum <= 1.0 && eps > 0.0, name, "momentum must be in [0, 1], eps > 0");
    gamma_ = view1("kspike::batch_norm::gamma", c_);
    beta_ = view1("kspike::batch_norm::beta", c_);
    grad_gamma_ = view1("kspike::batch_norm::grad_gamma", c_);
    grad_beta_ = view1("kspike::batch_norm::grad_beta", c_);
    running_mean_ = view1("kspike::batch_norm::running_mean", c_);
    running_var_ = view1("kspike::batch_norm::running_var", c_);
    mean_ = view1("kspike::batch_norm::mean", c_);
    inv_std_ = view1("kspike::batch_norm::inv_std", c_);
    Kokkos::deep_copy(gamma_, Real(1));
    Kokkos::deep_copy(running_var_, Real(1));
  }

  void set_training(bool on) { training_ = on; }
  bool training() const { return training_; }

  const view1& gamma() const { return gamma_; }
  const view1& beta() const { return beta_; }
  const view1& grad_gamma() const { return grad_gamma_; }
  const view1& grad_beta() const { return grad_beta_; }
  const view1& running_mean() const { return running_mean_; }
  const view1& running_var() const { return running_var_; }

  void zero_grad() {
    Kokkos::deep_copy(grad_gamma_, Real(0));
    Kokkos::deep_copy(grad_beta_, Real(0));
  }

  void forward(const const_view& x, const view& y) {
    check_input(x, "input");
    require_same(y, x, "output");
    const std::int64_t n = detail::ext(x, 0), spatial = spatial_of(x), m = n * spatial;
    const bool train = training_;
    detail::require(!train || m > 1, name,
                    "training needs more than one value per channel, got input " + detail::shape_of(x));
    detail::ensure_shape(xhat_, "kspike::batch_norm::xhat", n, c_, spatial);
    const typename tt::template const_alias<3> x3(x.data(), n, c_, spatial);
    const typename tt::template alias<3> y3(y.data(), n, c_, spatial);
    const typename tt::template view<3> xhat = xhat_;
    const view1 mean = mean_, inv_std = inv_std_, rm = running_mean_, rv = running_var_, gamma = gamma_,
                beta = beta_;
    const double mom = momentum_, eps = eps_;
    const Exec exec;
    Kokkos::parallel_for(
        "kspike::batch_norm::statistics", typename tt::range(exec, 0, c_), KOKKOS_LAMBDA(const std::int64_t c) {
          double mu, var;
          if (train) {
            // Two passes: the mean first, then squared deviations, which loses less precision
            // than E[x²] - E[x]² when the mean is large.
            double sum = 0;
            for (std::int64_t b = 0; b < n; ++b) {
              const Real* row = &x3(b, c, 0);
              sum += detail::lane_sum(spatial, [row](std::int64_t q) { return static_cast<double>(row[q]); });
            }
            mu = sum / static_cast<double>(m);
            double sq = 0;
            for (std::int64_t b = 0; b < n; ++b) {
              const Real* row = &x3(b, c, 0);
              sq += detail::lane_sum(spatial, [row, mu](std::int64_t q) {
                const double d = static_cast<double>(row[q]) - mu;
                return d * d;
              });
            }
            var = sq / static_cast<double>(m);
            rm(c) = static_cast<Real>((1.0 - mom) * static_cast<double>(rm(c)) + mom * mu);
            rv(c) = static_cast<Real>((1.0 - mom) * static_cast<double>(rv(c)) +
                                      mom * var * static_cast<double>(m) / static_cast<double>(m - 1));
          } else {
            mu = static_cast<double>(rm(c));
            var = static_cast<double>(rv(c));
          }
          mean(c) = static_cast<Real>(mu);
          inv_std(c) = static_cast<Real>(1.0 / kmath::sqrt(var + eps));
        });
    const std::int64_t channels = c_;
    Kokkos::parallel_for(
        "kspike::batch_norm::normalise", typename tt::range(exec, 0, n * channels),
        KOKKOS_LAMBDA(const std::int64_t i) {
          const std::int64_t b = i / channels, c = i % channels;  // one (sample, channel) row per work item
          const Real mu = mean(c), is = inv_std(c), g = gamma(c), be = beta(c);
          const Real* KOKKOS_RESTRICT xr = &x3(b, c, 0);
          Real* KOKKOS_RESTRICT xhr = &xhat(b, c, 0);
          Real* KOKKOS_RESTRICT yr = &y3(b, c, 0);
          for (std::int64_t q = 0; q < spatial; ++q) {
            const Real xh = (xr[q] - mu) * is;
            xhr[q] = xh;
            yr[q] = g * xh + be;
          }
        });
    forwarded_train_ = train;
  }

  void backward(const const_view& grad_y, const view& grad_x) {
    if (xhat_.data() == nullptr) throw kspike::internal_error(std::string(name) + ": backward called before forward");
    const std::int64_t n = detail::ext(xhat_, 0), spatial = detail::ext(xhat_, 2), m = n * spatial;
    check_input(grad_y, "grad_output");
    check_input(grad_x, "grad_input");
    require_extents(grad_y, "grad_output");
    require_extents(grad_x, "grad_input");
    const typename tt::template const_alias<3> gy(grad_y.data(), n, c_, spatial);
    const typename tt::template alias<3> gx(grad_x.data(), n, c_, spatial);
    const typename tt::template view<3> xhat = xhat_;
    const view1 inv_std = inv_std_, gamma = gamma_, gg = grad_gamma_, gb = grad_beta_;
    ensure_channel_scratch();
    const view1 sum_g = sum_g_, sum_gx = sum_gx_;
    const bool train = forwarded_train_;
    const Exec exec;
    Kokkos::parallel_for(
        "kspike::batch_norm::grad_sums", typename tt::range(exec, 0, c_), KOKKOS_LAMBDA(const std::int64_t c) {
          double s = 0, sx = 0;
          for (std::int64_t b = 0; b < n; ++b) {
            const Real* g = &gy(b, c, 0);
            const Real* xh = &xhat(b, c, 0);
            s += detail::lane_sum(spatial, [g](std::int64_t q) { return static_cast<double>(g[q]); });
            sx += detail::lane_sum(spatial, [g, xh](std::int64_t q) { return static_cast<double>(g[q]) * static_cast<double>(xh[q]); });
          }
          sum_g(c) = static_cast<Real>(s);
          sum_gx(c) = static_cast<Real>(sx);
          gg(c) += static_cast<Real>(sx);
          gb(c) += static_cast<Real>(s);
        });
    const std::int64_t channels = c_;
    const Real inv_m = Real(1) / static_cast<Real>(m);
    Kokkos::parallel_for(
        "kspike::batch_norm::grad_input", typename tt::range(exec, 0, n * channels),
        KOKKOS_LAMBDA(const std::int64_t i) {
          const std::int64_t b = i / channels, c = i % channels;
          const Real scale = gamma(c) * inv_std(c), sg = sum_g(c), sgx = sum_gx(c);
          const Real* KOKKOS_RESTRICT g = &gy(b, c, 0);
          const Real* KOKKOS_RESTRICT xh = &xhat(b, c, 0);
          Real* KOKKOS_RESTRICT out = &gx(b, c, 0);
          if (train)
            for (std::int64_t q = 0; q < spatial; ++q) out[q] = scale * (g[q] - inv_m * (sg + xh[q] * sgx));
          else
            for (std::int64_t q = 0; q < spatial; ++q) out[q] = scale * g[q];
        });
  }

 private:
  template <class V>
  static std::int64_t spatial_of(const V& v) {
    return Rank == 2 ? 1 : detail::ext(v, 2) * detail::ext(v, 3);
  }
  template <class V>
  void check_input(const V& v, const char* what) const {
    if constexpr (Rank == 2)
      detail::require_shape(name, what, v, {-1, c_});
    else
      detail::require_shape(name, what, v, {-1, c_, -1, -1});
  }
  template <class A, class B>
  void require_same(const A& a, const B& like, const char* what) const {
    bool same = true;
    for (unsigned r = 0; r < Rank; ++r) same = same && a.extent(r) == like.extent(r);
    if (!same)
      throw kspike::error(std::string(name) + ": " + what + " has shape " + detail::shape_of(a) + ", expected " +
                          detail::shape_of(like));
  }
  // grad tensors must match the forward input: N and the spatial size come from xhat_.
  template <class V>
  void require_extents(const V& v, const char* what) const {
    const bool ok = detail::ext(v, 0) == detail::ext(xhat_, 0) && spatial_of(v) == detail::ext(xhat_, 2);
    if (!ok)
      throw kspike::error(std::string(name) + ": " + what + " has shape " + detail::shape_of(v) +
                          ", which does not match the forward input (N = " + std::to_string(detail::ext(xhat_, 0)) +
                          ", " + std::to_string(detail::ext(xhat_, 2)) + " values per channel and sample)");
  }
  void ensure_channel_scratch() {
    if (sum_g_.data() == nullptr) {
      sum_g_ = view1("kspike::batch_norm::sum_g", c_);
      sum_gx_ = view1("kspike::batch_norm::sum_gx", c_);
    }
  }

  std::int64_t c_;
  double momentum_, eps_;
  bool training_ = true;
  bool forwarded_train_ = true;
  view1 gamma_, beta_, grad_gamma_, grad_beta_, running_mean_, running_var_;
  view1 mean_, inv_std_, sum_g_, sum_gx_;  // of the latest forward / scratch for backward
  typename tt::template view<3> xhat_;
};

template <class Exec, class Real = float>
using batch_norm1d = batch_norm<Exec, Real, 2>;
template <class Exec, class Real = float>
using batch_norm2d = batch_norm<Exec, Real, 4>;

}  // namespace kspike::learning
