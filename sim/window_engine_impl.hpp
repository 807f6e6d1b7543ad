#pragma once
// The window schedule of the engine (engine_options::schedule): its state, its API and its
// per-instance kernel, written once for every Kokkos execution space and instantiated in
// window_engine.cpp, for the circuit of sim/window_circuit.hpp. One work item runs one
// instance through a whole window of steps, so no synchronisation is needed inside the window
// and an instance's arithmetic never depends on which thread runs it, nor on how many
// instances run beside it. On a GPU, sim/window_team_kernel.hpp runs each instance on a team
// of threads instead, with the same arithmetic in the same order.
//
// Step order is the engine's (docs/architecture.md "One step"): every neuron is updated and
// thresholded, then the synaptic events of the step run: input spikes arriving now (their
// delays elapsed) add to g_e and, when learning, update their weight with the post trace; each
// excitatory spike updates its input weights with the pre traces; excitatory spikes excite
// their inhibitory partner and inhibitory spikes inhibit every other excitatory neuron. What a
// step adds takes effect in the next step's update.
//
// Input synapses are stored row by row (input i), each row sorted by delay; `bucket[i][d]` is
// where the synapses of delay d start. When input i fires at step t, each non-empty delay run
// of its row is appended, as one packed (first synapse, length) record, to the event list of
// its arrival step t + d (a ring of per-step lists). Each step then unpacks the records that
// arrive now into a flat list of synapse indices, in record order, and delivers that list in
// one loop: runs are 4 synapses on average, and a loop per run would mispredict its exit on
// most of them. Work per step is O(neurons + inputs + events). A post-synaptic update reads a
// column through `col_syn` (neuron, input) -> synapse: rare (tens of excitatory spikes per
// presentation in the place-recognition modules).
//
// Traces, as the place-recognition rule keeps them (docs/models.md "STDP in the window
// schedule"): the post trace is 1 at a post spike and multiplied by exp(-dt/tau_post) every
// step while learning; the pre trace of a synapse is read, when its post neuron fires, from the
// newest spike of its input that has arrived (the last 16 spikes of every input are kept), and
// the second post trace from the age of the last post spike, both through tables of exact
// decays. The excitatory threshold theta jumps at spikes while adapting and decays once per
// window, by (1 - dt/tau_theta)^steps in double: per step in float, 1 - 1e-8 would be 1.
#include <Kokkos_Core.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <vector>

#include "learning/stdp.hpp"
#include "sim/core/device_copy.hpp"
#include "sim/core/error.hpp"
#include "sim/core/kokkos_math.hpp"
#include "sim/core/rng.hpp"
#include "sim/core/scalar_types.hpp"
#include "sim/engine_base.hpp"
#include "sim/memory_budget.hpp"
#include "sim/window_circuit.hpp"
#include "sim/window_common.hpp"
#include "sim/window_team_kernel.hpp"

namespace kspike {

namespace window_detail {

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

}  // namespace window_detail

template <class Exec>
class window_engine final : public engine_base {
  using mem = typename Exec::memory_space;
  template <class T>
  using view = Kokkos::View<T*, mem>;

 public:
  // Windows longer than this are run as several (memory for recorded spikes grows with a
  // window; progress is reported between windows).
  static constexpr std::int64_t max_window = 10000;

