#pragma once
// The 2-D convolution layer of the tensor path (im2col + GEMM).
// The conventions every tensor layer follows are in learning/tensor_common.hpp.
#include <algorithm>

#include "learning/tensor_common.hpp"

namespace kspike::learning {

// conv2d: y[N, O, OH, OW] from x[N, C, H, W] with W [O, C, k, k], zero padding p, stride s:
//   y(n,o,oh,ow) = b(o) + Σ_{c,ki,kj} W(o,c,ki,kj) · x(n, c, oh·s - p + ki, ow·s - p + kj),
//   OH = (H + 2p - k)/s + 1 (floor), same for OW.
// Done as im2col + one GEMM for the whole batch: cols [N·OH·OW, C·k·k] (a row per output
// pixel), out = cols · W₂ᵀ with W₂ the weight seen as [O, C·k·k]. Backward runs the same GEMMs
// the other way and folds the column gradient back by a gather over the windows that covered
// each input pixel (col2im without atomics, so deterministic).
template <class Exec, class Real = float>
class conv2d {
  using tt = detail::tensor_types<Exec, Real>;

 public:
  using view1 = typename tt::template view<1>;
  using view2 = typename tt::template view<2>;
  using view4 = typename tt::template view<4>;
  using const_view4 = typename tt::template const_view<4>;

  conv2d(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel, std::int64_t stride = 1,
         std::int64_t padding = 0, bool bias = true)
      : c_(in_channels), o_(out_channels), k_(kernel), s_(stride), p_(padding), has_bias_(bias) {
    detail::require(in_channels > 0 && out_channels > 0 && kernel > 0 && stride > 0 && padding >= 0, "conv2d",
                    "channels, kernel and stride must be positive and padding non-negative");
    weight_ = view4("kspike::conv2d::weight", o_, c_, k_, k_);
    grad_weight_ = view4("kspike::conv2d::grad_weight", o_, c_, k_, k_);
    if (bias) {
      bias_ = view1("kspike::conv2d::bias", o_);
      grad_bias_ = view1("kspike::conv2d::grad_bias", o_);
    }
  }

  const view4& weight() const { return weight_; }  // [O, C, k, k]
  const view1& bias() const { return bias_; }
  const view4& grad_weight() const { return grad_weight_; }
  const view1& grad_bias() const { return grad_bias_; }

  std::int64_t out_size(std::int64_t in) const { return (in + 2 * p_ - k_) / s_ + 1; }

  void zero_grad() {
    Kokkos::deep_copy(grad_weight_, Real(0));
    if (has_bias_) Kokkos::deep_copy(grad_bias_, Real(0));
  }

