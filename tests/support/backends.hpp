#pragma once
// The execution spaces tests are stamped out for: every host backend compiled into Kokkos
// (and the device when there is one). Use as TEMPLATE_LIST_TEST_CASE(..., kspike_test::backends).
#include <Kokkos_Core.hpp>

#include <string>
#include <tuple>

namespace kspike_test {

template <class... Ts>
struct type_list {};
template <class L, class T>
struct append;
template <class... Ts, class T>
struct append<type_list<Ts...>, T> {
  using type = type_list<Ts..., T>;
};

using none = type_list<>;
#ifdef KOKKOS_ENABLE_SERIAL
using with_serial = append<none, Kokkos::Serial>::type;
#else
using with_serial = none;
#endif
#ifdef KOKKOS_ENABLE_OPENMP
using with_openmp = append<with_serial, Kokkos::OpenMP>::type;
#else
using with_openmp = with_serial;
#endif
#ifdef KOKKOS_ENABLE_CUDA
using with_cuda = append<with_openmp, Kokkos::Cuda>::type;
#else
using with_cuda = with_openmp;
#endif
template <class L>
struct to_tuple;
template <class... Ts>
struct to_tuple<type_list<Ts...>> {
  using type = std::tuple<Ts...>;
};
using backends = to_tuple<with_cuda>::type;

}  // namespace kspike_test