  window_engine(const network& n, const engine_options& options, const std::string& backend_name, const char* kernels)
      : c_(read_window_circuit(n)) {
    net = n;
    backend = backend_name;
    kernel_space = kernels;
    engine_base::instances = options.instances;
    M_ = options.instances;
    I_ = c_.n_input;
    N_ = c_.n;
    const double dt = n.dt;
    if (!options.input_keys.empty() && options.input_keys.size() != static_cast<std::size_t>(M_))
      throw error("input_keys: expected one key per instance (" + std::to_string(M_) + "), got " +
                  std::to_string(options.input_keys.size()));
    D_ = c_.delay_first + c_.delay_span;
    using kernel_kind = engine_options::window_kernel_kind;
    team_kernel_ = options.window_kernel == kernel_kind::team ||
                   (options.window_kernel == kernel_kind::automatic && backend_name == "cuda");
    if (options.window_team_size < 0) throw error("window_team_size: must be >= 0 (0: Kokkos chooses)");
    if (options.window_team_list < 1 || options.window_team_list > 4096)
      throw error("window_team_list: must be 1 .. 4096");
    team_size_ = options.window_team_size;
    team_list_ = options.window_team_list;
    try {
      exc_ = neurons::adaptive_lif::make(c_.exc_params, dt);
      inh_ = neurons::adaptive_lif::make(c_.inh_params, dt);
    } catch (const error& e) {
      throw error(n.source + ": window schedule: " + e.what());
    }
    exc_.decay_theta = 1.0f;  // theta decays once per window, in double (see run_window())
    inh_.adapt = false;
    adapt_e_ = c_.exc_params.adapt;
    learning_ = c_.plastic && c_.stdp.learning;
    // Event ring: a power of two of slots above the longest delay; a slot holds at most one
    // record per input spike of the last max-delay steps (about n_input * rate * dt * (D + 1):
    // ~500 at 63.75 Hz on every input, the highest rate of the place-recognition images; the
    // capacity is 4 times that, and a run whose inputs fire faster stops with an error).
    slots_ = 1;
    while (slots_ <= D_) slots_ *= 2;
    slot_cap_ = std::max<std::int64_t>(1024, 4 * I_ * 64 * (D_ + 1) / 10000 + 256);
    flat_cap_ = 4 * (N_ + window_detail::append_width);
    check_memory(options);

    const auto MN = static_cast<std::size_t>(M_ * N_), MI = static_cast<std::size_t>(M_ * I_);
    auto fill = [](auto v, auto x) { Kokkos::deep_copy(v, x); return v; };
    v_e_ = fill(view<real_t>("v_e", MN), static_cast<real_t>(c_.v_init_exc));
    ge_e_ = view<real_t>("ge_e", MN);
    gi_e_ = view<real_t>("gi_e", MN);
    th_e_ = fill(view<real_t>("theta", MN), static_cast<real_t>(c_.exc_params.theta_init));
    since_e_ = fill(view<std::int32_t>("since_e", MN), neurons::since_never);
    v_i_ = fill(view<real_t>("v_i", MN), static_cast<real_t>(c_.v_init_inh));
    ge_i_ = view<real_t>("ge_i", MN);
    gi_i_ = view<real_t>("gi_i", MN);
    since_i_ = fill(view<std::int32_t>("since_i", MN), neurons::since_never);
    th_i_ = fill(view<real_t>("theta_i", MN), static_cast<real_t>(c_.inh_params.theta_init));
    t_post_ = fill(view<std::int64_t>("t_post", MN), window_detail::never);
    activity_ = view<std::uint64_t>("activity", static_cast<std::size_t>(M_) * activity_fields);
    next_ = fill(view<std::int64_t>("next_spike", MI), window_detail::no_spike);
    draws_ = view<std::uint64_t>("draws", MI);
    inv_log_q_ = fill(view<double>("inv_log_q", MI), 1.0);  // > 0: silent
    hist_ = fill(view<std::int64_t>("history", MI * window_detail::history), window_detail::never);
    hist_n_ = view<std::uint32_t>("history_n", MI);
    events_ = view<std::uint64_t>("events", static_cast<std::size_t>(M_ * slots_ * slot_cap_));
    event_n_ = view<std::int32_t>("event_n", static_cast<std::size_t>(M_ * slots_));
    // Room for the synapses of a few input spikes between deliveries (any run fits after
    // flat_limit); a busy step delivers more than once, in order.
    flat_ = view<std::uint32_t>("flat_events", static_cast<std::size_t>(M_ * flat_cap_));
    status_ = view<int>("status", static_cast<std::size_t>(M_));
    rec_n_ = view<std::int64_t>("rec_n", static_cast<std::size_t>(3 * M_));
    post1_ = view<float>("post1", MN);
    const auto t2 = c_.stdp.tau_post2 > 0 ? learning::trace_decay_table(dt, c_.stdp.tau_post2) : std::vector<float>{1.0f};
    tab_post2_ = copy_to_device<mem>("trace_post2", t2);
    tab_pre_ = copy_to_device<mem>("trace_pre", learning::trace_decay_table(dt, c_.stdp.tau_pre));
    std::vector<std::uint32_t> s;
    for (std::int64_t m = 0; m < M_; ++m) {
      const std::uint32_t key = options.input_keys.empty() ? static_cast<std::uint32_t>(m) : options.input_keys[static_cast<std::size_t>(m)];
      s.push_back(window_detail::stream_input + (key & 0x00FFFFFFu));
    }
    streams_ = copy_to_device<mem>("streams", s);
    p_host_.assign(MI, 0.0);
    const auto& src = std::get<poisson_source>(n.populations[static_cast<std::size_t>(c_.input)].model);
    set_poisson_rates(n.populations[static_cast<std::size_t>(c_.input)].name, src.rates);

    // Initial weights, drawn once and the same in every instance: the projection's value, or
    // low + u (high - low) for a uniform draw u of synapse (i, j).
    const value_dist& wd = c_.input_weight;
    std::vector<float> w0(static_cast<std::size_t>(I_ * N_));
    for (std::int64_t i = 0; i < I_; ++i)
      for (std::int64_t j = 0; j < N_; ++j) {
        const double u = wd.type == value_dist::kind::uniform
                             ? uniform01(philox4x32(n.seed, window_detail::stream_weight, static_cast<std::uint32_t>(i),
                                                    static_cast<std::uint64_t>(j)))
                             : 0.0;
        w0[static_cast<std::size_t>(i * N_ + j)] = static_cast<float>(wd.a + u * (wd.b - wd.a));
      }
    w_ = view<float>("w", static_cast<std::size_t>(M_ * I_ * N_));
    build_layout(0);
    set_weights(input_name(), w0, -1);
    stats.spikes.assign(n.populations.size(), 0);
    synapses = M_ * (I_ * N_ + N_ + N_ * (N_ - 1));
    bytes = memory_needed();
  }

  // What the views above take, per instance and shared.
  std::size_t memory_needed() const {
    const double I = double(I_), N = double(N_);
    const double per_instance = I * N * 4 + double(slots_ * slot_cap_) * 8 + double(flat_cap_) * 4 + double(slots_) * 4 +
                                I * (8 + 8 + 8 + 4 + 8 * window_detail::history) + N * (8 * 4 + 4 + 4 * 4 + 4 + 8 + 4);
    const double shared = I * N * (2 + 4 + 1) + I * double(D_ + 2) * 2;
    // The team kernel's scratch: fired lists, per-target counts and event lists.
    const double team = team_kernel_ ? N * (4 * 3 + 8 * double(team_list_)) + I * 4 : 0.0;
    return static_cast<std::size_t>(double(M_) * (per_instance + team) + shared);
  }

