#pragma once
// Losses of the training path: forward (the mean loss, returned as double) and, when a gradient
// View is given, dL/d(input) written into it (overwritten, not accumulated: a loss is the start
// of the backward pass).
//
//   cross_entropy: logits [N, K], integer labels [N] in [0, K):
//     L = (1/N) Σ_n ( logsumexp_k x(n,k) − x(n, y_n) )
//     dL/dx(n,k) = ( softmax(x(n,·))_k − [k = y_n] ) / N
//   mse: prediction and target [N, K]:
//     L = (1/(N·K)) Σ (x − t)²,   dL/dx = 2 (x − t) / (N·K)
// Both are PyTorch's reduction='mean' (nn.CrossEntropyLoss, nn.MSELoss).
//
// The softmax subtracts the row maximum before exponentiating, so large logits do not
// overflow; per-row sums run in double. Each row is one work item and the row losses are added
// on the host in row order, so the result does not depend on the backend or thread count.
#include <Kokkos_Core.hpp>

#include <cstdint>
#include <string>

#include "sim/core/kokkos_math.hpp"
#include "learning/tensor_layers.hpp"
#include "sim/core/error.hpp"

namespace kspike::learning {

namespace detail {

// Row losses (double) summed on the host in order, for a deterministic total.
template <class V>
double ordered_sum(const V& per_row) {
  auto h = Kokkos::create_mirror_view(per_row);
  Kokkos::deep_copy(h, per_row);
  double s = 0.0;
  for (std::size_t i = 0; i < h.extent(0); ++i) s += h(i);
  return s;
}

}  // namespace detail

template <class Exec, class Real = float>
class cross_entropy {
  using tt = detail::tensor_types<Exec, Real>;

 public:
  using view2 = typename tt::template view<2>;
  using const_view2 = typename tt::template const_view<2>;
  using labels_view = Kokkos::View<const std::int32_t*, typename Exec::memory_space>;

  // Mean cross-entropy of `logits` against `labels`. If `grad` is not empty it must have the
  // shape of `logits` and receives dL/dlogits. A label outside [0, K) throws kspike::error.
  static double compute(const const_view2& logits, const labels_view& labels, const view2& grad = view2()) {
    const std::int64_t n = detail::ext(logits, 0), k = detail::ext(logits, 1);
    detail::require(n > 0 && k > 0, "cross_entropy", "logits must be a non-empty [N, K]");
    detail::require_shape("cross_entropy", "labels", labels, {n});
    const bool want_grad = grad.data() != nullptr;
    if (want_grad) detail::require_shape("cross_entropy", "gradient", grad, {n, k});
    // Checked on the host up front: a bad label would otherwise read out of bounds in the kernel.
    {
      auto h = Kokkos::create_mirror_view(labels);
      Kokkos::deep_copy(h, labels);
      for (std::int64_t i = 0; i < n; ++i)
        if (h(i) < 0 || h(i) >= k)
          throw kspike::error("cross_entropy: label " + std::to_string(i) + " is " + std::to_string(h(i)) +
                              ", expected 0.." + std::to_string(k - 1));
    }
    Kokkos::View<double*, typename Exec::memory_space> row_loss("kspike::cross_entropy::row_loss", n);
    const double inv_n = 1.0 / double(n);
    Kokkos::parallel_for(
        "kspike::cross_entropy", typename tt::range(Exec(), 0, n), KOKKOS_LAMBDA(const std::int64_t i) {
          double m = double(logits(i, 0));
          for (std::int64_t j = 1; j < k; ++j) m = kmath::max(m, double(logits(i, j)));
          double s = 0.0;
          for (std::int64_t j = 0; j < k; ++j) s += kmath::exp(double(logits(i, j)) - m);
          const std::int32_t y = labels(i);
          row_loss(i) = m + kmath::log(s) - double(logits(i, y));
          if (want_grad)
            for (std::int64_t j = 0; j < k; ++j) {
              const double p = kmath::exp(double(logits(i, j)) - m) / s;
              grad(i, j) = Real((p - (j == y ? 1.0 : 0.0)) * inv_n);
            }
        });
    return detail::ordered_sum(row_loss) * inv_n;
  }
};

template <class Exec, class Real = float>
class mse {
  using tt = detail::tensor_types<Exec, Real>;

 public:
  using view2 = typename tt::template view<2>;
  using const_view2 = typename tt::template const_view<2>;

  // Mean squared error over all N·K elements; `grad`, if not empty, receives dL/dprediction.
  static double compute(const const_view2& prediction, const const_view2& target, const view2& grad = view2()) {
    const std::int64_t n = detail::ext(prediction, 0), k = detail::ext(prediction, 1);
    detail::require(n > 0 && k > 0, "mse", "prediction must be a non-empty [N, K]");
    detail::require_shape("mse", "target", target, {n, k});
    const bool want_grad = grad.data() != nullptr;
    if (want_grad) detail::require_shape("mse", "gradient", grad, {n, k});
    Kokkos::View<double*, typename Exec::memory_space> row_loss("kspike::mse::row_loss", n);
    const double scale = 1.0 / (double(n) * double(k));
    Kokkos::parallel_for(
        "kspike::mse", typename tt::range(Exec(), 0, n), KOKKOS_LAMBDA(const std::int64_t i) {
          double s = 0.0;
          for (std::int64_t j = 0; j < k; ++j) {
            const double d = double(prediction(i, j)) - double(target(i, j));
            s += d * d;
            if (want_grad) grad(i, j) = Real(2.0 * d * scale);
          }
          row_loss(i) = s;
        });
    return detail::ordered_sum(row_loss) * scale;
  }
};

}  // namespace kspike::learning
