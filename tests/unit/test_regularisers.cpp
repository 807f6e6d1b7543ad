// The trainer's loss terms on internal values (learning/regularisers.hpp) and the LIF backward's
// membrane-gradient input they feed: the Hoyer regulariser against the host formula of
// learning/hoyer.hpp, RMP-Loss against a plain re-statement and central finite differences, a
// loss on the membrane H propagated through time against finite differences of the layer's own
// smooth forward pass, and bit-identical results on every backend.
#include <catch2/catch.hpp>

#include <Kokkos_Core.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "learning/hoyer.hpp"
#include "learning/regularisers.hpp"
#include "learning/spiking_lif.hpp"
#include "support/backends.hpp"

namespace kl = kspike::learning;

namespace {

template <class Exec, class Real>
Kokkos::View<Real*, typename Exec::memory_space> device(const std::vector<double>& x) {
  Kokkos::View<Real*, typename Exec::memory_space> v("v", x.size());
  auto h = Kokkos::create_mirror_view(v);
  for (std::size_t i = 0; i < x.size(); ++i) h(i) = static_cast<Real>(x[i]);
  Kokkos::deep_copy(v, h);
  return v;
}
template <class V>
std::vector<double> host(const V& v) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
  return std::vector<double>(h.data(), h.data() + h.size());
}

std::vector<double> random_values(std::size_t n, double lo, double hi, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> d(lo, hi);
  std::vector<double> x(n);
  for (auto& v : x) v = d(rng);
  return x;
}

