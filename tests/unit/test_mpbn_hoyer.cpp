// MPBN-LIF (train/eval forward, BPTT, fold), Hoyer spike layer and regulariser, and the
// training encoders, against the reference values listed in docs/models.md (§2, §3, §4), a
// plain re-statement of the MPBN backward, and central finite differences where the function
// is smooth.
#include <catch2/catch.hpp>

#include <Kokkos_Core.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "encoders/spike_encoders.hpp"
#include "learning/hoyer.hpp"
#include "learning/mpbn.hpp"
#include "support/backends.hpp"

namespace kl = kspike::learning;

namespace {

template <class V>
std::vector<double> to_host(const V& v) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
  return std::vector<double>(h.data(), h.data() + h.size());
}
template <class V>
void from_host(const V& v, const std::vector<double>& x) {
  auto h = Kokkos::create_mirror_view(v);
  for (std::size_t i = 0; i < x.size(); ++i) h.data()[i] = static_cast<typename V::value_type>(x[i]);
  Kokkos::deep_copy(v, h);
}

// Appendix A §3: the five channels of the fold check.
struct bn_channel {
  double mu, var, gamma, beta;
};
const std::vector<bn_channel> appendix_channels = {
    {0.3, 0.25, 1.2, 0.1}, {-0.2, 1.5, -0.7, 0.3}, {0.1, 0.04, 0.0, 0.8}, {0.5, 0.81, 0.05, -0.2}, {0.0, 0.5, -2.0, 0.45}};

}  // namespace

TEST_CASE("MPBN fold: thresholds and directions of Appendix A, for V_th 0.5 and 1", "[learning][mpbn]") {
  const double expect_05[] = {0.466669999967, -0.549928272534, NAN, 13.1000777775, -0.0176778463055};
  const double expect_1[] = {0.675007499925, -1.42474895387, NAN, 22.1001333329, -0.19445630936};
  const int dir[] = {1, -1, 0, 1, -1};
  for (std::size_t c = 0; c < 5; ++c) {
    const auto& ch = appendix_channels[c];
    const auto f05 = kl::fold_group(ch.gamma, ch.beta, ch.mu, ch.var, 1e-5, 0.5);
    const auto f1 = kl::fold_group(ch.gamma, ch.beta, ch.mu, ch.var, 1e-5, 1.0);
    CHECK(f05.dir == dir[c]);
    CHECK(f1.dir == dir[c]);
    if (dir[c] != 0) {
      CHECK(f05.theta == Approx(expect_05[c]).epsilon(1e-10));
      CHECK(f1.theta == Approx(expect_1[c]).epsilon(1e-10));
    } else {
      CHECK(f05.constant);   // beta 0.8 > 0.5: fires at every step
      CHECK(!f1.constant);  // beta 0.8 < 1: never
    }
  }
}

TEST_CASE("MPBN surrogate: the tanh window of Appendix A", "[learning][mpbn]") {
  const double y[] = {-0.1, 0, 0.2, 0.5, 0.8, 1, 1.2};
  const double g[] = {0, 0, 0.806913164536, 1.65718708947, 0.806913164536, 0, 0};
  for (int k = 0; k < 7; ++k) CHECK(kl::mpbn_surrogate(y[k]) == Approx(g[k]).margin(1e-11));
}

