#pragma once
// The window schedule's second kernel: one team of threads per instance, the instance's
// neurons, inputs and synapse events of each step shared among the team's threads. It is the
// kernel for a GPU, where one thread per instance (sim/window_engine_impl.hpp) leaves the card
// almost idle; on a CPU a team is one or two threads and the one-thread kernel is faster.
//
// It computes the same spikes, bit for bit, as the one-thread kernel. Every float a step
// changes is owned by one thread for that phase, and every sum into one variable is made in
// the one-thread kernel's order:
//   - neuron updates are independent per neuron;
//   - g_e of a target receives the step's arriving input synapses in the order of the slot's
//     event records (the one-thread kernel walks them in that order). A record is one input's
//     run of synapses of one delay, so a target appears in a record at most once: the team
//     tags each arriving synapse with its record's index, puts it in its target's short list
//     (an atomic counter picks the place, so the list is unordered), and the target's thread
//     sorts its list by record index before it adds. A target with more events in a step than
//     its list holds walks the step's records instead, in order, picking out its synapse by
//     column (col_syn): slower, the same sums;
//   - a learning arrival updates its own synapse, read before it is changed, as before;
//   - an excitatory spike's STDP touches its own column of synapses only;
//   - g_i of every excitatory neuron receives the step's inhibitory spikes in the order of the
//     fired list, which a team scan builds in ascending neuron order, as the one-thread loop
//     finds them;
//   - records are appended to the ring slots in input order: one thread per delay appends the
//     step's fired inputs, ascending, to its slot.
// The phases are separated by team barriers.
#include <Kokkos_Core.hpp>

#include <cstdint>

#include "learning/stdp.hpp"
#include "sim/window_common.hpp"

