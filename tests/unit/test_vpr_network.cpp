// The place-recognition modules on the engine's window schedule (experiments/vpr/module_batch,
// sim/window_engine_impl.hpp): spikes and weights against a plain step-by-step re-statement of the
// reference's equations (docs/vpr.md, docs/models.md), determinism across backends, threads and batch
// composition, weight normalisation and the Poisson input process.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <numeric>

#include "experiments/vpr/module_batch.hpp"
#include "sim/core/rng.hpp"
#include "support/backends.hpp"
#include "support/memory_sink.hpp"

using kspike::vpr::module_batch;
using kspike::vpr::module_params;
using kspike::vpr::module_spike;

namespace {

// The reference network written out the slow, obvious way: every synapse checked every step
// against every input spike of the last max-delay steps, traces computed from their last
// event with exp() in double, the pre trace from each synapse's own last arrival. Float state
// and the same operation order for the membranes, so spike times can be compared exactly.
struct naive_network {
  module_params p;
  std::size_t I, N;
  std::vector<float> w;            // [i * N + j]
  std::vector<std::int32_t> delay; // [i * N + j], Brian2 steps
  std::vector<float> v, ge, gi, th, vi, gei, gii;
  std::vector<std::int64_t> last_e, last_i, t_post, last_arrival;
  std::map<std::int64_t, std::vector<std::int32_t>> inputs;  // step -> inputs that fired
  std::vector<module_spike> spikes;
  std::uint64_t events = 0, inh_spikes = 0;  // synaptic events delivered, inhibitory spikes
  static constexpr std::int64_t never = -(std::int64_t{1} << 40);

  naive_network(const module_params& params, std::vector<float> w0, std::vector<std::int32_t> d)
      : p(params), I(params.n_input), N(params.n_e), w(std::move(w0)), delay(std::move(d)) {
    v.assign(N, float(p.v_init_exc));
    vi.assign(N, float(p.v_init_inh));
    ge.assign(N, 0);
    gi.assign(N, 0);
    gei.assign(N, 0);
    gii.assign(N, 0);
    th.assign(N, float(p.exc.theta_init));
    last_e.assign(N, never);
    last_i.assign(N, never);
    t_post.assign(N, never);
    last_arrival.assign(I * N, never);
  }

  float trace(std::int64_t since_event, double tau) const {
    return since_event < 0 || since_event > 100000 ? 0.0f : float(std::exp(-double(since_event) * p.dt / tau));
  }

  // One neuron, Brian2's Euler step with `refractory` (v frozen) and the 50 ms timer.
  bool neuron(const kspike::neurons::adaptive_lif::params& m, float& vv, float& g_e, float& g_i, float& theta,
              std::int64_t& last, std::int64_t t, bool adapt) {
    const auto steps = [&](double x) { return std::llround(x / p.dt); };
    const std::int64_t k = t - last;  // steps since the last spike
    const float dt_over_tau = float(p.dt / m.tau);
    float vn = vv + dt_over_tau * ((float(m.v_leak) - vv) + g_e * (float(m.e_rev_e) - vv) + g_i * (float(m.e_rev_i) - vv));
    const bool refractory = k <= steps(m.t_ref);
    const bool fire = !refractory && k >= steps(m.t_block) &&
                      vn > float(m.v_threshold) + theta - float(m.theta_offset);
    if (!refractory) vv = vn;
    if (fire) {
      vv = float(m.v_reset);
      last = t;
      if (adapt) theta += float(m.theta_plus);
    }
    g_e *= float(1.0 - p.dt / m.tau_syn_e);
    g_i *= float(1.0 - p.dt / m.tau_syn_i);
    return fire;
  }

