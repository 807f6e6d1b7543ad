#pragma once
// Tensor layers of the surrogate-gradient path: forward and backward on Kokkos Views.
//
// Layout: LayoutRight everywhere, images [N, C, H, W], features [N, F]. The time dimension of
// [T, B, ...] is folded into N by the caller (these layers have no state across steps). Every
// layer is a class template on the execution space and the scalar type (float to train, double
// where a test compares gradients with finite differences).
//
// Conventions shared by all layers:
//  - forward(x, y) writes y (never reads it) and keeps what backward needs;
//  - backward(grad_y, grad_x) writes grad_x = dL/dx for the latest forward, and ADDS the
//    parameter gradients into grad_* Views (zero_grad() clears them), so several backward
//    passes (time steps, micro-batches) accumulate as an optimiser expects;
//  - a wrong shape throws kspike::error naming the layer and the shapes;
//  - sums are done in a fixed order inside one work item (a gather, never atomics or a
//    thread-dependent reduction), so results do not depend on the backend or thread count.
#include <Kokkos_Core.hpp>

#include <cstdint>
#include <utility>
#include <string>

#include "learning/gemm.hpp"
#include "sim/core/kokkos_math.hpp"
#include "sim/core/error.hpp"

namespace kspike::learning {

namespace detail {

template <class Real, int Rank>
struct ptr_type;
template <class Real>
struct ptr_type<Real, 1> {
  using type = Real*;
};
template <class Real>
struct ptr_type<Real, 2> {
  using type = Real**;
};
template <class Real>
struct ptr_type<Real, 3> {
  using type = Real***;
};
template <class Real>
struct ptr_type<Real, 4> {
  using type = Real****;
};

// The View types the layers take, and unmanaged aliases used to look at the same memory with
// another shape (a [O, C, k, k] weight as the [O, C·k·k] matrix the GEMM wants, a tensor as a
// flat array).
template <class Exec, class Real>
struct tensor_types {
  using memory_space = typename Exec::memory_space;
  template <int Rank>
  using view = Kokkos::View<typename ptr_type<Real, Rank>::type, Kokkos::LayoutRight, memory_space>;
  template <int Rank>
  using const_view = Kokkos::View<typename ptr_type<const Real, Rank>::type, Kokkos::LayoutRight, memory_space>;
  template <int Rank>
  using alias = Kokkos::View<typename ptr_type<Real, Rank>::type, Kokkos::LayoutRight, memory_space,
                             Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  template <int Rank>
  using const_alias = Kokkos::View<typename ptr_type<const Real, Rank>::type, Kokkos::LayoutRight, memory_space,
                                   Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  using range = Kokkos::RangePolicy<Exec, Kokkos::IndexType<std::int64_t>>;
};

inline std::string shape_str(std::initializer_list<std::int64_t> dims) {
  std::string s = "[";
  bool first = true;
  for (auto d : dims) {
    if (!first) s += ", ";
    s += d < 0 ? std::string("*") : std::to_string(d);
    first = false;
  }
  return s + "]";
}

// Throws "layer: what has shape [..], expected [..]"; -1 in `expected` matches any extent.
template <class V>
void require_shape(const char* layer, const char* what, const V& v, std::initializer_list<std::int64_t> expected) {
  bool ok = expected.size() == V::rank;
  unsigned r = 0;
  for (auto e : expected) {
    if (ok && e >= 0 && static_cast<std::int64_t>(v.extent(r)) != e) ok = false;
    ++r;
  }
  if (!ok)
    throw kspike::error(std::string(layer) + ": " + what + " has shape " + shape_of(v) + ", expected " +
                        shape_str(expected));
}

inline void require(bool ok, const char* layer, const std::string& message) {
  if (!ok) throw kspike::error(std::string(layer) + ": " + message);
}

template <class V>
std::int64_t ext(const V& v, unsigned r) {
  return static_cast<std::int64_t>(v.extent(r));
}

// Σ f(i) over i in [0, n), in double, kept in 8 interleaved partial sums that are combined in
// a fixed order: the same result on every backend and thread count, and a loop the compiler can
// vectorise (one running sum is a chain of dependent additions).
template <class F>
KOKKOS_INLINE_FUNCTION double lane_sum(const std::int64_t n, const F& f) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; ++l) acc[l] += f(i + l);
  for (int l = 0; i < n; ++i, ++l) acc[l] += f(i);
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// Reallocates `v` only when the shape changes, so a training loop allocates once.
template <class V, class... Dims>
void ensure_shape(V& v, const char* label, Dims... dims) {
  const std::int64_t want[] = {static_cast<std::int64_t>(dims)...};
  bool same = v.data() != nullptr;
  for (unsigned r = 0; r < sizeof...(Dims); ++r)
    if (static_cast<std::int64_t>(v.extent(r)) != want[r]) same = false;
  if (!same) v = V(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string(label)), static_cast<std::size_t>(dims)...);
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// linear: y[N, out] = x[N, in] · Wᵀ + b, with W [out, in] (PyTorch's nn.Linear layout).
// dL/dx = dL/dy · W,  dL/dW += dL/dyᵀ · x,  dL/db += Σ_n dL/dy.
template <class Exec, class Real = float>
class linear {
  using tt = detail::tensor_types<Exec, Real>;

