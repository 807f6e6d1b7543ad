#pragma once
// The fully connected layer of the tensor path.
// The conventions every tensor layer follows are in learning/tensor_common.hpp.
#include "learning/tensor_common.hpp"

namespace kspike::learning {

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

}  // namespace kspike::learning