namespace kspike::window_detail {

// The team kernel's own scratch arrays, per instance at instance 0.
struct window_team_scratch {
  std::int32_t *fired_e, *fired_i;  // n_exc each: this step's spikes, ascending
  std::int32_t* fired_in;           // n_input: this step's input spikes, ascending
  std::int32_t* count;              // n_exc: arriving synapses per target this step (0 between steps)
  std::uint64_t* list;              // n_exc * list_cap: (record << 32) | synapse, per target
  std::int64_t list_cap;
};

// Writes into `out`, in ascending order, the neurons j < n with since[j] == 0.
template <class Member>
KOKKOS_INLINE_FUNCTION void team_fired_list(const Member& team, const std::int32_t* since, std::int64_t n,
                                            std::int32_t* out) {
  Kokkos::parallel_scan(Kokkos::TeamThreadRange(team, n), [&](const std::int64_t j, int& before, const bool final) {
    if (since[j] != 0) return;
    if (final) out[before] = static_cast<std::int32_t>(j);
    ++before;
  });
}

// Sorts x[0..n) ascending (n is a target's events in one step: a few dozen at most).
KOKKOS_INLINE_FUNCTION void insertion_sort(std::uint64_t* x, std::int32_t n) {
  for (std::int32_t a = 1; a < n; ++a) {
    const std::uint64_t v = x[a];
    std::int32_t b = a;
    for (; b > 0 && x[b - 1] > v; --b) x[b] = x[b - 1];
    x[b] = v;
  }
}

template <class Exec>
void run_window_teams(const window_args& a, const window_team_scratch& s, int team_size) {
  using policy = Kokkos::TeamPolicy<Exec>;
  using member = typename policy::member_type;
  const policy teams = team_size > 0 ? policy(a.instances, team_size) : policy(a.instances, Kokkos::AUTO);
  Kokkos::parallel_for(
      "kspike::window_teams", teams, KOKKOS_LAMBDA(const member& team) {
        constexpr int H = history;
        constexpr std::uint64_t len_mask = (std::uint64_t{1} << run_bits) - 1;
        const std::int64_t m = team.league_rank();
        const std::int64_t I = a.n_input, N = a.n_exc, B = a.buckets, cap = a.slot_cap, lcap = s.list_cap;
        const std::int64_t o = m * N, oi = m * I;
        real_t *v = a.v_e + o, *ge = a.ge_e + o, *gi = a.gi_e + o, *th = a.th_e + o;
        real_t *vi = a.v_i + o, *gei = a.ge_i + o, *gii = a.gi_i + o, *thi = a.th_i + o;
        std::int32_t *se = a.since_e + o, *si = a.since_i + o;
        std::int64_t* tp = a.t_post + o;
        float* p1 = a.post1 + o;
        std::int64_t* nx = a.next + oi;
        std::uint64_t* dr = a.draws + oi;
        std::int64_t* hs = a.hist + oi * H;
        std::uint32_t* hn = a.hist_n + oi;
        const double* ilq = a.inv_log_q + oi;
        std::uint64_t* ev = a.events + m * a.slots * cap;
        std::int32_t* evn = a.event_n + m * a.slots;
        float* wm = a.w + m * I * N;
        std::int32_t *fe = s.fired_e + o, *fi = s.fired_i + o, *fin = s.fired_in + oi, *cnt = s.count + o;
        std::uint64_t* lists = s.list + o * lcap;
        const std::uint32_t stream = a.streams[m];
        if (a.redraw)
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, I), [&](const std::int64_t i) {
            nx[i] = ilq[i] > 0 ? no_spike : a.t0 + geometric_gap(ilq[i], a.seed, stream, static_cast<std::uint32_t>(i), dr[i]++);
          });
        // Every thread keeps the same counts: each is a team-wide result (a reduction or the
        // bound of a scan) that every thread receives.
        std::int64_t n_in_rec = a.in_rec_n[m], n_e_rec = a.rec_e_n[m], n_i_rec = a.rec_i_n[m];
        std::uint64_t inputs_fired = 0, input_events = 0, exc_fired = 0, inh_fired = 0;
        team.team_barrier();
        for (std::int64_t t = a.t0; t < a.t_end; ++t) {
          // 1-2. Flush (every 16 steps), post trace, both neuron updates; counts of spikes
          //      packed as exc + 8192 * inh (n <= 4096).
          const bool flush_now = t % 16 == 0;
          int packed = 0;
          Kokkos::parallel_reduce(
              Kokkos::TeamThreadRange(team, N),
              [&](const std::int64_t j, int& fired) {
                if (flush_now) {
                  ge[j] = neurons::flush_tiny(ge[j]);
                  gi[j] = neurons::flush_tiny(gi[j]);
                  gei[j] = neurons::flush_tiny(gei[j]);
                  gii[j] = neurons::flush_tiny(gii[j]);
                  if (a.learn) p1[j] = neurons::flush_tiny(p1[j]);
                }
                if (a.learn) p1[j] *= a.decay1;
                neurons::adaptive_lif::state x{v[j], ge[j], gi[j], th[j], se[j]};
                if (a.adapt)
                  neurons::adaptive_lif::step_with<neurons::integrator::euler, neurons::theta_rule::jumps_only>(a.ce, x);
                else
                  neurons::adaptive_lif::step_with<neurons::integrator::euler, neurons::theta_rule::frozen>(a.ce, x);
                v[j] = x.v;
                ge[j] = x.syn_e;
                gi[j] = x.syn_i;
                if (a.adapt) th[j] = x.theta;
                se[j] = x.since;
                neurons::adaptive_lif::state y{vi[j], gei[j], gii[j], thi[j], si[j]};
                neurons::adaptive_lif::step_with<neurons::integrator::euler, neurons::theta_rule::frozen>(a.ci, y);
                vi[j] = y.v;
                gei[j] = y.syn_e;
                gii[j] = y.syn_i;
                si[j] = y.since;
                fired += (x.since == 0 ? 1 : 0) + (y.since == 0 ? 8192 : 0);
              },
              packed);
          const int ne = packed % 8192, ni = packed / 8192;
          team.team_barrier();
          if (ne > 0) team_fired_list(team, se, N, fe);
          if (ni > 0) team_fired_list(team, si, N, fi);
          if (ne > 0 || ni > 0) team.team_barrier();

          // 3. Poisson inputs due now, in input order.
          int nin = 0;
          Kokkos::parallel_reduce(
              Kokkos::TeamThreadRange(team, I), [&](const std::int64_t i, int& due) { due += nx[i] == t ? 1 : 0; }, nin);
          if (nin > 0) {
            Kokkos::parallel_scan(Kokkos::TeamThreadRange(team, I), [&](const std::int64_t i, int& before, const bool final) {
              if (nx[i] != t) return;
              if (final) fin[before] = static_cast<std::int32_t>(i);
              ++before;
            });
            team.team_barrier();
            // Record, remember for the pre trace, draw the next spike: per input.
            Kokkos::parallel_for(Kokkos::TeamThreadRange(team, nin), [&](const int k) {
              const std::int64_t i = fin[k];
              if (a.rec_in) {
                const std::int64_t r = n_in_rec + k;
                if (r < a.in_rec_cap) a.in_rec[m * a.in_rec_cap + r] = window_spike{t, static_cast<std::int32_t>(i)};
              }
              hs[i * H + hn[i] % H] = t;
              ++hn[i];
              const std::int64_t gap = geometric_gap(ilq[i], a.seed, stream, static_cast<std::uint32_t>(i), dr[i]++);
              nx[i] = gap >= no_spike ? no_spike : t + 1 + gap;
            });
            // Scatter the rows into the arrival lists: one thread per delay, inputs ascending.
            Kokkos::parallel_for(Kokkos::TeamThreadRange(team, B - 1), [&](const std::int64_t d) {
              const std::int64_t slot = (t + d) & (a.slots - 1);
              for (int k = 0; k < nin; ++k) {
                const std::int64_t i = fin[k];
                const std::uint64_t first = a.bucket[i * B + d], len = a.bucket[i * B + d + 1] - first;
                if (len == 0) continue;
                const std::int32_t at = evn[slot]++;
                if (at < cap) ev[slot * cap + at] = ((static_cast<std::uint64_t>(i * N) + first) << run_bits) | len;
              }
            });
            n_in_rec += nin;
            inputs_fired += static_cast<std::uint64_t>(nin);
            team.team_barrier();
          }

          // 4. Input synapses arriving now: g_e += w, then (learning) w += a_post * post1.
          {
            const std::int64_t slot = t & (a.slots - 1);
            const std::int32_t n = evn[slot];
            if (n > 0) {
              const std::int32_t n_runs = n < cap ? n : static_cast<std::int32_t>(cap);
              const std::uint64_t* records = ev + slot * cap;
              if (n > cap) Kokkos::single(Kokkos::PerTeam(team), [&]() { a.status[m] = 1; });
              std::int64_t arriving = 0;
              Kokkos::parallel_reduce(
                  Kokkos::TeamThreadRange(team, n_runs),
                  [&](const std::int32_t k, std::int64_t& synapses) {
                    const auto first = static_cast<std::uint32_t>(records[k] >> run_bits);
                    const auto len = static_cast<std::uint32_t>(records[k] & len_mask);
                    for (std::uint32_t u = 0; u < len; ++u) {
                      const std::uint32_t q = first + u;
                      const std::int32_t j = a.tgt[q];
                      const std::int32_t at = Kokkos::atomic_fetch_add(&cnt[j], 1);
                      if (at < lcap) lists[j * lcap + at] = (static_cast<std::uint64_t>(k) << 32) | q;
                    }
                    synapses += len;
                  },
                  arriving);
              team.team_barrier();
              Kokkos::parallel_for(Kokkos::TeamThreadRange(team, N), [&](const std::int64_t j) {
                const std::int32_t c = cnt[j];
                if (c == 0) return;
                cnt[j] = 0;
                const auto arrive = [&](const std::uint32_t q) {
                  const float x = wm[q];
                  ge[j] += x;
                  if (a.learn) wm[q] = learning::clip_weight(x + a.a_post * p1[j], a.w_lo, a.w_hi);
                };
                if (c <= lcap) {
                  std::uint64_t* mine = lists + j * lcap;
                  insertion_sort(mine, c);
                  for (std::int32_t r = 0; r < c; ++r) arrive(static_cast<std::uint32_t>(mine[r]));
                } else {  // more than the list holds: walk the records in order
                  for (std::int32_t k = 0; k < n_runs; ++k) {
                    const auto first = static_cast<std::int64_t>(records[k] >> run_bits);
                    const auto len = static_cast<std::int64_t>(records[k] & len_mask);
                    const std::int64_t q = a.col_syn[j * I + first / N];
                    if (q >= first && q < first + len) arrive(static_cast<std::uint32_t>(q));
                  }
                }
              });
              input_events += static_cast<std::uint64_t>(arriving);
              team.team_barrier();
              Kokkos::single(Kokkos::PerTeam(team), [&]() { evn[slot] = 0; });
            }
          }

          // 5. Excitatory spikes: record, STDP on their input column, excite the partner.
          if (ne > 0) {
            if (a.rec_e)
              Kokkos::parallel_for(Kokkos::TeamThreadRange(team, ne), [&](const int k) {
                const std::int64_t r = n_e_rec + k;
                if (r < a.rec_e_cap) a.rec_e_buf[m * a.rec_e_cap + r] = window_spike{t, fe[k]};
              });
            if (a.learn) {
              Kokkos::parallel_for(Kokkos::TeamThreadRange(team, ne * I), [&](const std::int64_t ki) {
                const std::int64_t j = fe[ki / I], i = ki % I;
                const float post2_before = learning::trace_at(a.tab_post2, a.len_post2, t - tp[j]);
                bool lost = false;
                const float pre = pre_trace_at(hs + i * H, hn[i], t - a.col_delay[j * I + i], a.tab_pre, a.len_pre, lost);
                if (lost) Kokkos::atomic_exchange(&a.status[m], 2);  // 16 spikes within one max delay
                float& x = wm[a.col_syn[j * I + i]];
                x = learning::clip_weight(x + a.a_pre * pre * post2_before, a.w_lo, a.w_hi);
              });
              team.team_barrier();
            }
            Kokkos::parallel_for(Kokkos::TeamThreadRange(team, ne), [&](const int k) {
              const std::int64_t j = fe[k];
              if (a.learn) p1[j] = 1.0f;
              tp[j] = t;
              gei[j] += a.w_ei;
            });
            n_e_rec += ne;
            exc_fired += static_cast<std::uint64_t>(ne);
          }

          // 6. Inhibitory spikes: every excitatory neuron but the partner, spikes in order.
          if (ni > 0) {
            if (a.rec_i)
              Kokkos::parallel_for(Kokkos::TeamThreadRange(team, ni), [&](const int k) {
                const std::int64_t r = n_i_rec + k;
                if (r < a.rec_i_cap) a.rec_i_buf[m * a.rec_i_cap + r] = window_spike{t, fi[k]};
              });
            Kokkos::parallel_for(Kokkos::TeamThreadRange(team, N), [&](const std::int64_t x) {
              real_t g = gi[x];
              for (int k = 0; k < ni; ++k) g += x == fi[k] ? real_t(0) : a.w_ie;
              gi[x] = g;
            });
            n_i_rec += ni;
            inh_fired += static_cast<std::uint64_t>(ni);
          }
          team.team_barrier();
        }
        Kokkos::single(Kokkos::PerTeam(team), [&]() {
          std::uint64_t* act = a.activity + m * activity_fields;
          act[0] += static_cast<std::uint64_t>(a.t_end - a.t0);
          act[1] += inputs_fired;
          act[2] += input_events + exc_fired + inh_fired * static_cast<std::uint64_t>(N - 1);
          act[3] += exc_fired;
          act[4] += inh_fired;
          a.in_rec_n[m] = n_in_rec;
          a.rec_e_n[m] = n_e_rec;
          a.rec_i_n[m] = n_i_rec;
        });
        if (a.adapt)
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, N), [&](const std::int64_t j) {
            th[j] = static_cast<real_t>(static_cast<double>(th[j]) * a.theta_decay);
          });
      });
  Kokkos::fence();
}

}  // namespace kspike::window_detail
