// Catch2 main that brings Kokkos up only when tests actually run: ctest's test discovery
// lists tests, and Kokkos' OpenMP start-up banner on stdout would corrupt that listing.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <Kokkos_Core.hpp>

#include <cstring>

int main(int argc, char** argv) {
  bool listing = false;
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], "--list", 6) == 0 || std::strcmp(argv[i], "-l") == 0 ||
        std::strcmp(argv[i], "-t") == 0)
      listing = true;
  if (listing) return Catch::Session().run(argc, argv);
  Kokkos::ScopeGuard kokkos(argc, argv);
  return Catch::Session().run(argc, argv);
}
