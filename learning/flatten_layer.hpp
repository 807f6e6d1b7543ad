#pragma once
// Flattening an image tensor into features, as a layer and as an alias.
// The conventions every tensor layer follows are in learning/tensor_common.hpp.
#include "learning/tensor_common.hpp"

namespace kspike::learning {

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

}  // namespace kspike::learning
