#include "experiments/cli/kokkos_session.hpp"

#include <Kokkos_Core.hpp>
#include <sys/resource.h>

#include <algorithm>
#include <cstdlib>
#include <thread>
#ifdef KOKKOS_ENABLE_OPENMP
#include <omp.h>
#endif

#include "sim/core/error.hpp"

namespace kspike::cli {

kokkos_session::kokkos_session(int threads) {
  if (threads < 0) throw error("--threads: must be >= 1 (got " + std::to_string(threads) + ")");
  // Far more threads than cores only costs (the OpenMP runtime of some systems crashes when
  // asked for tens of thousands); allow oversubscription for experiments, not absurd counts.
  const int limit = std::max(256, 8 * static_cast<int>(std::thread::hardware_concurrency()));
  if (threads > limit)
    throw error("--threads: " + std::to_string(threads) + " is more than this machine can use (at most " +
                std::to_string(limit) + ")");
  // The OpenMP runtime read OMP_NUM_THREADS when the program was loaded, so setting the
  // variable now would change nothing: tell the runtime directly. Kokkos (3.4 to 5.x) takes
  // its thread count from omp_get_max_threads() when it initialises.
#ifdef KOKKOS_ENABLE_OPENMP
  if (threads > 0) omp_set_num_threads(threads);
#endif
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
