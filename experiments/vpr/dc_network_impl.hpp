#pragma once
// Kernels of the batched Diehl & Cook network (dc_network.hpp), written once for every Kokkos
// execution space and instantiated in dc_network.cpp. One work item runs one module through a
// whole window of steps, so no synchronisation is needed inside the window and a module's
// arithmetic never depends on which thread runs it.
//
// Input synapses are stored row by row (input i), each row sorted by delay; `bucket[i][d]` is
// where the synapses of delay d start. When input i fires at step t, each non-empty delay run
// of its row is appended, as one packed (first synapse, length) record, to the event list of
// its arrival step t + d (a ring of per-step lists). Each step then unpacks the records that
// arrive now into a flat list of synapse indices, in record order, and delivers that list in
// one loop: runs are 4 synapses on average, and a loop per run would mispredict its exit on
// most of them. Work per step is O(neurons + inputs + events). A post-synaptic update reads a
// column through `col_syn` (neuron, input) -> synapse: rare (tens of excitatory spikes per
// image).
#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "experiments/vpr/dc_network.hpp"
#include "sim/core/error.hpp"
#include "sim/core/rng.hpp"
#include "sim/core/scalar_types.hpp"

namespace kspike::vpr {

class dc_batch_base {
 public:
  virtual ~dc_batch_base() = default;
  virtual void redraw_delays(std::uint32_t phase) = 0;
  virtual void normalise_weights() = 0;
  virtual void set_rates(const std::vector<std::vector<double>>& rates) = 0;
  virtual void run(std::int64_t steps, bool count, bool record) = 0;
  virtual std::vector<std::vector<std::int32_t>> take_counts() = 0;
  virtual std::vector<dc_activity> take_activity() = 0;
  virtual std::vector<float> weights(std::size_t m) const = 0;
  virtual void set_weights(std::size_t m, const std::vector<float>& w) = 0;
  virtual std::vector<float> theta(std::size_t m) const = 0;
  virtual void set_theta(std::size_t m, const std::vector<float>& t) = 0;