  void forward(const const_view4& x, const view4& y) {
    detail::require_shape("conv2d", "input", x, {-1, c_, -1, -1});
    const std::int64_t n = detail::ext(x, 0), h = detail::ext(x, 2), w = detail::ext(x, 3);
    detail::require(h + 2 * p_ >= k_ && w + 2 * p_ >= k_, "conv2d",
                    "input " + detail::shape_of(x) + " is smaller than the kernel " + std::to_string(k_));
    const std::int64_t oh = out_size(h), ow = out_size(w);
    detail::require_shape("conv2d", "output", y, {n, o_, oh, ow});
    in_h_ = h;
    in_w_ = w;
    if constexpr (host_space) {
      forward_per_image(x, y);
      return;
    }
    const std::int64_t np = n * oh * ow, ckk = c_ * k_ * k_, pix = oh * ow;
    detail::ensure_shape(cols_, "kspike::conv2d::cols", np, ckk);
    detail::ensure_shape(rows_, "kspike::conv2d::rows", np, o_);
    const Exec exec;
    const view2 cols = cols_, rows = rows_;
    const std::int64_t k = k_, s = s_, p = p_, o_n = o_;
    // One work item per output pixel (a row of cols): the divisions that locate it are done
    // once, not once per column (64-bit divisions dominated this loop).
    const std::int64_t c_in = c_;
    Kokkos::parallel_for(
        "kspike::conv2d::im2col", typename tt::range(exec, 0, np), KOKKOS_LAMBDA(const std::int64_t r) {
          const std::int64_t b = r / pix, oy = (r % pix) / ow, ox = r % ow;
          std::int64_t q = 0;
          for (std::int64_t ch = 0; ch < c_in; ++ch)
            for (std::int64_t ki = 0; ki < k; ++ki) {
              const std::int64_t yy = oy * s - p + ki;
              const bool row_in = yy >= 0 && yy < h;
              for (std::int64_t kj = 0; kj < k; ++kj, ++q) {
                const std::int64_t xx = ox * s - p + kj;
                cols(r, q) = (row_in && xx >= 0 && xx < w) ? x(b, ch, yy, xx) : Real(0);
              }
            }
        });
    gemm(exec, trans::no, trans::yes, Real(1), cols, weight_matrix(), Real(0), rows);
    cols_valid_ = true;
    const view1 bias = bias_;
    const bool has_bias = has_bias_;
    Kokkos::parallel_for(
        "kspike::conv2d::scatter", typename tt::range(exec, 0, n * o_n), KOKKOS_LAMBDA(const std::int64_t i) {
          const std::int64_t b = i / o_n, och = i % o_n;
          const Real add = has_bias ? bias(och) : Real(0);
          for (std::int64_t oy = 0, q = 0; oy < oh; ++oy)
            for (std::int64_t ox = 0; ox < ow; ++ox, ++q) y(b, och, oy, ox) = rows(b * pix + q, och) + add;
        });
  }

  // grad_x may be an empty View (the first layer of a network): dL/dx is then not computed.
  void backward(const const_view4& grad_y, const view4& grad_x) {
    if constexpr (host_space) {
      backward_per_image(grad_y, grad_x);
      return;
    }
    if (!cols_valid_) throw kspike::internal_error("conv2d: backward needs a forward since the last backward");
    const std::int64_t np = detail::ext(cols_, 0);
    const std::int64_t oh = out_size(in_h_), ow = out_size(in_w_), pix = oh * ow, n = np / pix;
    detail::require_shape("conv2d", "grad_output", grad_y, {n, o_, oh, ow});
    if (grad_x.data() != nullptr) detail::require_shape("conv2d", "grad_input", grad_x, {n, c_, in_h_, in_w_});
    const Exec exec;
    const view2 cols = cols_, rows = rows_;
    const std::int64_t o_n = o_;
    // dL/d(rows), the GEMM's output gradient, laid out like rows: [N·OH·OW, O].
    Kokkos::parallel_for(
        "kspike::conv2d::gather_grad", typename tt::range(exec, 0, np * o_n), KOKKOS_LAMBDA(const std::int64_t i) {
          const std::int64_t r = i / o_n, och = i % o_n, b = r / pix, q = r % pix;
          rows(r, och) = grad_y(b, och, q / ow, q % ow);
        });
    gemm(exec, trans::yes, trans::no, Real(1), rows, cols, Real(1), grad_weight_matrix());
    if (has_bias_) {
      const view1 gb = grad_bias_;
      Kokkos::parallel_for(
          "kspike::conv2d::grad_bias", typename tt::range(exec, 0, o_n), KOKKOS_LAMBDA(const std::int64_t och) {
            Real sum = Real(0);
            for (std::int64_t r = 0; r < np; ++r) sum += rows(r, och);
            gb(och) += sum;
          });
    }
    cols_valid_ = false;
    if (grad_x.data() == nullptr) return;  // the network's input layer: nobody needs dL/dx
    // The forward's columns are no longer needed: reuse them for dL/dcols.
    gemm(exec, trans::no, trans::no, Real(1), rows, weight_matrix(), Real(0), cols);
    const std::int64_t k = k_, s = s_, p = p_, c_n = c_, h = in_h_, w = in_w_;
    Kokkos::parallel_for(
        "kspike::conv2d::col2im", typename tt::range(exec, 0, n * c_n), KOKKOS_LAMBDA(const std::int64_t i) {
          // One (image, channel) plane per work item; the same terms in the same order as a
          // per-pixel gather, without a division per pixel when the stride is 1.
          const std::int64_t b = i / c_n, ch = i % c_n;
          for (std::int64_t yy = 0; yy < h; ++yy)
            for (std::int64_t xx = 0; xx < w; ++xx) {
              Real sum = Real(0);
              // Output pixel oy saw input row yy through kernel row ki when oy·s - p + ki = yy.
              for (std::int64_t ki = 0; ki < k; ++ki) {
                const std::int64_t ty = yy + p - ki;
                if (ty < 0 || (s != 1 && ty % s != 0)) continue;
                const std::int64_t oy = s == 1 ? ty : ty / s;
                if (oy >= oh) continue;
                for (std::int64_t kj = 0; kj < k; ++kj) {
                  const std::int64_t tx = xx + p - kj;
                  if (tx < 0 || (s != 1 && tx % s != 0)) continue;
                  const std::int64_t ox = s == 1 ? tx : tx / s;
                  if (ox >= ow) continue;
                  sum += cols(b * pix + oy * ow + ox, (ch * k + ki) * k + kj);
                }
              }
              grad_x(b, ch, yy, xx) = sum;
            }
        });
    // cols now holds gradients (its memory is kept for the next forward); a second backward
    // needs a fresh forward.
    cols_valid_ = false;
  }

