#pragma once
// The deferred and fused steps of the step schedule (engine_options::step_sync,
// docs/architecture.md "The deferred step"): the member functions of engine_impl that run
// them, declared in sim/engine_impl.hpp and defined here; that file includes this one at its end.
#include "sim/engine_impl.hpp"

namespace kspike {

template <class Exec>
inline void engine_impl<Exec>::build_fused() {
  std::vector<fused_population> pops;
  for (std::size_t pi = 0; pi < pops_.size(); ++pi) {
    const auto& info = pops_[pi];
    fused_population f;
    f.begin = info.begin;
    f.end = info.end;
    f.size = info.size;
    f.state_offset = info.state_offset;
    f.injected = info.has_current ? 1 : 0;
    f.stream = stream_id(kspike::stream::poisson_source, static_cast<std::uint32_t>(pi));
    f.background = background_of(info);
    if (info.type == detail::population_info::kind::poisson) {
      f.kind = info.gaps ? 2 : 1;
    } else {
      f.kind = 0;
      f.model = static_cast<int>(info.coeffs.index());
      neurons::with_model_at(info.coeffs.index(), [&](auto tag) {
        using M = typename decltype(tag)::type;
        static_assert(std::is_trivially_copyable<typename M::coeffs>::value, "coefficients are copied as bytes");
        const auto& c = std::get<typename M::coeffs>(info.coeffs);
        std::memcpy(f.coeffs, &c, sizeof c);
      });
    }
    pops.push_back(f);
  }
  fused_pops_ = to_device("fused_populations", pops);
  std::vector<kind_args> kinds;
  for (const kind_projection& p : kinds_) kinds.push_back(args_of(p));
  fused_kinds_ = to_device("fused_kinds", kinds);
}

template <class Exec>
inline step_t engine_impl<Exec>::fused_window(step_t left) const {
  step_t n = std::min(left, max_fused_window);
  if (current_cursor_ < current_events_.size() && current_events_[current_cursor_].step > step)
    n = std::min<step_t>(n, current_events_[current_cursor_].step - step);
  if (sink) n = std::min<step_t>(n, record_steps_ - rec_buffered_);
  return n;
}

template <class Exec>
inline void engine_impl<Exec>::run_fused(step_t steps) {
  using policy = Kokkos::TeamPolicy<Exec>;
  using member = typename policy::member_type;
  const step_t t0 = step;
  const index_t n = n_, cells = 2 * n_;
  const int slots = slots_, capacity = static_cast<int>(dirty_capacity_), npops = static_cast<int>(pops_.size());
  fixed_t* ring = ring_.data();
  index_t* dirty = dirty_.data();
  int* dirty_count = dirty_count_.data();
  const double inv = inv_scale_;
  const ring_adder add0 = adder(0, true);
  real_t *se = syn_e_.data(), *si = syn_i_.data(), *own = model_state_.data();
  const real_t* iext = i_ext_.data();
  std::int32_t* since = since_.data();
  index_t* spikes = spikes_.data();
  int* count = pop_count_.data();
  std::uint64_t *total = pop_total_.data(), *events = event_total_.data();
  const fused_population* pops = fused_pops_.data();
  const kind_args* kinds = fused_kinds_.data();
  const int nkinds = static_cast<int>(fused_kinds_.extent(0));
  const std::uint64_t* thr = poisson_threshold_.data();
  const double* q = inv_log_q_.data();
  std::int64_t* next = next_spike_.data();
  std::uint64_t* draws = draws_.data();
  const std::uint64_t seed = net.seed;
  const bool table = row_ptr_host_(static_cast<std::size_t>(n_)) != 0;
  const std::int64_t* row = row_ptr_.data();
  const index_t* target = target_.data();
  const std::uint16_t* delay = delay_.data();
  const float* weight = weight_.data();
  const bool rec = sink != nullptr;
  index_t* buffer = rec ? rec_buffer_.data() : nullptr;
  std::int64_t* fill = rec_fill_.data();
  int* rec_counts = rec_counts_.data() + rec_buffered_ * static_cast<std::int64_t>(npops);
  const index_t* begin = pop_begin_.data();
  auto kernel = KOKKOS_LAMBDA(const member& m) {
    std::uint64_t walked = 0;  // this thread's synaptic events, added to the total at the end
    for (step_t t = t0; t < t0 + steps; ++t) {
      const int slot = static_cast<int>(t % slots);
      if (t % flush_period == 0) {
        Kokkos::parallel_for(Kokkos::TeamThreadRange(m, n), [&](index_t i) {
          se[i] = neurons::flush_tiny(se[i]);
          si[i] = neurons::flush_tiny(si[i]);
        });
        m.team_barrier();
      }
      // Delivery of slot s, as deliver_deferred.
      {
        fixed_t* r = ring + static_cast<std::size_t>(slot) * static_cast<std::size_t>(cells);
        const index_t* list = dirty + static_cast<std::size_t>(slot) * static_cast<std::size_t>(capacity);
        const int listed = dirty_count[slot];
        if (listed <= capacity) {
          Kokkos::parallel_for(Kokkos::TeamThreadRange(m, listed), [&](int k) {
            const index_t cell = list[k];
            detail::deliver_cell(se, si, cell, detail::exchange<Exec>(r + cell, fixed_t{0}), inv);
          });
        } else {
          Kokkos::parallel_for(Kokkos::TeamThreadRange(m, cells), [&](index_t cell) {
            const fixed_t x = r[cell];
            r[cell] = 0;
            detail::deliver_cell(se, si, cell, x, inv);
          });
        }
        m.team_barrier();
        Kokkos::single(Kokkos::PerTeam(m), [&] { detail::close_step_counts(dirty_count + slot, count, total, npops); });
        m.team_barrier();
      }
      // Updates, population by population (independent: no barrier between them).
      for (int p = 0; p < npops; ++p) {
        const fused_population& f = pops[p];
        index_t* seg = spikes + f.begin;
        int* c = count + p;
        const index_t blocks = (f.end - f.begin + block - 1) / block;
        if (f.kind == 0) {
          background_adder bg = f.background;
          bg.t = static_cast<std::uint64_t>(t);
          detail::on_model_at(neurons::models{}, f.model, [&](auto tag) {
            using M = typename decltype(tag)::type;
            typename M::coeffs co;
            const unsigned char* from = f.coeffs;
            unsigned char* to = reinterpret_cast<unsigned char*>(&co);
            for (std::size_t b = 0; b < sizeof co; ++b) to[b] = from[b];
            Kokkos::parallel_for(Kokkos::TeamThreadRange(m, blocks), [&](index_t b) {
              update_block_of<M>(co, bg, f.injected != 0, own + f.state_offset, f.begin, f.end, b, se, si, since, iext, seg, c);
            });
          });
        } else {
          Kokkos::parallel_for(Kokkos::TeamThreadRange(m, f.begin, f.end), [&](index_t i) {
            if (f.kind == 1) {
              if (detail::bernoulli_fires(thr[i], seed, f.stream, i, f.begin, f.size, t)) seg[detail::fetch_add<Exec>(c, 1)] = i;
            } else if (next[i] == t) {
              seg[detail::fetch_add<Exec>(c, 1)] = i;
              next[i] = detail::next_spike_after(q[i], seed, f.stream, i, f.begin, f.size, t, draws[i]);
            }
          });
        }
      }
      m.team_barrier();
      // Propagation: each spike's row (the table), then the projections of their own kinds.
      ring_adder add = add0;
      add.slot = slot;
      if (table)
        for (int p = 0; p < npops; ++p)
          Kokkos::parallel_for(Kokkos::TeamThreadRange(m, count[p]), [&](int k) {
            const index_t pre = spikes[pops[p].begin + k];
            for (std::int64_t j = row[pre]; j < row[pre + 1]; ++j) add(delay[j], target[j], weight[j]);
            walked += static_cast<std::uint64_t>(row[pre + 1] - row[pre]);
          });
      for (int kp = 0; kp < nkinds; ++kp) {
        const kind_args& pk = kinds[kp];
        const int fired = count[pk.pre_population];
        const index_t* first = spikes + pops[pk.pre_population].begin;
        const std::int64_t per_spike = pk.per_spike();
        Kokkos::parallel_for(Kokkos::TeamThreadRange(m, std::int64_t{fired} * per_spike), [&](std::int64_t kj) {
          pk.synapse(first[kj / per_spike], static_cast<index_t>(kj % per_spike), add);
        });
        if (m.team_rank() == 0) walked += static_cast<std::uint64_t>(fired) * pk.events_per_spike();
      }
      if (rec) detail::record_step(m, spikes, begin, count, npops, buffer, fill, rec_counts + (t - t0) * npops);
      m.team_barrier();
    }
    if (walked > 0) detail::fetch_add<Exec>(events, walked);
  };
  const int most = policy(exec_, 1, 1).team_size_max(kernel, Kokkos::ParallelForTag());
  Kokkos::parallel_for(detail::label::fused, policy(exec_, 1, std::max(1, std::min(most, 1024))), kernel);
}

template <class Exec>
inline std::string engine_impl<Exec>::deferred_obstacle() const {
  if (!rules_.empty() || history_slots_ > 0) return "plastic projections";
  if (!probes_.empty()) return "state recorders";
  for (const auto& info : pops_)
    if (info.type == detail::population_info::kind::spike_array) return "spike-array populations";
  for (const auto& p : kinds_)
    if (p.kind == projection_kind::conv || p.kind == projection_kind::matrix) return "convolution or matrix projections";
  return "";
}

template <class Exec>
inline void engine_impl<Exec>::choose_step_sync(engine_options::step_sync_kind sync) {
  using kind = engine_options::step_sync_kind;
  const std::string obstacle = deferred_obstacle();
  if ((sync == kind::deferred || sync == kind::fused) && !obstacle.empty())
    throw error((net.source.empty() ? std::string("network") : net.source) + ": step_sync " +
                (sync == kind::fused ? "fused" : "deferred") + " (kspike run --step-sync): the network has " + obstacle +
                ", which need the host every step");
  // On a GPU: one launch per window for small networks (provisional size: not yet timed).
  const bool small = n_ <= fused_neuron_limit;
  fused_ = sync == kind::fused || (sync == kind::automatic && !host_memory && obstacle.empty() && small);
  deferred_ = fused_ || sync == kind::deferred || (sync == kind::automatic && !host_memory && obstacle.empty());
  if (!deferred_) return;
  const auto pops = pops_.size();
  pop_count_ = alloc<int>("pop_spike_count", pops);
  pop_total_ = alloc<std::uint64_t>("pop_spike_total", pops);
  event_total_ = alloc<std::uint64_t>("event_total", 1);
  std::vector<index_t> begins;
  for (const auto& info : pops_) begins.push_back(info.begin);
  pop_begin_ = to_device("pop_begin", begins);
  // Enough teams to fill the device; on a CPU, one per thread.
  const auto threads = static_cast<std::int64_t>(exec_.concurrency());
  stride_teams_ = host_memory ? std::max<std::int64_t>(1, threads) : std::max<std::int64_t>(1, threads / 128);
  // The record buffer holds record_steps_ steps of every neuron firing: it cannot overflow.
  // 16 MB of spike ids at most, between 1 and 256 steps.
  record_steps_ = std::clamp<std::int64_t>((std::int64_t{4} << 20) / std::max<std::int64_t>(1, n_), 1, 256);
  rec_buffer_ = alloc<index_t>("record_buffer", static_cast<std::size_t>(record_steps_ * n_));
  rec_counts_ = alloc<int>("record_counts", static_cast<std::size_t>(record_steps_) * pops);
  rec_fill_ = alloc<std::int64_t>("record_fill", 1);
  if (fused_) build_fused();
}

template <class Exec>
inline void engine_impl<Exec>::advance_deferred() {
  const int slot = static_cast<int>(step % slots_);
  if (step % flush_period == 0) flush_synapses();
  deliver_deferred(slot);
  begin_step_deferred(dirty_count_.data() + slot);
  apply_currents();
  for (auto& info : pops_) update_population(info);
  propagate_deferred(slot);
  if (sink) record_deferred();
  ++step;
  ++stats.steps;
}

template <class Exec>
inline void engine_impl<Exec>::deliver_deferred(int slot) {
  fixed_t* ring = ring_.data() + static_cast<std::size_t>(slot) * 2 * static_cast<std::size_t>(n_);
  real_t* se = syn_e_.data();
  real_t* si = syn_i_.data();
  const double inv = inv_scale_;
  const index_t* list = dirty_.data() + static_cast<std::size_t>(slot) * static_cast<std::size_t>(dirty_capacity_);
  const int* listed = dirty_count_.data() + slot;
  const int capacity = static_cast<int>(dirty_capacity_);
  detail::launch(exec_, detail::label::deliver, 2 * n_, KOKKOS_LAMBDA(index_t idx) {
    const int n = *listed;
    index_t cell = idx;
    fixed_t x = 0;
    if (n <= capacity) {
      if (idx >= n) return;
      cell = list[idx];
      x = detail::exchange<Exec>(ring + cell, fixed_t{0});
    } else {
      x = ring[cell];
      ring[cell] = 0;
    }
    detail::deliver_cell(se, si, cell, x, inv);
  });
}

template <class Exec>
inline void engine_impl<Exec>::begin_step_deferred(int* listed) {
  int* count = pop_count_.data();
  std::uint64_t* total = pop_total_.data();
  const auto pops = static_cast<int>(pops_.size());
  detail::launch(exec_, detail::label::step_begin, 1,
                 KOKKOS_LAMBDA(index_t) { detail::close_step_counts(listed, count, total, pops); });
}

template <class Exec>
inline void engine_impl<Exec>::propagate_deferred(int slot) {
  using policy = Kokkos::TeamPolicy<Exec>;
  using team = typename policy::member_type;
  const ring_adder add = adder(slot, true);
  const index_t* spikes = spikes_.data();
  const int* count = pop_count_.data();
  const index_t* begin = pop_begin_.data();
  std::uint64_t* events = event_total_.data();
  const std::int64_t teams = stride_teams_;
  const auto pops = static_cast<int>(pops_.size());
  if (row_ptr_host_(static_cast<std::size_t>(n_)) != 0) {
    const std::int64_t* row = row_ptr_.data();
    const index_t* target = target_.data();
    const std::uint16_t* delay = delay_.data();
    const float* weight = weight_.data();
    Kokkos::parallel_for(
        detail::label::propagate, policy(exec_, teams, Kokkos::AUTO), KOKKOS_LAMBDA(const team& m) {
          std::uint64_t walked = 0;
          for (int p = 0; p < pops; ++p)
            for (std::int64_t k = m.league_rank(); k < count[p]; k += teams) {
              const index_t pre = spikes[begin[p] + k];
              Kokkos::parallel_for(Kokkos::TeamThreadRange(m, row[pre], row[pre + 1]),
                                   [&](std::int64_t j) { add(delay[j], target[j], weight[j]); });
              walked += static_cast<std::uint64_t>(row[pre + 1] - row[pre]);
            }
          if (walked > 0) Kokkos::single(Kokkos::PerTeam(m), [&] { detail::fetch_add<Exec>(events, walked); });
        });
  }
  for (const kind_projection& p : kinds_) {
    const kind_args pk = args_of(p);
    const int* n_spikes = count + p.pre_population;
    const index_t* first = spikes + pops_[p.pre_population].begin;
    Kokkos::parallel_for(
        detail::label::propagate_dense, policy(exec_, teams, Kokkos::AUTO), KOKKOS_LAMBDA(const team& m) {
          const int n = *n_spikes;
          for (std::int64_t k = m.league_rank(); k < n; k += teams)
            Kokkos::parallel_for(Kokkos::TeamThreadRange(m, index_t{0}, static_cast<index_t>(pk.per_spike())),
                                 [&](index_t j) { pk.synapse(first[k], j, add); });
          if (m.league_rank() == 0 && n > 0)
            Kokkos::single(Kokkos::PerTeam(m), [&] { detail::fetch_add<Exec>(events, static_cast<std::uint64_t>(n) * pk.events_per_spike()); });
        });
  }
}

template <class Exec>
inline void engine_impl<Exec>::record_deferred() {
  using policy = Kokkos::TeamPolicy<Exec>;
  using team = typename policy::member_type;
  const index_t* spikes = spikes_.data();
  const int* count = pop_count_.data();
  const index_t* begin = pop_begin_.data();
  index_t* buffer = rec_buffer_.data();
  std::int64_t* fill = rec_fill_.data();
  int* counts = rec_counts_.data() + rec_buffered_ * static_cast<std::int64_t>(pops_.size());
  const auto pops = static_cast<int>(pops_.size());
  Kokkos::parallel_for(
      detail::label::record, policy(exec_, 1, Kokkos::AUTO),
      KOKKOS_LAMBDA(const team& m) { detail::record_step(m, spikes, begin, count, pops, buffer, fill, counts); });
  if (++rec_buffered_ == record_steps_) flush_records(step);
}

template <class Exec>
inline void engine_impl<Exec>::flush_records(step_t last) {
  if (rec_buffered_ == 0) return;
  const auto pops = pops_.size();
  auto fill = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), rec_fill_);
  auto counts = Kokkos::create_mirror_view_and_copy(
      Kokkos::HostSpace(), Kokkos::subview(rec_counts_, std::make_pair(std::size_t{0}, static_cast<std::size_t>(rec_buffered_) * pops)));
  const auto n = static_cast<std::size_t>(fill(0));
  if (spike_host_.size() < n) spike_host_.resize(n);
  Kokkos::View<index_t*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> h(spike_host_.data(), n);
  Kokkos::deep_copy(h, Kokkos::subview(rec_buffer_, std::make_pair(std::size_t{0}, n)));
  std::size_t at = 0;
  const step_t first = last + 1 - rec_buffered_;
  for (std::int64_t s = 0; s < rec_buffered_; ++s)
    for (std::size_t pi = 0; pi < pops; ++pi) {
      const auto c = static_cast<std::size_t>(counts(static_cast<std::size_t>(s) * pops + pi));
      send_spikes(first + s, pi, at, at + c);
      at += c;
    }
  rec_buffered_ = 0;
  Kokkos::deep_copy(rec_fill_, 0);
}

template <class Exec>
inline void engine_impl<Exec>::read_deferred_stats() {
  begin_step_deferred(nullptr);  // adds the last step's counts (the lists stay: they hold what is in flight)
  auto total = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), pop_total_);
  auto events = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), event_total_);
  for (std::size_t pi = 0; pi < pops_.size(); ++pi) stats.spikes[pi] += total(pi);
  stats.synaptic_events += events(0);
  Kokkos::deep_copy(pop_total_, 0);
  Kokkos::deep_copy(event_total_, 0);
}

}  // namespace kspike