  dc_params params;
  std::vector<dc_module_key> keys;
  std::uint64_t seed = 0;
  std::string backend;
  bool learning = true;
  bool record_inputs = false;
  std::int64_t step = 0;
  std::vector<std::int32_t> delay_host;  // [i * n_e + j], Brian2 steps
  std::vector<std::vector<dc_spike>> spikes, input_spikes;
};

namespace dc_detail {

// RNG streams of this network (registered in sim/core/rng.hpp).
constexpr std::uint32_t stream_weight = stream_id(stream::vpr_weight);
constexpr std::uint32_t stream_delay = stream_id(stream::vpr_delay);  // + phase
constexpr std::uint32_t stream_input = stream_id(stream::vpr_input);  // + module key

constexpr int history = 16;  // input spike times kept per input (for the pre trace)
constexpr int run_bits = 16;     // an event record packs (first synapse << 16) | run length
constexpr int append_width = 8;  // synapses every unpacked run writes at once (see append_run)
constexpr std::int64_t never = -(std::int64_t{1} << 60);
constexpr std::int64_t no_spike = std::int64_t{1} << 62;

// Steps to the next spike of a Bernoulli(p) process per step, counted from the current step
// (0 = this step), with inv_log_q = 1 / log(1 - p): a geometric draw by inversion. The same
// process as drawing every step (Brian2's PoissonGroup), at one draw per spike.
KOKKOS_INLINE_FUNCTION std::int64_t geometric_gap(double inv_log_q, std::uint64_t seed, std::uint32_t stream,
                                                  std::uint32_t input, std::uint64_t draw) {
  if (inv_log_q == 0) return 0;           // p >= 1: every step
  const double u = 1.0 - uniform01(philox4x32(seed, stream, input, draw));  // (0, 1]
  const double g = kmath::log(u) * inv_log_q;
  return g < 1e15 ? static_cast<std::int64_t>(g) : no_spike;  // g >= 0: the cast floors
}

// The neuron loop: adaptive_lif's Euler step over n neurons, restrict-qualified, with the
// integrator and the theta rule fixed at compile time so that it vectorises without selects
// on either (theta jumps at spikes while learning, its decay applied once per window; frozen
// at test time and for the inhibitory neurons). Returns how many fired.
template <neurons::theta_rule rule>
KOKKOS_INLINE_FUNCTION int update_euler(const neurons::adaptive_lif::coeffs& coeffs, real_t* KOKKOS_RESTRICT v,
                                        real_t* KOKKOS_RESTRICT ge, real_t* KOKKOS_RESTRICT gi,
                                        real_t* KOKKOS_RESTRICT th, std::int32_t* KOKKOS_RESTRICT since,
                                        std::int64_t n) {
  const neurons::adaptive_lif::coeffs c = coeffs;  // a local copy: the stores below cannot alias it
  int fired = 0;
  for (std::int64_t j = 0; j < n; ++j) {
    neurons::adaptive_lif::state s{v[j], ge[j], gi[j], th[j], since[j]};
    neurons::adaptive_lif::step_with<neurons::integrator::euler, rule>(c, s);
    v[j] = s.v;
    ge[j] = s.syn_e;
    gi[j] = s.syn_i;
    if (rule != neurons::theta_rule::frozen) th[j] = s.theta;
    since[j] = s.since;
    fired += s.since == 0;
  }
  return fired;
}

KOKKOS_INLINE_FUNCTION bool any_due(const std::int64_t* KOKKOS_RESTRICT next, std::int64_t n, std::int64_t t) {
  int due = 0;
  for (std::int64_t k = 0; k < n; ++k) due |= next[k] == t;
  return due != 0;
}

KOKKOS_INLINE_FUNCTION void scale(float* KOKKOS_RESTRICT x, std::int64_t n, float f) {
  for (std::int64_t j = 0; j < n; ++j) x[j] *= f;
}

KOKKOS_INLINE_FUNCTION void flush(real_t* KOKKOS_RESTRICT x, std::int64_t n) {
  for (std::int64_t j = 0; j < n; ++j) x[j] = neurons::flush_tiny(x[j]);
}

KOKKOS_INLINE_FUNCTION void add_all_but(real_t* KOKKOS_RESTRICT x, std::int64_t n, std::int64_t skip, real_t w) {
  for (std::int64_t j = 0; j < n; ++j) x[j] += j == skip ? real_t(0) : w;
}

// Appends synapses first .. first + len - 1 to a list, append_width at a time: every store
// writes a whole group (one vector store) and the caller advances the list by len, so the next
// append overwrites the surplus. Runs are short (400 synapses over 101 delays: 4 on average),
// so a loop of len iterations would mispredict its exit on most of them.
KOKKOS_INLINE_FUNCTION void append_run(std::uint32_t* KOKKOS_RESTRICT dst, std::uint32_t first, std::uint32_t len) {
  for (std::uint32_t u = 0; u < append_width; ++u) dst[u] = first + u;
  for (std::uint32_t c = append_width; c < len; c += append_width)
    for (std::uint32_t u = 0; u < append_width; ++u) dst[c + u] = first + c + u;
}

// The synapses arriving now: g_e of the target += w.
KOKKOS_INLINE_FUNCTION void deliver(const std::uint32_t* KOKKOS_RESTRICT list, std::int64_t n,
                                    const std::uint16_t* KOKKOS_RESTRICT target, const float* KOKKOS_RESTRICT w,
                                    real_t* KOKKOS_RESTRICT ge) {
  for (std::int64_t k = 0; k < n; ++k) {
    const std::uint32_t q = list[k];
    ge[target[q]] += w[q];
  }
}

// The same, learning: then w += nu_pre * post1 of the target, clipped.
KOKKOS_INLINE_FUNCTION void deliver_learning(const std::uint32_t* KOKKOS_RESTRICT list, std::int64_t n,
                                             const std::uint16_t* KOKKOS_RESTRICT target, float* KOKKOS_RESTRICT w,
                                             real_t* KOKKOS_RESTRICT ge, const float* KOKKOS_RESTRICT post1,
                                             float nu_pre, float lo, float hi) {
  for (std::int64_t k = 0; k < n; ++k) {
    const std::uint32_t q = list[k];
    const std::uint16_t j = target[q];
    const float x = w[q];
    ge[j] += x;
    w[q] = learning::clip_weight(x + nu_pre * post1[j], lo, hi);
  }
}

// The input layout: every row (input i, N synapses) sorted by delay, stably, so that
// target[i * N + k] is the neuron of the row's k-th synapse and bucket[i * B + d] the first
// synapse of delay d (B = max delay + 2, the last an end marker). delay is [i * N + j], in
// steps; built on the host.
struct row_layout {
  std::vector<std::uint16_t> target, bucket;
};
inline row_layout delay_sorted_rows(const std::vector<std::int32_t>& delay, std::int64_t I, std::int64_t N,
                                    std::int64_t B) {
  row_layout out;
  out.target.resize(static_cast<std::size_t>(I * N));
  out.bucket.resize(static_cast<std::size_t>(I * B));
  std::vector<std::int32_t> order(static_cast<std::size_t>(N));
  for (std::int64_t i = 0; i < I; ++i) {
    const std::int32_t* d = delay.data() + i * N;
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::int32_t a, std::int32_t b) { return d[a] < d[b]; });
    std::int64_t q = 0;
    for (std::int64_t dd = 0; dd < B; ++dd) {
      out.bucket[static_cast<std::size_t>(i * B + dd)] = static_cast<std::uint16_t>(q);
      while (q < N && d[order[static_cast<std::size_t>(q)]] == dd) ++q;
    }
    for (std::int64_t k = 0; k < N; ++k)
      out.target[static_cast<std::size_t>(i * N + k)] = static_cast<std::uint16_t>(order[static_cast<std::size_t>(k)]);
  }
  return out;
}

}  // namespace dc_detail

