#pragma once
// Expanding a connector into its (pre, post) pairs, unit by unit. A connector's pairs come in
// a fixed order, made of units that are drawn independently of each other (counter-based
// draws): a pre neuron's row (all-to-all, fixed probability), a post neuron's inputs (fixed
// in-degree), one pair (fixed total number, one-to-one). Expanding units [first, last) gives
// exactly the pairs those units contribute to the whole expansion, in the same order, so that
// separate ranges can be expanded on separate threads and still give the synapses, and
// their draws, of one sequential pass. Host-only; used by connectivity.cpp.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "sim/core/rng.hpp"
#include "sim/network.hpp"

namespace kspike {

// How many units a connector's expansion has (from_list: its entries, which the table
// builder reads itself).
inline std::int64_t connector_units(const connector& c, std::int64_t n_pre, std::int64_t n_post) {
  switch (c.type) {
    case connector::kind::all_to_all: return n_pre;
    case connector::kind::fixed_probability: return c.p > 0 ? n_pre : 0;
    case connector::kind::one_to_one: return std::min(n_pre, n_post);
    case connector::kind::fixed_in_degree: return n_post;
    case connector::kind::fixed_total_number: return c.n;
    case connector::kind::from_list: return static_cast<std::int64_t>(c.list.size());
  }
  return 0;
}

// Calls emit(pre_local, post_local) for every pair of units [first, last), in order.
template <class Emit>
void expand_units(const connector& c, std::int64_t n_pre, std::int64_t n_post, bool same_population,
                  std::uint64_t seed, std::uint32_t stream, std::int64_t first, std::int64_t last, Emit&& emit) {
  const bool skip_self = same_population && !c.allow_self;
  switch (c.type) {
    case connector::kind::all_to_all:
      for (std::int64_t i = first; i < last; ++i)
        for (std::int64_t j = 0; j < n_post; ++j)
          if (!(skip_self && i == j)) emit(i, j);
      break;
    case connector::kind::one_to_one:
      for (std::int64_t i = first; i < last; ++i) emit(i, i);
      break;
    case connector::kind::fixed_probability: {
      // Geometric skipping: the gap to the next connected post neuron is geometric, so a
      // row costs O(p n_post) draws instead of n_post.
      const double log_q = c.p < 1 ? std::log1p(-c.p) : 0.0;
      for (std::int64_t i = first; i < last; ++i) {
        std::int64_t j = -1;
        for (std::uint64_t k = 0;; ++k) {
          if (c.p >= 1) {
            ++j;
          } else {
            const double u = uniform01(philox4x32(seed, stream, static_cast<std::uint32_t>(i), k));
            j += 1 + static_cast<std::int64_t>(std::floor(std::log1p(-u) / log_q));
          }
          if (j >= n_post) break;
          if (!(skip_self && i == j)) emit(i, j);
        }
      }
      break;
    }
    case connector::kind::fixed_in_degree: {
      // Partial Fisher-Yates over the candidate pre neurons of each post neuron: n distinct
      // inputs, each subset equally likely. The pool is restored after each post neuron, so
      // every post neuron starts from the identity whatever range it is expanded in.
      if (last <= first) break;
      std::vector<std::int64_t> pool(static_cast<std::size_t>(n_pre));
      std::iota(pool.begin(), pool.end(), 0);
      std::vector<std::int64_t> swapped(static_cast<std::size_t>(std::max<std::int64_t>(c.n, 0)));
      const auto at = [](std::int64_t x) { return static_cast<std::size_t>(x); };
      for (std::int64_t j = first; j < last; ++j) {
        std::int64_t size = n_pre;
        if (skip_self && j < n_pre) {
          std::swap(pool[at(j)], pool[at(n_pre - 1)]);
          size = n_pre - 1;
        }
        for (std::int64_t k = 0; k < c.n; ++k) {
          const double u = uniform01(philox4x32(seed, stream, static_cast<std::uint32_t>(j), static_cast<std::uint64_t>(k)));
          const std::int64_t r = k + static_cast<std::int64_t>(u * static_cast<double>(size - k));
          std::swap(pool[at(k)], pool[at(r)]);
          swapped[at(k)] = r;
          emit(pool[at(k)], j);
        }
        for (std::int64_t k = c.n - 1; k >= 0; --k) std::swap(pool[at(k)], pool[at(swapped[at(k)])]);
        if (skip_self && j < n_pre) std::swap(pool[at(j)], pool[at(n_pre - 1)]);
      }
      break;
    }
    case connector::kind::fixed_total_number: {
      // n independent uniform (pre, post) pairs, one Philox block (two 53-bit uniforms) each.
      // Without self-connections the post index is drawn among the n_post - 1 others.
      const std::int64_t post_choices = skip_self ? n_post - 1 : n_post;
      auto below = [](double u, std::int64_t size) {
        return std::min<std::int64_t>(static_cast<std::int64_t>(u * static_cast<double>(size)), size - 1);
      };
      for (std::int64_t k = first; k < last; ++k) {
        const philox_block b = philox4x32(seed, stream, static_cast<std::uint32_t>(k), static_cast<std::uint64_t>(k) >> 32);
        const std::int64_t i = below(uniform01(b, 0), n_pre);
        std::int64_t j = below(uniform01(b, 1), post_choices);
        if (skip_self && j >= i) ++j;
        emit(i, j);
      }
      break;
    }
    case connector::kind::from_list:
      break;  // entries carry their own weights and delays: the table builder reads them
  }
}

}  // namespace kspike