 public:
  using view1 = typename tt::template view<1>;
  using view2 = typename tt::template view<2>;
  using const_view2 = typename tt::template const_view<2>;

  // Parameters start at zero; the caller initialises weight() and bias().
  linear(std::int64_t in_features, std::int64_t out_features, bool bias = true)
      : in_(in_features), out_(out_features), has_bias_(bias) {
    detail::require(in_features > 0 && out_features > 0, "linear", "in and out features must be positive");
    weight_ = view2("kspike::linear::weight", out_features, in_features);
    grad_weight_ = view2("kspike::linear::grad_weight", out_features, in_features);
    if (bias) {
      bias_ = view1("kspike::linear::bias", out_features);
      grad_bias_ = view1("kspike::linear::grad_bias", out_features);
    }
  }

  const view2& weight() const { return weight_; }
  const view1& bias() const { return bias_; }  // empty without bias
  const view2& grad_weight() const { return grad_weight_; }
  const view1& grad_bias() const { return grad_bias_; }

  void zero_grad() {
    Kokkos::deep_copy(grad_weight_, Real(0));
    if (has_bias_) Kokkos::deep_copy(grad_bias_, Real(0));
  }

  // Keeps a handle on x (reference-counted, not a copy): x must stay unchanged until backward.
  void forward(const const_view2& x, const view2& y) {
    detail::require_shape("linear", "input", x, {-1, in_});
    detail::require_shape("linear", "output", y, {detail::ext(x, 0), out_});
    x_ = x;
    forwarded_ = true;
    const Exec exec;
    gemm(exec, trans::no, trans::yes, Real(1), x, weight_, Real(0), y);
    if (has_bias_) {
      const view1 b = bias_;
      const std::int64_t out = out_;
      Kokkos::parallel_for(
          "kspike::linear::bias", typename tt::range(exec, 0, detail::ext(y, 0) * out),
          KOKKOS_LAMBDA(const std::int64_t i) { y(i / out, i % out) += b(i % out); });
    }
  }

  void backward(const const_view2& grad_y, const view2& grad_x) {
    if (!forwarded_)
      throw kspike::internal_error("linear: backward called before forward");
    const std::int64_t n = detail::ext(x_, 0);
    detail::require_shape("linear", "grad_output", grad_y, {n, out_});
    detail::require_shape("linear", "grad_input", grad_x, {n, in_});
    const Exec exec;
    gemm(exec, trans::no, trans::no, Real(1), grad_y, weight_, Real(0), grad_x);
    gemm(exec, trans::yes, trans::no, Real(1), grad_y, x_, Real(1), grad_weight_);
    if (has_bias_) {
      const view1 gb = grad_bias_;
      Kokkos::parallel_for(
          "kspike::linear::grad_bias", typename tt::range(exec, 0, out_), KOKKOS_LAMBDA(const std::int64_t o) {
            Real s = Real(0);
            for (std::int64_t i = 0; i < n; ++i) s += grad_y(i, o);
            gb(o) += s;
          });
    }
  }

