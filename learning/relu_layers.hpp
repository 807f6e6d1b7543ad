#pragma once
// ReLU and clipped ReLU on tensors, as layers of the tensor path.
// The conventions every tensor layer follows are in learning/tensor_common.hpp.
#include "learning/tensor_common.hpp"

namespace kspike::learning {

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
