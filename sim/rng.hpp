#pragma once
// Counter-based random numbers (Philox-4x32-10, Salmon et al., SC'11).
//
// A draw is a pure function of (seed, stream, index, counter): no generator state is carried
// between steps or threads, so the same seed gives the same numbers on every backend, for
// every thread count and in every order of evaluation. Streams separate uses (one per
// population or projection), index is the neuron (or pre-synaptic row), counter the step.
#include <Kokkos_Macros.hpp>

#include <cstdint>

namespace kspike {

struct philox_block {
  std::uint32_t x[4];
};

KOKKOS_INLINE_FUNCTION philox_block philox4x32(std::uint64_t seed, std::uint32_t stream,
                                               std::uint32_t index, std::uint64_t counter) {
  std::uint32_t c0 = index, c1 = static_cast<std::uint32_t>(counter),
                c2 = static_cast<std::uint32_t>(counter >> 32), c3 = stream;
  std::uint32_t k0 = static_cast<std::uint32_t>(seed), k1 = static_cast<std::uint32_t>(seed >> 32);
  for (int r = 0; r < 10; ++r) {
    const std::uint64_t p0 = std::uint64_t{0xD2511F53u} * c0;
    const std::uint64_t p1 = std::uint64_t{0xCD9E8D57u} * c2;
    const std::uint32_t n0 = static_cast<std::uint32_t>(p1 >> 32) ^ c1 ^ k0;
    const std::uint32_t n2 = static_cast<std::uint32_t>(p0 >> 32) ^ c3 ^ k1;
    c1 = static_cast<std::uint32_t>(p1);
    c3 = static_cast<std::uint32_t>(p0);
    c0 = n0;
    c2 = n2;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return philox_block{{c0, c1, c2, c3}};
}

// Uniform in [0, 1) with 53 random bits.
KOKKOS_INLINE_FUNCTION double uniform01(const philox_block& b, int pair = 0) {
  const std::uint64_t hi = b.x[2 * pair], lo = b.x[2 * pair + 1];
  return static_cast<double>(((hi << 32) | lo) >> 11) * (1.0 / 9007199254740992.0);
}

// Stream numbers, so that different uses of one seed never share numbers.
namespace rng_stream {
constexpr std::uint32_t poisson = 0x10000000u;       // + population index
constexpr std::uint32_t initial_state = 0x20000000u; // + population index
constexpr std::uint32_t connect = 0x30000000u;       // + projection index
constexpr std::uint32_t weight = 0x40000000u;        // + projection index
constexpr std::uint32_t delay = 0x50000000u;         // + projection index
}  // namespace rng_stream

}  // namespace kspike
