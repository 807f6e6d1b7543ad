# Warnings and floating-point settings shared by every kspike target.
#
# -ffp-contract=off: no fused multiply-add behind our back, so every backend, thread count
# and vector width computes bit-identical neuron updates (IEEE operations are the same in a
# SIMD lane as in scalar code; only contraction and reassociation could differ).
# -fno-trapping-math: lets GCC compute both sides of a select (v = spike ? v_reset : v') so
# that loops with thresholds vectorise; no value changes, we never enable FP traps.
# KSPIKE_NATIVE: tune host code for this machine's vector units (the update loop vectorises).
option(KSPIKE_NATIVE "Optimise host code for the build machine (-march=native)" ON)
include(CheckCXXCompilerFlag)
add_library(kspike_options INTERFACE)
target_compile_options(kspike_options INTERFACE
  $<$<COMPILE_LANG_AND_ID:CXX,GNU,Clang>:-Wall -Wextra -Wno-unused-parameter -ffp-contract=off -fno-trapping-math>)
if(KSPIKE_NATIVE AND NOT "CUDA" IN_LIST Kokkos_DEVICES)
  check_cxx_compiler_flag(-march=native KSPIKE_HAS_MARCH_NATIVE)
  if(KSPIKE_HAS_MARCH_NATIVE)
    target_compile_options(kspike_options INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-march=native>)
  endif()
endif()

# The same rule on a GPU: nvcc fuses multiply-adds by default, which changes the last bits of
# a membrane update and, some hundred milliseconds later, the spikes. --fmad=false keeps
# device arithmetic identical to the host's (kspike_backend_compare reports the agreement).
# --expt-relaxed-constexpr: kernels call constexpr functions that are host functions to nvcc
# (the lambdas a neuron model's variable list is walked with, std::numeric_limits); without
# the flag nvcc warns that such calls are not allowed in device code (warning 20013/20015).
if("CUDA" IN_LIST Kokkos_DEVICES)
  target_compile_options(kspike_options INTERFACE $<$<COMPILE_LANGUAGE:CXX>:--fmad=false>
                                                  $<$<COMPILE_LANGUAGE:CXX>:--expt-relaxed-constexpr>)
endif()