 private:
  std::int64_t in_, out_;
  bool has_bias_;
  view2 weight_, grad_weight_;
  view1 bias_, grad_bias_;
  const_view2 x_;
  bool forwarded_ = false;
};

// ---------------------------------------------------------------------------------------------
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

// ---------------------------------------------------------------------------------------------
// Pooling over k×k windows with stride s (default k), no padding: OH = (H - k)/s + 1.
//   avg_pool2d: y = mean of the window;  dL/dx gets dL/dy / k² from every window covering it.
//   max_pool2d: y = max of the window (the first maximum in row-major order wins a tie);
//               the argmax is kept and dL/dy goes to it alone.
namespace detail {

struct pool_geometry {
  std::int64_t k, s;
  std::int64_t out(std::int64_t in) const { return (in - k) / s + 1; }
};

template <class V>
void check_pool_input(const char* layer, const V& x, const pool_geometry& g) {
  require_shape(layer, "input", x, {-1, -1, -1, -1});
  require(ext(x, 2) >= g.k && ext(x, 3) >= g.k, layer,
          "input " + shape_of(x) + " is smaller than the window " + std::to_string(g.k));
}

}  // namespace detail

template <class Exec, class Real = float>
class avg_pool2d {
  using tt = detail::tensor_types<Exec, Real>;

 public:
  using view4 = typename tt::template view<4>;
  using const_view4 = typename tt::template const_view<4>;

  explicit avg_pool2d(std::int64_t kernel, std::int64_t stride = 0) : g_{kernel, stride > 0 ? stride : kernel} {
    detail::require(kernel > 0 && stride >= 0, "avg_pool2d", "kernel must be positive, stride non-negative");
  }
  std::int64_t out_size(std::int64_t in) const { return g_.out(in); }

  void forward(const const_view4& x, const view4& y) {
    detail::check_pool_input("avg_pool2d", x, g_);
    const std::int64_t n = detail::ext(x, 0), c = detail::ext(x, 1);
    const std::int64_t oh = g_.out(detail::ext(x, 2)), ow = g_.out(detail::ext(x, 3));
    detail::require_shape("avg_pool2d", "output", y, {n, c, oh, ow});
    in_[0] = n;
    in_[1] = c;
    in_[2] = detail::ext(x, 2);
    in_[3] = detail::ext(x, 3);
    forwarded_ = true;
    const std::int64_t k = g_.k, s = g_.s;
    const Real scale = Real(1) / static_cast<Real>(k * k);
    if (k == 2 && s == 2) {
      // The common 2x2 pool over raw rows (vectorises); the same sums in the same order.
      const std::int64_t h = in_[2], w = in_[3];
      Kokkos::parallel_for(
          "kspike::avg_pool2d::forward2", typename tt::range(Exec(), 0, n * c), KOKKOS_LAMBDA(const std::int64_t i) {
            const Real* xp = x.data() + i * h * w;
            Real* yp = y.data() + i * oh * ow;
            for (std::int64_t oy = 0; oy < oh; ++oy) {
              const Real* r0 = xp + 2 * oy * w;
              const Real* r1 = r0 + w;
              for (std::int64_t ox = 0; ox < ow; ++ox)
                yp[oy * ow + ox] = (r0[2 * ox] + r0[2 * ox + 1] + r1[2 * ox] + r1[2 * ox + 1]) * scale;
            }
          });
      return;
    }
    Kokkos::parallel_for(
        "kspike::avg_pool2d::forward", typename tt::range(Exec(), 0, n * c),
        KOKKOS_LAMBDA(const std::int64_t i) {
          const std::int64_t b = i / c, ch = i % c;  // one plane per work item
          for (std::int64_t oy = 0; oy < oh; ++oy)
            for (std::int64_t ox = 0; ox < ow; ++ox) {
              Real sum = Real(0);
              for (std::int64_t ki = 0; ki < k; ++ki)
                for (std::int64_t kj = 0; kj < k; ++kj) sum += x(b, ch, oy * s + ki, ox * s + kj);
              y(b, ch, oy, ox) = sum * scale;
            }
        });
  }

