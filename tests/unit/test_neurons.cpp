// Neuron models against analytic solutions and the reference values of
// the reference values of docs/models.md ("Reference values used by the tests") (computed independently in float64).
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "neurons/adaptive_lif.hpp"
#include "neurons/adex.hpp"
#include "neurons/cuba_lif.hpp"
#include "neurons/if_neuron.hpp"
#include "neurons/lif.hpp"

using namespace kspike;
using vars = neurons::membrane_state;
using alif_state = neurons::adaptive_lif::state;

namespace {
const std::vector<double> appendix_x = {0.8, 1.5, 0.3, 2.5, 0, 1.2, -0.5, 3};
vars at_rest(double v = 0) { return vars{static_cast<real_t>(v), 0, 0, neurons::since_never}; }
alif_state alif_at_rest(double v) { return alif_state{static_cast<real_t>(v), 0, 0, 0, neurons::since_never}; }
}  // namespace

TEST_CASE("IF with hard reset matches Appendix A 1 [IF hard]", "[neurons][appendix]") {
  neurons::if_neuron::params p;  // threshold 1, reset 0
  const auto c = neurons::if_neuron::make(p, 1.0);
  const std::vector<int> S = {0, 1, 0, 1, 0, 1, 0, 1};
  const std::vector<double> V = {0.8, 0, 0.3, 0, 0, 0, -0.5, 0};
  vars s = at_rest();
  for (std::size_t t = 0; t < appendix_x.size(); ++t) {
    s.syn_e = static_cast<real_t>(appendix_x[t]);  // a delta input of x_t
    CHECK(neurons::if_neuron::step(c, s, 0) == (S[t] == 1));
    CHECK(s.v == Approx(V[t]).margin(1e-6));
  }
}

TEST_CASE("IF with reset by subtraction matches Appendix A 1 [IF soft]", "[neurons][appendix]") {
  neurons::if_neuron::params p;
  p.reset = neurons::reset_mode::subtract;
  const auto c = neurons::if_neuron::make(p, 1.0);
  const std::vector<int> S = {0, 1, 1, 1, 1, 1, 0, 1};
  const std::vector<double> V = {0.8, 1.3, 0.6, 2.1, 1.1, 1.3, 0.8, 2.8};
  vars s = at_rest();
  for (std::size_t t = 0; t < appendix_x.size(); ++t) {
    s.syn_i = static_cast<real_t>(appendix_x[t]);  // either receptor adds to v
    CHECK(neurons::if_neuron::step(c, s, 0) == (S[t] == 1));
    CHECK(s.v == Approx(V[t]).margin(1e-6));
  }
}

TEST_CASE("exact-exponential LIF matches Appendix A 1 [exact-exp LIF]", "[neurons][appendix]") {
  neurons::lif::params p;
  p.tau = 10;
  p.r = 1;
  p.v_threshold = 1;
  p.v_reset = 0;
  const auto c = neurons::lif::make(p, 1.0);
  CHECK(c.decay == Approx(0.904837418036).epsilon(1e-7));
  const std::vector<double> V = {0.142743872946, 0.271903870383, 0.388772668977, 0.494519930947,
                                 0.590204010431, 0.676782545859, 0.755122044313, 0.826006553824,
                                 0.890145510389, 0.948180838243, 0,              0.142743872946};
  vars s = at_rest();
  for (std::size_t t = 0; t < V.size(); ++t) {
    const bool spike = neurons::lif::step(c, s, 1.5f);
    CHECK(spike == (t == 10));
    CHECK(s.v == Approx(V[t]).margin(2e-6));
  }
}

TEST_CASE("LIF refractory period holds v for t_ref after a spike", "[neurons]") {
  neurons::lif::params p;
  p.tau = 10;
  p.t_ref = 2;  // two steps of dt = 1
  const auto c = neurons::lif::make(p, 1.0);
  vars s = at_rest();
  int first = -1;
  for (int t = 0; t < 30; ++t) {
    const bool spike = neurons::lif::step(c, s, 1.5f);
    if (spike && first < 0) {
      first = t;
    } else if (first >= 0 && t <= first + 2) {
      CHECK(s.v == 0.0f);  // held at v_reset
    } else if (first >= 0 && t == first + 3) {
      CHECK(s.v == Approx(0.142743872946).margin(2e-6));  // integrates again from reset
      break;
    }
  }
  CHECK(first == 10);
}