  void run(std::int64_t t0, std::int64_t steps, bool learn) {
    const std::int64_t D = std::llround(p.max_delay / p.dt);
    const float nu_pre = float(p.stdp.signed_nu_pre()), nu_post = float(p.stdp.nu_post);
    for (std::int64_t t = t0; t < t0 + steps; ++t) {
      if (t % 16 == 0)
        for (auto* x : {&ge, &gi, &gei, &gii})
          for (auto& y : *x) y = std::abs(y) < 1e-30f ? 0.0f : y;
      std::vector<std::int32_t> fired_e, fired_i;
      for (std::size_t j = 0; j < N; ++j)
        if (neuron(p.exc, v[j], ge[j], gi[j], th[j], last_e[j], t, learn)) fired_e.push_back(int(j));
      float zero = 0;
      for (std::size_t j = 0; j < N; ++j)
        if (neuron(p.inh, vi[j], gei[j], gii[j], zero, last_i[j], t, false)) fired_i.push_back(int(j));
      // Input arrivals: spikes of steps t - D .. t, oldest first, inputs ascending.
      for (std::int64_t s = t - D; s <= t; ++s) {
        auto it = inputs.find(s);
        if (it == inputs.end()) continue;
        for (std::int32_t i : it->second)
          for (std::size_t j = 0; j < N; ++j) {
            const std::size_t syn = std::size_t(i) * N + j;
            if (delay[syn] != t - s) continue;
            ge[j] += w[syn];
            ++events;
            last_arrival[syn] = t;
            if (learn) w[syn] = std::min(1.0f, std::max(0.0f, w[syn] + nu_pre * trace(t - t_post[j], p.stdp.tau_post1)));
          }
      }
      for (std::int32_t j : fired_e) {
        spikes.push_back({t, j});
        if (learn) {
          const float post2 = trace(t - t_post[std::size_t(j)], p.stdp.tau_post2);
          for (std::size_t i = 0; i < I; ++i) {
            const std::size_t syn = i * N + std::size_t(j);
            const float pre = trace(t - last_arrival[syn], p.stdp.tau_pre);
            w[syn] = std::min(1.0f, std::max(0.0f, w[syn] + nu_post * pre * post2));
          }
          t_post[std::size_t(j)] = t;
        }
        gei[std::size_t(j)] += float(p.w_exc_to_inh);
        ++events;
      }
      for (std::int32_t k : fired_i) {
        ++inh_spikes;
        for (std::size_t j = 0; j < N; ++j)
          if (std::int32_t(j) != k) {
            gi[j] += float(p.w_inh_to_exc);
            ++events;
          }
      }
    }
    if (learn) {
      const double f = std::pow(1.0 - p.dt / p.exc.tau_theta, double(steps));
      for (auto& x : th) x = float(double(x) * f);
    }
  }
};

module_params small_params(std::size_t inputs, std::size_t neurons) {
  module_params p = kspike::vpr::reference_module_params(2e-3);
  p.n_input = inputs;
  p.n_e = neurons;
  return p;
}

// The input delays as docs/architecture.md "Schedules" documents the window schedule's draw
// (draw 0), in steps after the input spike: round(u * max delay / dt) for a uniform u of
// synapse (i, j).
std::vector<std::int32_t> documented_delays(const module_params& p, std::uint64_t seed) {
  std::vector<std::int32_t> d(p.n_input * p.n_e);
  const double span = double(std::llround(p.max_delay / p.dt));
  for (std::size_t i = 0; i < p.n_input; ++i)
    for (std::size_t j = 0; j < p.n_e; ++j)
      d[i * p.n_e + j] = std::int32_t(std::llround(
          kspike::uniform01(kspike::philox4x32(seed, kspike::stream_id(kspike::stream::window_delay), std::uint32_t(i), j)) * span));
  return d;
}

std::vector<double> ramp_rates(std::size_t n, double lo, double hi) {
  std::vector<double> r(n);
  for (std::size_t i = 0; i < n; ++i) r[i] = lo + (hi - lo) * double(i) / double(n > 1 ? n - 1 : 1);
  return r;
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("VPR network: spikes, STDP weights and theta match a plain re-statement of the equations",
                        "[vpr][network]", kspike_test::backends) {
  const std::string backend = kspike_test::backend_name<TestType>();
  const module_params p = small_params(24, 4);
  module_batch b(p, {{7}}, 3, backend, true);
  const auto w0 = b.weights(0);
  naive_network ref(p, w0, documented_delays(p, 3));
  b.set_learning(true);
  b.set_rates({ramp_rates(24, 100.0, 400.0)});
  const std::int64_t steps = 6000;  // 0.6 s: several spikes per neuron, each followed by STDP
  b.run(steps, true, true);
  const auto recorded = b.take_input_spikes();
  for (const auto& s : recorded[0]) ref.inputs[s.step].push_back(s.neuron);
  REQUIRE(ref.inputs.size() > 100);
  ref.run(0, steps, true);

  const auto spikes = b.take_spikes()[0];
  REQUIRE(ref.spikes.size() >= 8);  // the comparison means something
  REQUIRE(spikes.size() == ref.spikes.size());
  for (std::size_t k = 0; k < spikes.size(); ++k) {
    CHECK(spikes[k].step == ref.spikes[k].step);
    CHECK(spikes[k].neuron == ref.spikes[k].neuron);
  }
  const auto w = b.weights(0);
  double changed = 0;
  for (std::size_t k = 0; k < w.size(); ++k) {
    CHECK(w[k] == Approx(ref.w[k]).margin(1e-6));
    changed = std::max(changed, double(std::abs(w[k] - w0[k])));
  }
  CHECK(changed > 1e-3);  // STDP did move weights
  const auto th = b.theta(0);
  for (std::size_t j = 0; j < th.size(); ++j) CHECK(th[j] == Approx(ref.th[j]).epsilon(1e-6));
  const auto counts = b.take_counts()[0];
  CHECK(std::accumulate(counts.begin(), counts.end(), std::size_t{0}) == spikes.size());
  CHECK(b.take_counts()[0] == std::vector<std::int32_t>(4, 0));  // taken: zeroed
  // The activity counters behind the energy estimates, against the re-statement's own counts.
  const auto act = b.take_activity();
  CHECK(act.steps == std::uint64_t(steps));
  std::uint64_t input_spikes = 0;
  for (const auto& [step, list] : ref.inputs) input_spikes += list.size();
  CHECK(act.input_spikes == input_spikes);
  CHECK(act.exc_spikes == ref.spikes.size());
  CHECK(act.inh_spikes == ref.inh_spikes);
  CHECK(act.synaptic_events == ref.events);
  CHECK(ref.inh_spikes > 0);
  CHECK(b.take_activity().synaptic_events == 0);  // taken: zeroed
}

TEMPLATE_LIST_TEST_CASE("VPR network: without learning, weights and theta stay, spikes still match",
                        "[vpr][network]", kspike_test::backends) {
  const module_params p = small_params(30, 3);
  module_batch b(p, {{1}}, 11, kspike_test::backend_name<TestType>(), true);
  naive_network ref(p, b.weights(0), documented_delays(p, 11));
  b.set_learning(false);
  b.set_rates({ramp_rates(30, 50.0, 300.0)});
  b.run(4000, true, true);
  const auto recorded = b.take_input_spikes();
  for (const auto& s : recorded[0]) ref.inputs[s.step].push_back(s.neuron);
  ref.run(0, 4000, false);
  const auto spikes = b.take_spikes()[0];
  REQUIRE(!ref.spikes.empty());
  REQUIRE(spikes.size() == ref.spikes.size());
  for (std::size_t k = 0; k < spikes.size(); ++k) CHECK(spikes[k].step == ref.spikes[k].step);
  CHECK(b.weights(0) == ref.w);
  for (float t : b.theta(0)) CHECK(t == float(p.exc.theta_init));
}

TEST_CASE("VPR network: one module gives the same result alone, in a batch, on every backend and thread count",
          "[vpr][network]") {
  const module_params p = small_params(64, 10);
  auto run = [&](const std::string& backend, const std::vector<kspike::vpr::module_key>& keys) {
    module_batch b(p, keys, 5, backend);
    std::vector<std::vector<double>> rates;
    for (std::size_t m = 0; m < keys.size(); ++m) rates.push_back(ramp_rates(64, 20.0 + 5.0 * double(keys[m].key), 150.0));
    for (int image = 0; image < 3; ++image) {
      b.normalise_weights();
      b.set_rates(rates);
      b.run(1500, true);
      b.set_rates({});
      b.run(500, true);
    }
    std::vector<std::pair<std::vector<std::int32_t>, std::vector<float>>> out;
    const auto c = b.take_counts();
    for (std::size_t m = 0; m < keys.size(); ++m) out.emplace_back(c[m], b.weights(m));
    return out;
  };
  const auto batch_serial = run("serial", {{0}, {1}, {2}});
  REQUIRE(std::accumulate(batch_serial[1].first.begin(), batch_serial[1].first.end(), 0) > 0);
  CHECK(batch_serial[0].first != batch_serial[1].first);  // modules see different input noise
  const auto alone = run("serial", {{1}});
  CHECK(alone[0] == batch_serial[1]);
#ifdef KOKKOS_ENABLE_OPENMP
  const auto batch_omp = run("openmp", {{0}, {1}, {2}});
  CHECK(batch_omp == batch_serial);
#endif
}

TEST_CASE("VPR network: weight normalisation sets every column sum to weight_sum", "[vpr][network]") {
  module_params p = small_params(784, 16);
  module_batch b(p, {{0}, {25}}, 0, "serial");
  const auto before = b.weights(0);
  double s0 = 0;
  for (std::size_t i = 0; i < 784; ++i) s0 += before[i * 16 + 3];
  CHECK(s0 == Approx(784 * 0.3 * 0.51).epsilon(0.1));  // (U + 0.01) * 0.3 has mean 0.153
  b.normalise_weights();
  for (std::size_t m = 0; m < 2; ++m) {
    const auto w = b.weights(m);
    for (std::size_t j = 0; j < 16; ++j) {
      double s = 0;
      for (std::size_t i = 0; i < 784; ++i) s += w[i * 16 + j];
      CHECK(s == Approx(78.0).epsilon(1e-5));
    }
  }
}

TEST_CASE("VPR network: Poisson inputs fire at rate * dt per step, at one draw per spike", "[vpr][network]") {
  module_params p = small_params(400, 2);
  module_batch b(p, {{0}}, 9, "serial", true);
  b.set_learning(false);
  std::vector<double> rates(400, 40.0);
  rates[0] = 0.0;      // silent
  rates[1] = 1e4;      // p = rate * dt = 1: every step
  b.set_rates({rates});
  b.run(10000, false);  // 1 s
  std::vector<std::size_t> n(400, 0);
  std::size_t gaps_zero = 0, gaps = 0;
  std::vector<std::int64_t> last(400, -1);
  const auto recorded = b.take_input_spikes();
  for (const auto& s : recorded[0]) {
    ++n[std::size_t(s.neuron)];
    if (s.neuron >= 2 && last[std::size_t(s.neuron)] >= 0) {
      ++gaps;
      gaps_zero += s.step - last[std::size_t(s.neuron)] == 1;
    }
    last[std::size_t(s.neuron)] = s.step;
  }
  CHECK(n[0] == 0);
  CHECK(n[1] == 10000);
  const double total = std::accumulate(n.begin() + 2, n.end(), 0.0);
  const double expected = 398 * 40.0, sd = std::sqrt(expected);
  CHECK(std::abs(total - expected) < 4 * sd);
  // Geometric inter-spike gaps: P(next step) = p = 0.004.
  const double p1 = double(gaps_zero) / double(gaps);
  CHECK(std::abs(p1 - 0.004) < 4 * std::sqrt(0.004 / double(gaps)));
}

TEST_CASE("VPR network: parameters the window schedule cannot run are errors naming the field", "[vpr][network]") {
  module_params p = small_params(10, 5);
  p.max_delay = 30e-3;  // 300 steps: more than the 256 the event ring takes
  CHECK_THROWS_WITH(module_batch(p, {{0}}, 0, "serial"), Catch::Contains("projections.input.delay"));
  p = small_params(10, 5000);
  CHECK_THROWS_WITH(module_batch(p, {{0}}, 0, "serial"), Catch::Contains("populations.exc.size"));
  p = small_params(10, 5);
  p.stdp.tau_pre = -1;
  CHECK_THROWS_WITH(module_batch(p, {{0}}, 0, "serial"), Catch::Contains("tau_pre"));
  p = small_params(10, 5);
  p.exc.method = kspike::neurons::integrator::exponential_euler;
  CHECK_THROWS_WITH(module_batch(p, {{0}}, 0, "serial"), Catch::Contains("populations.exc.method"));
}
