#pragma once
// Host vectors into device views: the one copy both engine schedules use when they build
// their tables.
#include <Kokkos_Core.hpp>

#include <string>
#include <vector>

namespace kspike {

// A new view in memory space Mem holding a copy of `host`.
template <class Mem, class T>
Kokkos::View<T*, Mem> copy_to_device(const std::string& label, const std::vector<T>& host) {
  Kokkos::View<T*, Mem> d(label, host.size());
  auto mirror = Kokkos::create_mirror_view(d);
  for (std::size_t i = 0; i < host.size(); ++i) mirror(i) = host[i];
  Kokkos::deep_copy(d, mirror);
  return d;
}

}  // namespace kspike
