#pragma once
// The one GEMM of the tensor path (docs/architecture.md "The tensor training path"):
//   C = alpha · op(A) · op(B) + beta · C,   op(X) = X or Xᵀ,
// on 2-D Views whose rows are contiguous (LayoutRight, or a row-range of one).
//
// On host execution spaces (Serial, OpenMP) it calls OpenBLAS's cblas_sgemm / cblas_dgemm. On
// CUDA it calls cuBLAS (cublasSgemm / cublasDgemm on the execution space's stream) when the build
// defines KSPIKE_USE_CUBLAS and links cuBLAS (the CMake build does both when Kokkos has CUDA).
// Elsewhere it runs a plain Kokkos kernel, one work item per element of C.
// The BLAS path is compiled in when KSPIKE_USE_OPENBLAS is defined and <cblas.h> is found; the
// build that defines it must also link OpenBLAS (-lopenblas). A header cannot know what the
// link line holds, hence the explicit switch: without it, host spaces use the Kokkos kernel too
// and everything still links. gemm_uses_blas says which one a build got.
//
// Determinism: OpenBLAS may split a product over its own thread pool, and the way it splits
// depends on the thread count. kspike promises the same results on every CPU backend and thread
// count, so the first BLAS call pins OpenBLAS to one thread for the whole process
// (openblas_set_num_threads(1)). That also keeps OpenBLAS's pthreads from fighting Kokkos'
// OpenMP threads for the same cores. Parallelism comes from Kokkos around the GEMMs instead.
#include <Kokkos_Core.hpp>

#include <cstdint>
#include <string>
#include <type_traits>

#include "sim/core/error.hpp"

#include "learning/blas_kernels.hpp"  // <cblas.h> and KSPIKE_HAVE_CBLAS where the build has OpenBLAS

#if defined(KSPIKE_USE_CUBLAS) && defined(KOKKOS_ENABLE_CUDA)
#include <cublas_v2.h>
#define KSPIKE_HAVE_CUBLAS 1
#endif