  // Public only because nvcc refuses extended lambdas in private or protected member functions.
  // Host backends: one image at a time, in the "columns as rows" layout colsᵀ [C·k·k, OH·OW]
  // (a row per (c, ki, kj): the shifted input row, a contiguous copy), so that
  //   y_b [O, OH·OW] = W [O, C·k·k] · colsᵀ_b              (written straight into y, no transpose),
  //   dL/dcolsᵀ_b = Wᵀ · dL/dy_b,   dL/dW_b = dL/dy_b · cols_b,
  // and col2im adds shifted rows back. The columns of an image (≈100 KB here) stay in cache
  // and are rebuilt in backward instead of being stored for the whole batch; images run in
  // parallel, each GEMM on one thread (OpenBLAS is pinned to one). dL/dW is summed over images
  // in index order from per-image parts, so it does not depend on the thread count.
  static constexpr bool host_space = Kokkos::SpaceAccessibility<Kokkos::HostSpace, typename Exec::memory_space>::accessible;

  // colsᵀ of image b into `cols` ([C·k·k][OH·OW], row-major).
  void im2col_image(const const_view4& x, std::int64_t b, Real* cols) const {
    const std::int64_t h = in_h_, w = in_w_, oh = out_size(h), ow = out_size(w), pix = oh * ow;
    for (std::int64_t ch = 0; ch < c_; ++ch)
      for (std::int64_t ki = 0; ki < k_; ++ki)
        for (std::int64_t kj = 0; kj < k_; ++kj) {
          Real* row = cols + ((ch * k_ + ki) * k_ + kj) * pix;
          const auto [lo, hi] = valid_columns(kj);
          for (std::int64_t oy = 0; oy < oh; ++oy) {
            const std::int64_t yy = oy * s_ - p_ + ki;
            Real* out = row + oy * ow;
            if (yy < 0 || yy >= h) {
              for (std::int64_t ox = 0; ox < ow; ++ox) out[ox] = Real(0);
              continue;
            }
            const Real* in = &x(b, ch, yy, 0) - p_ + kj;  // in[ox·s] is input column ox·s - p + kj
            for (std::int64_t ox = 0; ox < lo; ++ox) out[ox] = Real(0);
            if (s_ == 1)
              for (std::int64_t ox = lo; ox < hi; ++ox) out[ox] = in[ox];
            else
              for (std::int64_t ox = lo; ox < hi; ++ox) out[ox] = in[ox * s_];
            for (std::int64_t ox = hi; ox < ow; ++ox) out[ox] = Real(0);
          }
        }
  }