  void check_memory(const engine_options& options) const {
    if (options.memory_limit < 0) return;
    const double limit = options.memory_limit > 0 ? options.memory_limit : available_memory_bytes();
    const double need = static_cast<double>(memory_needed());
    if (need > limit) {
      char what[256];
      std::snprintf(what, sizeof what, "window schedule: %d instance(s) need about %.2f GB, more than the %.2f GB allowed",
                    static_cast<int>(M_), need / 1e9, limit / 1e9);
      throw error((net.source.empty() ? std::string("network") : net.source) + ": " + what);
    }
  }

  const std::string& input_name() const { return net.populations[static_cast<std::size_t>(c_.input)].name; }
  const std::string& input_projection() const { return net.projections[static_cast<std::size_t>(c_.input_proj)].name; }

  // Draws the input delays of draw `draw` and sorts every row by them; the weights move with
  // their synapses.
  void build_layout(std::uint32_t draw) {
    std::vector<float> keep;
    if (!delay_host_.empty()) keep = weights(input_projection(), -1);
    const auto IN = static_cast<std::size_t>(I_ * N_);
    const std::int64_t B = D_ + 2;
    delay_host_.assign(IN, 0);
    const double span = c_.delay_span;
    for (std::int64_t i = 0; i < I_; ++i)
      for (std::int64_t j = 0; j < N_; ++j) {
        const double u = c_.delay_span == 0 ? 0.0
                                            : uniform01(philox4x32(net.seed, window_detail::stream_delay + draw,
                                                                   static_cast<std::uint32_t>(i), static_cast<std::uint64_t>(j)));
        delay_host_[static_cast<std::size_t>(i * N_ + j)] = c_.delay_first + static_cast<std::int32_t>(std::llround(u * span));
      }
    const window_detail::row_layout rows = window_detail::delay_sorted_rows(delay_host_, I_, N_, B);
    std::vector<std::uint8_t> col_delay(IN);
    std::vector<std::int32_t> col_syn(IN);
    for (std::int64_t i = 0; i < I_; ++i)
      for (std::int64_t k = 0; k < N_; ++k) {
        const std::int64_t j = rows.target[static_cast<std::size_t>(i * N_ + k)];
        col_syn[static_cast<std::size_t>(j * I_ + i)] = static_cast<std::int32_t>(i * N_ + k);
        col_delay[static_cast<std::size_t>(j * I_ + i)] =
            static_cast<std::uint8_t>(delay_host_[static_cast<std::size_t>(i * N_ + j)]);
      }
    tgt_ = copy_to_device<mem>("target", rows.target);
    bucket_ = copy_to_device<mem>("bucket", rows.bucket);
    col_syn_ = copy_to_device<mem>("col_syn", col_syn);
    col_delay_ = copy_to_device<mem>("col_delay", col_delay);
    col_syn_host_ = col_syn;
    if (!keep.empty()) set_weights(input_projection(), keep, -1);
  }

  // ---- engine_base

  void redraw_delays(const std::string& projection, std::uint32_t draw) override {
    require_input_projection(projection, "redraw_delays");
    if (draw >= (1u << 24)) throw error("redraw_delays: draw must be below 2^24");
    build_layout(draw);
  }

  void require_input_projection(const std::string& projection, const char* what) const {
    if (projection != input_projection())
      throw error(std::string(what) + ": projection '" + projection + "': the window schedule can only change '" +
                  input_projection() + "', the input projection");
  }

  // Instances selected by `instance` (-1: all), checked.
  std::pair<std::int64_t, std::int64_t> instance_range(int instance, const char* what) const {
    if (instance < -1 || instance >= M_)
      throw error(std::string(what) + ": instance " + std::to_string(instance) + " out of range (0.." + std::to_string(M_ - 1) + ")");
    return instance < 0 ? std::make_pair(std::int64_t{0}, M_) : std::make_pair(std::int64_t{instance}, std::int64_t{instance} + 1);
  }

