#pragma once
// What the tensor layers of the surrogate-gradient path (forward and backward on Kokkos Views,
// one header per layer, all included by learning/tensor_layers.hpp) share: the View types they
// take, shape checks, a fixed-order sum, and the conventions below.
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

}  // namespace kspike::learning