TEST_CASE("CUBA LIF propagator equals the analytic coupled solution", "[neurons]") {
  // tau_mem dv/dt = -v + r I, tau_s dI/dt = -I, v(0)=0, I(0)=I0:
  // v(t) = r I0 tau_s/(tau_s - tau_m) (e^{-t/tau_s} - e^{-t/tau_m}).
  neurons::cuba_lif::params p;
  p.tau_mem = 20e-3;
  p.tau_syn_e = 5e-3;
  p.tau_syn_i = 10e-3;
  p.v_threshold = 1e9;
  const double dt = 1e-4;
  const auto c = neurons::cuba_lif::make(p, dt);
  vars s = at_rest();
  s.syn_e = 2.0f;
  s.syn_i = -1.0f;
  for (int k = 1; k <= 400; ++k) {
    neurons::cuba_lif::step(c, s, 0);
    const double t = k * dt;
    auto part = [&](double i0, double ts) { return i0 * ts / (ts - p.tau_mem) * (std::exp(-t / ts) - std::exp(-t / p.tau_mem)); };
    const double v = part(2.0, p.tau_syn_e) + part(-1.0, p.tau_syn_i);
    REQUIRE(s.v == Approx(v).margin(2e-6));
    REQUIRE(s.syn_e == Approx(2.0 * std::exp(-t / p.tau_syn_e)).margin(1e-6));
  }
}

TEST_CASE("CUBA LIF with equal time constants uses the limit propagator", "[neurons]") {
  const double k = neurons::cuba_lif::current_to_voltage(1.0, 10e-3, 10e-3, 1e-4);
  CHECK(k == Approx(1e-2 * std::exp(-1e-2)).epsilon(1e-12));
  const double near = neurons::cuba_lif::current_to_voltage(1.0, 10e-3, 10e-3 * (1 + 1e-7), 1e-4);
  CHECK(near == Approx(k).epsilon(1e-5));
}

TEST_CASE("adaptive LIF: threshold grows per spike, decays, and blocks spikes for t_block", "[neurons]") {
  neurons::adaptive_lif::params p;
  p.theta_plus = 0.05e-3;
  p.tau_theta = 1.0;
  p.t_ref = 5e-3;
  p.t_block = 50e-3;
  p.v_leak = -65e-3;
  p.v_reset = -65e-3;
  p.v_threshold = -52e-3;
  const double dt = 1e-4;
  const auto c = neurons::adaptive_lif::make(p, dt);
  alif_state s = alif_at_rest(-65e-3);
  std::vector<int> spikes;
  for (int t = 0; t < 3000; ++t) {
    s.syn_e = 0.5f;  // a strong steady excitatory conductance
    if (neurons::adaptive_lif::step(c, s, 0)) spikes.push_back(t);
  }
  REQUIRE(spikes.size() >= 2);
  for (std::size_t k = 1; k < spikes.size(); ++k) CHECK(spikes[k] - spikes[k - 1] >= 500);  // 50 ms at 0.1 ms
  const double expected_theta_gain = 0.05e-3;
  CHECK(s.theta > 0);
  CHECK(s.theta < expected_theta_gain * static_cast<double>(spikes.size()));  // decayed a little
  // Frozen threshold (test mode): no growth.
  p.adapt = false;
  const auto frozen = neurons::adaptive_lif::make(p, dt);
  alif_state f = alif_at_rest(-65e-3);
  f.theta = 1e-3f;
  for (int t = 0; t < 3000; ++t) {
    f.syn_e = 0.5f;
    neurons::adaptive_lif::step(frozen, f, 0);
  }
  CHECK(f.theta == 1e-3f);
}

