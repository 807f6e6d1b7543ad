#pragma once
// What both kernels of the window schedule share (sim/window_engine_impl.hpp runs one work
// item per instance, sim/window_team_kernel.hpp one team of threads per instance): the
// recorded-spike record, constants, the input draw and the kernel arguments.
#include <Kokkos_Core.hpp>

#include <cstdint>

#include "learning/stdp.hpp"
#include "neurons/adaptive_lif.hpp"
#include "sim/core/geometric_gap.hpp"
#include "sim/core/kokkos_math.hpp"
#include "sim/core/rng.hpp"
#include "sim/core/scalar_types.hpp"

namespace kspike {

// A spike kept by the window kernel: step and neuron (local to its instance).
struct window_spike {
  std::int64_t step;
  std::int32_t neuron;
};

namespace window_detail {

// Random streams of the schedule (registered in sim/core/rng.hpp).
constexpr std::uint32_t stream_weight = stream_id(stream::window_weight);
constexpr std::uint32_t stream_delay = stream_id(stream::window_delay);  // + draw
constexpr std::uint32_t stream_input = stream_id(stream::window_input);  // + instance key

constexpr int history = 16;  // input spike times kept per input (for the pre trace)
constexpr int run_bits = 16;     // an event record packs (first synapse << 16) | run length
constexpr int append_width = 8;  // synapses every unpacked run writes at once (see append_run)
constexpr std::int64_t never = -(std::int64_t{1} << 60);
constexpr std::int64_t no_spike = never_fires;  // an input that does not fire

// The pre trace that a post spike reads for a synapse with cut = t - delay: from the newest
// spike of its input at or before `cut` (the newest that has arrived), among the last `history`
// spikes kept (`times`, a ring; `n` spikes so far), through the table of exact decays.
// `lost` is set when every kept spike is newer: the one that counts was not kept.
KOKKOS_INLINE_FUNCTION float pre_trace_at(const std::int64_t* times, std::uint32_t n, std::int64_t cut,
                                          const float* table, std::int64_t length, bool& lost) {
  const auto kept = static_cast<std::uint32_t>(history);
  const std::uint32_t depth = n < kept ? n : kept;
  for (std::uint32_t r = 1; r <= depth; ++r) {
    const std::int64_t ts = times[(n - r) % kept];
    if (ts <= cut) return learning::trace_at(table, length, cut - ts);
    if (r == kept) lost = true;
  }
  return 0;
}

// What a window kernel reads and writes: plain values and pointers into the engine's views
// (captured by value by the kernel), the per-instance arrays at instance 0. Filled by
// window_engine::run_window().
struct window_args {
  std::int64_t instances, n_input, n_exc, t0, t_end;
  std::int64_t slots, slot_cap, buckets;  // ring slots (a power of two), records per slot, max delay + 2
  std::int64_t in_rec_cap, rec_e_cap, rec_i_cap;
  bool learn, adapt, redraw, rec_in, rec_e, rec_i;
  neurons::adaptive_lif::coeffs ce, ci;  // excitatory (adapt set as above), inhibitory
  real_t w_ei, w_ie;
  float a_post, a_pre, w_lo, w_hi, decay1;
  double theta_decay;
  std::uint64_t seed;
  real_t *v_e, *ge_e, *gi_e, *th_e, *v_i, *ge_i, *gi_i, *th_i;
  std::int32_t *since_e, *since_i;
  std::uint64_t* activity;  // activity_fields per instance
  float* post1;
  std::int64_t *t_post, *next, *hist;
  std::uint64_t* draws;
  std::uint32_t* hist_n;
  const double* inv_log_q;
  std::uint64_t* events;
  std::int32_t* event_n;
  int* status;
  float* w;
  const std::uint16_t *tgt, *bucket;
  const std::int32_t* col_syn;
  const std::uint8_t* col_delay;
  const float *tab_post2, *tab_pre;
  std::int64_t len_post2, len_pre;
  window_spike *in_rec, *rec_e_buf, *rec_i_buf;
  std::int64_t *in_rec_n, *rec_e_n, *rec_i_n;
  const std::uint32_t* streams;
};

constexpr std::int64_t activity_fields = 5;  // steps, input spikes, synaptic events, exc and inh spikes

}  // namespace window_detail


}  // namespace kspike
