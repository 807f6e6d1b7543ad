# shellcheck shell=bash
# Build variants of kspike, one place for scripts/test --sanitize and scripts/check-builds.
# Source this file, then `build_variant NAME` exports what scripts/setup reads for that variant.
#   release   Release (-O3), GCC: the build users get (build/)
#   debug     Debug (-O0 -g), GCC
#   sanitize  RelWithDebInfo (-O2 -g) with AddressSanitizer + UndefinedBehaviorSanitizer, GCC;
#             any finding aborts the process that made it (build-sanitize/)
#   clang     Release with Debian's clang++, against a Kokkos built with clang++ too
#   fuzz      clang++ -O1 -g with libFuzzer instrumentation, ASan and UBSan, the fuzz targets of
#             tests/fuzz and no test suite (build-fuzz/; scripts/fuzz runs them)
build_variant_names="release debug sanitize clang"

build_variant() {
  local repo="$1" name="$2"
  unset KSPIKE_BUILD_TYPE KSPIKE_CXX_FLAGS KSPIKE_BENCHMARKS KSPIKE_FUZZERS CXX
  case "$name" in
    release)  export KSPIKE_BUILD="$repo/build" ;;
    debug)    export KSPIKE_BUILD="$repo/build-matrix/debug" KSPIKE_BUILD_TYPE=Debug KSPIKE_BENCHMARKS=OFF ;;
    sanitize)
      export KSPIKE_BUILD="$repo/build-sanitize" KSPIKE_BUILD_TYPE=RelWithDebInfo KSPIKE_BENCHMARKS=OFF
      # -fno-sanitize-recover: a UBSan finding aborts (non-zero exit) instead of printing and going on.
      export KSPIKE_CXX_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
      export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1}"
      export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
      ;;
    clang)    export KSPIKE_BUILD="$repo/build-matrix/clang" CXX=clang++ ;;
    fuzz)
      export KSPIKE_BUILD="$repo/build-fuzz" CXX=clang++ KSPIKE_BUILD_TYPE=RelWithDebInfo KSPIKE_BENCHMARKS=OFF KSPIKE_TESTS=OFF KSPIKE_FUZZERS=ON
      export KSPIKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
      ;;
    *) echo "unknown build variant '$name' (one of: $build_variant_names)" >&2; return 2 ;;
  esac
}