  void backward(const const_view4& grad_y, const view4& grad_x) {
    if (!forwarded_) throw kspike::internal_error("avg_pool2d: backward called before forward");
    const std::int64_t n = in_[0], c = in_[1], h = in_[2], w = in_[3], oh = g_.out(h), ow = g_.out(w);
    detail::require_shape("avg_pool2d", "grad_output", grad_y, {n, c, oh, ow});
    detail::require_shape("avg_pool2d", "grad_input", grad_x, {n, c, h, w});
    const std::int64_t k = g_.k, s = g_.s;
    const Real scale = Real(1) / static_cast<Real>(k * k);
    if (k == 2 && s == 2 && h == 2 * oh && w == 2 * ow) {
      Kokkos::parallel_for(
          "kspike::avg_pool2d::backward2", typename tt::range(Exec(), 0, n * c), KOKKOS_LAMBDA(const std::int64_t i) {
            const Real* gy = grad_y.data() + i * oh * ow;
            Real* gx = grad_x.data() + i * h * w;
            for (std::int64_t oy = 0; oy < oh; ++oy) {
              Real* r0 = gx + 2 * oy * w;
              Real* r1 = r0 + w;
              for (std::int64_t ox = 0; ox < ow; ++ox) {
                const Real v = gy[oy * ow + ox] * scale;
                r0[2 * ox] = v;
                r0[2 * ox + 1] = v;
                r1[2 * ox] = v;
                r1[2 * ox + 1] = v;
              }
            }
          });
      return;
    }
    if (s == k) {
      // Windows that tile the input: each input pixel lies in at most one window (the common
      // pool 2 / stride 2). One work item per (image, channel) plane, no divisions per pixel.
      Kokkos::parallel_for(
          "kspike::avg_pool2d::backward_tiled", typename tt::range(Exec(), 0, n * c), KOKKOS_LAMBDA(const std::int64_t i) {
            const std::int64_t b = i / c, ch = i % c;
            for (std::int64_t yy = 0; yy < h; ++yy) {
              const std::int64_t ty = yy / k;
              for (std::int64_t xx = 0, tx = 0, kx = 0; xx < w; ++xx) {
                grad_x(b, ch, yy, xx) = (ty < oh && tx < ow) ? grad_y(b, ch, ty, tx) * scale : Real(0);
                if (++kx == k) {
                  kx = 0;
                  ++tx;
                }
              }
            }
          });
      return;
    }
    Kokkos::parallel_for(
        "kspike::avg_pool2d::backward", typename tt::range(Exec(), 0, n * c * h * w),
        KOKKOS_LAMBDA(const std::int64_t i) {
          const std::int64_t b = i / (c * h * w), ch = (i / (h * w)) % c, yy = (i / w) % h, xx = i % w;
          Real sum = Real(0);
          for (std::int64_t ki = 0; ki < k; ++ki) {
            const std::int64_t ty = yy - ki;
            if (ty < 0 || ty % s != 0 || ty / s >= oh) continue;
            for (std::int64_t kj = 0; kj < k; ++kj) {
              const std::int64_t tx = xx - kj;
              if (tx < 0 || tx % s != 0 || tx / s >= ow) continue;
              sum += grad_y(b, ch, ty / s, tx / s);
            }
          }
          grad_x(b, ch, yy, xx) = sum * scale;
        });
  }