TEMPLATE_LIST_TEST_CASE("MPBN fold: zero spike mismatches between eval-mode MPBN-LIF and the folded LIF",
                        "[learning][mpbn]", kspike_test::backends) {
  using Exec = TestType;
  std::mt19937_64 gen(7);
  std::normal_distribution<double> d(0.0, 0.8);
  SECTION("channel-wise, the five channels of Appendix A, T = 4") {
    const std::int64_t T = 4, N = 2000, C = 5, S = 1;
    kl::mpbn_lif<Exec, float> layer(C, S, kl::mpbn_form::channel);
    std::vector<double> g, b, mu, var;
    for (const auto& ch : appendix_channels) {
      g.push_back(ch.gamma);
      b.push_back(ch.beta);
      mu.push_back(ch.mu);
      var.push_back(ch.var);
    }
    from_host(layer.gamma(), g);
    from_host(layer.beta(), b);
    from_host(layer.running_mean(), mu);
    from_host(layer.running_var(), var);
    layer.set_training(false);
    std::vector<float> x(static_cast<std::size_t>(T * N * C * S));
    for (auto& v : x) v = static_cast<float>(d(gen));
    Kokkos::View<float*, typename Exec::memory_space> xd("x", x.size()), sd("s", x.size());
    from_host(xd, std::vector<double>(x.begin(), x.end()));
    layer.forward(xd, sd, T, N);
    const auto spikes = to_host(sd);
    std::vector<float> folded;
    kl::folded_lif_forward(layer.fold(), kl::mpbn_form::channel, C, S, layer.decay(), x, folded, T, N);
    std::size_t mismatches = 0, fired = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      mismatches += spikes[i] != folded[i];
      fired += spikes[i] > 0;
    }
    CHECK(mismatches == 0);
    CHECK(fired > x.size() / 10);
    CHECK(fired < x.size() * 9 / 10);
    // The naive fold (u > theta' whatever the sign of gamma) is wrong on the gamma < 0 channel.
    auto naive = layer.fold();
    for (auto& f : naive)
      if (f.dir < 0) f.dir = 1;
    std::vector<float> wrong;
    kl::folded_lif_forward(naive, kl::mpbn_form::channel, C, S, layer.decay(), x, wrong, T, N);
    std::size_t bad = 0;
    for (std::size_t i = 0; i < x.size(); ++i) bad += wrong[i] != spikes[i];
    CHECK(bad > x.size() / 10);
  }
  SECTION("element-wise, statistics from training steps, mixed signs of gamma") {
    const std::int64_t T = 3, N = 2000, C = 2, S = 3;
    kl::mpbn_lif<Exec, float> layer(C, S, kl::mpbn_form::element);
    Kokkos::View<float*, typename Exec::memory_space> xd("x", T * N * C * S), sd("s", T * N * C * S);
    std::vector<double> xv(xd.size());
    for (int round = 0; round < 3; ++round) {  // a few training forwards set the running statistics
      for (auto& v : xv) v = d(gen) + 0.3;
      from_host(xd, xv);
      layer.forward(xd, sd, T, N);
    }
    from_host(layer.gamma(), {1.3, -0.6, 0.0, 0.4, -1.5, 2.0});
    from_host(layer.beta(), {0.1, 0.2, 0.7, -0.3, 0.0, 0.6});
    layer.set_training(false);
    for (auto& v : xv) v = d(gen) + 0.3;
    from_host(xd, xv);
    layer.forward(xd, sd, T, N);
    const auto spikes = to_host(sd);
    std::vector<float> folded;
    kl::folded_lif_forward(layer.fold(), kl::mpbn_form::element, C, S, layer.decay(),
                           std::vector<float>(xv.begin(), xv.end()), folded, T, N);
    std::size_t mismatches = 0;
    for (std::size_t i = 0; i < spikes.size(); ++i) mismatches += spikes[i] != folded[i];
    CHECK(mismatches == 0);
  }
}

