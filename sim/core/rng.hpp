#pragma once
// Counter-based random numbers (Philox-4x32-10, Salmon et al., SC'11).
//
// A draw is a pure function of (seed, stream, index, counter): no generator state is carried
// between steps or threads, so the same seed gives the same numbers on every backend, for
// every thread count and in every order of evaluation. Streams separate uses (one per
// population or projection), index is the neuron (or pre-synaptic row), counter the step.
#include "sim/core/kokkos_core.hpp"

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

// Every random stream kspike draws from, in one registry. A stream id is a family's base plus
// an offset below the family's span (a population, projection, phase, module key, layer or
// epoch index), so two uses can only ever share numbers by sharing a family and an offset.
// A new use adds an enumerator and its row in stream_families; the test "random streams"
// checks that no two families overlap, and tests/lint/source_rules.py rejects stream ids
// written as numbers.
enum class stream : std::uint32_t {
  poisson_source = 0x10000000u,      // + population index: the engine's Poisson sources
  initial_state = 0x20000000u,       // + population index: v_init draws
  connect = 0x30000000u,             // + projection index: which synapses exist
  weight = 0x40000000u,              // + projection index: drawn weights
  delay = 0x50000000u,               // + projection index: drawn delays
  vpr_weight = 0x61000000u,          // place recognition: initial input weights
  window_delay = 0x62000000u,        // + draw: input delays of the engine's window schedule
  window_input = 0x63000000u,        // + instance key (24 bits): Poisson input of the window schedule
  vpr_shuffle = 0x64000000u,         // place recognition: order of the training images
  window_weight = 0x65000000u,       // initial input weights of the window schedule
  bench_vpr_images = 0x70000000u,    // kspike bench vpr: random images
  spike_encoder = 0x71000000u,       // Poisson encoding of tensor inputs
  dropout = 0x72000000u,             // dropout masks
  layer_init = 0x73000000u,          // + layer index: initial weights of tensor layers
  epoch_order = 0x74000000u,         // + epoch: order of the training images
  bench_train_images = 0x75000000u,  // kspike bench train: random images
  background_input = 0x80000000u,    // + population index: the engine's background Poisson input
};

struct stream_family {
  stream base;
  std::uint32_t span;  // offsets 0 .. span-1 belong to the family
  const char* name;
};

inline constexpr stream_family stream_families[] = {
    {stream::poisson_source, 1u << 28, "poisson_source"}, {stream::initial_state, 1u << 28, "initial_state"},
    {stream::connect, 1u << 28, "connect"},                {stream::weight, 1u << 28, "weight"},
    {stream::delay, 1u << 28, "delay"},                    {stream::vpr_weight, 1u << 24, "vpr_weight"},
    {stream::window_delay, 1u << 24, "window_delay"},      {stream::window_input, 1u << 24, "window_input"},
    {stream::window_weight, 1u << 24, "window_weight"},
    {stream::vpr_shuffle, 1u << 24, "vpr_shuffle"},        {stream::bench_vpr_images, 1u << 24, "bench_vpr_images"},
    {stream::spike_encoder, 1u << 24, "spike_encoder"},    {stream::dropout, 1u << 24, "dropout"},
    {stream::layer_init, 1u << 24, "layer_init"},          {stream::epoch_order, 1u << 24, "epoch_order"},
    {stream::bench_train_images, 1u << 24, "bench_train_images"}, {stream::background_input, 1u << 28, "background_input"},
};

// The id of stream `offset` of a family (offset below the family's span).
KOKKOS_INLINE_FUNCTION constexpr std::uint32_t stream_id(stream family, std::uint32_t offset = 0) {
  return static_cast<std::uint32_t>(family) + offset;
}

}  // namespace kspike
