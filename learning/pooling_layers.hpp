#pragma once
// Average and max pooling layers of the tensor path.
// The conventions every tensor layer follows are in learning/tensor_common.hpp.
#include "learning/tensor_common.hpp"

namespace kspike::learning {

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

}  // namespace kspike::learning
