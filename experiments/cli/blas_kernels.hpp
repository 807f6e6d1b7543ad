#pragma once
// The command line's choice of OpenBLAS kernels (learning/blas_kernels.hpp).

namespace kspike::cli {

// First thing in main(): where OpenBLAS fell back to kernels far older than the CPU and
// OPENBLAS_CORETYPE is unset, runs this program again at once (same arguments, same process)
// with OPENBLAS_CORETYPE naming the kernels made for the CPU. OpenBLAS reads the variable only
// when it loads, so setting it later would change nothing. Returns where it does not re-run:
// the variable was set (by the user, or by this re-run), the kernels fit, or exec failed.
void use_fitting_blas_kernels(char** argv);

}  // namespace kspike::cli