namespace kspike::learning {

// Whether a GEMM operand is used as stored or transposed.
enum class trans { no, yes };

// Whether gemm() on a host execution space goes to OpenBLAS in this build.
#ifdef KSPIKE_HAVE_CBLAS
inline constexpr bool gemm_uses_blas = true;
#else
inline constexpr bool gemm_uses_blas = false;
#endif

namespace detail {

template <class V>
std::string shape_of(const V& v) {
  std::string s = "[";
  for (unsigned r = 0; r < V::rank; ++r) {
    if (r) s += ", ";
    s += std::to_string(v.extent(r));
  }
  return s + "]";
}

// Rows and columns of op(X).
template <class V>
std::int64_t op_rows(const V& x, trans t) {
  return static_cast<std::int64_t>(t == trans::no ? x.extent(0) : x.extent(1));
}
template <class V>
std::int64_t op_cols(const V& x, trans t) {
  return static_cast<std::int64_t>(t == trans::no ? x.extent(1) : x.extent(0));
}

template <class AV, class BV, class CV>
void check_gemm_shapes(trans ta, trans tb, const AV& a, const BV& b, const CV& c) {
  static_assert(AV::rank == 2 && BV::rank == 2 && CV::rank == 2, "gemm: A, B and C must be 2-D Views");
  const bool ok = op_cols(a, ta) == op_rows(b, tb) && op_rows(a, ta) == static_cast<std::int64_t>(c.extent(0)) &&
                  op_cols(b, tb) == static_cast<std::int64_t>(c.extent(1));
  if (!ok)
    throw kspike::error(std::string("gemm: shapes do not agree: A") + shape_of(a) + (ta == trans::yes ? "ᵀ" : "") +
                        " · B" + shape_of(b) + (tb == trans::yes ? "ᵀ" : "") + " -> C" + shape_of(c));
  // BLAS and the kernel below both address a row by one stride; a column-strided view would be
  // read wrongly, so refuse it rather than guess.
  if ((a.extent(1) > 1 && a.stride_1() != 1) || (b.extent(1) > 1 && b.stride_1() != 1) ||
      (c.extent(1) > 1 && c.stride_1() != 1))
    throw kspike::error("gemm: A, B and C must have contiguous rows (LayoutRight)");
}

// The portable kernel: one work item per element of C, the K-loop inside, so each element is
// summed in a fixed order whatever the backend. Exposed so tests can check it on the host.
template <class Exec, class Scalar, class AV, class BV, class CV>
void gemm_kokkos(const Exec& exec, trans ta, trans tb, Scalar alpha, const AV& a, const BV& b, Scalar beta,
                 const CV& c) {
  check_gemm_shapes(ta, tb, a, b, c);
  using real = typename CV::non_const_value_type;
  const std::int64_t m = static_cast<std::int64_t>(c.extent(0));
  const std::int64_t n = static_cast<std::int64_t>(c.extent(1));
  const std::int64_t k = op_cols(a, ta);
  if (m == 0 || n == 0) return;
  const bool at = ta == trans::yes, bt = tb == trans::yes;
  const real al = static_cast<real>(alpha), be = static_cast<real>(beta);
  Kokkos::parallel_for(
      "kspike::gemm", Kokkos::MDRangePolicy<Exec, Kokkos::Rank<2>>(exec, {0, 0}, {m, n}),
      KOKKOS_LAMBDA(const std::int64_t i, const std::int64_t j) {
        real sum = real(0);
        for (std::int64_t p = 0; p < k; ++p) sum += (at ? a(p, i) : a(i, p)) * (bt ? b(j, p) : b(p, j));
        // beta = 0 must not read C: it may hold uninitialised memory (NaN · 0 = NaN).
        c(i, j) = be == real(0) ? al * sum : al * sum + be * c(i, j);
      });
}

// The leading dimension a BLAS takes for a row-major View (its row stride): at least
// max(1, row length), which BLAS libraries insist on even for empty operands.
template <class V>
std::int64_t leading_dimension(const V& v) {
  const auto s = static_cast<std::int64_t>(v.extent(0) > 1 ? v.stride_0() : v.extent(1));
  return s < 1 ? 1 : s;
}

#ifdef KSPIKE_HAVE_CBLAS
inline void pin_openblas_single_thread() {
  // A function-local static runs once, thread-safely, on the first call.
  static const bool pinned = (openblas_set_num_threads(1), true);
  (void)pinned;
}

template <class Real, class AV, class BV, class CV>
void gemm_cblas(trans ta, trans tb, Real alpha, const AV& a, const BV& b, Real beta, const CV& c) {
  pin_openblas_single_thread();
  const auto m = static_cast<blasint>(c.extent(0));
  const auto n = static_cast<blasint>(c.extent(1));
  const auto k = static_cast<blasint>(op_cols(a, ta));
  if (m == 0 || n == 0) return;
  auto ld = [](const auto& v) { return static_cast<blasint>(leading_dimension(v)); };
  const CBLAS_TRANSPOSE opa = ta == trans::yes ? CblasTrans : CblasNoTrans;
  const CBLAS_TRANSPOSE opb = tb == trans::yes ? CblasTrans : CblasNoTrans;
  if constexpr (std::is_same<Real, float>::value)
    cblas_sgemm(CblasRowMajor, opa, opb, m, n, k, alpha, a.data(), ld(a), b.data(), ld(b), beta, c.data(), ld(c));
  else
    cblas_dgemm(CblasRowMajor, opa, opb, m, n, k, alpha, a.data(), ld(a), b.data(), ld(b), beta, c.data(), ld(c));
}
#endif

#ifdef KSPIKE_HAVE_CUBLAS
// One cuBLAS handle for the process, created on first use (cuBLAS handles are expensive to make).
inline cublasHandle_t cublas_handle() {
  static cublasHandle_t handle = [] {
    cublasHandle_t h = nullptr;
    if (cublasCreate(&h) != CUBLAS_STATUS_SUCCESS) throw kspike::internal_error("gemm: cublasCreate failed");
    return h;
  }();
  return handle;
}

// cuBLAS is column-major: a row-major C = op(A) op(B) is the column-major Cᵀ = op(B)ᵀ op(A)ᵀ,
// so the operands go in swapped, each with its own transposition.
template <class Real, class AV, class BV, class CV>
void gemm_cublas(const Kokkos::Cuda& exec, trans ta, trans tb, Real alpha, const AV& a, const BV& b, Real beta,
                 const CV& c) {
  const int m = static_cast<int>(c.extent(0)), n = static_cast<int>(c.extent(1)), k = static_cast<int>(op_cols(a, ta));
  if (m == 0 || n == 0) return;
  auto ld = [](const auto& v) { return static_cast<int>(leading_dimension(v)); };
  cublasHandle_t h = cublas_handle();
  if (cublasSetStream(h, exec.cuda_stream()) != CUBLAS_STATUS_SUCCESS)
    throw kspike::internal_error("gemm: cublasSetStream failed");
  const cublasOperation_t opa = ta == trans::yes ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t opb = tb == trans::yes ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasStatus_t st;
  if constexpr (std::is_same<Real, float>::value)
    st = cublasSgemm(h, opb, opa, n, m, k, &alpha, b.data(), ld(b), a.data(), ld(a), &beta, c.data(), ld(c));
  else
    st = cublasDgemm(h, opb, opa, n, m, k, &alpha, b.data(), ld(b), a.data(), ld(a), &beta, c.data(), ld(c));
  if (st != CUBLAS_STATUS_SUCCESS) throw kspike::internal_error("gemm: cuBLAS failed (status " + std::to_string(int(st)) + ")");
}
#endif

// Call once before gemm_host() runs on several threads at a time.
inline void pin_openblas_for_gemm() {
#ifdef KSPIKE_HAVE_CBLAS
  pin_openblas_single_thread();
#endif
}

// One GEMM on the calling host thread, for use inside a parallel loop over independent
// products (e.g. conv2d's images): OpenBLAS when the build has it, else a plain loop; either
// way the result does not depend on which thread runs it. No shape checks: the caller builds
// the operands.
template <class Real, class AV, class BV, class CV>
void gemm_host(trans ta, trans tb, Real alpha, const AV& a, const BV& b, Real beta, const CV& c) {
#ifdef KSPIKE_HAVE_CBLAS
  gemm_cblas<Real>(ta, tb, alpha, a, b, beta, c);
#else
  const std::int64_t m = static_cast<std::int64_t>(c.extent(0)), n = static_cast<std::int64_t>(c.extent(1));
  const std::int64_t k = op_cols(a, ta);
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      Real sum = Real(0);
      for (std::int64_t p = 0; p < k; ++p)
        sum += (ta == trans::yes ? a(p, i) : a(i, p)) * (tb == trans::yes ? b(j, p) : b(p, j));
      c(i, j) = beta == Real(0) ? alpha * sum : alpha * sum + beta * c(i, j);
    }
#endif
}

}  // namespace detail