 private:
  detail::pool_geometry g_;
  std::int64_t in_[4] = {0, 0, 0, 0};
  bool forwarded_ = false;
};

template <class Exec, class Real = float>
class max_pool2d {
  using tt = detail::tensor_types<Exec, Real>;

 public:
  using view4 = typename tt::template view<4>;
  using const_view4 = typename tt::template const_view<4>;
  // Index of the winning input pixel inside its (H, W) plane, per output element.
  using argmax_view = Kokkos::View<std::int32_t****, Kokkos::LayoutRight, typename Exec::memory_space>;

  explicit max_pool2d(std::int64_t kernel, std::int64_t stride = 0) : g_{kernel, stride > 0 ? stride : kernel} {
    detail::require(kernel > 0 && stride >= 0, "max_pool2d", "kernel must be positive, stride non-negative");
  }
  std::int64_t out_size(std::int64_t in) const { return g_.out(in); }
  const argmax_view& argmax() const { return argmax_; }

  void forward(const const_view4& x, const view4& y) {
    detail::check_pool_input("max_pool2d", x, g_);
    const std::int64_t n = detail::ext(x, 0), c = detail::ext(x, 1), w = detail::ext(x, 3);
    const std::int64_t oh = g_.out(detail::ext(x, 2)), ow = g_.out(w);
    detail::require_shape("max_pool2d", "output", y, {n, c, oh, ow});
    in_h_ = detail::ext(x, 2);
    in_w_ = w;
    detail::ensure_shape(argmax_, "kspike::max_pool2d::argmax", n, c, oh, ow);
    const argmax_view am = argmax_;
    const std::int64_t k = g_.k, s = g_.s;
    Kokkos::parallel_for(
        "kspike::max_pool2d::forward", typename tt::range(Exec(), 0, n * c * oh * ow),
        KOKKOS_LAMBDA(const std::int64_t i) {
          const std::int64_t b = i / (c * oh * ow), ch = (i / (oh * ow)) % c, oy = (i / ow) % oh, ox = i % ow;
          Real best = x(b, ch, oy * s, ox * s);
          std::int64_t where = (oy * s) * w + ox * s;
          for (std::int64_t ki = 0; ki < k; ++ki)
            for (std::int64_t kj = 0; kj < k; ++kj) {
              const Real v = x(b, ch, oy * s + ki, ox * s + kj);
              if (v > best) {
                best = v;
                where = (oy * s + ki) * w + ox * s + kj;
              }
            }
          y(b, ch, oy, ox) = best;
          am(b, ch, oy, ox) = static_cast<std::int32_t>(where);
        });
  }

  void backward(const const_view4& grad_y, const view4& grad_x) {
    if (argmax_.data() == nullptr) throw kspike::internal_error("max_pool2d: backward called before forward");
    const std::int64_t n = detail::ext(argmax_, 0), c = detail::ext(argmax_, 1);
    const std::int64_t oh = detail::ext(argmax_, 2), ow = detail::ext(argmax_, 3), h = in_h_, w = in_w_;
    detail::require_shape("max_pool2d", "grad_output", grad_y, {n, c, oh, ow});
    detail::require_shape("max_pool2d", "grad_input", grad_x, {n, c, h, w});
    const argmax_view am = argmax_;
    const std::int64_t k = g_.k, s = g_.s;
    // A gather: each input pixel sums dL/dy of the (possibly overlapping) windows it won.
    Kokkos::parallel_for(
        "kspike::max_pool2d::backward", typename tt::range(Exec(), 0, n * c * h * w),
        KOKKOS_LAMBDA(const std::int64_t i) {
          const std::int64_t b = i / (c * h * w), ch = (i / (h * w)) % c, yy = (i / w) % h, xx = i % w;
          const std::int32_t me = static_cast<std::int32_t>(yy * w + xx);
          Real sum = Real(0);
          for (std::int64_t ki = 0; ki < k; ++ki) {
            const std::int64_t ty = yy - ki;
            if (ty < 0 || ty % s != 0 || ty / s >= oh) continue;
            for (std::int64_t kj = 0; kj < k; ++kj) {
              const std::int64_t tx = xx - kj;
              if (tx < 0 || tx % s != 0 || tx / s >= ow) continue;
              if (am(b, ch, ty / s, tx / s) == me) sum += grad_y(b, ch, ty / s, tx / s);
            }
          }
          grad_x(b, ch, yy, xx) = sum;
        });
  }

