#pragma once
// One step of the step schedule, launch by launch: delivery from the delay ring, injected
// currents, neuron and source updates, propagation of the step's spikes (synapse table,
// projections of their own kinds, procedural convolution) and recording. Member functions of
// engine_impl, declared in sim/engine_impl.hpp and defined here; that file includes this one
// at its end.
#include "sim/engine_impl.hpp"

namespace kspike {

template <class Exec>
inline void engine_impl<Exec>::advance() {
  if (deferred_) return advance_deferred();
  const int slot = static_cast<int>(step % slots_);
  if (step % flush_period == 0) flush_synapses();
  deliver(slot);
  apply_currents();
  set_count(0);
  for (std::size_t pi = 0; pi < pops_.size(); ++pi) {
    const int before = read_count();
    update_population(pops_[pi]);
    const int after = read_count();
    pop_spike_end_[pi] = after;
    pop_spike_begin_[pi] = before;
    stats.spikes[pi] += static_cast<std::uint64_t>(after - before);
  }
  const int n_spikes = read_count();
  if (!rules_.empty()) decay_traces();
  if (n_spikes > 0) propagate(slot, n_spikes);
  else last_events_ = 0;  // the events of this step, for next step's choice of delivery mode
  if (table_walk_at_arrival) walk_arrivals();  // this step's spikes are queued: their delay-1 synapses too
  if (history_slots_ > 0) deliver_arrivals(slot);  // before learn(): its post phase sees these arrivals
  if (n_spikes > 0 && !rules_.empty()) learn(n_spikes);
  record(n_spikes);
  ++step;
  ++stats.steps;
}

template <class Exec>
inline void engine_impl<Exec>::flush_synapses() {
  real_t* se = syn_e_.data();
  real_t* si = syn_i_.data();
  const index_t n = n_;
  const index_t blocks = (n + block - 1) / block;
  detail::launch(exec_, detail::label::flush, blocks, KOKKOS_LAMBDA(index_t b) {
    const index_t lo = b * block, hi = lo + block < n ? lo + block : n;
    for (index_t i = lo; i < hi; ++i) {
      se[i] = neurons::flush_tiny(se[i]);
      si[i] = neurons::flush_tiny(si[i]);
    }
  });
}

template <class Exec>
inline int engine_impl<Exec>::read_count() {
  detail::wait(exec_);
  if constexpr (host_memory) {
    return spike_count_.data()[0];
  } else {
    int c = 0;
    Kokkos::deep_copy(Kokkos::View<int, Kokkos::HostSpace>(&c), Kokkos::subview(spike_count_, 0));
    return c;
  }
}

template <class Exec>
inline void engine_impl<Exec>::set_count(int c) {
  if constexpr (host_memory) {
    spike_count_.data()[0] = c;
  } else {
    Kokkos::deep_copy(Kokkos::subview(spike_count_, 0), c);
  }
}

template <class Exec>
inline void engine_impl<Exec>::deliver(int slot) {
  if constexpr (!host_memory) Kokkos::deep_copy(dirty_count_host_, dirty_count_);
  const int n = dirty_count_host_(slot);
  if (table_walk_at_arrival && deliver_with_arrivals(slot, n)) return;
  if (n == 0 && !slot_dense_[static_cast<std::size_t>(slot)]) return;
  fixed_t* ring = ring_.data() + static_cast<std::size_t>(slot) * 2 * static_cast<std::size_t>(n_);
  real_t* se = syn_e_.data();
  real_t* si = syn_i_.data();
  const double inv = inv_scale_;
  auto apply = KOKKOS_LAMBDA(index_t idx) {
    detail::deliver_cell(se, si, idx, detail::exchange<Exec>(ring + idx, fixed_t{0}), inv);
  };
  if (slot_dense_[static_cast<std::size_t>(slot)]) {
    // Filled by dense propagation, which keeps no list: scan the whole slot.
    deliver_whole_slot(ring);
    slot_dense_[static_cast<std::size_t>(slot)] = 0;
  } else if (n <= dirty_capacity_) {
    const index_t* list = dirty_.data() + static_cast<std::size_t>(slot) * static_cast<std::size_t>(dirty_capacity_);
    detail::launch(exec_, detail::label::deliver, n,
        KOKKOS_LAMBDA(int k) { apply(list[k]); });
  } else {  // the list overflowed (many sums through zero): scan the whole slot
    deliver_whole_slot(ring);
  }
  dirty_count_host_(slot) = 0;
  if constexpr (host_memory) {
    detail::wait(exec_);
  } else {
    Kokkos::deep_copy(Kokkos::subview(dirty_count_, slot), 0);
  }
}

template <class Exec>
inline void engine_impl<Exec>::deliver_whole_slot(fixed_t* ring) {
  real_t* se = syn_e_.data();
  real_t* si = syn_i_.data();
  const double inv = inv_scale_;
  const index_t neurons = n_;
  if constexpr (host_memory) {
    constexpr index_t span = 4096;
    detail::launch(exec_, detail::label::deliver_all, (neurons + span - 1) / span, KOKKOS_LAMBDA(index_t b) {
      detail::deliver_span(ring, se, si, b * span, b * span + span < neurons ? b * span + span : neurons, inv);
    });
  } else {
    detail::launch(exec_, detail::label::deliver_all, 2 * neurons, KOKKOS_LAMBDA(index_t idx) {
      const fixed_t x = ring[idx];
      if (x == 0) return;
      ring[idx] = 0;
      detail::deliver_cell(se, si, idx, x, inv);
    });
  }
}

template <class Exec>
inline void engine_impl<Exec>::apply_currents() {
  while (current_cursor_ < current_events_.size() && current_events_[current_cursor_].step <= step) {
    const auto& e = current_events_[current_cursor_++];
    const index_t* ids = current_ids_[e.source].data();
    real_t* iext = i_ext_.data();
    const auto delta = static_cast<real_t>(e.delta);
    const auto n = static_cast<std::int64_t>(current_ids_[e.source].extent(0));
    if (host_memory && n <= host_loop_limit) {
      // A few neurons' currents (a current stepping every dt, say): a parallel launch costs
      // more than the loop, and with other processes on the cores, far more.
      for (std::int64_t k = 0; k < n; ++k) iext[ids[k]] += delta;
    } else {
      detail::launch(exec_, detail::label::current, n, KOKKOS_LAMBDA(int k) { iext[ids[k]] += delta; });
    }
  }
}

template <class Exec>
inline void engine_impl<Exec>::update_population(detail::population_info& info) {
  using kind = detail::population_info::kind;
  if (info.type == kind::poisson) return update_poisson(info);
  if (info.type == kind::spike_array) return emit_array_spikes(info);
  neurons::with_model_at(info.coeffs.index(), [&](auto tag) {
    using M = typename decltype(tag)::type;
    update_neurons<M>(std::get<typename M::coeffs>(info.coeffs), info);
  });
}

template <class Exec>
template <class Model>
inline void engine_impl<Exec>::update_neurons(const typename Model::coeffs c, const detail::population_info& info) {
  const index_t begin = info.begin, end = info.end;
  const bool injected = info.has_current;
  real_t* own = model_state_.data() + info.state_offset;
  real_t* se = syn_e_.data();
  real_t* si = syn_i_.data();
  const real_t* iext = i_ext_.data();
  std::int32_t* since = since_.data();
  index_t* spikes = spike_list_of(info);
  int* count = spike_counter_of(info);
  const background_adder background = background_of(info);
  const index_t blocks = (end - begin + block - 1) / block;
  detail::launch(exec_, detail::label::update, blocks, KOKKOS_LAMBDA(index_t b) {
    update_block_of<Model>(c, background, injected, own, begin, end, b, se, si, since, iext, spikes, count);
  });
}

template <class Exec>
inline auto engine_impl<Exec>::background_of(const detail::population_info& info) const -> background_adder {
  return background_adder{info.bg_receptor == 1 ? syn_i_.data() : syn_e_.data(),
                          bg_tables_.data() + info.bg_table,
                          net.seed,
                          static_cast<std::uint64_t>(info.bg_chunks),
                          static_cast<std::uint64_t>(step),
                          stream_id(kspike::stream::background_input, static_cast<std::uint32_t>(&info - pops_.data())),
                          info.begin,
                          info.size,
                          info.bg_weight,
                          info.bg_terms};
}

template <class Exec>
inline void engine_impl<Exec>::append_poisson_table(double lambda, std::vector<std::uint64_t>& tables) {
  const double two32 = 4294967296.0;
  double p = std::exp(-lambda), cdf = p;
  for (int k = 1; k <= 64; ++k) {
    const double scaled = std::floor(cdf * two32);
    if (scaled >= two32) break;
    tables.push_back(static_cast<std::uint64_t>(scaled));
    p *= lambda / k;
    cdf += p;
  }
  tables.push_back(std::uint64_t{1} << 32);
}

template <class Exec>
inline void engine_impl<Exec>::update_poisson(const detail::population_info& info) {
  if (info.gaps) return update_poisson_gaps(info);
  const index_t begin = info.begin, end = info.end;
  const std::uint64_t* thr = poisson_threshold_.data();
  index_t* spikes = spike_list_of(info);
  int* count = spike_counter_of(info);
  const std::uint64_t seed = net.seed;
  const auto stream = stream_id(kspike::stream::poisson_source, static_cast<std::uint32_t>(&info - pops_.data()));
  const step_t t = step;
  const index_t size = info.size;
  const index_t blocks = (end - begin + block - 1) / block;
  // (Two launches rather than a branch inside one kernel: nvcc refuses a device lambda that
  // first captures a variable inside an if constexpr.)
  if constexpr (host_memory) {
    detail::launch(exec_, detail::label::poisson, blocks, KOKKOS_LAMBDA(index_t b) {
          const index_t lo = begin + b * block, hi = lo + block < end ? lo + block : end;
          detail::poisson_block<Exec>(thr, seed, stream, lo, hi, begin, size, t, spikes, count);
        });
  } else {
    detail::launch(exec_, detail::label::poisson, blocks, KOKKOS_LAMBDA(index_t b) {
          const index_t lo = begin + b * block, hi = lo + block < end ? lo + block : end;
          for (index_t i = lo; i < hi; ++i)
            if (detail::bernoulli_fires(thr[i], seed, stream, i, begin, size, t)) spikes[detail::fetch_add<Exec>(count, 1)] = i;
        });
  }
}

template <class Exec>
inline void engine_impl<Exec>::update_poisson_gaps(const detail::population_info& info) {
  const index_t begin = info.begin, end = info.end, size = info.size;
  const double* q = inv_log_q_.data();
  std::int64_t* next = next_spike_.data();
  std::uint64_t* draws = draws_.data();
  index_t* spikes = spike_list_of(info);
  int* count = spike_counter_of(info);
  const std::uint64_t seed = net.seed;
  const auto stream = stream_id(kspike::stream::poisson_source, static_cast<std::uint32_t>(&info - pops_.data()));
  const step_t t = step;
  const index_t blocks = (end - begin + block - 1) / block;
  detail::launch(exec_, detail::label::poisson, blocks, KOKKOS_LAMBDA(index_t b) {
        const index_t lo = begin + b * block, hi = lo + block < end ? lo + block : end;
        for (index_t i = lo; i < hi; ++i) {
          if (next[i] != t) continue;
          spikes[detail::fetch_add<Exec>(count, 1)] = i;
          next[i] = detail::next_spike_after(q[i], seed, stream, i, begin, size, t, draws[i]);
        }
      });
}

template <class Exec>
inline void engine_impl<Exec>::emit_array_spikes(detail::population_info& info) {
  const std::size_t first = info.array_cursor;
  while (info.array_cursor < info.array_end && array_events_[info.array_cursor].first <= step) ++info.array_cursor;
  const auto n = static_cast<int>(info.array_cursor - first);
  if (n == 0) return;
  const int at = read_count();
  const index_t* ids = array_ids_.data() + first;
  index_t* spikes = spikes_.data();
  detail::launch(exec_, detail::label::spike_array, n,
      KOKKOS_LAMBDA(int k) { spikes[at + k] = ids[k]; });
  set_count(at + n);
}

template <class Exec>
inline void engine_impl<Exec>::propagate(int slot, int n_spikes) {
  const index_t* spikes = spikes_.data();
  const std::int64_t* row = row_ptr_.data();
  const index_t* target = target_.data();
  const std::uint16_t* delay = delay_.data();
  const float* weight = weight_.data();
  const std::size_t slot_cells = 2 * static_cast<std::size_t>(n_);
  // Sparse activity (most steps of most networks): list each cell on its first input, so
  // that delivery touches only those. Dense activity (last step's events could fill an
  // eighth of a slot): listing costs more than it saves, so add only, and let delivery scan
  // the slots written. A prediction from the previous step; either way the sums are exact.
  const bool dense = delivery_ == engine_options::delivery_mode::dense ||
                     (delivery_ == engine_options::delivery_mode::automatic &&
                      last_events_ * 8 > static_cast<std::uint64_t>(slot_cells));
  const ring_adder sparse_add = adder(slot, true), dense_add = adder(slot, false);
  std::int64_t events = 0, kind_events = 0;
  if (table_walk_at_arrival) {  // the table's rows wait for their delays (walk_arrivals); the kinds go now
    queue_flights(n_spikes);
    if (dense) std::fill(slot_dense_.begin(), slot_dense_.end(), 1);
    events += walk_kinds(dense ? dense_add : sparse_add);
    kind_events = events;
  } else if (dense) {
    std::fill(slot_dense_.begin(), slot_dense_.end(), 1);
    if (split_by_target_) {
      ring_adder own_add = dense_add;  // each thread owns its targets' cells: no atomics
      own_add.atomic = false;
      walk_rows_by_target(n_spikes, KOKKOS_LAMBDA(std::int64_t j) { own_add(delay[j], target[j], weight[j]); });
    } else {
      walk_rows(n_spikes, KOKKOS_LAMBDA(std::int64_t j) { dense_add(delay[j], target[j], weight[j]); });
    }
    events += walk_kinds(dense_add);
  } else {
    walk_rows(n_spikes, KOKKOS_LAMBDA(std::int64_t j) { sparse_add(delay[j], target[j], weight[j]); });
    events += walk_kinds(sparse_add);
  }
  // Events walked in the table: the row lengths of the neurons that fired.
  if constexpr (host_memory) {
    detail::wait(exec_);
    for (int k = 0; k < n_spikes; ++k) events += row[spikes[k] + 1] - row[spikes[k]];
  } else {
    std::int64_t table_events = 0;
    Kokkos::parallel_reduce(
        detail::label::count_events, Kokkos::RangePolicy<Exec>(exec_, 0, n_spikes),
        KOKKOS_LAMBDA(int k, std::int64_t& acc) { acc += row[spikes[k] + 1] - row[spikes[k]]; }, table_events);
    events += table_events;
  }
  stats.synaptic_events += static_cast<std::uint64_t>(events);
  // For the ring's next choice of mode: with the walk at arrival the table's events are not
  // the ring's (walk_arrivals chooses for its own buffer).
  last_events_ = static_cast<std::uint64_t>(table_walk_at_arrival ? kind_events : events);
}

template <class Exec>
inline auto engine_impl<Exec>::adder(int slot, bool list) -> ring_adder {
  return ring_adder{ring_.data(), dirty_.data(), dirty_count_.data(), slot, slots_,
                    2 * static_cast<std::size_t>(n_), static_cast<std::size_t>(dirty_capacity_), scale_, list};
}

template <class Exec>
inline void engine_impl<Exec>::deliver_arrivals(int slot) {
  const std::int64_t events = arrive(adder(slot, true));
  stats.synaptic_events += static_cast<std::uint64_t>(events);
  last_events_ += static_cast<std::uint64_t>(events);
}

template <class Exec>
template <class Event>
inline void engine_impl<Exec>::walk_rows(int n_spikes, const Event& event) {
  if (row_ptr_host_(static_cast<std::size_t>(n_)) == 0) return;  // every projection has a kind of its own
  const index_t* spikes = spikes_.data();
  const std::int64_t* row = row_ptr_.data();
  if constexpr (host_memory) {
    detail::launch(exec_, detail::label::propagate, n_spikes, KOKKOS_LAMBDA(int k) {
      const index_t pre = spikes[k];
      for (std::int64_t j = row[pre]; j < row[pre + 1]; ++j) event(j);
    });
  } else {
    using team = typename Kokkos::TeamPolicy<Exec>::member_type;
    Kokkos::parallel_for(
        detail::label::propagate, Kokkos::TeamPolicy<Exec>(exec_, n_spikes, Kokkos::AUTO),
        KOKKOS_LAMBDA(const team& m) {
          const index_t pre = spikes[m.league_rank()];
          Kokkos::parallel_for(Kokkos::TeamThreadRange(m, row[pre], row[pre + 1]), event);
        });
  }
}

template <class Exec>
template <class Event>
inline void engine_impl<Exec>::walk_rows_by_target(int n_spikes, const Event& event) {
  if (row_ptr_host_(static_cast<std::size_t>(n_)) == 0) return;
  const index_t* spikes = spikes_.data();
  const std::int64_t* row = row_ptr_.data();
  const std::uint32_t* split = row_split_.data();
  const std::int64_t parts = target_ranges_, inner = parts - 1;
  detail::launch(exec_, detail::label::propagate, parts, KOKKOS_LAMBDA(std::int64_t p) {
    for (int k = 0; k < n_spikes; ++k) {
      const auto range = detail::row_part(row, split, inner, spikes[k], p);
      for (std::int64_t j = range.first; j < range.second; ++j) event(j);
    }
  });
}

template <class Exec>
template <class Projection, class Add>
inline std::int64_t engine_impl<Exec>::walk_procedural(const Projection& p, const index_t* spikes, int n, const Add& add) {
  const detail::grid g = p.geometry;
  const bool conv = p.kind == projection_kind::conv;
  const float* w = p.weight.data();
  const index_t pre_begin = p.pre_begin, post_begin = p.post_begin, n_pre = p.n_pre, n_post = p.n_post;
  const std::int64_t ph = g.in_h / g.pool, pw = g.in_w / g.pool;
  const float scale = 1.0f / static_cast<float>(g.pool * g.pool);
  const std::int64_t k = g.kernel, taps = conv ? g.out_c * k * k : n_post;
  const std::int64_t cols = g.in_c * ph * pw;  // matrix: its columns (the pooled, flattened input)
  // Target r of a spike at pooled (c, py, px) in instance `base`: adds and returns 1 if reached.
  auto target = KOKKOS_LAMBDA(std::int64_t c, std::int64_t py, std::int64_t px, index_t base, std::int64_t r) -> int {
    if (!conv) {
      add(1, (base + static_cast<index_t>(r)) * 2, w[r * cols + (c * ph + py) * pw + px] * scale);
      return 1;
    }
    const std::int64_t co = r / (k * k), ky = (r / k) % k, kx = r % k;
    const std::int64_t oy = py + g.padding - ky, ox = px + g.padding - kx;
    if (oy < 0 || ox < 0 || oy % g.stride != 0 || ox % g.stride != 0) return 0;
    const std::int64_t y = oy / g.stride, x = ox / g.stride;
    if (y >= g.out_h || x >= g.out_w) return 0;
    add(1, (base + static_cast<index_t>((co * g.out_h + y) * g.out_w + x)) * 2, w[((co * g.in_c + c) * k + ky) * k + kx] * scale);
    return 1;
  };
  view<std::int64_t> reached = alloc_events_();
  std::int64_t* events = reached.data();
  auto one_spike = KOKKOS_LAMBDA(int s, std::int64_t& py, std::int64_t& px, std::int64_t& c, index_t& base) -> bool {
    const index_t rel = spikes[s] - pre_begin, inst = rel / n_pre, i = rel - inst * n_pre;
    c = i / (g.in_h * g.in_w);
    const std::int64_t y = (i / g.in_w) % g.in_h, x = i % g.in_w;
    py = y / g.pool;
    px = x / g.pool;
    base = post_begin + inst * n_post;
    return py < ph && px < pw;  // average pooling floors: the last rows and columns may drop out
  };
  if constexpr (host_memory) {
    detail::launch(exec_, detail::label::propagate_procedural, n, KOKKOS_LAMBDA(int s) {
      std::int64_t py, px, c;
      index_t base;
      if (!one_spike(s, py, px, c, base)) return;
      std::int64_t made = 0;
      for (std::int64_t r = 0; r < taps; ++r) made += target(c, py, px, base, r);
      detail::fetch_add<Exec>(events, made);
    });
  } else {
    using team = typename Kokkos::TeamPolicy<Exec>::member_type;
    Kokkos::parallel_for(
        detail::label::propagate_procedural, Kokkos::TeamPolicy<Exec>(exec_, n, Kokkos::AUTO), KOKKOS_LAMBDA(const team& m) {
          std::int64_t py, px, c;
          index_t base;
          if (!one_spike(m.league_rank(), py, px, c, base)) return;
          std::int64_t made = 0;
          Kokkos::parallel_reduce(
              Kokkos::TeamThreadRange(m, std::int64_t{0}, taps),
              [&](std::int64_t r, std::int64_t& acc) { acc += target(c, py, px, base, r); }, made);
          Kokkos::single(Kokkos::PerTeam(m), [&] { detail::fetch_add<Exec>(events, made); });
        });
  }
  return read_events_();
}

template <class Exec>
template <class Add>
inline std::int64_t engine_impl<Exec>::walk_kinds(const Add& add) {
  std::int64_t events = 0;
  for (const kind_projection& p : kinds_) {
    const int first = pop_spike_begin_[p.pre_population];
    const int n = pop_spike_end_[p.pre_population] - first;
    if (n == 0) continue;
    const index_t* spikes = spikes_.data() + first;
    const float* w = p.weight.data();
    const std::uint16_t* d = p.delay.data();
    const bool one_w = p.weight.extent(0) == 1, one_d = p.delay.extent(0) == 1;
    const index_t pre_begin = p.pre_begin, post_begin = p.post_begin, n_pre = p.n_pre, n_post = p.n_post;
    const std::size_t cells = p.cells;
    const int rec = p.receptor;
    if (p.kind == projection_kind::conv || p.kind == projection_kind::matrix) {
      events += walk_procedural(p, spikes, n, add);
      continue;
    }
    if (p.kind == projection_kind::one_to_one) {
      detail::launch(exec_, detail::label::propagate_one_to_one, n, KOKKOS_LAMBDA(int k) {
        const index_t rel = spikes[k] - pre_begin, inst = rel / n_pre, i = rel - inst * n_pre;
        const std::size_t at = static_cast<std::size_t>(inst) * cells + static_cast<std::size_t>(i);
        add(d[one_d ? 0 : at], (post_begin + inst * n_post + i) * 2 + rec, w[one_w ? 0 : at]);
      });
      events += n;
      continue;
    }
    // dense and all_but_self: the spike's row of the matrix (one weight and delay for all
    // in all_but_self), without the diagonal when self-connections are excluded.
    const bool skip = p.skip_self;
    if constexpr (host_memory) {
      detail::launch(exec_, detail::label::propagate_dense, n, [=](int k) {
        const index_t rel = spikes[k] - pre_begin, inst = rel / n_pre, i = rel - inst * n_pre;
        const std::size_t row = static_cast<std::size_t>(inst) * cells + static_cast<std::size_t>(i) * static_cast<std::size_t>(n_post);
        const index_t base = post_begin + inst * n_post;
        add.row(d + (one_d ? 0 : row), w + (one_w ? 0 : row), one_d, one_w, base * 2 + rec, n_post, skip ? i : -1);
      });
    } else {
      // Synapse (i, j) of instance inst: the row's values start at `row`, its targets at `base`.
      auto synapse = KOKKOS_LAMBDA(index_t i, index_t j, std::size_t row, index_t base) {
        if (skip && j == i) return;
        const std::size_t at = row + static_cast<std::size_t>(j);
        add(d[one_d ? 0 : at], (base + j) * 2 + rec, w[one_w ? 0 : at]);
      };
      using team = typename Kokkos::TeamPolicy<Exec>::member_type;
      Kokkos::parallel_for(
          detail::label::propagate_dense, Kokkos::TeamPolicy<Exec>(exec_, n, Kokkos::AUTO),
          KOKKOS_LAMBDA(const team& m) {
            const index_t rel = spikes[m.league_rank()] - pre_begin, inst = rel / n_pre, i = rel - inst * n_pre;
            const std::size_t row = static_cast<std::size_t>(inst) * cells + static_cast<std::size_t>(i) * static_cast<std::size_t>(n_post);
            const index_t base = post_begin + inst * n_post;
            Kokkos::parallel_for(Kokkos::TeamThreadRange(m, index_t{0}, n_post), [&](index_t j) { synapse(i, j, row, base); });
          });
    }
    events += static_cast<std::int64_t>(n) * (n_post - (skip ? 1 : 0));
  }
  return events;
}

template <class Exec>
inline void engine_impl<Exec>::record(int n_spikes) {
  if (!sink) return;
  if (n_spikes > 0) {
    if (spike_host_.size() < static_cast<std::size_t>(n_spikes)) spike_host_.resize(static_cast<std::size_t>(n_));
    if constexpr (host_memory) {
      std::copy(spikes_.data(), spikes_.data() + n_spikes, spike_host_.begin());
    } else {
      Kokkos::View<index_t*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> h(spike_host_.data(), n_spikes);
      Kokkos::deep_copy(h, Kokkos::subview(spikes_, std::make_pair(0, n_spikes)));
    }
    for (std::size_t pi = 0; pi < pops_.size(); ++pi)
      send_spikes(step, pi, static_cast<std::size_t>(pop_spike_begin_[pi]), static_cast<std::size_t>(pop_spike_end_[pi]));
  }
  for (std::size_t r = 0; r < probes_.size(); ++r) {
    auto& p = probes_[r];
    if ((step + 1) % p.every != 0) continue;
    const index_t* ids = p.ids.data();
    const real_t* src = p.source;
    real_t* dst = p.values.data();
    detail::launch(exec_, detail::label::probe, p.ids.extent(0),
        KOKKOS_LAMBDA(int k) { dst[k] = src[ids[k]]; });
    Kokkos::deep_copy(p.host, p.values);
    sink->state(step, r, p.host.data(), p.host.extent(0));
  }
}

}  // namespace kspike
