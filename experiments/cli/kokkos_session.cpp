#include "experiments/cli/kokkos_session.hpp"

#include <Kokkos_Core.hpp>
#include <sys/resource.h>

#include <cstdlib>

#include "sim/error.hpp"

namespace kspike::cli {

kokkos_session::kokkos_session(int threads) {
  if (threads < 0) throw error("--threads: must be >= 1 (got " + std::to_string(threads) + ")");
  // OMP_NUM_THREADS is the one thread setting every Kokkos version (3.4 to 5.x) reads.
  if (threads > 0) setenv("OMP_NUM_THREADS", std::to_string(threads).c_str(), 1);
  // Kokkos 3.4 prints a binding hint on stdout when OMP_PROC_BIND is unset; say what we want.
  setenv("OMP_PROC_BIND", "false", 0);
  int argc = 1;
  char name[] = "kspike";
  char* argv[] = {name, nullptr};
  Kokkos::initialize(argc, argv);
}

kokkos_session::~kokkos_session() { Kokkos::finalize(); }

std::size_t peak_rss_bytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<std::size_t>(u.ru_maxrss) * 1024;
}

}  // namespace kspike::cli