// What computes gemm() on execution space Exec in this build, for the record ("OpenBLAS 0.3.21,
// SkylakeX kernels", "cuBLAS", "Kokkos kernel"). OpenBLAS picks its kernels for the CPU it runs
// on, and kernels sum in different orders: a trained network's last digits depend on them
// (docs/training.md "gemm"). The environment variable OPENBLAS_CORETYPE picks them instead.
template <class Exec>
std::string gemm_library() {
#ifdef KSPIKE_HAVE_CUBLAS
  if constexpr (std::is_same<Exec, Kokkos::Cuda>::value) return "cuBLAS";
#endif
#ifdef KSPIKE_HAVE_CBLAS
  if constexpr (Kokkos::SpaceAccessibility<Exec, Kokkos::HostSpace>::accessible) {
    std::string version = OPENBLAS_VERSION;  // " OpenBLAS 0.3.21 "
    const auto first = version.find_first_not_of(' '), last = version.find_last_not_of(' ');
    version = first == std::string::npos ? "OpenBLAS" : version.substr(first, last - first + 1);
    const std::string core = openblas_kernels();
    return version + ", " + (core.empty() ? "unknown" : core) + " kernels";
  }
#endif
  return "Kokkos kernel";
}

// A line of advice where OpenBLAS runs kernels far older than the CPU (empty otherwise). The
// command line avoids that case itself (experiments/cli/blas_kernels.cpp) unless
// OPENBLAS_CORETYPE was set, so this names a choice the user made.
inline std::string gemm_advice() {
  const char* better = fitting_openblas_kernels();
  if (!better) return "";
  return "note: OpenBLAS runs its " + openblas_kernels() + " kernels, far older than this CPU; OPENBLAS_CORETYPE=" + better +
         " selects kernels made for it (training about twice as fast on one such CPU; docs/training.md)";
}

// C = alpha · op(A) · op(B) + beta · C. Throws kspike::error when the shapes do not agree.
// With beta = 0, C is only written (its old contents may be uninitialised).
template <class Exec, class Scalar, class AV, class BV, class CV>
void gemm(const Exec& exec, trans ta, trans tb, Scalar alpha, const AV& a, const BV& b, Scalar beta, const CV& c) {
  using real = typename CV::non_const_value_type;
  static_assert(std::is_same<typename AV::non_const_value_type, real>::value &&
                    std::is_same<typename BV::non_const_value_type, real>::value,
                "gemm: A, B and C must hold the same scalar type");
#ifdef KSPIKE_HAVE_CBLAS
  constexpr bool blas_type = std::is_same<real, float>::value || std::is_same<real, double>::value;
  constexpr bool on_host = Kokkos::SpaceAccessibility<Exec, Kokkos::HostSpace>::accessible &&
                           Kokkos::SpaceAccessibility<Exec, typename CV::memory_space>::accessible &&
                           Kokkos::SpaceAccessibility<Exec, typename AV::memory_space>::accessible &&
                           Kokkos::SpaceAccessibility<Exec, typename BV::memory_space>::accessible;
  if constexpr (blas_type && on_host) {
    detail::check_gemm_shapes(ta, tb, a, b, c);
    exec.fence();  // the operands may still be being written by an earlier kernel on exec
    detail::gemm_cblas<real>(ta, tb, static_cast<real>(alpha), a, b, static_cast<real>(beta), c);
    return;
  }
#endif
#ifdef KSPIKE_HAVE_CUBLAS
  if constexpr (std::is_same<Exec, Kokkos::Cuda>::value &&
                (std::is_same<real, float>::value || std::is_same<real, double>::value)) {
    detail::check_gemm_shapes(ta, tb, a, b, c);
    detail::gemm_cublas<real>(exec, ta, tb, static_cast<real>(alpha), a, b, static_cast<real>(beta), c);
    return;
  }
#endif
  detail::gemm_kokkos(exec, ta, tb, alpha, a, b, beta, c);
}

}  // namespace kspike::learning