 private:
  detail::pool_geometry g_;
  argmax_view argmax_;
  std::int64_t in_h_ = 0, in_w_ = 0;
};

// ---------------------------------------------------------------------------------------------
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

// ---------------------------------------------------------------------------------------------
// flatten: [N, C, H, W] -> [N, C·H·W] in LayoutRight order (c, then h, then w), as torch's
// Flatten(1). Both layouts are contiguous with the same order, so this is a copy; a caller that
// wants no copy can alias the memory with flatten_alias().
template <class Exec, class Real = float>
class flatten {
  using tt = detail::tensor_types<Exec, Real>;

 public:
  using view2 = typename tt::template view<2>;
  using view4 = typename tt::template view<4>;
  using const_view2 = typename tt::template const_view<2>;
  using const_view4 = typename tt::template const_view<4>;

  void forward(const const_view4& x, const view2& y) {
    const std::int64_t n = detail::ext(x, 0), f = detail::ext(x, 1) * detail::ext(x, 2) * detail::ext(x, 3);
    detail::require_shape("flatten", "output", y, {n, f});
    for (unsigned r = 0; r < 4; ++r) in_[r] = detail::ext(x, r);
    forwarded_ = true;
    copy(x.data(), y.data(), n * f);
  }

  void backward(const const_view2& grad_y, const view4& grad_x) {
    if (!forwarded_) throw kspike::internal_error("flatten: backward called before forward");
    detail::require_shape("flatten", "grad_output", grad_y, {in_[0], in_[1] * in_[2] * in_[3]});
    detail::require_shape("flatten", "grad_input", grad_x, {in_[0], in_[1], in_[2], in_[3]});
    copy(grad_y.data(), grad_x.data(), in_[0] * in_[1] * in_[2] * in_[3]);
  }

 private:
  static void copy(const Real* from, Real* to, std::int64_t count) {
    const typename tt::template const_alias<1> a(from, count);
    const typename tt::template alias<1> b(to, count);
    Kokkos::deep_copy(Exec(), b, a);
  }
  std::int64_t in_[4] = {0, 0, 0, 0};
  bool forwarded_ = false;
};

// The [N, C·H·W] view of x's memory (no copy); x must outlive it.
template <class View4>
auto flatten_alias(const View4& x) {
  static_assert(View4::rank == 4, "flatten_alias: x must be [N, C, H, W]");
  using alias2 = Kokkos::View<typename View4::value_type**, Kokkos::LayoutRight, typename View4::memory_space,
                              Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  return alias2(x.data(), x.extent(0), x.extent(1) * x.extent(2) * x.extent(3));
}

// ---------------------------------------------------------------------------------------------
// Element-wise activations on tensors of any rank (contiguous, LayoutRight).
//   relu:         y = max(x, 0),             dy/dx = 1 if x > 0, else 0
//   clipped_relu: y = min(max(x, 0), ceiling), dy/dx = 1 if 0 < x < ceiling, else 0
// (the kinks get slope 0, as in PyTorch's ReLU and Hardtanh). relu is clipped_relu with no
// ceiling. The layer keeps its own copy of x, so the caller may reuse x's memory before backward.
template <class Exec, class Real = float>
class clipped_relu {
  using tt = detail::tensor_types<Exec, Real>;

 public:
  using view1 = typename tt::template view<1>;