template <class Exec>
class dc_batch_impl final : public dc_batch_base {
  using mem = typename Exec::memory_space;
  template <class T>
  using view = Kokkos::View<T*, mem>;

 public:
  dc_batch_impl(const dc_params& p, const std::vector<dc_module_key>& k, std::uint64_t s, const std::string& b) {
    p.validate();
    if (k.empty()) throw error("dc_batch: no modules");
    params = p;
    keys = k;
    seed = s;
    backend = b;
    M_ = static_cast<std::int64_t>(k.size());
    I_ = static_cast<std::int64_t>(p.n_input);
    N_ = static_cast<std::int64_t>(p.n_e);
    D_ = p.delay_steps_max();
    exc_ = neurons::adaptive_lif::make(p.exc, p.dt);
    exc_.decay_theta = 1.0f;  // theta decays once per window, in double (see run())
    inh_ = neurons::adaptive_lif::make(p.inh, p.dt);
    inh_.adapt = false;

    const auto MN = static_cast<std::size_t>(M_ * N_), MI = static_cast<std::size_t>(M_ * I_);
    auto fill = [](auto v, auto x) { Kokkos::deep_copy(v, x); return v; };
    v_e_ = fill(view<real_t>("v_e", MN), static_cast<real_t>(p.v_init_exc));
    ge_e_ = view<real_t>("ge_e", MN);
    gi_e_ = view<real_t>("gi_e", MN);
    th_e_ = fill(view<real_t>("theta", MN), static_cast<real_t>(p.exc.theta_init));
    since_e_ = fill(view<std::int32_t>("since_e", MN), neurons::since_never);
    v_i_ = fill(view<real_t>("v_i", MN), static_cast<real_t>(p.v_init_inh));
    ge_i_ = view<real_t>("ge_i", MN);
    gi_i_ = view<real_t>("gi_i", MN);
    since_i_ = fill(view<std::int32_t>("since_i", MN), neurons::since_never);
    th_i_ = view<real_t>("theta_i", MN);  // the inhibitory model reads a theta; it stays 0
    t_post_ = fill(view<std::int64_t>("t_post", MN), dc_detail::never);
    counts_ = view<std::int32_t>("counts", MN);
    activity_ = view<std::uint64_t>("activity", static_cast<std::size_t>(M_) * activity_fields);
    next_ = fill(view<std::int64_t>("next_spike", MI), dc_detail::no_spike);
    draws_ = view<std::uint64_t>("draws", MI);
    inv_log_q_ = fill(view<double>("inv_log_q", MI), 1.0);  // > 0: silent
    hist_ = fill(view<std::int64_t>("history", MI * dc_detail::history), dc_detail::never);
    hist_n_ = view<std::uint32_t>("history_n", MI);
    // Event ring: a power of two of slots above the longest delay; a slot holds at most one
    // record per input spike of the last max-delay steps (about n_input * rate * dt * (D + 1):
    // ~500 at 63.75 Hz on every input, the highest rate; the capacity is 4 times that).
    slots_ = 1;
    while (slots_ <= D_) slots_ *= 2;
    slot_cap_ = std::max<std::int64_t>(1024, 4 * I_ * 64 * (D_ + 1) / 10000 + 256);
    events_ = view<std::uint64_t>("events", static_cast<std::size_t>(M_ * slots_ * slot_cap_));
    event_n_ = view<std::int32_t>("event_n", static_cast<std::size_t>(M_ * slots_));
    // Room for the synapses of a few input spikes between deliveries (any run fits after
    // flat_limit); a busy step delivers more than once, in order.
    flat_cap_ = 4 * (N_ + dc_detail::append_width);
    flat_ = view<std::uint32_t>("flat_events", static_cast<std::size_t>(M_ * flat_cap_));
    status_ = view<int>("status", static_cast<std::size_t>(M_));
    rec_n_ = view<std::int64_t>("rec_n", static_cast<std::size_t>(M_));
    in_rec_n_ = view<std::int64_t>("in_rec_n", static_cast<std::size_t>(M_));
    post1_ = view<float>("post1", MN);
    const auto t2 = learning::trace_decay_table(p.dt, p.stdp.tau_post2);
    const auto tp = learning::trace_decay_table(p.dt, p.stdp.tau_pre);
    tab_post2_ = to_device("trace_post2", t2);
    tab_pre_ = to_device("trace_pre", tp);
    spikes.assign(k.size(), {});
    input_spikes.assign(k.size(), {});
    p_host_.assign(MI, 0.0);
    streams_ = module_streams();

    // Initial weights: (U[0,1) + offset) * scale, the same in every module (seeded alike).
    std::vector<float> w0(static_cast<std::size_t>(I_ * N_));
    for (std::int64_t i = 0; i < I_; ++i)
      for (std::int64_t j = 0; j < N_; ++j)
        w0[static_cast<std::size_t>(i * N_ + j)] = static_cast<float>(
            (uniform01(philox4x32(seed, dc_detail::stream_weight, static_cast<std::uint32_t>(i),
                                  static_cast<std::uint64_t>(j))) +
             p.w_init_offset) *
            p.w_init_scale);
    w_ = view<float>("w", static_cast<std::size_t>(M_ * I_ * N_));
    build_layout(0);
    for (std::size_t m = 0; m < k.size(); ++m) set_weights(m, w0);
  }