TEMPLATE_LIST_TEST_CASE("MPBN-LIF training forward and BPTT agree with a plain re-statement", "[learning][mpbn]",
                        kspike_test::backends) {
  using Exec = TestType;
  const std::int64_t T = 3, N = 6, C = 2, S = 2, P = N * C * S;
  const double decay = 0.25, vth = 0.5, eps = 1e-5;
  std::mt19937_64 gen(3);
  std::normal_distribution<double> d(0.4, 0.7);
  std::vector<double> x(T * P), gs(T * P), gamma = {1.1, -0.8}, beta = {0.2, 0.4};
  for (auto& v : x) v = d(gen);
  for (auto& v : gs) v = d(gen);
  kl::mpbn_lif<Exec, double> layer(C, S, kl::mpbn_form::channel, decay, vth);
  from_host(layer.gamma(), gamma);
  from_host(layer.beta(), beta);
  Kokkos::View<double*, typename Exec::memory_space> xd("x", T * P), sd("s", T * P), gsd("gs", T * P), gxd("gx", T * P);
  from_host(xd, x);
  from_host(gsd, gs);
  layer.forward(xd, sd, T, N);
  layer.zero_grad();
  layer.backward(gsd, gxd);

  // Plain re-statement: forward keeping everything, then the chain rule step by step backwards.
  std::vector<double> u(T * P), xh(T * P), s(T * P), inv(T * C), v(P, 0.0);
  for (std::int64_t t = 0; t < T; ++t) {
    for (std::int64_t i = 0; i < P; ++i) u[t * P + i] = decay * v[i] + x[t * P + i];
    for (std::int64_t c = 0; c < C; ++c) {
      double m = 0, q = 0;
      for (std::int64_t n = 0; n < N; ++n)
        for (std::int64_t k = 0; k < S; ++k) m += u[t * P + (n * C + c) * S + k];
      m /= N * S;
      for (std::int64_t n = 0; n < N; ++n)
        for (std::int64_t k = 0; k < S; ++k) q += std::pow(u[t * P + (n * C + c) * S + k] - m, 2);
      inv[t * C + c] = 1 / std::sqrt(q / (N * S) + eps);
      for (std::int64_t n = 0; n < N; ++n)
        for (std::int64_t k = 0; k < S; ++k) {
          const std::int64_t i = (n * C + c) * S + k;
          xh[t * P + i] = (u[t * P + i] - m) * inv[t * C + c];
          s[t * P + i] = gamma[c] * xh[t * P + i] + beta[c] > vth;
          v[i] = s[t * P + i] ? 0 : u[t * P + i];
        }
    }
  }
  CHECK(to_host(sd) == s);
  std::vector<double> gx(T * P), gv(P, 0.0), gg(C, 0.0), gb(C, 0.0);
  for (std::int64_t t = T - 1; t >= 0; --t) {
    std::vector<double> gn(P);
    for (std::int64_t i = 0; i < P; ++i) {
      const std::int64_t c = (i / S) % C;
      gn[i] = kl::mpbn_surrogate(gamma[c] * xh[t * P + i] + beta[c]) * (gs[t * P + i] - u[t * P + i] * gv[i]);
    }
    for (std::int64_t c = 0; c < C; ++c) {
      double a = 0, b = 0;
      for (std::int64_t i = 0; i < P; ++i)
        if ((i / S) % C == c) {
          a += gn[i];
          b += gn[i] * xh[t * P + i];
        }
      gg[c] += b;
      gb[c] += a;
      for (std::int64_t i = 0; i < P; ++i)
        if ((i / S) % C == c) {
          const double bn = gamma[c] * inv[t * C + c] * (gn[i] - (a + xh[t * P + i] * b) / double(N * S));
          const double gu = (1 - s[t * P + i]) * gv[i] + bn;
          gx[t * P + i] = gu;
          gv[i] = decay * gu;
        }
    }
  }
  const auto got = to_host(gxd);
  for (std::size_t i = 0; i < gx.size(); ++i) CHECK(got[i] == Approx(gx[i]).margin(1e-12));
  const auto got_g = to_host(layer.grad_gamma()), got_b = to_host(layer.grad_beta());
  for (std::int64_t c = 0; c < C; ++c) {
    CHECK(got_g[c] == Approx(gg[c]).margin(1e-12));
    CHECK(got_b[c] == Approx(gb[c]).margin(1e-12));
  }
  // Running statistics: T updates per forward, unbiased variance.
  CHECK(to_host(layer.running_var())[0] != 1.0);
}

TEMPLATE_LIST_TEST_CASE("Hoyer spike: extremum, spikes, running extremum, surrogate of Appendix A", "[learning][hoyer]",
                        kspike_test::backends) {
  using Exec = TestType;
  using view = Kokkos::View<double*, typename Exec::memory_space>;
  SECTION("layer-wise, theta 1.3") {
    const std::vector<double> u = {-0.4, 0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 1, 1.3, 2.6, 0, 0.9};
    kl::hoyer_spike<Exec, double> h(1, 12, kl::hoyer_mode::layer, 1.3);
    view x("x", 12), o("o", 12), g("g", 12), gx("gx", 12);
    from_host(x, u);
    h.forward(x, o, 1);
    CHECK(h.last_extremum()[0] == Approx(0.727495908347).epsilon(1e-11));
    CHECK(to_host(o) == std::vector<double>{0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0});
    from_host(g, std::vector<double>(12, 1.0));
    h.zero_grad();
    h.backward(g, gx);
    const double surrogate[] = {0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0, 0, 0, 0.5};
    const auto got = to_host(gx);
    double dtheta = 0;
    for (int i = 0; i < 12; ++i) {
      CHECK(got[i] == Approx(surrogate[i] / 1.3).margin(1e-15));
      dtheta += surrogate[i] * -u[i] / (1.3 * 1.3);
    }
    CHECK(h.grad_threshold() == Approx(dtheta).epsilon(1e-12));
  }
  SECTION("channel-wise and layer-wise extremum, running average, eval uses it") {
    const std::vector<double> vals = {0.1, 0.7, 1.4, 0.9, 0, 0.5, -0.2, 0.3, 0.3, 2, 0.05, 0.6};
    kl::hoyer_spike<Exec, double> cw(2, 6, kl::hoyer_mode::channel, 1.0), sum(2, 6, kl::hoyer_mode::layer, 1.0);
    view x("x", 12), o("o", 12);
    from_host(x, vals);
    cw.forward(x, o, 1);
    sum.forward(x, o, 1);
    CHECK(cw.last_extremum()[0] == Approx(0.8).epsilon(1e-12));
    CHECK(cw.last_extremum()[1] == Approx(0.685555555556).epsilon(1e-11));
    CHECK(sum.last_extremum()[0] == Approx(0.752752293578).epsilon(1e-11));
    CHECK(sum.running_extremum()[0] == Approx(0.0752752293578).epsilon(1e-11));
    sum.set_training(false);  // eval: threshold = running extremum 0.0753
    sum.forward(x, o, 1);
    const auto spikes = to_host(o);
    for (int i = 0; i < 12; ++i) CHECK(spikes[i] == (vals[i] >= 0.0752752293578 ? 1.0 : 0.0));
  }
}