  // The output columns [lo, hi) whose kernel column kj falls inside the input (0 <= ox·s - p + kj < w).
  std::pair<std::int64_t, std::int64_t> valid_columns(std::int64_t kj) const {
    const std::int64_t ow = out_size(in_w_), first = p_ - kj, last = in_w_ - 1 + p_ - kj;
    std::int64_t lo = first <= 0 ? 0 : (first + s_ - 1) / s_;
    std::int64_t hi = last < 0 ? 0 : last / s_ + 1;
    if (hi > ow) hi = ow;
    if (lo > hi) lo = hi;
    return {lo, hi};
  }

  // Adds the column gradient of image b back onto its input planes (grad_x(b) must start at 0).
  void col2im_image(const Real* cols, std::int64_t b, const view4& grad_x) const {
    const std::int64_t h = in_h_, w = in_w_, oh = out_size(h), ow = out_size(w), pix = oh * ow;
    for (std::int64_t ch = 0; ch < c_; ++ch)
      for (std::int64_t ki = 0; ki < k_; ++ki)
        for (std::int64_t kj = 0; kj < k_; ++kj) {
          const Real* row = cols + ((ch * k_ + ki) * k_ + kj) * pix;
          const auto [lo, hi] = valid_columns(kj);
          for (std::int64_t oy = 0; oy < oh; ++oy) {
            const std::int64_t yy = oy * s_ - p_ + ki;
            if (yy < 0 || yy >= h) continue;
            Real* out = &grad_x(b, ch, yy, 0) - p_ + kj;
            const Real* in = row + oy * ow;
            if (s_ == 1)
              for (std::int64_t ox = lo; ox < hi; ++ox) out[ox] += in[ox];
            else
              for (std::int64_t ox = lo; ox < hi; ++ox) out[ox * s_] += in[ox];
          }
        }
  }

  // Images [0, n) split into as many contiguous chunks as the backend has threads; chunk c
  // uses scratch row c. Which chunk an image falls in does not change what is computed for it.
  template <class F>
  void for_images(std::int64_t n, const F& f) const {
    const std::int64_t chunks = std::min<std::int64_t>(n, Exec().concurrency());
    Kokkos::parallel_for("kspike::conv2d::images", Kokkos::RangePolicy<Exec>(0, chunks), [=](const std::int64_t c) {
      for (std::int64_t b = c * n / chunks; b < (c + 1) * n / chunks; ++b) f(c, b);
    });
  }

  void forward_per_image(const const_view4& x, const view4& y) {
    const std::int64_t n = detail::ext(x, 0), pix = out_size(in_h_) * out_size(in_w_), ckk = c_ * k_ * k_;
    const std::int64_t chunks = std::min<std::int64_t>(n, Exec().concurrency());
    detail::ensure_shape(cols_, "kspike::conv2d::cols", chunks, ckk * pix);
    x_ = x;
    cols_valid_ = true;
    detail::pin_openblas_for_gemm();
    const view2 cols = cols_;
    const auto wm = weight_matrix();
    const view1 bias = bias_;
    const bool has_bias = has_bias_;
    const std::int64_t o_n = o_;
    for_images(n, [=](std::int64_t c, std::int64_t b) {
      Real* col = &cols(c, 0);
      im2col_image(x, b, col);
      const typename tt::template alias<2> colv(col, ckk, pix), yb(&y(b, 0, 0, 0), o_n, pix);
      detail::gemm_host(trans::no, trans::no, Real(1), wm, colv, Real(0), yb);
      if (has_bias)
        for (std::int64_t o = 0; o < o_n; ++o) {
          Real* row = &yb(o, 0);
          const Real add = bias(o);
          for (std::int64_t q = 0; q < pix; ++q) row[q] += add;
        }
    });
  }