  // Draws the input delays of `phase` (Brian2 rounds a delay to whole steps) and sorts every
  // row by them; the weights move with their synapses.
  void build_layout(std::uint32_t phase) {
    std::vector<std::vector<float>> keep;
    if (!delay_host.empty())
      for (std::int64_t m = 0; m < M_; ++m) keep.push_back(weights(static_cast<std::size_t>(m)));
    const auto IN = static_cast<std::size_t>(I_ * N_);
    const std::int64_t B = D_ + 2;
    delay_host.assign(IN, 0);
    const double steps_per_max = params.max_delay / params.dt;
    for (std::int64_t i = 0; i < I_; ++i)
      for (std::int64_t j = 0; j < N_; ++j) {
        const double u = uniform01(philox4x32(seed, dc_detail::stream_delay + phase, static_cast<std::uint32_t>(i),
                                              static_cast<std::uint64_t>(j)));
        delay_host[static_cast<std::size_t>(i * N_ + j)] = static_cast<std::int32_t>(std::llround(u * steps_per_max));
      }
    const dc_detail::row_layout rows = dc_detail::delay_sorted_rows(delay_host, I_, N_, B);
    std::vector<std::uint8_t> col_delay(IN);
    std::vector<std::int32_t> col_syn(IN);
    for (std::int64_t i = 0; i < I_; ++i)
      for (std::int64_t k = 0; k < N_; ++k) {
        const std::int64_t j = rows.target[static_cast<std::size_t>(i * N_ + k)];
        col_syn[static_cast<std::size_t>(j * I_ + i)] = static_cast<std::int32_t>(i * N_ + k);
        col_delay[static_cast<std::size_t>(j * I_ + i)] =
            static_cast<std::uint8_t>(delay_host[static_cast<std::size_t>(i * N_ + j)]);
      }
    tgt_ = to_device("target", rows.target);
    bucket_ = to_device("bucket", rows.bucket);
    col_syn_ = to_device("col_syn", col_syn);
    col_delay_ = to_device("col_delay", col_delay);
    col_syn_host_ = col_syn;
    for (std::size_t m = 0; m < keep.size(); ++m) set_weights(m, keep[m]);
  }

  void redraw_delays(std::uint32_t phase) override { build_layout(phase); }

  template <class T>
  view<T> to_device(const std::string& label, const std::vector<T>& h) {
    view<T> d(label, h.size());
    auto hv = Kokkos::create_mirror_view(d);
    for (std::size_t i = 0; i < h.size(); ++i) hv(i) = h[i];
    Kokkos::deep_copy(d, hv);
    return d;
  }

