#include "experiments/cli/blas_kernels.hpp"

#include <cstdlib>

#include <unistd.h>

#include "learning/blas_kernels.hpp"

namespace kspike::cli {

void use_fitting_blas_kernels(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE")) return;  // the user's choice, or this re-run
  const char* fitting = learning::fitting_openblas_kernels();
  if (!fitting || setenv("OPENBLAS_CORETYPE", fitting, 1) != 0) return;
  execv("/proc/self/exe", argv);
  unsetenv("OPENBLAS_CORETYPE");  // exec failed: carry on with the kernels OpenBLAS chose
}

}  // namespace kspike::cli