// RMP-Loss as docs/models.md writes it, for one layer: mean of (û - round(û))², û = clip(h/θ, 0, 1).
double rmp_reference(const std::vector<double>& h, double theta) {
  double s = 0;
  for (double v : h) {
    double u = v / theta;
    u = u < 0 ? 0 : (u > 1 ? 1 : u);
    const double r = u - std::round(u);
    s += r * r;
  }
  return s / double(h.size());
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("the Hoyer regulariser kernel equals the host formula, value and gradient", "[learning][hoyer][regulariser]",
                        kspike_test::backends) {
  const auto x = random_values(10000, -0.5, 2.0, 3);
  const double theta = 1.3, weight = 0.25;
  std::vector<double> g_ref;
  const double h_ref = kl::hoyer_regulariser(x, theta, &g_ref);
  auto xd = device<TestType, double>(x);
  auto gd = device<TestType, double>(std::vector<double>(x.size(), 0.5));  // the kernel adds
  const double h = kl::hoyer_regulariser_add<TestType, double>(xd.data(), gd.data(), std::int64_t(x.size()), theta, weight);
  CHECK(h == Approx(h_ref).epsilon(1e-12));
  const auto g = host(gd);
  for (std::size_t i = 0; i < x.size(); i += 97) CHECK(g[i] == Approx(0.5 + weight * g_ref[i]).epsilon(1e-12).margin(1e-15));
  // A negative θ clips at |θ|, as the layer does; an all-zero input costs nothing.
  std::vector<double> g_neg;
  CHECK(kl::hoyer_regulariser_add<TestType, double>(xd.data(), gd.data(), std::int64_t(x.size()), -theta, 0.0) == Approx(h_ref));
  auto zeros = device<TestType, double>(std::vector<double>(100, -1.0));
  CHECK(kl::hoyer_regulariser_add<TestType, double>(zeros.data(), gd.data(), 100, theta, weight) == 0.0);
}

TEMPLATE_LIST_TEST_CASE("RMP-Loss: value, membrane gradient and threshold gradient against finite differences",
                        "[learning][rmp][regulariser]", kspike_test::backends) {
  // Membranes spread over below 0, (0, θ) and above θ, away from the kinks at 0, θ/2 and θ.
  auto h = random_values(2000, -0.6, 1.8, 5);
  const double theta = 1.2, weight = 0.7;
  for (auto& v : h)
    for (double kink : {0.0, 0.5 * theta, theta})
      if (std::abs(v - kink) < 1e-3) v += 3e-3;
  auto hd = device<TestType, double>(h);
  Kokkos::View<double*, typename TestType::memory_space> gd("g", h.size());
  double g_theta = 0;
  const double loss = kl::rmp_loss<TestType, double>(hd.data(), gd.data(), std::int64_t(h.size()), theta, weight, &g_theta);
  CHECK(loss == Approx(rmp_reference(h, theta)).epsilon(1e-12));
  const auto g = host(gd);
  const double e = 1e-6;
  for (std::size_t i = 0; i < h.size(); i += 37) {
    auto hp = h, hm = h;
    hp[i] += e;
    hm[i] -= e;
    const double fd = weight * (rmp_reference(hp, theta) - rmp_reference(hm, theta)) / (2 * e);
    INFO("h = " << h[i]);
    CHECK(g[i] == Approx(fd).epsilon(1e-5).margin(1e-10));
  }
  const double fd_theta = weight * (rmp_reference(h, theta + e) - rmp_reference(h, theta - e)) / (2 * e);
  CHECK(g_theta == Approx(fd_theta).epsilon(1e-5));
}

TEMPLATE_LIST_TEST_CASE("a loss on the LIF membrane flows back through time (grad_h input of backward)", "[learning][lif][rmp]",
                        kspike_test::backends) {
  // L = Σ w·S + Σ u·H with the smooth firing function: backward(w, ·, u) must give dL/dx of the
  // layer's own forward pass, the H term included through every later step.
  const int steps = 6, n = 5;
  const auto x = random_values(steps * n, -0.5, 2.5, 11), w = random_values(steps * n, -1, 1, 12),
             u = random_values(steps * n, -1, 1, 13);
  for (const bool soft : {true, false}) {
    kl::spiking_lif_params p;
    p.form = kl::leak_form::beta;
    p.beta = 0.6;
    p.decay_input = false;
    p.reset = soft ? kl::lif_reset::soft : kl::lif_reset::hard;
    p.firing = kl::firing_function::surrogate_primitive;
    p.surrogate = kl::parse_surrogate("sigmoid:4");
    using layer_t = kl::spiking_lif<TestType, double>;
    auto loss = [&](const std::vector<double>& xs) {
      layer_t layer(p);
      typename layer_t::view xv("x", steps, n), s("s", steps, n);
      auto hx = Kokkos::create_mirror_view(xv);
      for (int k = 0; k < steps * n; ++k) hx.data()[k] = xs[std::size_t(k)];
      Kokkos::deep_copy(xv, hx);
      layer.forward(xv, s);
      const auto sh = host(s), hh = host(layer.saved_h());
      double l = 0;
      for (std::size_t k = 0; k < sh.size(); ++k) l += w[k] * sh[k] + u[k] * hh[k];
      return l;
    };
    layer_t layer(p);
    typename layer_t::view xv("x", steps, n), s("s", steps, n), gx("gx", steps, n), wv("w", steps, n), uv("u", steps, n);
    auto fill = [](const typename layer_t::view& v, const std::vector<double>& a) {
      auto h = Kokkos::create_mirror_view(v);
      for (std::size_t k = 0; k < a.size(); ++k) h.data()[k] = a[k];
      Kokkos::deep_copy(v, h);
    };
    fill(xv, x);
    fill(wv, w);
    fill(uv, u);
    layer.forward(xv, s);
    layer.backward(wv, gx, uv);
    const auto g = host(gx);
    for (std::size_t k = 0; k < x.size(); ++k) {
      auto xp = x, xm = x;
      xp[k] += 1e-6;
      xm[k] -= 1e-6;
      INFO((soft ? "soft" : "hard") << " reset, t = " << k / n << ", neuron " << k % n);
      CHECK(g[k] == Approx((loss(xp) - loss(xm)) / 2e-6).epsilon(1e-6).margin(1e-8));
    }
  }
}

#if defined(KOKKOS_ENABLE_SERIAL) && defined(KOKKOS_ENABLE_OPENMP)
TEST_CASE("the regularisers give bit-identical values and gradients on Serial and OpenMP", "[learning][regulariser][backends]") {
  const auto x = random_values(300001, -0.5, 2.0, 21);
  auto run = [&](auto exec) {
    using Exec = decltype(exec);
    auto xd = device<Exec, float>(x);
    Kokkos::View<float*, typename Exec::memory_space> g1("g1", x.size()), g2("g2", x.size());
    double gt = 0;
    const double h = kl::hoyer_regulariser_add<Exec, float>(xd.data(), g1.data(), std::int64_t(x.size()), 1.1, 1e-3);
    const double r = kl::rmp_loss<Exec, float>(xd.data(), g2.data(), std::int64_t(x.size()), 1.1, 0.5, &gt);
    return std::make_tuple(h, r, gt, host(g1), host(g2));
  };
  const auto a = run(Kokkos::Serial()), b = run(Kokkos::OpenMP());
  CHECK(std::get<0>(a) == std::get<0>(b));
  CHECK(std::get<1>(a) == std::get<1>(b));
  CHECK(std::get<2>(a) == std::get<2>(b));
  CHECK(std::get<3>(a) == std::get<3>(b));
  CHECK(std::get<4>(a) == std::get<4>(b));
}
#endif