TEST_CASE("Hoyer regulariser: Appendix A value and gradient by central differences", "[learning][hoyer]") {
  const std::vector<double> u = {-0.4, 0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 1, 1.3, 2.6, 0, 0.9};
  CHECK(kl::hoyer_regulariser(u, 1.3) == Approx(7.4544431946).epsilon(1e-10));
  std::vector<double> grad;
  kl::hoyer_regulariser(u, 1.3, &grad);
  for (std::size_t i = 0; i < u.size(); ++i) {
    if (!(u[i] > 1e-3 && u[i] < 1.3 - 1e-3)) {
      CHECK(grad[i] == 0.0);
      continue;
    }
    auto p = u, m = u;
    p[i] += 1e-6;
    m[i] -= 1e-6;
    const double fd = (kl::hoyer_regulariser(p, 1.3) - kl::hoyer_regulariser(m, 1.3)) / 2e-6;
    CHECK(grad[i] == Approx(fd).epsilon(1e-6));
  }
  CHECK(kl::hoyer_regulariser(std::vector<double>(5, -1.0), 1.0) == 0.0);
}

TEST_CASE("Training encoders: direct, Poisson, latency", "[encoders]") {
  using namespace kspike::encoders;
  const float x[] = {0.0f, 0.25f, 0.5f, 1.0f};
  const auto direct = encode(spike_encoding::direct, x, 4, 3);
  for (int t = 0; t < 3; ++t)
    for (int i = 0; i < 4; ++i) CHECK(direct[t * 4 + i] == x[i]);
  const auto lat = encode(spike_encoding::latency_linear, x, 4, 5);  // t = round(4 (1 - x)): 4, 3, 2, 0
  const int first[] = {4, 3, 2, 0};
  for (int i = 0; i < 4; ++i)
    for (int t = 0; t < 5; ++t) CHECK(lat[t * 4 + i] == (t == first[i] ? 1.0f : 0.0f));
  const auto lg = encode(spike_encoding::latency_log, x, 4, 5);  // x = 1 -> 0; x = 0 -> T - 1
  CHECK(lg[0 * 4 + 3] == 1.0f);
  CHECK(lg[4 * 4 + 0] == 1.0f);
  // Poisson: rate x per step, reproducible, independent across samples.
  std::vector<float> many(1000, 0.3f);
  const auto p1 = encode(spike_encoding::poisson, many.data(), many.size(), 20, 5, 0);
  const auto p2 = encode(spike_encoding::poisson, many.data(), many.size(), 20, 5, 0);
  const auto p3 = encode(spike_encoding::poisson, many.data(), many.size(), 20, 5, 1);
  CHECK(p1 == p2);
  CHECK(p1 != p3);
  double mean = 0;
  for (float s : p1) mean += s;
  mean /= double(p1.size());
  CHECK(std::abs(mean - 0.3) < 4 * std::sqrt(0.21 / double(p1.size())));
  CHECK_THROWS_WITH(encode(spike_encoding::direct, x, 4, 0), Catch::Contains("T must be >= 1"));
  const float bad[] = {1.5f};
  CHECK_THROWS_WITH(encode(spike_encoding::poisson, bad, 1, 2), Catch::Contains("[0, 1]"));
  CHECK_THROWS_WITH(parse_spike_encoding("ttfs2"), Catch::Contains("unknown"));
}