  explicit clipped_relu(Real ceiling) : ceiling_(ceiling), clip_(true) {
    detail::require(ceiling > Real(0), "clipped_relu", "ceiling must be positive");
  }
  Real ceiling() const { return ceiling_; }

  template <class XV, class YV>
  void forward(const XV& x, const YV& y) {
    require_like(y, x, "output");
    // The kernels walk the tensors as flat arrays.
    detail::require(x.span_is_contiguous() && y.span_is_contiguous(), name(), "tensors must be contiguous");
    detail::ensure_shape(x_, "kspike::relu::x", x.size());
    for (unsigned r = 0; r < 8; ++r) shape_[r] = r < XV::rank ? detail::ext(x, r) : 1;
    rank_ = XV::rank;
    const typename tt::template const_alias<1> xf(x.data(), x.size());
    const typename tt::template alias<1> yf(y.data(), y.size());
    const view1 keep = x_;
    const Real top = ceiling_;
    const bool clip = clip_;
    Kokkos::parallel_for(
        "kspike::relu::forward", typename tt::range(Exec(), 0, static_cast<std::int64_t>(x.size())),
        KOKKOS_LAMBDA(const std::int64_t i) {
          const Real v = xf(i);
          keep(i) = v;
          const Real r = v > Real(0) ? v : Real(0);
          yf(i) = clip && r > top ? top : r;
        });
  }

  template <class GYV, class GXV>
  void backward(const GYV& grad_y, const GXV& grad_x) {
    if (x_.data() == nullptr) throw kspike::internal_error(std::string(name()) + ": backward called before forward");
    check_forward_shape(grad_y, "grad_output");
    check_forward_shape(grad_x, "grad_input");
    detail::require(grad_y.span_is_contiguous() && grad_x.span_is_contiguous(), name(),
                    "tensors must be contiguous");
    const typename tt::template const_alias<1> gy(grad_y.data(), grad_y.size());
    const typename tt::template alias<1> gx(grad_x.data(), grad_x.size());
    const view1 x = x_;
    const Real top = ceiling_;
    const bool clip = clip_;
    Kokkos::parallel_for(
        "kspike::relu::backward", typename tt::range(Exec(), 0, static_cast<std::int64_t>(x.size())),
        KOKKOS_LAMBDA(const std::int64_t i) {
          const bool pass = x(i) > Real(0) && (!clip || x(i) < top);
          gx(i) = pass ? gy(i) : Real(0);
        });
  }

 protected:
  clipped_relu() : ceiling_(Real(0)), clip_(false) {}

 private:
  const char* name() const { return clip_ ? "clipped_relu" : "relu"; }
  template <class A, class B>
  void require_like(const A& a, const B& like, const char* what) const {
    static_assert(A::rank == B::rank, "relu: input and output must have the same rank");
    bool same = true;
    for (unsigned r = 0; r < A::rank; ++r) same = same && a.extent(r) == like.extent(r);
    if (!same)
      throw kspike::error(std::string(name()) + ": " + what + " has shape " + detail::shape_of(a) + ", expected " +
                          detail::shape_of(like));
  }
  template <class V>
  void check_forward_shape(const V& v, const char* what) const {
    bool same = V::rank == rank_;
    for (unsigned r = 0; same && r < V::rank; ++r) same = detail::ext(v, r) == shape_[r];
    if (!same) {
      std::string expected = "[";
      for (unsigned r = 0; r < rank_; ++r) expected += (r ? ", " : "") + std::to_string(shape_[r]);
      throw kspike::error(std::string(name()) + ": " + what + " has shape " + detail::shape_of(v) + ", expected " +
                          expected + "]");
    }
  }

  Real ceiling_;
  bool clip_;
  view1 x_;
  std::int64_t shape_[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  unsigned rank_ = 0;
};

template <class Exec, class Real = float>
class relu : public clipped_relu<Exec, Real> {
 public:
  relu() = default;
};

}  // namespace kspike::learning