TEST_CASE("adaptive LIF: the compile-time theta rules give the steps of the runtime ones", "[neurons]") {
  // jumps_only is the runtime rule with adapt on and no decay; frozen is adapt off.
  neurons::adaptive_lif::params p;
  p.theta_plus = 0.05e-3;
  p.t_ref = 5e-3;
  p.t_block = 20e-3;
  p.method = neurons::integrator::euler;
  auto adapting = neurons::adaptive_lif::make(p, 1e-4);
  adapting.decay_theta = 1.0f;
  p.adapt = false;
  const auto fixed = neurons::adaptive_lif::make(p, 1e-4);
  using rule = neurons::theta_rule;
  using model = neurons::adaptive_lif;
  alif_state a = alif_at_rest(-65e-3), b = a, c = a, d = a;
  int spikes = 0;
  for (int t = 0; t < 5000; ++t) {
    const float drive = t % 1500 < 1000 ? 2.0f : 0.0f;  // bursts of spikes, then rest
    a.syn_e = b.syn_e = c.syn_e = d.syn_e = drive;
    model::step_with<neurons::integrator::euler>(adapting, a);
    model::step_with<neurons::integrator::euler, rule::jumps_only>(adapting, b);
    model::step_with<neurons::integrator::euler>(fixed, c);
    model::step_with<neurons::integrator::euler, rule::frozen>(adapting, d);  // ignores c.adapt
    spikes += a.since == 0;
    REQUIRE(b.v == a.v);
    REQUIRE(b.theta == a.theta);
    REQUIRE(b.since == a.since);
    REQUIRE(d.v == c.v);
    REQUIRE(d.theta == c.theta);
    REQUIRE(d.since == c.since);
  }
  CHECK(spikes >= 4);
  CHECK(a.theta > 3 * 0.05e-3f);  // the threshold did jump
  CHECK(c.theta == 0.0f);
}

TEST_CASE("bad neuron parameters name the field", "[neurons][errors]") {
  neurons::lif::params p;
  p.tau = -1;
  CHECK_THROWS_WITH(neurons::lif::make(p, 1e-4), Catch::Contains("tau"));
  neurons::cuba_lif::params q;
  q.reset = neurons::reset_mode::subtract;
  q.v_reset = 2;
  CHECK_THROWS_WITH(neurons::cuba_lif::make(q, 1e-4), Catch::Contains("v_reset"));
}

TEST_CASE("AdEx without subthreshold adaptation fires just above its rheobase and not just below", "[neurons][adex]") {
  // With a = 0 the steady state of c_m dv/dt = g_L (E_L - v) + g_L D exp((v - V_T)/D) + I vanishes
  // in a saddle-node at I_rh = g_L (V_T - E_L - D): the analytic rheobase. Forward Euler keeps the
  // fixed points and, at this dt, their stability.
  neurons::adex::params p;
  p.a = 0;
  const double rheobase = p.g_leak * (p.v_t - p.v_leak - p.delta_t);
  CHECK(rheobase == Approx(546e-12).epsilon(1e-9));
  const auto c = neurons::adex::make(p, 1e-5);
  auto spikes = [&](double current) {
    neurons::adex::state s = neurons::adex::initial(p);
    int n = 0;
    for (int k = 0; k < 200000; ++k) n += neurons::adex::step(c, s, static_cast<real_t>(current));  // 2 s
    return n;
  };
  CHECK(spikes(0.98 * rheobase) == 0);
  CHECK(spikes(1.03 * rheobase) > 0);
}

TEST_CASE("AdEx: one step is forward Euler of both equations, then the reset adds b", "[neurons][adex]") {
  neurons::adex::params p;
  const double dt = 1e-4;
  const auto c = neurons::adex::make(p, dt);
  neurons::adex::state s{-55e-3f, 0.1e-9f, 0.2e-9f, -0.05e-9f, neurons::since_never};
  const double v = s.v, w = s.w, i = 0.3e-9 + s.syn_e + s.syn_i;
  const double dv = (p.g_leak * (p.v_leak - v) + p.g_leak * p.delta_t * std::exp((v - p.v_t) / p.delta_t) - w + i) / p.c_m;
  const double dw = (p.a * (v - p.v_leak) - w) / p.tau_w;
  CHECK_FALSE(neurons::adex::step(c, s, 0.3e-9f));
  CHECK(s.v == Approx(v + dt * dv).margin(1e-8));
  CHECK(s.w == Approx(w + dt * dw).margin(1e-15));
  CHECK(s.syn_e == Approx(0.2e-9 * std::exp(-dt / p.tau_syn_e)).margin(1e-16));
  // From just below v_peak a strong current crosses it: reset, and w jumps by b.
  neurons::adex::state t{-40.5e-3f, 0, 0, 0, neurons::since_never};
  CHECK(neurons::adex::step(c, t, 5e-9f));
  CHECK(t.v == static_cast<float>(p.v_reset));
  CHECK(t.since == 0);
  const double w_after = dt * (p.a * (-40.5e-3 - p.v_leak)) / p.tau_w + p.b;
  CHECK(t.w == Approx(w_after).margin(1e-15));
}