#include "learning/dropout.hpp"
#include "learning/qcfs.hpp"

TEMPLATE_LIST_TEST_CASE("QCFS: quantised values, and gradients by central differences where h is smooth",
                        "[learning][qcfs]", kspike_test::backends) {
  using Exec = TestType;
  using view = Kokkos::View<double*, typename Exec::memory_space>;
  kl::qcfs<Exec, double> q(4, 2.0);  // L = 4, λ = 2: steps of 0.5, switching at z = 0.25, 0.75, ...
  const std::vector<double> z = {-1.0, 0.1, 0.3, 0.74, 0.76, 1.6, 1.8, 3.0};
  view x("x", 8), y("y", 8), g("g", 8), gx("gx", 8);
  from_host(x, z);
  q.forward(x, y);
  CHECK(to_host(y) == std::vector<double>{0, 0, 0.5, 0.5, 1.0, 1.5, 2.0, 2.0});
  // dh/dz (straight-through): 1 where 0 <= q <= 1. z = -1 gives q = floor(-1.5)/4 < 0; z = 3 gives q = 1.5 > 1.
  std::vector<double> r = {0.3, -1.2, 0.7, 0.4, 1.1, -0.5, 0.9, 2.0};
  from_host(g, r);
  q.zero_grad();
  q.backward(g, gx);
  CHECK(to_host(gx) == std::vector<double>{0, -1.2, 0.7, 0.4, 1.1, -0.5, 0.9, 0});
  // dL/dλ for L = Σ r h: away from the floor's jumps h is λ·clip(q) with q fixed, plus the
  // straight-through term -z/λ: compare with the reference formula written out.
  double expect = 0;
  for (int i = 0; i < 8; ++i) {
    const double qq = std::floor(z[i] / 2.0 * 4 + 0.5) / 4;
    const bool pass = qq >= 0 && qq <= 1;
    expect += r[i] * (std::min(1.0, std::max(0.0, qq)) - (pass ? z[i] / 2.0 : 0.0));
  }
  CHECK(q.grad_lambda() == Approx(expect).epsilon(1e-12));
  // Finite differences in λ on a value where the floor does not jump: h = λ · 1 for z = 3 (clipped).
  kl::qcfs<Exec, double> a(4, 2.0 + 1e-6), b(4, 2.0 - 1e-6);
  view one("one", 1), out("out", 1);
  from_host(one, {3.0});
  a.forward(one, out);
  const double ha = to_host(out)[0];
  b.forward(one, out);
  CHECK((ha - to_host(out)[0]) / 2e-6 == Approx(1.0).epsilon(1e-6));
  CHECK_THROWS_WITH(kl::qcfs<Exec>(0), Catch::Contains("levels"));
}

TEMPLATE_LIST_TEST_CASE("Dropout: scaled mask in training, identity in eval, reproducible", "[learning][dropout]",
                        kspike_test::backends) {
  using Exec = TestType;
  using view = Kokkos::View<double*, typename Exec::memory_space>;
  const std::int64_t n = 20000;
  view x("x", n), y("y", n), g("g", n), gx("gx", n);
  Kokkos::deep_copy(x, 2.0);
  kl::dropout<Exec, double> d(0.25, 11);
  d.forward(x, y);
  const auto out = to_host(y);
  std::size_t kept = 0;
  for (double v : out) {
    CHECK((v == 0.0 || v == Approx(2.0 / 0.75)));
    kept += v != 0.0;
  }
  CHECK(std::abs(double(kept) / n - 0.75) < 4 * std::sqrt(0.1875 / n));
  Kokkos::deep_copy(g, 1.0);
  d.backward(g, gx);
  const auto back = to_host(gx);
  for (std::int64_t i = 0; i < n; ++i) CHECK(back[i] == out[i] / 2.0);
  kl::dropout<Exec, double> again(0.25, 11);
  again.forward(x, y);
  CHECK(to_host(y) == out);  // same seed and call: same mask
  again.forward(x, y);
  CHECK(to_host(y) != out);  // the next call draws a new mask
  again.set_training(false);
  again.forward(x, y);
  CHECK(to_host(y) == std::vector<double>(n, 2.0));
  CHECK_THROWS_WITH(kl::dropout<Exec>(1.0), Catch::Contains("p must be in [0, 1)"));
}