  void backward_per_image(const const_view4& grad_y, const view4& grad_x) {
    if (!cols_valid_) throw kspike::internal_error("conv2d: backward called before forward");
    const std::int64_t n = detail::ext(x_, 0), oh = out_size(in_h_), ow = out_size(in_w_), pix = oh * ow, ckk = c_ * k_ * k_;
    detail::require_shape("conv2d", "grad_output", grad_y, {n, o_, oh, ow});
    const bool want_x = grad_x.data() != nullptr;
    if (want_x) detail::require_shape("conv2d", "grad_input", grad_x, {n, c_, in_h_, in_w_});
    const std::int64_t chunks = std::min<std::int64_t>(n, Exec().concurrency());
    detail::ensure_shape(grad_cols_, "kspike::conv2d::grad_cols", chunks, ckk * pix);
    detail::ensure_shape(partial_, "kspike::conv2d::grad_weight_parts", n, o_ * ckk);
    const view2 cols = cols_, gcols = grad_cols_, part = partial_;
    const const_view4 x = x_;
    const auto wm = weight_matrix();
    const std::int64_t o_n = o_;
    for_images(n, [=](std::int64_t c, std::int64_t b) {
      Real* col = &cols(c, 0);
      im2col_image(x, b, col);
      const typename tt::template const_alias<2> gyb(&grad_y(b, 0, 0, 0), o_n, pix);
      const typename tt::template alias<2> colv(col, ckk, pix), pw(&part(b, 0), o_n, ckk);
      detail::gemm_host(trans::no, trans::yes, Real(1), gyb, colv, Real(0), pw);
      if (want_x) {
        const typename tt::template alias<2> gcol(&gcols(c, 0), ckk, pix);
        detail::gemm_host(trans::yes, trans::no, Real(1), wm, gyb, Real(0), gcol);
        Real* gx = &grad_x(b, 0, 0, 0);
        for (std::int64_t i = 0, m = c_ * in_h_ * in_w_; i < m; ++i) gx[i] = Real(0);
        col2im_image(&gcols(c, 0), b, grad_x);
      }
    });
    // dL/dW and dL/db: sums over images (and pixels) in index order.
    Real* gw = grad_weight_.data();
    const std::int64_t per = o_ * ckk;
    Kokkos::parallel_for("kspike::conv2d::grad_weight", typename tt::range(Exec(), 0, per), KOKKOS_LAMBDA(const std::int64_t i) {
      Real sum = Real(0);
      for (std::int64_t b = 0; b < n; ++b) sum += part(b, i);
      gw[i] += sum;
    });
    if (has_bias_) {
      const view1 gb = grad_bias_;
      Kokkos::parallel_for("kspike::conv2d::grad_bias", typename tt::range(Exec(), 0, o_n), KOKKOS_LAMBDA(const std::int64_t o) {
        Real sum = Real(0);
        for (std::int64_t b = 0; b < n; ++b) {
          const Real* g = &grad_y(b, o, 0, 0);
          for (std::int64_t q = 0; q < pix; ++q) sum += g[q];
        }
        gb(o) += sum;
      });
    }
    Exec().fence();
  }

  typename tt::template alias<2> weight_matrix() const {
    return typename tt::template alias<2>(weight_.data(), o_, c_ * k_ * k_);
  }
  typename tt::template alias<2> grad_weight_matrix() const {
    return typename tt::template alias<2>(grad_weight_.data(), o_, c_ * k_ * k_);
  }

  std::int64_t c_, o_, k_, s_, p_;
  bool has_bias_;
  view4 weight_, grad_weight_;
  view1 bias_, grad_bias_;
  view2 cols_, rows_;
  view2 grad_cols_, partial_;  // host path: per-chunk column gradients, per-image dL/dW parts
  const_view4 x_;              // host path: the input, for backward (must stay unchanged until then)
  bool cols_valid_ = false;
  std::int64_t in_h_ = 0, in_w_ = 0;
};

}  // namespace kspike::learning