  std::vector<float> weights(const std::string& projection, int instance) const override {
    require_input_projection(projection, "weights");
    const auto [first, last] = instance_range(instance, "weights");
    const auto IN = static_cast<std::size_t>(I_ * N_);
    auto sub = Kokkos::subview(w_, std::make_pair(static_cast<std::size_t>(first) * IN, static_cast<std::size_t>(last) * IN));
    auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), sub);
    std::vector<float> out(h.size());
    for (std::int64_t m = 0; m < last - first; ++m)
      for (std::int64_t j = 0; j < N_; ++j)
        for (std::int64_t i = 0; i < I_; ++i)
          out[static_cast<std::size_t>(m) * IN + static_cast<std::size_t>(i * N_ + j)] =
              h(static_cast<std::size_t>(m) * IN + static_cast<std::size_t>(col_syn_host_[static_cast<std::size_t>(j * I_ + i)]));
    return out;
  }

  // `w` holds one instance's weights (then every selected instance gets them) or all selected
  // instances', in generation order (input-major, as all_to_all generates them).
  void set_weights(const std::string& projection, const std::vector<float>& w, int instance) override {
    require_input_projection(projection, "set_weights");
    const auto [first, last] = instance_range(instance, "set_weights");
    const auto IN = static_cast<std::size_t>(I_ * N_), count = static_cast<std::size_t>(last - first);
    if (w.size() != IN && w.size() != IN * count)
      throw error("set_weights: projection '" + projection + "': expected " + std::to_string(IN) + " or " +
                  std::to_string(IN * count) + " values, got " + std::to_string(w.size()));
    for (float x : w)
      if (!std::isfinite(x)) throw error("set_weights: projection '" + projection + "': values must be finite");
    auto sub = Kokkos::subview(w_, std::make_pair(static_cast<std::size_t>(first) * IN, static_cast<std::size_t>(last) * IN));
    auto h = Kokkos::create_mirror_view(sub);
    for (std::size_t m = 0; m < count; ++m) {
      const std::size_t from = w.size() == IN ? 0 : m * IN;
      for (std::int64_t j = 0; j < N_; ++j)
        for (std::int64_t i = 0; i < I_; ++i)
          h(m * IN + static_cast<std::size_t>(col_syn_host_[static_cast<std::size_t>(j * I_ + i)])) =
              w[from + static_cast<std::size_t>(i * N_ + j)];
    }
    Kokkos::deep_copy(sub, h);
  }

  // The state variable `variable` of population `population`, all instances.
  view<real_t> state_view(const std::string& population, const std::string& variable, const char* what) const {
    const int p = net.find_population(population);
    if (p == c_.exc || p == c_.inh) {
      const bool e = p == c_.exc;
      if (variable == "v") return e ? v_e_ : v_i_;
      if (variable == "syn_e") return e ? ge_e_ : ge_i_;
      if (variable == "syn_i") return e ? gi_e_ : gi_i_;
      if (variable == "theta") return e ? th_e_ : th_i_;
      throw error(std::string(what) + ": population '" + population + "' has no variable '" + variable +
                  "' (v, syn_e, syn_i, theta)");
    }
    throw error(std::string(what) + ": population '" + population + "' has no state here (the window schedule keeps " +
                "v, syn_e, syn_i and theta of '" + net.populations[static_cast<std::size_t>(c_.exc)].name + "' and '" +
                net.populations[static_cast<std::size_t>(c_.inh)].name + "')");
  }

  std::vector<float> state(const std::string& population, const std::string& variable) const override {
    auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), state_view(population, variable, "state"));
    return std::vector<float>(h.data(), h.data() + h.size());
  }

  void set_state(const std::string& population, const std::string& variable, const std::vector<float>& values) override {
    auto d = state_view(population, variable, "set_state");
    const auto n = static_cast<std::size_t>(N_), all = d.size();
    if (values.size() != 1 && values.size() != n && values.size() != all)
      throw error("set_state: " + population + "." + variable + ": expected 1, " + std::to_string(n) + " or " +
                  std::to_string(all) + " values, got " + std::to_string(values.size()));
    for (float x : values)
      if (!std::isfinite(x)) throw error("set_state: " + population + "." + variable + ": values must be finite");
    auto h = Kokkos::create_mirror_view(d);
    for (std::size_t k = 0; k < all; ++k) h(k) = values.size() == all ? values[k] : values[values.size() == 1 ? 0 : k % n];
    Kokkos::deep_copy(d, h);
  }

  void set_poisson_rates(const std::string& population, const std::vector<double>& rates) override {
    if (population != input_name())
      throw error("set_poisson_rates: population '" + population + "' is not the input ('" + input_name() + "')");
    const auto I = static_cast<std::size_t>(I_), all = static_cast<std::size_t>(M_ * I_);
    if (rates.size() != 1 && rates.size() != I && rates.size() != all)
      throw error("set_poisson_rates: " + population + ": expected 1, " + std::to_string(I) + " or " + std::to_string(all) +
                  " rates, got " + std::to_string(rates.size()));
    auto h = Kokkos::create_mirror_view(inv_log_q_);
    for (std::size_t k = 0; k < all; ++k) {
      const double r = rates.size() == all ? rates[k] : rates[rates.size() == 1 ? 0 : k % I];
      if (!(r >= 0) || !std::isfinite(r)) throw error("set_poisson_rates: " + population + ": rates must be finite and >= 0");
      const double p = r * net.dt;
      p_host_[k] = std::min(p, 1.0);
      h(k) = p <= 0 ? 1.0 : (p >= 1 ? 0.0 : 1.0 / std::log1p(-p));
    }
    Kokkos::deep_copy(inv_log_q_, h);
    rates_changed_ = true;
  }

  void set_adaptation(const std::string& population, bool adapt) override {
    if (net.find_population(population) != c_.exc)
      throw error("set_adaptation: population '" + population + "': only '" +
                  net.populations[static_cast<std::size_t>(c_.exc)].name + "' adapts in the window schedule");
    adapt_e_ = adapt;
  }

  void set_learning(const std::string& projection, bool on) override {
    require_input_projection(projection, "set_learning");
    if (!c_.plastic) throw error("set_learning: projection '" + projection + "' is not plastic");
    learning_ = on;
  }

  void normalise_weights(const std::string& projection, double column_sum) override {
    require_input_projection(projection, "normalise_weights");
    if (!(column_sum > 0) || !std::isfinite(column_sum)) throw error("normalise_weights: column_sum must be > 0");
    float* w = w_.data();
    const std::int64_t I = I_, N = N_;
    const std::int32_t* col = col_syn_.data();
    const double target = column_sum;
    Kokkos::parallel_for(
        "kspike::window::normalise", Kokkos::RangePolicy<Exec>(0, M_ * N_), KOKKOS_LAMBDA(std::int64_t mj) {
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

  // The window schedule keeps traces in its own form (spike times and a post trace), not the
  // step schedule's: none are listed, so checkpoints hold weights only.
  std::vector<std::string> trace_names(const std::string& projection) const override {
    require_input_projection(projection, "trace_names");
    return {};
  }
  std::vector<double> traces(const std::string& projection, const std::string& trace, int) const override {
    throw error("traces: projection '" + projection + "' has no trace '" + trace + "' in the window schedule");
  }
  void set_traces(const std::string& projection, const std::string& trace, const std::vector<double>&, int) override {
    throw error("set_traces: projection '" + projection + "' has no trace '" + trace + "' in the window schedule");
  }

  bool run(double duration, const std::function<bool(step_t, step_t)>& progress) override {
    if (!(duration >= 0) || !std::isfinite(duration) || duration / net.dt > 9.0e15)
      throw error("duration: must be a finite number >= 0 of at most 9e15 steps");
    const step_t total = static_cast<step_t>(std::llround(duration / net.dt));
    const auto t0 = std::chrono::steady_clock::now();
    bool completed = true;
    for (step_t done = 0; done < total;) {
      const step_t n = std::min<step_t>(max_window, total - done);
      run_window(n);
      done += n;
      if (progress && done < total && !progress(done, total)) {
        completed = false;
        break;
      }
    }
    stats.wall_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (progress && completed) progress(total, total);
    return completed;
  }

  // Room for the spikes one window can record: a neuron fires at most once per refractory (or
  // blocking) period; an input about three times its expected count, plus slack.
  std::int64_t capacity_for(int which, std::int64_t steps) const {
    if (which == 0) {
      double busiest = 0;
      for (std::int64_t m = 0; m < M_; ++m) {
        double e = 0;
        for (std::int64_t i = 0; i < I_; ++i) e += p_host_[static_cast<std::size_t>(m * I_ + i)] * double(steps);
        busiest = std::max(busiest, e);
      }
      return static_cast<std::int64_t>(3 * busiest) + 64 * I_;
    }
    const auto& c = which == 1 ? exc_ : inh_;
    return N_ * (steps / (std::max(c.ref_steps, c.block_steps) + 1) + 2);
  }

  void run_window(std::int64_t steps) {
    bool rec[3];
    for (int k = 0; k < 3; ++k) {
      rec[k] = c_.record[k] && sink != nullptr;
      if (rec[k] && rec_cap_[k] < capacity_for(k, steps)) {
        rec_cap_[k] = capacity_for(k, steps);
        rec_[k] = view<window_spike>("recorded", static_cast<std::size_t>(M_ * rec_cap_[k]));
      }
    }
    Kokkos::deep_copy(rec_n_, 0);
    // The post trace is only advanced while learning: when learning resumes, it is set from
    // the last post spike (its value before this window's first step).
    if (learning_ && !post1_current_) {
      float* p1 = post1_.data();
      const std::int64_t* tpost = t_post_.data();
      const double rate = net.dt / c_.stdp.tau_post, now = static_cast<double>(step - 1);
      Kokkos::parallel_for(
          "kspike::window::post_trace", Kokkos::RangePolicy<Exec>(0, M_ * N_), KOKKOS_LAMBDA(std::int64_t k) {
            p1[k] = tpost[k] == window_detail::never ? 0.0f
                                                     : static_cast<float>(kmath::exp(-(now - static_cast<double>(tpost[k])) * rate));
          });
      Kokkos::fence();
    }
    post1_current_ = learning_;

    const window_detail::window_args args = kernel_args(steps, rec);
    if (team_kernel_) {
      window_detail::run_window_teams<Exec>(args, team_scratch(), team_size_);
    } else {
      run_window_per_instance(args);
    }
    step = args.t_end;
    rates_changed_ = false;

    auto st = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), status_);
    for (std::int64_t m = 0; m < M_; ++m)
      if (st(static_cast<std::size_t>(m)) != 0)
        throw error(st(static_cast<std::size_t>(m)) == 1
                        ? "window schedule: instance " + std::to_string(m) +
                              ": more input spikes in flight than the event lists hold (inputs firing far above 64 Hz)"
                        : "window schedule: instance " + std::to_string(m) +
                              ": an input fired more than 16 times within the longest delay (its pre traces would be lost)");
    collect_activity(steps);
    if (rec[0] || rec[1] || rec[2]) emit(rec);
  }

  // Everything a window kernel reads, as plain values and pointers.
  window_detail::window_args kernel_args(std::int64_t steps, const bool rec[3]) {
    window_detail::window_args a{};
    a.instances = M_;
    a.n_input = I_;
    a.n_exc = N_;
    a.t0 = step;
    a.t_end = step + steps;
    a.slots = slots_;
    a.slot_cap = slot_cap_;
    a.buckets = D_ + 2;
    a.in_rec_cap = rec_cap_[0];
    a.rec_e_cap = rec_cap_[1];
    a.rec_i_cap = rec_cap_[2];
    a.learn = learning_;
    a.adapt = adapt_e_;
    a.redraw = rates_changed_;
    a.rec_in = rec[0];
    a.rec_e = rec[1];
    a.rec_i = rec[2];
    a.ce = exc_;
    a.ce.adapt = adapt_e_;
    a.ci = inh_;
    a.w_ei = static_cast<real_t>(c_.w_exc_to_inh);
    a.w_ie = static_cast<real_t>(c_.w_inh_to_exc);
    // At a pre arrival w += a_post * post trace; at a post spike w += a_pre * pre trace * post2.
    a.a_post = static_cast<float>(c_.stdp.a_post);
    a.a_pre = static_cast<float>(c_.stdp.a_pre);
    a.w_lo = static_cast<float>(c_.stdp.w_min);
    a.w_hi = static_cast<float>(c_.stdp.w_max);
    a.decay1 = static_cast<float>(std::exp(-net.dt / c_.stdp.tau_post));
    // Brian2 integrates dtheta/dt = -theta/tau_theta with Euler; 1 - dt/tau (1 - 1e-8) is 1 in
    // float, so the decay of the whole window is applied at its end, in double.
    a.theta_decay = std::pow(1.0 - net.dt / c_.exc_params.tau_theta, static_cast<double>(steps));
    a.seed = net.seed;
    a.v_e = v_e_.data();
    a.ge_e = ge_e_.data();
    a.gi_e = gi_e_.data();
    a.th_e = th_e_.data();
    a.v_i = v_i_.data();
    a.ge_i = ge_i_.data();
    a.gi_i = gi_i_.data();
    a.th_i = th_i_.data();
    a.since_e = since_e_.data();
    a.since_i = since_i_.data();
    a.activity = activity_.data();
    a.post1 = post1_.data();
    a.t_post = t_post_.data();
    a.next = next_.data();
    a.hist = hist_.data();
    a.draws = draws_.data();
    a.hist_n = hist_n_.data();
    a.inv_log_q = inv_log_q_.data();
    a.events = events_.data();
    a.event_n = event_n_.data();
    a.status = status_.data();
    a.w = w_.data();
    a.tgt = tgt_.data();
    a.bucket = bucket_.data();
    a.col_syn = col_syn_.data();
    a.col_delay = col_delay_.data();
    a.tab_post2 = tab_post2_.data();
    a.tab_pre = tab_pre_.data();
    a.len_post2 = static_cast<std::int64_t>(tab_post2_.extent(0));
    a.len_pre = static_cast<std::int64_t>(tab_pre_.extent(0));
    a.in_rec = rec_[0].data();
    a.rec_e_buf = rec_[1].data();
    a.rec_i_buf = rec_[2].data();
    a.in_rec_n = rec_n_.data();
    a.rec_e_n = a.in_rec_n + M_;
    a.rec_i_n = a.in_rec_n + 2 * M_;
    a.streams = streams_.data();
    return a;
  }

  // The team kernel's scratch arrays (sim/window_team_kernel.hpp), allocated on first use.
  window_detail::window_team_scratch team_scratch() {
    if (fired_e_.extent(0) == 0) {
      const auto MN = static_cast<std::size_t>(M_ * N_);
      fired_e_ = view<std::int32_t>("fired_e", MN);
      fired_i_ = view<std::int32_t>("fired_i", MN);
      fired_in_ = view<std::int32_t>("fired_in", static_cast<std::size_t>(M_ * I_));
      arrive_n_ = view<std::int32_t>("arrive_n", MN);
      arrive_ = view<std::uint64_t>("arrive", MN * static_cast<std::size_t>(team_list_));
    }
    return {fired_e_.data(), fired_i_.data(), fired_in_.data(), arrive_n_.data(), arrive_.data(), team_list_};
  }

  // One work item per instance: the kernel for CPUs (see the head of this file).
  void run_window_per_instance(const window_detail::window_args& args) {
    const std::int64_t I = args.n_input, N = args.n_exc, t0 = args.t0, t_end = args.t_end;
    const std::int64_t slots = args.slots, slot_cap = args.slot_cap;
    const std::int64_t rec_e_cap = args.rec_e_cap, rec_i_cap = args.rec_i_cap, in_rec_cap = args.in_rec_cap;
    const bool learn = args.learn, adapt = args.adapt, redraw = args.redraw, rec_in = args.rec_in, rec_e = args.rec_e,
               rec_i = args.rec_i;
    const auto ce = args.ce, ci = args.ci;
    const real_t w_ei = args.w_ei, w_ie = args.w_ie;
    const float a_post = args.a_post, a_pre = args.a_pre, w_lo = args.w_lo, w_hi = args.w_hi, decay1 = args.decay1;
    const double theta_decay = args.theta_decay;
    const std::uint64_t sd = args.seed;
    real_t *v_e = args.v_e, *ge_e = args.ge_e, *gi_e = args.gi_e, *th_e = args.th_e;
    real_t *v_i = args.v_i, *ge_i = args.ge_i, *gi_i = args.gi_i, *th_i = args.th_i;
    std::int32_t *since_e = args.since_e, *since_i = args.since_i;
    std::uint64_t* activity = args.activity;
    float* post1 = args.post1;
    std::int64_t *t_post = args.t_post, *next = args.next, *hist = args.hist;
    std::uint64_t* draws = args.draws;
    std::uint32_t* hist_n = args.hist_n;
    const double* inv_log_q = args.inv_log_q;
    std::uint64_t* events = args.events;
    std::uint32_t* flat = flat_.data();
    const std::int64_t flat_cap = flat_cap_, flat_limit = flat_cap_ - N_ - window_detail::append_width;
    std::int32_t* event_n = args.event_n;
    int* status = args.status;
    float* w = args.w;
    const std::uint16_t *tgt = args.tgt, *bucket = args.bucket;
    const std::int32_t* col_syn = args.col_syn;
    const std::uint8_t* col_delay = args.col_delay;
    const std::int64_t B = args.buckets;
    const float *tab2 = args.tab_post2, *tabp = args.tab_pre;
    const std::int64_t len2 = args.len_post2, lenp = args.len_pre;
    window_spike *in_rec = args.in_rec, *rec_e_buf = args.rec_e_buf, *rec_i_buf = args.rec_i_buf;
    std::int64_t *in_rec_n = args.in_rec_n, *rec_e_n = args.rec_e_n, *rec_i_n = args.rec_i_n;
    const std::uint32_t* streams = args.streams;

    Kokkos::parallel_for(
        "kspike::window", Kokkos::RangePolicy<Exec>(0, M_), KOKKOS_LAMBDA(std::int64_t m) {
          constexpr int H = window_detail::history;
          constexpr std::uint64_t len_mask = (std::uint64_t{1} << window_detail::run_bits) - 1;
          // Local copies of the captured scalars the event loops read: a store through a
          // float or integer pointer could alias the closure's members, so the compiler would
          // otherwise reload them after every store.
          const std::int64_t n_in = I, n_ex = N, n_slots = slots, cap = slot_cap, n_buckets = B;
          const float pre_rate = a_post, lo_w = w_lo, hi_w = w_hi;
          const std::int64_t o = m * N, oi = m * I;
          real_t *v = v_e + o, *ge = ge_e + o, *gi = gi_e + o, *th = th_e + o;
          real_t *vi = v_i + o, *gei = ge_i + o, *gii = gi_i + o, *thi = th_i + o;
          std::int32_t *se = since_e + o, *si = since_i + o;
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
              nx[i] = ilq[i] > 0 ? window_detail::no_spike
                                 : t0 + geometric_gap(ilq[i], sd, stream, static_cast<std::uint32_t>(i), dr[i]++);
          std::int32_t fired_e[4096], fired_i[4096];  // n <= 4096 (read_window_circuit)
          std::uint64_t inputs_fired = 0, input_events = 0, exc_fired = 0, inh_fired = 0;
          for (std::int64_t t = t0; t < t_end; ++t) {
            // 1. Synaptic variables below 1e-30 are set to 0 every 16 steps, as the engine does.
            if (t % 16 == 0) {
              window_detail::flush(ge, N);
              window_detail::flush(gi, N);
              window_detail::flush(gei, N);
              window_detail::flush(gii, N);
              if (learn) window_detail::flush(p1, N);
            }
            // post1 decays geometrically (exp(-dt/tau_post1) per step, from 1 at a spike): the
            // exact trace to float rounding, read by every arriving input event.
            if (learn) window_detail::scale(p1, N, decay1);
            // 2. Neurons (excitatory, then inhibitory): update, threshold, reset.
            int ne = adapt ? window_detail::update_euler<neurons::theta_rule::jumps_only>(ce, v, ge, gi, th, se, N)
                           : window_detail::update_euler<neurons::theta_rule::frozen>(ce, v, ge, gi, th, se, N);
            int ni = window_detail::update_euler<neurons::theta_rule::frozen>(ci, vi, gei, gii, thi, si, N);
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
              if ((i & 31) == 0 && !window_detail::any_due(nx + i, (n_in - i < 32 ? n_in - i : 32), t)) {
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
                if (k < cap) ev[slot * cap + k] = ((row + first) << window_detail::run_bits) | len;
              }
              hs[i * H + hn[i] % H] = t;
              ++hn[i];
              if (rec_in) {
                const std::int64_t k = in_rec_n[m]++;
                if (k < in_rec_cap) in_rec[m * in_rec_cap + k] = window_spike{t, static_cast<std::int32_t>(i)};
              }
              const std::int64_t gap = geometric_gap(ilq[i], sd, stream, static_cast<std::uint32_t>(i), dr[i]++);
              nx[i] = gap >= window_detail::no_spike ? window_detail::no_spike : t + 1 + gap;
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
                const auto first = static_cast<std::uint32_t>(list[k] >> window_detail::run_bits);
                const auto len = static_cast<std::uint32_t>(list[k] & len_mask);
                window_detail::append_run(fl + nf, first, len);
                nf += len;
                if (nf > flat_limit || k + 1 == n_runs) {
                  if (learn)
                    window_detail::deliver_learning(fl, nf, tgt, wm, ge, p1, pre_rate, lo_w, hi_w);
                  else
                    window_detail::deliver(fl, nf, tgt, wm, ge);
                  input_events += static_cast<std::uint64_t>(nf);
                  nf = 0;
                }
              }
              evn[slot] = 0;
            }
            // 5. Excitatory spikes: record, STDP on their input column, excite the partner.
            for (int k = 0; k < ne; ++k) {
              const std::int64_t j = fired_e[k];
              if (rec_e) {
                const std::int64_t r = rec_e_n[m]++;
                if (r < rec_e_cap) rec_e_buf[m * rec_e_cap + r] = window_spike{t, static_cast<std::int32_t>(j)};
              }
              if (learn) {
                const float post2_before = learning::trace_at(tab2, len2, t - tp[j]);
                bool lost = false;
                for (std::int64_t i = 0; i < I; ++i) {
                  // The pre trace is set by the newest arrival at this synapse: the newest
                  // spike of input i at or before t - delay.
                  const float pre = window_detail::pre_trace_at(hs + i * H, hn[i], t - col_delay[j * I + i], tabp, lenp, lost);
                  float& x = wm[col_syn[j * I + i]];
                  x = learning::clip_weight(x + a_pre * pre * post2_before, w_lo, w_hi);
                }
                if (lost) status[m] = 2;  // 16 spikes within one max delay
                p1[j] = 1.0f;
              }
              tp[j] = t;
              gei[j] += w_ei;
            }
            // 6. Inhibitory spikes: every excitatory neuron but the partner.
            for (int k = 0; k < ni; ++k) {
              if (rec_i) {
                const std::int64_t r = rec_i_n[m]++;
                if (r < rec_i_cap) rec_i_buf[m * rec_i_cap + r] = window_spike{t, fired_i[k]};
              }
              window_detail::add_all_but(gi, N, fired_i[k], w_ie);
            }
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
          if (adapt)
            for (std::int64_t j = 0; j < N; ++j) th[j] = static_cast<real_t>(static_cast<double>(th[j]) * theta_decay);
        });
    Kokkos::fence();
  }

  void collect_activity(std::int64_t steps) {
    auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), activity_);
    for (std::int64_t m = 0; m < M_; ++m) {
      const std::uint64_t* a = h.data() + m * activity_fields;
      stats.spikes[static_cast<std::size_t>(c_.input)] += a[1];
      stats.synaptic_events += a[2];
      stats.spikes[static_cast<std::size_t>(c_.exc)] += a[3];
      stats.spikes[static_cast<std::size_t>(c_.inh)] += a[4];
    }
    stats.steps += steps;
    Kokkos::deep_copy(activity_, 0);
  }

  // Hands the window's recorded spikes to the sink, step by step, populations in their order,
  // ids (instance k's neuron i is k * size + i) ascending.
  void emit(const bool rec[3]) {
    auto counts = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), rec_n_);
    const int pop_of[3] = {c_.input, c_.exc, c_.inh};
    const std::int64_t size_of[3] = {I_, N_, N_};
    std::vector<std::pair<step_t, std::int64_t>> all[3];
    for (int k = 0; k < 3; ++k) {
      if (!rec[k]) continue;
      auto buf = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), rec_[k]);
      for (std::int64_t m = 0; m < M_; ++m) {
        const std::int64_t n = counts(static_cast<std::size_t>(k * M_ + m));
        if (n > rec_cap_[k]) throw internal_error("window schedule: spike recording buffer overflowed");
        for (std::int64_t r = 0; r < n; ++r) {
          const window_spike& s = buf(static_cast<std::size_t>(m * rec_cap_[k] + r));
          all[k].emplace_back(s.step, m * size_of[k] + s.neuron);
        }
      }
      std::sort(all[k].begin(), all[k].end());
    }
    std::size_t head[3] = {0, 0, 0};
    std::vector<std::int64_t> ids;
    std::vector<int> order{0, 1, 2};
    std::sort(order.begin(), order.end(), [&](int a, int b) { return pop_of[a] < pop_of[b]; });
    for (;;) {
      step_t now = -1;
      for (int k = 0; k < 3; ++k)
        if (head[k] < all[k].size() && (now < 0 || all[k][head[k]].first < now)) now = all[k][head[k]].first;
      if (now < 0) break;
      for (int k : order) {
        ids.clear();
        while (head[k] < all[k].size() && all[k][head[k]].first == now) ids.push_back(all[k][head[k]++].second);
        if (!ids.empty()) sink->spikes(now, static_cast<std::size_t>(pop_of[k]), ids.data(), ids.size());
      }
    }
  }

 private:
  static constexpr std::int64_t activity_fields = window_detail::activity_fields;
  window_circuit c_;
  view<std::uint64_t> activity_;
  std::int64_t M_ = 0, I_ = 0, N_ = 0, D_ = 0, slots_ = 1, slot_cap_ = 0;
  neurons::adaptive_lif::coeffs exc_{}, inh_{};
  bool rates_changed_ = true, learning_ = false, adapt_e_ = true, post1_current_ = true;
  std::vector<double> p_host_;   // spike probability per step of every input (for buffer sizes)
  std::vector<std::int32_t> delay_host_;  // [i * n + j]: steps from an input spike to its delivery
  view<std::uint32_t> streams_;  // input-noise RNG stream of every instance
  view<real_t> v_e_, ge_e_, gi_e_, th_e_, v_i_, ge_i_, gi_i_, th_i_;
  view<std::int32_t> since_e_, since_i_;
  view<std::int64_t> t_post_, next_, hist_;
  view<std::uint64_t> draws_;
  view<std::uint32_t> hist_n_;
  view<double> inv_log_q_;
  view<std::uint64_t> events_;
  view<std::uint32_t> flat_;  // per instance: the synapses of one step's runs, unpacked
  std::int64_t flat_cap_ = 0;
  view<std::int32_t> event_n_;
  view<int> status_;
  view<float> w_;
  view<std::uint16_t> tgt_, bucket_;
  view<std::int32_t> col_syn_;
  std::vector<std::int32_t> col_syn_host_;
  view<std::uint8_t> col_delay_;
  view<float> post1_, tab_post2_, tab_pre_;
  view<window_spike> rec_[3];  // recorded spikes of input, exc, inh: per instance rec_cap_[k]
  std::int64_t rec_cap_[3] = {0, 0, 0};
  view<std::int64_t> rec_n_;  // [k * instances + m]
  // The team kernel (sim/window_team_kernel.hpp) and its scratch arrays.
  bool team_kernel_ = false;
  int team_size_ = 0;
  std::int64_t team_list_ = 64;
  view<std::int32_t> fired_e_, fired_i_, fired_in_, arrive_n_;
  view<std::uint64_t> arrive_;
};

}  // namespace kspike