  std::vector<float> weights(std::size_t m) const override {
    const auto IN = static_cast<std::size_t>(I_ * N_);
    auto sub = Kokkos::subview(w_, std::make_pair(m * IN, (m + 1) * IN));
    auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), sub);
    std::vector<float> out(IN);
    for (std::int64_t j = 0; j < N_; ++j)
      for (std::int64_t i = 0; i < I_; ++i)
        out[static_cast<std::size_t>(i * N_ + j)] = h(static_cast<std::size_t>(col_syn_host_[static_cast<std::size_t>(j * I_ + i)]));
    return out;
  }

  void set_weights(std::size_t m, const std::vector<float>& w) override {
    const auto IN = static_cast<std::size_t>(I_ * N_);
    if (w.size() != IN) throw error("weights: expected " + std::to_string(IN) + " values, got " + std::to_string(w.size()));
    auto sub = Kokkos::subview(w_, std::make_pair(m * IN, (m + 1) * IN));
    auto h = Kokkos::create_mirror_view(sub);
    for (std::int64_t j = 0; j < N_; ++j)
      for (std::int64_t i = 0; i < I_; ++i)
        h(static_cast<std::size_t>(col_syn_host_[static_cast<std::size_t>(j * I_ + i)])) = w[static_cast<std::size_t>(i * N_ + j)];
    Kokkos::deep_copy(sub, h);
  }

  std::vector<float> theta(std::size_t m) const override {
    auto sub = Kokkos::subview(th_e_, std::make_pair(m * N_, (m + 1) * N_));
    auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), sub);
    return std::vector<float>(h.data(), h.data() + N_);
  }

  void set_theta(std::size_t m, const std::vector<float>& t) override {
    if (t.size() != static_cast<std::size_t>(N_))
      throw error("theta: expected " + std::to_string(N_) + " values, got " + std::to_string(t.size()));
    auto sub = Kokkos::subview(th_e_, std::make_pair(m * N_, (m + 1) * N_));
    auto h = Kokkos::create_mirror_view(sub);
    for (std::int64_t j = 0; j < N_; ++j) h(static_cast<std::size_t>(j)) = t[static_cast<std::size_t>(j)];
    Kokkos::deep_copy(sub, h);
  }

  void set_rates(const std::vector<std::vector<double>>& rates) override {
    if (!rates.empty() && rates.size() != 1 && rates.size() != static_cast<std::size_t>(M_))
      throw error("rates: expected one vector per module (" + std::to_string(M_) + ") or one for all");
    auto h = Kokkos::create_mirror_view(inv_log_q_);
    p_host_.assign(static_cast<std::size_t>(M_ * I_), 0.0);
    for (std::int64_t m = 0; m < M_; ++m)
      for (std::int64_t i = 0; i < I_; ++i) {
        double r = 0;
        if (!rates.empty()) {
          const auto& v = rates.size() == 1 ? rates[0] : rates[static_cast<std::size_t>(m)];
          if (v.size() != static_cast<std::size_t>(I_))
            throw error("rates: expected " + std::to_string(I_) + " inputs, got " + std::to_string(v.size()));
          r = v[static_cast<std::size_t>(i)];
        }
        if (!(r >= 0) || !std::isfinite(r)) throw error("rates: must be finite and >= 0");
        const double p = r * params.dt;
        p_host_[static_cast<std::size_t>(m * I_ + i)] = std::min(p, 1.0);
        h(static_cast<std::size_t>(m * I_ + i)) = p <= 0 ? 1.0 : (p >= 1 ? 0.0 : 1.0 / std::log1p(-p));
      }
    Kokkos::deep_copy(inv_log_q_, h);
    rates_changed_ = true;
  }

  void normalise_weights() override {
    float* w = w_.data();
    const std::int64_t I = I_, N = N_;
    const std::int32_t* col = col_syn_.data();
    const double target = params.weight_sum;
    Kokkos::parallel_for(
        "kspike::vpr::normalise", Kokkos::RangePolicy<Exec>(0, M_ * N_), KOKKOS_LAMBDA(std::int64_t mj) {
          const std::int64_t m = mj / N, j = mj % N;
          float* wm = w + m * I * N;
          double sum = 0;
          for (std::int64_t i = 0; i < I; ++i) sum += wm[col[j * I + i]];
          if (sum <= 0) return;
          const double f = target / sum;
          for (std::int64_t i = 0; i < I; ++i) {
            float& x = wm[col[j * I + i]];
            x = static_cast<float>(static_cast<double>(x) * f);
          }
        });
    Kokkos::fence();
  }

  void ensure_capacity(view<dc_spike>& buf, std::int64_t& cap, std::int64_t need) {
    if (cap >= need) return;
    cap = need;
    buf = view<dc_spike>("recorded", static_cast<std::size_t>(M_ * cap));
  }

  void run(std::int64_t steps, bool count, bool record) override {
    if (steps < 0) throw error("run: steps must be >= 0");
    if (steps == 0) return;
    const std::int64_t per_neuron = steps / std::max<std::int32_t>(1, exc_.block_steps + 1) + 2;
    if (record) ensure_capacity(rec_, rec_cap_, N_ * per_neuron);
    if (record_inputs) {
      // Room for three times the expected input spikes of the busiest module, plus slack.
      double busiest = 0;
      for (std::int64_t m = 0; m < M_; ++m) {
        double e = 0;
        for (std::int64_t i = 0; i < I_; ++i) e += p_host_[static_cast<std::size_t>(m * I_ + i)] * double(steps);
        busiest = std::max(busiest, e);
      }
      ensure_capacity(in_rec_, in_rec_cap_, static_cast<std::int64_t>(3 * busiest) + 64 * I_);
    }
    Kokkos::deep_copy(rec_n_, 0);
    Kokkos::deep_copy(in_rec_n_, 0);

    // Everything the kernel reads, as plain values and pointers.
    const std::int64_t I = I_, N = N_, t0 = step, t_end = step + steps;
    const std::int64_t slots = slots_, slot_cap = slot_cap_;
    const std::int64_t rec_cap = rec_cap_, in_rec_cap = in_rec_cap_;
    const bool learn = learning, redraw = rates_changed_, rec_in = record_inputs;
    const auto ce = [&] { auto c = exc_; c.adapt = learning; return c; }();
    const auto ci = inh_;
    const real_t w_ei = static_cast<real_t>(params.w_exc_to_inh), w_ie = static_cast<real_t>(params.w_inh_to_exc);
    const float nu_pre = static_cast<float>(params.stdp.signed_nu_pre());
    const float nu_post = static_cast<float>(params.stdp.nu_post);
    const float w_lo = static_cast<float>(params.stdp.w_min), w_hi = static_cast<float>(params.stdp.w_max);
    // Brian2 integrates dtheta/dt = -theta/tau_theta with Euler; 1 - dt/tau (1 - 1e-8) is 1 in
    // float, so the decay of the whole window is applied at its end, in double.
    const double theta_decay = std::pow(1.0 - params.dt / params.exc.tau_theta, static_cast<double>(steps));
    const std::uint64_t sd = seed;
    real_t *v_e = v_e_.data(), *ge_e = ge_e_.data(), *gi_e = gi_e_.data(), *th_e = th_e_.data();
    real_t *v_i = v_i_.data(), *ge_i = ge_i_.data(), *gi_i = gi_i_.data(), *th_i = th_i_.data();
    std::int32_t *since_e = since_e_.data(), *since_i = since_i_.data(), *counts = counts_.data();
    std::uint64_t* activity = activity_.data();
    float* post1 = post1_.data();
    const float decay1 = static_cast<float>(std::exp(-params.dt / params.stdp.tau_post1));
    std::int64_t *t_post = t_post_.data(), *next = next_.data(), *hist = hist_.data();
    std::uint64_t* draws = draws_.data();
    std::uint32_t* hist_n = hist_n_.data();
    const double* inv_log_q = inv_log_q_.data();
    std::uint64_t* events = events_.data();
    std::uint32_t* flat = flat_.data();
    const std::int64_t flat_cap = flat_cap_, flat_limit = flat_cap_ - N_ - dc_detail::append_width;
    std::int32_t* event_n = event_n_.data();
    int* status = status_.data();
    float* w = w_.data();
    const std::uint16_t *tgt = tgt_.data(), *bucket = bucket_.data();
    const std::int32_t* col_syn = col_syn_.data();
    const std::uint8_t* col_delay = col_delay_.data();
    const std::int64_t B = D_ + 2;
    const float *tab2 = tab_post2_.data(), *tabp = tab_pre_.data();
    const auto len2 = static_cast<std::int64_t>(tab_post2_.extent(0)),
               lenp = static_cast<std::int64_t>(tab_pre_.extent(0));
    dc_spike *rec = rec_.data(), *in_rec = in_rec_.data();
    std::int64_t *rec_n = rec_n_.data(), *in_rec_n = in_rec_n_.data();
    const std::uint32_t* streams = streams_.data();

    Kokkos::parallel_for(
        "kspike::vpr::window", Kokkos::RangePolicy<Exec>(0, M_), KOKKOS_LAMBDA(std::int64_t m) {
          constexpr int H = dc_detail::history;
          constexpr std::uint64_t len_mask = (std::uint64_t{1} << dc_detail::run_bits) - 1;
          // Local copies of the captured scalars the event loops read: a store through a
          // float or integer pointer could alias the closure's members, so the compiler would
          // otherwise reload them after every store.
          const std::int64_t n_in = I, n_ex = N, n_slots = slots, cap = slot_cap, n_buckets = B;
          const float pre_rate = nu_pre, lo_w = w_lo, hi_w = w_hi;
          const std::int64_t o = m * N, oi = m * I;
          real_t *v = v_e + o, *ge = ge_e + o, *gi = gi_e + o, *th = th_e + o;
          real_t *vi = v_i + o, *gei = ge_i + o, *gii = gi_i + o, *thi = th_i + o;
          std::int32_t *se = since_e + o, *si = since_i + o, *cnt = counts + o;
          std::int64_t* tp = t_post + o;
          float* p1 = post1 + o;
          std::int64_t* nx = next + oi;
          std::uint64_t* dr = draws + oi;
          std::int64_t* hs = hist + oi * H;
          std::uint32_t* hn = hist_n + oi;
          const double* ilq = inv_log_q + oi;
          std::uint64_t* ev = events + m * slots * slot_cap;
          std::uint32_t* fl = flat + m * flat_cap;
          std::int32_t* evn = event_n + m * slots;
          float* wm = w + m * I * N;
          const std::uint32_t stream = streams[m];
          if (redraw)
            for (std::int64_t i = 0; i < I; ++i)
              nx[i] = ilq[i] > 0 ? dc_detail::no_spike
                                 : t0 + dc_detail::geometric_gap(ilq[i], sd, stream, static_cast<std::uint32_t>(i), dr[i]++);
          std::int32_t fired_e[4096], fired_i[4096];  // n_e <= 4096 (dc_params::validate)
          std::uint64_t inputs_fired = 0, input_events = 0, exc_fired = 0, inh_fired = 0;
          for (std::int64_t t = t0; t < t_end; ++t) {
            // 1. Synaptic variables below 1e-30 are set to 0 every 16 steps, as the engine does.
            if (t % 16 == 0) {
              dc_detail::flush(ge, N);
              dc_detail::flush(gi, N);
              dc_detail::flush(gei, N);
              dc_detail::flush(gii, N);
              if (learn) dc_detail::flush(p1, N);
            }
            // post1 decays geometrically (exp(-dt/tau_post1) per step, from 1 at a spike): the
            // exact trace to float rounding, read by every arriving input event.
            if (learn) dc_detail::scale(p1, N, decay1);
            // 2. Neurons (excitatory, then inhibitory): update, threshold, reset.
            int ne = learn ? dc_detail::update_euler<neurons::theta_rule::jumps_only>(ce, v, ge, gi, th, se, N)
                           : dc_detail::update_euler<neurons::theta_rule::frozen>(ce, v, ge, gi, th, se, N);
            int ni = dc_detail::update_euler<neurons::theta_rule::frozen>(ci, vi, gei, gii, thi, si, N);
            if (ne > 0) {
              ne = 0;
              for (std::int64_t j = 0; j < N; ++j)
                if (se[j] == 0) fired_e[ne++] = static_cast<std::int32_t>(j);
            }
            if (ni > 0) {
              ni = 0;
              for (std::int64_t j = 0; j < N; ++j)
                if (si[j] == 0) fired_i[ni++] = static_cast<std::int32_t>(j);
            }
            // 3. Poisson inputs due now: scatter the row into the arrival lists, remember the
            //    spike for the pre trace, draw the next one.
            for (std::int64_t i = 0; i < n_in; ++i) {
              if ((i & 31) == 0 && !dc_detail::any_due(nx + i, (n_in - i < 32 ? n_in - i : 32), t)) {
                i += 31;  // none of these 32 inputs fires now (a vectorised test)
                continue;
              }
              if (nx[i] != t) continue;
              ++inputs_fired;
              const std::uint16_t* bk = bucket + i * n_buckets;
              const std::uint64_t row = static_cast<std::uint64_t>(i * n_ex);
              for (std::int64_t d = 0; d + 1 < n_buckets; ++d) {
                const std::uint64_t first = bk[d], len = bk[d + 1] - first;
                if (len == 0) continue;
                const std::int64_t slot = (t + d) & (n_slots - 1);
                const std::int32_t k = evn[slot]++;
                if (k < cap) ev[slot * cap + k] = ((row + first) << dc_detail::run_bits) | len;
              }
              hs[i * H + hn[i] % H] = t;
              ++hn[i];
              if (rec_in) {
                const std::int64_t k = in_rec_n[m]++;
                if (k < in_rec_cap) in_rec[m * in_rec_cap + k] = dc_spike{t, static_cast<std::int32_t>(i)};
              }
              const std::int64_t gap = dc_detail::geometric_gap(ilq[i], sd, stream, static_cast<std::uint32_t>(i), dr[i]++);
              nx[i] = gap >= dc_detail::no_spike ? dc_detail::no_spike : t + 1 + gap;
            }
            // 4. Input spikes arriving now: g_e += w, then (learning) w += nu_pre * post1.
            {
              const std::int64_t slot = t & (n_slots - 1);
              const std::int32_t n = evn[slot];
              if (n > cap) status[m] = 1;
              const std::uint64_t* list = ev + slot * cap;
              const std::int32_t n_runs = n < cap ? n : static_cast<std::int32_t>(cap);
              // The runs are unpacked into a flat list of synapses, delivered whenever it could
              // not take another whole row, so that delivery has no branch per run.
              std::int64_t nf = 0;
              for (std::int32_t k = 0; k < n_runs; ++k) {
                const auto first = static_cast<std::uint32_t>(list[k] >> dc_detail::run_bits);
                const auto len = static_cast<std::uint32_t>(list[k] & len_mask);
                dc_detail::append_run(fl + nf, first, len);
                nf += len;
                if (nf > flat_limit || k + 1 == n_runs) {
                  if (learn)
                    dc_detail::deliver_learning(fl, nf, tgt, wm, ge, p1, pre_rate, lo_w, hi_w);
                  else
                    dc_detail::deliver(fl, nf, tgt, wm, ge);
                  input_events += static_cast<std::uint64_t>(nf);
                  nf = 0;
                }
              }
              evn[slot] = 0;
            }
            // 5. Excitatory spikes: count, record, STDP on their input column, excite the partner.
            for (int k = 0; k < ne; ++k) {
              const std::int64_t j = fired_e[k];
              if (count) ++cnt[j];
              if (record) {
                const std::int64_t r = rec_n[m]++;
                if (r < rec_cap) rec[m * rec_cap + r] = dc_spike{t, static_cast<std::int32_t>(j)};
              }
              if (learn) {
                const float post2_before = learning::trace_at(tab2, len2, t - tp[j]);
                for (std::int64_t i = 0; i < I; ++i) {
                  // The pre trace is set by the newest arrival at this synapse: the newest
                  // spike of input i at or before t - delay.
                  const std::int64_t cut = t - col_delay[j * I + i];
                  const std::uint32_t n = hn[i];
                  const std::uint32_t depth = n < static_cast<std::uint32_t>(H) ? n : static_cast<std::uint32_t>(H);
                  float pre = 0;
                  for (std::uint32_t r = 1; r <= depth; ++r) {
                    const std::int64_t ts = hs[i * H + (n - r) % H];
                    if (ts <= cut) {
                      pre = learning::trace_at(tabp, lenp, cut - ts);
                      break;
                    }
                    if (r == static_cast<std::uint32_t>(H)) status[m] = 2;  // 16 spikes within one max delay
                  }
                  float& x = wm[col_syn[j * I + i]];
                  x = learning::clip_weight(x + nu_post * pre * post2_before, w_lo, w_hi);
                }
                tp[j] = t;
                p1[j] = 1.0f;
              }
              gei[j] += w_ei;
            }
            // 6. Inhibitory spikes: every excitatory neuron but the partner.
            for (int k = 0; k < ni; ++k) dc_detail::add_all_but(gi, N, fired_i[k], w_ie);
            exc_fired += static_cast<std::uint64_t>(ne);
            inh_fired += static_cast<std::uint64_t>(ni);
          }
          std::uint64_t* a = activity + m * activity_fields;
          a[0] += static_cast<std::uint64_t>(t_end - t0);
          a[1] += inputs_fired;
          // Input arrivals, one event per excitatory spike to its partner, N - 1 per inhibitory spike.
          a[2] += input_events + exc_fired + inh_fired * static_cast<std::uint64_t>(N - 1);
          a[3] += exc_fired;
          a[4] += inh_fired;
          if (learn)
            for (std::int64_t j = 0; j < N; ++j) th[j] = static_cast<real_t>(static_cast<double>(th[j]) * theta_decay);
        });
    Kokkos::fence();
    step = t_end;
    rates_changed_ = false;

    auto st = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), status_);
    for (std::int64_t m = 0; m < M_; ++m)
      if (st(static_cast<std::size_t>(m)) != 0)
        throw internal_error("vpr network: input event lists overflowed (status " +
                             std::to_string(st(static_cast<std::size_t>(m))) + ")");
    if (record) drain(rec_, rec_cap_, rec_n_, spikes);
    if (record_inputs) drain(in_rec_, in_rec_cap_, in_rec_n_, input_spikes);
  }

  void drain(const view<dc_spike>& buf, std::int64_t cap, const view<std::int64_t>& n, std::vector<std::vector<dc_spike>>& out) {
    auto hb = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), buf);
    auto hn = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), n);
    for (std::int64_t m = 0; m < M_; ++m) {
      const std::int64_t k = hn(static_cast<std::size_t>(m));
      if (k > cap) throw internal_error("vpr network: spike recording buffer overflowed");
      for (std::int64_t r = 0; r < k; ++r) out[static_cast<std::size_t>(m)].push_back(hb(static_cast<std::size_t>(m * cap + r)));
    }
  }

  view<std::uint32_t> module_streams() {
    std::vector<std::uint32_t> s;
    for (const auto& k : keys) s.push_back(dc_detail::stream_input + (k.key & 0x00FFFFFFu));
    return to_device("streams", s);
  }

  std::vector<std::vector<std::int32_t>> take_counts() override {
    auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), counts_);
    std::vector<std::vector<std::int32_t>> out(static_cast<std::size_t>(M_));
    for (std::int64_t m = 0; m < M_; ++m)
      out[static_cast<std::size_t>(m)].assign(h.data() + m * N_, h.data() + (m + 1) * N_);
    Kokkos::deep_copy(counts_, 0);
    return out;
  }

  std::vector<dc_activity> take_activity() override {
    auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), activity_);
    std::vector<dc_activity> out(static_cast<std::size_t>(M_));
    for (std::int64_t m = 0; m < M_; ++m) {
      const std::uint64_t* a = h.data() + m * activity_fields;
      out[static_cast<std::size_t>(m)] = {a[0], a[1], a[2], a[3], a[4]};
    }
    Kokkos::deep_copy(activity_, 0);
    return out;
  }

  static constexpr std::int64_t activity_fields = 5;  // as dc_activity
  view<std::uint64_t> activity_;
  std::int64_t M_ = 0, I_ = 0, N_ = 0, D_ = 0, slots_ = 1, slot_cap_ = 0;
  neurons::adaptive_lif::coeffs exc_{}, inh_{};
  bool rates_changed_ = true;
  std::vector<double> p_host_;  // spike probability per step of every input (for buffer sizes)
  view<std::uint32_t> streams_;  // input-noise RNG stream of every module
  view<real_t> v_e_, ge_e_, gi_e_, th_e_, v_i_, ge_i_, gi_i_;
  view<std::int32_t> since_e_, since_i_, counts_;
  view<real_t> th_i_;
  view<std::int64_t> t_post_, next_, hist_;
  view<std::uint64_t> draws_;
  view<std::uint32_t> hist_n_;
  view<double> inv_log_q_;
  view<std::uint64_t> events_;
  view<std::uint32_t> flat_;  // per module: the synapses of one step's runs, unpacked
  std::int64_t flat_cap_ = 0;
  view<std::int32_t> event_n_;
  view<int> status_;
  view<float> w_;
  view<std::uint16_t> tgt_, bucket_;
  view<std::int32_t> col_syn_;
  std::vector<std::int32_t> col_syn_host_;
  view<std::uint8_t> col_delay_;
  view<float> post1_, tab_post2_, tab_pre_;
  view<dc_spike> rec_, in_rec_;
  std::int64_t rec_cap_ = 0, in_rec_cap_ = 0;
  view<std::int64_t> rec_n_, in_rec_n_;
};

}  // namespace kspike::vpr
