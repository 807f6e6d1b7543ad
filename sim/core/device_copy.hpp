#pragma once
// Host vectors into device views: the one copy both engine schedules use when they build
// their tables.
#include <Kokkos_Core.hpp>

#include <string>
#include <vector>

namespace kspike {

// A new view in memory space Mem holding a copy of `host`: one deep copy from the vector's own
// storage (a memory copy on the host, one transfer to a GPU), with no zero-filling of the new
// view first and no host mirror beside the vector.
template <class Mem, class T>
Kokkos::View<T*, Mem> copy_to_device(const std::string& label, const std::vector<T>& host) {
  Kokkos::View<T*, Mem> d(Kokkos::view_alloc(Kokkos::WithoutInitializing, label), host.size());
  const Kokkos::View<const T*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> from(host.data(), host.size());
  Kokkos::deep_copy(d, from);
  return d;
}

}  // namespace kspike
