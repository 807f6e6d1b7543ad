#pragma once
// Brings Kokkos up for one CLI command with the thread count asked for, and down again.
#include <memory>
#include <string>

namespace kspike::cli {

class kokkos_session {
 public:
  // threads <= 0: OpenMP's default. Must be created before any engine.
  explicit kokkos_session(int threads);
  ~kokkos_session();
};

// Peak resident memory of this process so far [bytes].
std::size_t peak_rss_bytes();

}  // namespace kspike::cli
