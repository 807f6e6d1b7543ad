#pragma once
// The walk at arrival (engine_options::table_walk, docs/architecture.md "Walking the table at
// arrival"): on a host backend, a spike's row of the synapse table is walked a run of one
// delay at a time, in the step before that run's synapses are due, and every event of a step
// is added into one slot-sized buffer instead of the delay ring's slot of its delay.
//
// Why: with the walk at spike, each event adds into a random cell of the whole ring (the
// full microcircuit's is 74 MB: 60 slots of 154,338 cells). Those additions miss every cache
// and bound a thread at about 11 ns an event. At arrival they all land in the same 1.2 MB,
// which stays in the core's cache from step to step. The table is then read a run at a time
// instead of a row at a time, which costs less than the misses it saves.
//
// Member functions of engine_impl, declared in sim/engine_impl.hpp and defined here; that file
// includes this one at its end. They run on host backends only.
#include "sim/engine_impl.hpp"

namespace kspike {

template <class Exec>
inline void engine_impl<Exec>::choose_table_walk(engine_options::table_walk_kind walk,
                                                 engine_options::step_sync_kind sync) {
  using kind = engine_options::table_walk_kind;
  std::string obstacle;
  if (!host_memory) obstacle = "a GPU backend";
  for (const auto& pr : net.projections)
    if (pr.plastic && obstacle.empty()) obstacle = "plastic projections (they learn in the spike's step)";
  if (obstacle.empty() && (sync == engine_options::step_sync_kind::deferred || sync == engine_options::step_sync_kind::fused))
    obstacle = "the deferred or fused host loop";
  if (walk == kind::at_arrival && !obstacle.empty())
    throw error((net.source.empty() ? std::string("network") : net.source) +
                ": table_walk at-arrival (kspike run --table-walk): not with " + obstacle);
  // automatic: wherever it can run. On the 2-core VM it was nowhere slower: from even (the
  // projection kinds' network, whose events mostly go through the ring) to 1.9x faster (the full
  // microcircuit, on one thread and on two), and 2.3x for CUBA on two threads
  // (docs/architecture.md, "Walking the table at arrival").
  table_walk_at_arrival = obstacle.empty() && walk != kind::at_spike;
}

template <class Exec>
inline void engine_impl<Exec>::queue_flights(int n_spikes) {
  if constexpr (host_memory) {
    const std::int64_t parts = target_ranges_, inner = parts - 1;
    const index_t* spikes = spikes_.data();
    const std::int64_t* row = row_ptr_.data();
    const std::uint32_t* split = row_split_.data();
    std::int64_t* count = flight_count_.data();
    // Room for this step's flights in every part, kept between steps (doubling).
    std::int64_t most = 0;
    for (std::int64_t p = 0; p < parts; ++p) most = std::max(most, count[p]);
    if (most + n_spikes > flight_capacity_) {
      const std::int64_t capacity = std::max<std::int64_t>(2 * flight_capacity_, most + n_spikes);
      view<flight> grown = alloc<flight>("flights", static_cast<std::size_t>(parts * capacity));
      for (std::int64_t p = 0; p < parts && flight_capacity_ > 0; ++p)
        std::copy(flights_.data() + p * flight_capacity_, flights_.data() + p * flight_capacity_ + count[p],
                  grown.data() + p * capacity);
      flights_ = grown;
      flight_capacity_ = capacity;
    }
    for (int k = 0; k < n_spikes; ++k) {
      for (std::int64_t p = 0; p < parts; ++p) {
        const auto range = detail::row_part(row, split, inner, spikes[k], p);
        if (range.first < range.second) flights_.data()[p * flight_capacity_ + count[p]++] = flight{range.first, range.second, step};
      }
    }
  }
}

template <class Exec>
inline void engine_impl<Exec>::walk_arrivals() {
  if constexpr (host_memory) {
    const std::int64_t parts = target_ranges_;
    std::int64_t live = 0;
    for (std::int64_t p = 0; p < parts; ++p) live += flight_count_.data()[p];
    if (live == 0) {
      arrival_events_ = 0;
      return;
    }
    // Dense (many events last time): add only, and delivery scans the buffer. Sparse: list
    // each cell on its first input. Each part's cells have one writer (connectivity.hpp
    // target_interleave) and each part lists into its own segment with its own counter, so
    // neither needs atomics (one shared counter made two threads twice as slow as one).
    const auto cells = 2 * static_cast<std::uint64_t>(n_);
    const bool dense = delivery_ == engine_options::delivery_mode::dense ||
                       (delivery_ == engine_options::delivery_mode::automatic && arrival_events_ * 8 > cells);
    if (dense) arrivals_dense_ = true;
    index_t* const lists = arrival_list_.data();
    int* const listed = arrival_listed_.data();
    const std::int64_t room = arrival_part_capacity_;
    flight* flights = flights_.data();
    std::int64_t* count = flight_count_.data();
    const std::int64_t capacity = flight_capacity_;
    const index_t* target = target_.data();
    const std::uint16_t* delay = delay_.data();
    const float* weight = weight_.data();
    const step_t due = step + 1;  // the step whose input this walk makes
    std::int64_t walked[64] = {};
    std::int64_t* walked_by = walked;
    fixed_t* const buffer = arrivals_.data();
    const double scale = scale_;
    detail::launch(exec_, detail::label::propagate, parts, KOKKOS_LAMBDA(std::int64_t p) {
      // The buffer and scale in locals: stores into the 64-bit cells could alias the closure's
      // fields as far as the compiler knows (see ring_adder::row), which reloads them per event.
      fixed_t* const cells = buffer;
      const double sc = scale;
      flight* own = flights + p * capacity;
      index_t* const list = lists + p * room;
      std::int64_t kept = 0, events = 0, n_listed = listed[p * listed_stride];
      for (std::int64_t f = 0; f < count[p]; ++f) {
        flight x = own[f];
        const auto d = static_cast<std::uint16_t>(due - x.fired);
        // The end of the run of delay d (the delays left are >= d, ascending): a galloping
        // search, as a run may be a whole row of a thousand synapses (one delay for all).
        std::int64_t end = x.next;
        if (delay[end] == d) {
          std::int64_t lo = end, hi = end + 1, stride = 1;  // delay[lo] == d
          while (hi < x.end && delay[hi] == d) {
            lo = hi;
            stride *= 2;
            hi = lo + stride;
          }
          if (hi > x.end) hi = x.end;
          while (hi - lo > 1) {  // delay[lo] == d; delay[hi] != d or hi == x.end
            const std::int64_t mid = lo + (hi - lo) / 2;
            if (delay[mid] == d) lo = mid; else hi = mid;
          }
          end = hi;
        }
        if (dense) {
          for (std::int64_t j = x.next; j < end; ++j) cells[target[j]] += ring_adder::to_fixed(weight[j], sc);
        } else {
          for (std::int64_t j = x.next; j < end; ++j) {
            const fixed_t v = ring_adder::to_fixed(weight[j], sc);
            if (v == 0) continue;
            const index_t c = target[j];
            const fixed_t before = cells[c];
            cells[c] = before + v;
            if (before == 0) {  // listed on its first input (again if the sum went through zero)
              if (n_listed < room) list[n_listed] = c;
              ++n_listed;
            }
          }
        }
        events += end - x.next;
        x.next = end;
        if (x.next < x.end) own[kept++] = x;
      }
      count[p] = kept;
      walked_by[p] = events;
      // Past the room: counted on, and delivery scans the whole buffer instead.
      listed[p * listed_stride] = static_cast<int>(n_listed < room + 1 ? n_listed : room + 1);
    });
    detail::wait(exec_);
    arrival_events_ = 0;
    for (std::int64_t p = 0; p < parts; ++p) arrival_events_ += static_cast<std::uint64_t>(walked[p]);
  }
}

template <class Exec>
inline bool engine_impl<Exec>::deliver_with_arrivals(int slot, int ring_listed) {
  if constexpr (host_memory) {
    int* const listed = arrival_listed_.data();
    std::int64_t table_listed = 0;
    bool overflow = false;
    for (std::int64_t p = 0; p < target_ranges_; ++p) {
      table_listed += listed[p * listed_stride];
      overflow = overflow || listed[p * listed_stride] > arrival_part_capacity_;
    }
    // A list that overflowed (many sums through zero) is scanned whole, as in deliver().
    const bool table_dense = arrivals_dense_ || overflow;
    if (!table_dense && table_listed == 0) return false;  // the ring's slot alone: deliver()
    const auto s = static_cast<std::size_t>(slot);
    fixed_t* ring = ring_.data() + s * 2 * static_cast<std::size_t>(n_);
    const bool ring_dense = slot_dense_[s] || ring_listed > dirty_capacity_;
    if (!ring_dense && ring_listed == 0) {  // the table's buffer alone
      if (table_dense) deliver_whole_slot(arrivals_.data());
      else deliver_listed_arrivals();
    } else if (ring_dense || table_dense) {
      deliver_ring_with_arrivals(ring, nullptr, 0);
    } else {
      // Both listed. The ring's list holds every nonzero cell of its slot (a cell is listed
      // whenever an addition finds it at zero), so its pass takes each of those cells' sums
      // from both buffers; the cells the table's pass then finds are zero in the ring.
      deliver_ring_with_arrivals(ring, dirty_.data() + s * static_cast<std::size_t>(dirty_capacity_), ring_listed);
      deliver_listed_arrivals();
    }
    slot_dense_[s] = 0;
    dirty_count_host_(slot) = 0;
    arrivals_dense_ = false;
    for (std::int64_t p = 0; p < target_ranges_; ++p) listed[p * listed_stride] = 0;
    detail::wait(exec_);
    return true;
  }
  return false;
}

template <class Exec>
inline void engine_impl<Exec>::deliver_listed_arrivals() {
  if constexpr (host_memory) {
    real_t* se = syn_e_.data();
    real_t* si = syn_i_.data();
    const double inv = inv_scale_;
    fixed_t* const table = arrivals_.data();
    const index_t* const lists = arrival_list_.data();
    const int* const listed = arrival_listed_.data();
    const std::int64_t room = arrival_part_capacity_;
    // One work item per part: its cells are its own, listed once each (or again after a sum
    // through zero, when the second visit finds zero).
    detail::launch(exec_, detail::label::deliver, target_ranges_, KOKKOS_LAMBDA(std::int64_t p) {
      const index_t* list = lists + p * room;
      for (int k = 0; k < listed[p * listed_stride]; ++k) {
        const index_t idx = list[k];
        const fixed_t x = table[idx];
        table[idx] = 0;
        detail::deliver_cell(se, si, idx, x, inv);
      }
    });
  }
}

template <class Exec>
inline void engine_impl<Exec>::deliver_ring_with_arrivals(fixed_t* ring, const index_t* list, int n) {
  if constexpr (host_memory) {
    real_t* se = syn_e_.data();
    real_t* si = syn_i_.data();
    const double inv = inv_scale_;
    fixed_t* const table = arrivals_.data();
    if (list == nullptr) {
      const index_t neurons = n_;
      constexpr index_t span = 4096;
      detail::launch(exec_, detail::label::deliver_all, (neurons + span - 1) / span, KOKKOS_LAMBDA(index_t b) {
        detail::deliver_span_of_two(ring, table, se, si, b * span, b * span + span < neurons ? b * span + span : neurons, inv);
      });
      return;
    }
    detail::launch(exec_, detail::label::deliver, n, KOKKOS_LAMBDA(int k) {
      const index_t idx = list[k];
      // Exchanges: a sum that went through zero lists its cell twice (deliver()).
      const fixed_t x = detail::exchange<Exec>(ring + idx, fixed_t{0}) + detail::exchange<Exec>(table + idx, fixed_t{0});
      detail::deliver_cell(se, si, idx, x, inv);
    });
  }
}

}  // namespace kspike
