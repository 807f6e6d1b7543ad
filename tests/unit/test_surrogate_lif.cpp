// Surrogate gradients and the multi-step spiking LIF/IF layer (learning/): the values of
// the reference values (docs/models.md) §1-§2, surrogate derivatives against finite differences of
// their primitives, BPTT against a hand-derived 3-step gradient and against finite differences
// of a smooth forward pass. Kernel tests run on every enabled backend.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "learning/spiking_lif.hpp"
#include "learning/surrogate.hpp"
#include "support/backends.hpp"

using namespace kspike::learning;

namespace {

// ---------------------------------------------------------------------------------------
// Helpers: [T, N] tensors as host vectors indexed t * N + i.

template <class Exec, class Real>
Kokkos::View<Real**, Kokkos::LayoutRight, typename Exec::memory_space> to_device(const std::vector<double>& v,
                                                                                  int steps, int n) {
  Kokkos::View<Real**, Kokkos::LayoutRight, typename Exec::memory_space> d("d", steps, n);
  auto h = Kokkos::create_mirror_view(d);
  for (int t = 0; t < steps; ++t)
    for (int i = 0; i < n; ++i) h(t, i) = static_cast<Real>(v[t * n + i]);
  Kokkos::deep_copy(d, h);
  return d;
}

template <class View>
std::vector<double> to_host(const View& d) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), d);
  std::vector<double> v(h.extent(0) * h.extent(1));
  for (std::size_t t = 0; t < h.extent(0); ++t)
    for (std::size_t i = 0; i < h.extent(1); ++i) v[t * h.extent(1) + i] = static_cast<double>(h(t, i));
  return v;
}

// The same series in every one of n columns.
std::vector<double> replicate(const std::vector<double>& series, int n) {
  std::vector<double> v;
  for (double x : series)
    for (int i = 0; i < n; ++i) v.push_back(x);
  return v;
}

struct forward_result {
  std::vector<double> h, s, v;
};

template <class Exec, class Real>
forward_result run_forward(spiking_lif<Exec, Real>& layer, const std::vector<double>& x, int steps, int n) {
  auto xd = to_device<Exec, Real>(x, steps, n);
  typename spiking_lif<Exec, Real>::view s("s", steps, n), v("v", steps, n);
  layer.forward(xd, s, v);
  return {to_host(layer.saved_h()), to_host(s), to_host(v)};
}

// Every column of got (n columns) equals the expected series.
void check_columns(const std::vector<double>& got, int n, const std::vector<double>& expected, double margin,
                   const char* what) {
  for (std::size_t t = 0; t < expected.size(); ++t)
    for (int i = 0; i < n; ++i) {
      INFO(what << " at t=" << t << ", column " << i);
      CHECK(got[t * n + i] == Approx(expected[t]).margin(margin));
    }
}

// ---------------------------------------------------------------------------------------
// Appendix A §2.

const std::vector<double> appendix_x2 = {-1.5, -0.5, -0.25, -0.1, 0, 0.1, 0.25, 0.5, 1.5};

struct surrogate_row {
  const char* spec;  // parsed with parse_surrogate: also checks names and defaults
  std::vector<double> g;
};

// Appendix A §2, row by row; where the row's parameters are §2's defaults the bare name is used.
const std::vector<surrogate_row> appendix_rows = {
    {"rect", {0, 0, 1, 1, 1, 1, 1, 0, 0}},
    {"triangle:1,1", {0, 0.5, 0.75, 0.9, 1, 0.9, 0.75, 0.5, 0}},
    {"sigmoid",
     {0.00986603716544, 0.419974341614, 0.786447732966, 0.961042982966, 1, 0.961042982966, 0.786447732966,
      0.419974341614, 0.00986603716544}},
    {"sigmoid:25",
     {1.29388875145e-15, 9.31656349087e-05, 0.0480755589216, 1.75259291363, 6.25, 1.75259291363,
      0.0480755589216, 9.31656349087e-05, 1.29388875145e-15}},
    {"atan",
     {0.043091171188, 0.288400439142, 0.618486458159, 0.910169837646, 1, 0.910169837646, 0.618486458159,
      0.288400439142, 0.043091171188}},
    {"fast_sigmoid",
     {0.000674650025299, 0.00548696844993, 0.0190249702735, 0.0816326530612, 1, 0.0816326530612,
      0.0190249702735, 0.00548696844993, 0.000674650025299}},
    {"SuperSpike",
     {0.16, 0.444444444444, 0.64, 0.826446280992, 1, 0.826446280992, 0.64, 0.444444444444, 0.16}},
    {"piecewise_quadratic", {0, 0.5, 0.75, 0.9, 1, 0.9, 0.75, 0.5, 0}},
    {"piecewise-exp",
     {0.111565080074, 0.303265329856, 0.389400391536, 0.452418709018, 0.5, 0.452418709018, 0.389400391536,
      0.303265329856, 0.111565080074}},
    {"erf",
     {0.000139253051947, 0.415107497421, 0.878782578935, 1.0841347871, 1.1283791671, 1.0841347871,
      0.878782578935, 0.415107497421, 0.000139253051947}},
    {"softsign",
     {0.0625, 0.25, 0.444444444444, 0.694444444444, 1, 0.694444444444, 0.444444444444, 0.25, 0.0625}},
    {"piecewise_leaky_relu", {0.01, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.01}},
    {"triangle", {0, 0.15, 0.225, 0.27, 0.3, 0.27, 0.225, 0.15, 0}},  // IIR-SNN linear, γ = 0.3
};

constexpr double k_pi = 3.14159265358979323846;

// The Appendix prints 12 significant digits.
Approx appendix(double v) { return Approx(v).epsilon(1e-10).margin(1e-12); }

// ---------------------------------------------------------------------------------------
// A host reference of the layer in double, written from the model equations in docs/models.md (not from the
// kernel), firing with the surrogate's primitive so that its output is differentiable.
// `frozen`, when given, supplies the spikes that the reset terms use: with it, finite
// differences of this function are the derivative that a detached reset defines.

struct reference_lif {
  spiking_lif_params p;
  double theta, beta;  // the two trainable parameters, perturbed by the finite differences

  explicit reference_lif(const spiking_lif_params& params)
      : p(params), theta(params.v_threshold), beta(params.form == leak_form::tau ? 1 - 1 / params.tau
                                                  : params.form == leak_form::beta ? params.beta
                                                                                   : 1.0) {}

  // Returns S[T, N]; fills reset_spikes with the spikes the reset used.
  std::vector<double> spikes(const std::vector<double>& x, int steps, int n, const std::vector<double>* frozen,
                             std::vector<double>* reset_spikes = nullptr) const {
    const bool hard = p.reset == lif_reset::hard;
    const double vr = p.v_reset;
    double c = 1, v_rest = 0;
    if (p.form == leak_form::tau) {
      c = p.decay_input ? 1 - beta : 1;  // 1/τ = 1 - β
      v_rest = hard ? vr : 0;
    } else if (p.form == leak_form::beta) {
      c = p.decay_input ? 1 - beta : 1;
    }
    const double b = p.form == leak_form::none ? 1.0 : beta;
    const surrogate_fn<double> g = surrogate_fn<double>::from(p.surrogate);
    std::vector<double> s(x.size()), used(x.size());
    for (int i = 0; i < n; ++i) {
      double v = hard ? vr : 0;  // V (same-step) or mem (delayed) of the previous step
      double r = 0;              // the delayed reset R_t
      for (int t = 0; t < steps; ++t) {
        const int k = t * n + i;
        double h = 0;
        if (!p.reset_delay) {
          h = b * v + (1 - b) * v_rest + c * x[k];
        } else if (hard) {  // snnTorch "zero": β(1 - R)mem + x, R towards V_r
          h = b * ((1 - r) * v + r * vr) + (1 - b) * v_rest + c * x[k];
        } else {  // snnTorch "subtract": βmem + x - Rθ
          h = b * v + (1 - b) * v_rest + c * x[k] - r * theta;
        }
        s[k] = g.primitive(h - theta);
        const double sr = frozen ? (*frozen)[k] : s[k];
        used[k] = s[k];
        if (p.reset_delay) {
          v = h;
          r = sr;  // the delayed reset is always detached: frozen in the checks
        } else {
          v = hard ? sr * vr + (1 - sr) * h : h - sr * theta;
        }
      }
    }
    if (reset_spikes) *reset_spikes = used;
    return s;
  }
};

double weighted_sum(const std::vector<double>& w, const std::vector<double>& s) {
  double l = 0;
  for (std::size_t k = 0; k < s.size(); ++k) l += w[k] * s[k];
  return l;
}

}  // namespace

// =========================================================================================
// Surrogates

namespace {
// out(r, k) = g'_r(x_k) for every surrogate r: a functor rather than a lambda, so that nvcc
// accepts it inside Catch's test-case templates.
template <class Mem>
struct evaluate_surrogates {
  Kokkos::View<surrogate_fn<float>*, Mem> fns;
  Kokkos::View<float**, Kokkos::LayoutRight, Mem> xs, out;
  int nx;
  KOKKOS_INLINE_FUNCTION void operator()(const int k) const {
    out(k / nx, k % nx) = fns(k / nx).derivative(xs(0, k % nx));
  }
};
}  // namespace


TEST_CASE("every surrogate matches Appendix A 2 at every listed x", "[learning][surrogate][appendix]") {
  for (const auto& row : appendix_rows) {
    const auto fn = surrogate_fn<double>::from(parse_surrogate(row.spec));
    for (std::size_t k = 0; k < appendix_x2.size(); ++k) {
      INFO(row.spec << " at x = " << appendix_x2[k]);
      CHECK(fn.derivative(appendix_x2[k]) == appendix(row.g[k]));
    }
  }
}

TEMPLATE_LIST_TEST_CASE("surrogates evaluate in float inside a kernel", "[learning][surrogate][appendix]",
                        kspike_test::backends) {
  using mem = typename TestType::memory_space;
  const int nx = static_cast<int>(appendix_x2.size());
  const int rows = static_cast<int>(appendix_rows.size());
  Kokkos::View<surrogate_fn<float>*, mem> fns("fns", rows);
  auto fns_h = Kokkos::create_mirror_view(fns);
  for (int r = 0; r < rows; ++r) fns_h(r) = surrogate_fn<float>::from(parse_surrogate(appendix_rows[r].spec));
  Kokkos::deep_copy(fns, fns_h);
  Kokkos::View<float**, Kokkos::LayoutRight, mem> out("out", rows, nx);
  const auto xs = to_device<TestType, float>(appendix_x2, 1, nx);
  Kokkos::parallel_for(Kokkos::RangePolicy<TestType>(0, rows * nx), evaluate_surrogates<mem>{fns, xs, out, nx});
  const auto got = to_host(out);
  for (int r = 0; r < rows; ++r)
    for (int k = 0; k < nx; ++k) {
      INFO(appendix_rows[r].spec << " at x = " << appendix_x2[k]);
      CHECK(got[r * nx + k] == Approx(appendix_rows[r].g[k]).epsilon(2e-6).margin(1e-7));
    }
}

TEST_CASE("g' is the derivative of the primitives that spec 2 names", "[learning][surrogate]") {
  // §2: sigmoid σ(αx), atan (1/π)atan(παx/2) + 1/2, erf erfc(-αx)/2, written here with the
  // standard library, so that this checks g' independently of learning/surrogate.hpp.
  struct named {
    const char* spec;
    double (*primitive)(double x, double alpha);
  };
  const named rows[] = {
      {"sigmoid", [](double x, double a) { return 1 / (1 + std::exp(-a * x)); }},
      {"sigmoid:25", [](double x, double a) { return 1 / (1 + std::exp(-a * x)); }},
      {"arctan", [](double x, double a) { return std::atan(k_pi * a * x / 2) / k_pi + 0.5; }},
      {"erf", [](double x, double a) { return 0.5 * std::erfc(-a * x); }},
  };
  const double h = 1e-6;
  for (const auto& row : rows) {
    const auto spec = parse_surrogate(row.spec);
    const auto fn = surrogate_fn<double>::from(spec);
    for (double x : appendix_x2) {
      INFO(row.spec << " at x = " << x);
      const double fd = (row.primitive(x + h, spec.param) - row.primitive(x - h, spec.param)) / (2 * h);
      CHECK(fn.derivative(x) == Approx(fd).epsilon(1e-6).margin(1e-9));
      // and surrogate.hpp's primitive is that same function
      CHECK(fn.primitive(x) == Approx(row.primitive(x, spec.param)).epsilon(1e-14).margin(1e-15));
    }
  }
}

TEST_CASE("every family's primitive differentiates to its g'", "[learning][surrogate]") {
  // The smooth forward pass of the gradient checks below fires with these primitives, so each
  // must be the antiderivative of its g'. Central differences with h = 1e-6 are exact to
  // ~1e-10 where g' is smooth; at a corner of g' (x = 0 of |x|-shaped families) they give the
  // mean of g' over [-h, h], off by O(h · slope) (fast_sigmoid: 25 · 1e-6). At a jump of g'
  // (rectangular at ±a/2) they give the mean of both sides, so those points are skipped.
  const double h = 1e-6;
  for (const auto& e : kspike::learning::detail::surrogate_table) {
    const auto fn = surrogate_fn<double>::from(default_surrogate(e.kind));
    for (double x : appendix_x2) {
      if (e.kind == surrogate_kind::rectangular && std::abs(std::abs(x) - fn.p / 2) < 2 * h) continue;
      if (e.kind == surrogate_kind::piecewise_leaky_relu && std::abs(std::abs(x) - fn.p) < 2 * h) continue;
      INFO(e.name << " at x = " << x);
      const double fd = (fn.primitive(x + h) - fn.primitive(x - h)) / (2 * h);
      CHECK(fn.derivative(x) == Approx(fd).epsilon(1e-6).margin(1e-4));
      if (x != 0) CHECK(fn.derivative(x) == Approx(fd).epsilon(1e-6).margin(1e-9));
    }
  }
}

TEST_CASE("surrogate names parse with defaults, parameters and aliases", "[learning][surrogate]") {
  auto s = parse_surrogate("arctan");
  CHECK(s.kind == surrogate_kind::arctan);
  CHECK(s.param == 2.0);
  s = parse_surrogate("sigmoid:4");
  CHECK(s.kind == surrogate_kind::sigmoid);
  CHECK(s.param == 4.0);
  s = parse_surrogate("Fast-Sigmoid:10");
  CHECK(s.kind == surrogate_kind::fast_sigmoid);
  CHECK(s.param == 10.0);
  s = parse_surrogate("triangle:0.5");  // w keeps its default
  CHECK(s.param == 0.5);
  CHECK(s.param2 == 1.0);
  s = parse_surrogate("leaky_relu:2,0.05");
  CHECK(s.kind == surrogate_kind::piecewise_leaky_relu);
  CHECK(s.param == 2.0);
  CHECK(s.param2 == 0.05);
  CHECK(parse_surrogate("boxcar").kind == surrogate_kind::rectangular);
  CHECK(parse_surrogate("superspike").kind == surrogate_kind::super_spike);
  CHECK(parse_surrogate("piecewise_exponential").kind == surrogate_kind::piecewise_exp);

  // Every canonical name round-trips through to_string.
  for (const auto& e : kspike::learning::detail::surrogate_table) {
    const auto d = default_surrogate(e.kind);
    const auto back = parse_surrogate(to_string(d));
    CHECK(back.kind == d.kind);
    CHECK(back.param == d.param);
    CHECK(back.param2 == d.param2);
  }
  CHECK(to_string(parse_surrogate("sigmoid:0.1")) == "sigmoid:0.1");
  CHECK(to_string(default_surrogate(surrogate_kind::triangle)) == "triangle:0.3,1");

  CHECK_THROWS_AS(parse_surrogate("gaussian"), kspike::error);
  CHECK_THROWS_WITH(parse_surrogate("tanh:2"), Catch::Contains("unknown name 'tanh'"));
  CHECK_THROWS_AS(parse_surrogate("sigmoid:"), kspike::error);
  CHECK_THROWS_AS(parse_surrogate("sigmoid:4x"), kspike::error);
  CHECK_THROWS_AS(parse_surrogate("sigmoid:4,2"), kspike::error);  // one parameter only
  CHECK_THROWS_AS(parse_surrogate("arctan:0"), kspike::error);
  CHECK_THROWS_AS(parse_surrogate("erf:-1"), kspike::error);
  CHECK_THROWS_AS(parse_surrogate("triangle:1,0"), kspike::error);
  CHECK_THROWS_AS(parse_surrogate("sigmoid:nan"), kspike::error);
}

// =========================================================================================
// Forward: Appendix A §1

namespace {
const std::vector<double> appendix_x1 = {0.8, 1.5, 0.3, 2.5, 0, 1.2, -0.5, 3};
constexpr int appendix_columns = 5;  // several neurons, to catch indexing mistakes

struct lif_row {
  const char* name;
  spiking_lif_params p;
  std::vector<double> h, s, v;  // h empty where the Appendix lists none
};

spiking_lif_params with(spiking_lif_params p, lif_reset r) {
  p.reset = r;
  return p;
}

std::vector<lif_row> appendix_lif_rows() {
  spiking_lif_params sj_no_decay = spikingjelly_lif();
  sj_no_decay.decay_input = false;
  spiking_lif_params beta_same_step;  // β = 0.5, H = βV + x, reset in the same step, fire on >=
  beta_same_step.form = leak_form::beta;
  beta_same_step.beta = 0.5;
  beta_same_step.decay_input = false;
  return {
      {"SJ LIF tau=2 decay_input=True hard v_reset=0", spikingjelly_lif(),
       {0.4, 0.95, 0.625, 1.5625, 0, 0.6, 0.05, 1.525},
       {0, 0, 0, 1, 0, 0, 0, 1},
       {0.4, 0.95, 0.625, 0, 0, 0.6, 0.05, 0}},
      {"SJ LIF tau=2 decay_input=True soft", with(spikingjelly_lif(), lif_reset::soft),
       {0.4, 0.95, 0.625, 1.5625, 0.28125, 0.740625, 0.1203125, 1.56015625},
       {0, 0, 0, 1, 0, 0, 0, 1},
       {0.4, 0.95, 0.625, 0.5625, 0.28125, 0.740625, 0.1203125, 0.56015625}},
      {"SJ LIF tau=2 decay_input=False hard", sj_no_decay,
       {0.8, 1.9, 0.3, 2.65, 0, 1.2, -0.5, 2.75},
       {0, 1, 0, 1, 0, 1, 0, 1},
       {0.8, 0, 0.3, 0, 0, 0, -0.5, 0}},
      {"beta=0.5 same-step soft", with(beta_same_step, lif_reset::soft),
       {0.8, 1.9, 0.75, 2.875, 0.9375, 1.66875, -0.165625, 2.9171875},
       {0, 1, 0, 1, 0, 1, 0, 1},
       {0.8, 0.9, 0.75, 1.875, 0.9375, 0.66875, -0.165625, 1.9171875}},
      {"beta=0.5 same-step hard", with(beta_same_step, lif_reset::hard),
       {0.8, 1.9, 0.3, 2.65, 0, 1.2, -0.5, 2.75},
       {0, 1, 0, 1, 0, 1, 0, 1},
       {0.8, 0, 0.3, 0, 0, 0, -0.5, 0}},
      {"snnTorch Leaky beta=0.5 subtract, delayed reset", snntorch_leaky(0.5),
       {},
       {0, 1, 0, 1, 0, 1, 0, 1},
       {0.8, 1.9, 0.25, 2.625, 0.3125, 1.35625, -0.821875, 2.5890625}},
      {"snnTorch Leaky beta=0.5 zero, delayed reset", with(snntorch_leaky(0.5), lif_reset::hard),
       {},
       {0, 1, 0, 1, 0, 1, 0, 1},
       {0.8, 1.9, 0.3, 2.65, 0, 1.2, -0.5, 2.75}},
      {"IF hard", spikingjelly_if(), {}, {0, 1, 0, 1, 0, 1, 0, 1}, {0.8, 0, 0.3, 0, 0, 0, -0.5, 0}},
      {"IF soft", with(spikingjelly_if(), lif_reset::soft),
       {},
       {0, 1, 1, 1, 1, 1, 0, 1},
       {0.8, 1.3, 0.6, 2.1, 1.1, 1.3, 0.8, 2.8}},
  };
}
}  // namespace

TEMPLATE_LIST_TEST_CASE("spiking LIF/IF forward matches every row of Appendix A 1", "[learning][lif][appendix]",
                        kspike_test::backends) {
  const int steps = static_cast<int>(appendix_x1.size());
  for (const auto& row : appendix_lif_rows()) {
    SECTION(row.name) {
      spiking_lif<TestType, float> layer(row.p);
      const auto r = run_forward(layer, replicate(appendix_x1, appendix_columns), steps, appendix_columns);
      check_columns(r.s, appendix_columns, row.s, 0.0, "S");
      check_columns(r.v, appendix_columns, row.v, 1e-6, "V/mem");
      if (!row.h.empty()) check_columns(r.h, appendix_columns, row.h, 1e-6, "H");
    }
  }
}

TEMPLATE_LIST_TEST_CASE("the fire rule decides a membrane exactly at threshold", "[learning][lif]",
                        kspike_test::backends) {
  // IF with x = 1 puts H exactly on θ = 1: SpikingJelly (>=) fires, snnTorch's rule (>) does not.
  spiking_lif_params p = spikingjelly_if();
  spiking_lif<TestType, float> ge(p);
  CHECK(run_forward(ge, {1.0}, 1, 1).s[0] == 1.0);
  p.fire = fire_rule::greater;
  spiking_lif<TestType, float> gt(p);
  CHECK(run_forward(gt, {1.0}, 1, 1).s[0] == 0.0);
}

// =========================================================================================
// Backward

TEMPLATE_LIST_TEST_CASE("BPTT through a 3-step LIF chain equals the hand-derived gradient", "[learning][lif][bptt]",
                        kspike_test::backends) {
  // SpikingJelly LIF: τ = 2 (β = 1 - 1/τ = 1/2, input weight k = 1/τ = 1/2), decay_input,
  // hard reset to V_r = 0, θ = 1, fire on >=, reset not detached, surrogate sigmoid α = 4.
  // Input x = (2.5, 0.5, 1.5), loss L = Σ_t w_t S_t with w = (0.5, -1, 2).
  //
  // Forward (V_0 = V_r = 0):
  //   H_1 = β·0    + k·2.5 = 1.25   -> S_1 = 1, V_1 = 0
  //   H_2 = β·0    + k·0.5 = 0.25   -> S_2 = 0, V_2 = 0.25
  //   H_3 = β·0.25 + k·1.5 = 0.875  -> S_3 = 0, V_3 = 0.875
  // Let g_t = σ'_4(H_t - θ) = 4σ(4u)(1-σ(4u)) at u = H_t - 1 (the surrogate for dS_t/dH_t).
  // V_t = S_t V_r + (1 - S_t) H_t, so with S_t = S(H_t):
  //   r_t := dV_t/dH_t = (1 - S_t) + (V_r - H_t) g_t   ->  r_1 = -1.25 g_1,  r_2 = 1 - 0.25 g_2.
  // L depends on H_3 only through S_3; on H_2 through S_2 and V_2 -> H_3; and so on:
  //   δ_3 := dL/dH_3 = w_3 g_3
  //   δ_2 := dL/dH_2 = w_2 g_2 + r_2 β δ_3
  //   δ_1 := dL/dH_1 = w_1 g_1 + r_1 β δ_2
  //   dL/dx_t = k δ_t                                   (dH_t/dx_t = k)
  // θ moves every S_t by dS_t/dθ = -g_t, which reaches L directly (w_t) and through V_t
  // (dV_t/dS_t = V_r - H_t, then dL/dV_t = β δ_{t+1}, zero for t = 3):
  //   dL/dθ = -Σ_t g_t (w_t + β δ_{t+1} (V_r - H_t))
  // β: H_t = β V_{t-1} + (1 - β)(V_r + x_t) (k = 1 - β), so dH_t/dβ = V_{t-1} - V_r - x_t:
  //   dL/dβ = δ_1 (0 - 2.5) + δ_2 (V_1 - 0.5) + δ_3 (V_2 - 1.5) = -2.5 δ_1 - 0.5 δ_2 - 1.25 δ_3.
  auto sig = [](double u) {
    const double s = 1 / (1 + std::exp(-4 * u));
    return 4 * s * (1 - s);
  };
  const double beta = 0.5, k = 0.5, vr = 0;
  const double w1 = 0.5, w2 = -1, w3 = 2;
  const double h1 = 1.25, h2 = 0.25, h3 = 0.875;
  const double g1 = sig(h1 - 1), g2 = sig(h2 - 1), g3 = sig(h3 - 1);
  const double r1 = 0 + (vr - h1) * g1, r2 = 1 + (vr - h2) * g2;
  const double d3 = w3 * g3;
  const double d2 = w2 * g2 + r2 * beta * d3;
  const double d1 = w1 * g1 + r1 * beta * d2;
  const double dtheta = -(g1 * (w1 + beta * d2 * (vr - h1)) + g2 * (w2 + beta * d3 * (vr - h2)) + g3 * w3);
  const double dbeta = -2.5 * d1 - 0.5 * d2 - 1.25 * d3;

  spiking_lif_params p = spikingjelly_lif();
  p.trainable_threshold = true;
  p.trainable_beta = true;
  spiking_lif<TestType, double> layer(p);
  const auto r = run_forward(layer, {2.5, 0.5, 1.5}, 3, 1);
  check_columns(r.h, 1, {h1, h2, h3}, 1e-15, "H");
  check_columns(r.s, 1, {1, 0, 0}, 0, "S");
  auto gs = to_device<TestType, double>({w1, w2, w3}, 3, 1);
  typename spiking_lif<TestType, double>::view gx("gx", 3, 1);
  layer.backward(gs, gx);
  check_columns(to_host(gx), 1, {k * d1, k * d2, k * d3}, 1e-14, "dL/dx");
  CHECK(layer.grad_threshold() == Approx(dtheta).epsilon(1e-13));
  CHECK(layer.grad_beta() == Approx(dbeta).epsilon(1e-13));
}

namespace {
struct fd_case {
  const char* name;
  spiking_lif_params p;
};

std::vector<fd_case> fd_cases() {
  auto trainable = [](spiking_lif_params p) {
    p.trainable_threshold = true;
    p.trainable_beta = p.form != leak_form::none;
    p.firing = firing_function::surrogate_primitive;
    p.v_threshold = 0.9;  // θ ≠ 1, so θ and 1 cannot be confused anywhere
    return p;
  };
  spiking_lif_params sj = spikingjelly_lif(2.5);
  spiking_lif_params sj_vr = sj;
  sj_vr.v_reset = -0.2;
  spiking_lif_params sj_soft = with(sj, lif_reset::soft);
  spiking_lif_params sj_no_decay = sj;
  sj_no_decay.decay_input = false;
  spiking_lif_params sj_detach = sj_vr;
  sj_detach.detach_reset = true;
  spiking_lif_params sj_soft_detach = sj_soft;
  sj_soft_detach.detach_reset = true;
  spiking_lif_params sj_atan = sj_vr;
  sj_atan.surrogate = parse_surrogate("arctan");
  spiking_lif_params sj_erf = sj_soft;
  sj_erf.surrogate = parse_surrogate("erf");
  spiking_lif_params beta_soft;
  beta_soft.form = leak_form::beta;
  beta_soft.beta = 0.7;
  beta_soft.reset = lif_reset::soft;
  spiking_lif_params beta_hard_decay = beta_soft;
  beta_hard_decay.reset = lif_reset::hard;
  beta_hard_decay.decay_input = true;
  spiking_lif_params torch_zero = with(snntorch_leaky(0.8), lif_reset::hard);
  torch_zero.v_reset = 0.1;
  spiking_lif_params torch_softsign = snntorch_leaky(0.6);
  torch_softsign.surrogate = parse_surrogate("softsign");
  return {
      {"SJ LIF hard", trainable(sj)},
      {"SJ LIF hard, v_reset = -0.2", trainable(sj_vr)},
      {"SJ LIF soft", trainable(sj_soft)},
      {"SJ LIF decay_input = false", trainable(sj_no_decay)},
      {"SJ LIF hard, detach_reset", trainable(sj_detach)},
      {"SJ LIF soft, detach_reset", trainable(sj_soft_detach)},
      {"SJ LIF hard, arctan", trainable(sj_atan)},
      {"SJ LIF soft, erf", trainable(sj_erf)},
      {"beta 0.7 same-step soft", trainable(beta_soft)},
      {"beta 0.7 same-step hard, decay_input", trainable(beta_hard_decay)},
      {"snnTorch Leaky subtract, delayed", trainable(snntorch_leaky(0.8))},
      {"snnTorch Leaky zero (to 0.1), delayed", trainable(torch_zero)},
      {"snnTorch Leaky subtract, softsign", trainable(torch_softsign)},
      {"IF hard", trainable(spikingjelly_if())},
      {"IF soft", trainable(with(spikingjelly_if(), lif_reset::soft))},
  };
}
}  // namespace

TEMPLATE_LIST_TEST_CASE("backward equals finite differences of the smooth forward pass", "[learning][lif][bptt]",
                        kspike_test::backends) {
  // What is compared. With firing_function::surrogate_primitive the layer fires S = g(H - θ),
  // g the surrogate's primitive, so the forward pass is a smooth function of x, θ and β whose
  // exact derivative uses g' wherever backward uses the surrogate, and the S values in the
  // reset terms that backward recomputes are those same g(H - θ). Backward must then return
  // the true gradient of L = Σ w S (random w): that checks every chain-rule term of every
  // option (reset kinds, delayed reset, leak forms, decay_input, trainable θ and β) at once.
  // The finite differences are taken of reference_lif, a host re-implementation of §1 in
  // double: first it must reproduce the layer's smooth forward pass; then, since a detached
  // reset (detach_reset, and always the delayed reset) is not differentiable as written,
  // the reference holds the spikes of the reset terms at their unperturbed values in those
  // cases, which is precisely the derivative that "detached" defines.
  const int steps = 7, n = 6;
  std::mt19937 rng(12345);
  std::uniform_real_distribution<double> input(-0.5, 2.5), weight(-1.0, 1.0);
  std::vector<double> x(steps * n), w(steps * n);
  for (auto& v : x) v = input(rng);
  for (auto& v : w) v = weight(rng);

  for (const auto& fc : fd_cases()) {
    SECTION(fc.name) {
      spiking_lif<TestType, double> layer(fc.p);
      const auto fwd = run_forward(layer, x, steps, n);
      typename spiking_lif<TestType, double>::view gx("gx", steps, n);
      layer.backward(to_device<TestType, double>(w, steps, n), gx);
      const auto grad_x = to_host(gx);

      reference_lif ref(fc.p);
      std::vector<double> reset_spikes;
      const auto s_ref = ref.spikes(x, steps, n, nullptr, &reset_spikes);
      check_columns(fwd.s, 1, s_ref, 1e-12, "smooth S against the reference");
      const bool detached = fc.p.detach_reset || fc.p.reset_delay;
      const std::vector<double>* frozen = detached ? &reset_spikes : nullptr;

      const double h = 1e-6;
      auto loss = [&](const reference_lif& r, const std::vector<double>& xs) {
        return weighted_sum(w, r.spikes(xs, steps, n, frozen));
      };
      for (std::size_t k = 0; k < x.size(); ++k) {
        auto xp = x, xm = x;
        xp[k] += h;
        xm[k] -= h;
        const double fd = (loss(ref, xp) - loss(ref, xm)) / (2 * h);
        INFO("dL/dx at t=" << k / n << ", neuron " << k % n);
        CHECK(grad_x[k] == Approx(fd).epsilon(1e-6).margin(1e-8));
      }
      {
        reference_lif rp = ref, rm = ref;
        rp.theta += h;
        rm.theta -= h;
        CHECK(layer.grad_threshold() == Approx((loss(rp, x) - loss(rm, x)) / (2 * h)).epsilon(1e-6).margin(1e-8));
      }
      if (fc.p.trainable_beta) {
        reference_lif rp = ref, rm = ref;
        rp.beta += h;
        rm.beta -= h;
        CHECK(layer.grad_beta() == Approx((loss(rp, x) - loss(rm, x)) / (2 * h)).epsilon(1e-6).margin(1e-8));
      }
    }
  }
}

TEMPLATE_LIST_TEST_CASE("backward of the spiking (Heaviside) layer follows the reset flags", "[learning][lif][bptt]",
                        kspike_test::backends) {
  // Two steps of IF with soft reset, x = (1.5, 0.2): S_1 = 1, H_2 = 0.5 + 0.2 = 0.7, S_2 = 0.
  // With L = S_2 only, dL/dx_1 = g_2 · dH_2/dV_1 · dV_1/dH_1 where dV_1/dH_1 = 1 - θ g_1
  // (not detached) or 1 (detached): the only difference is the reset path.
  auto run = [](bool detach) {
    spiking_lif_params p = with(spikingjelly_if(), lif_reset::soft);
    p.detach_reset = detach;
    spiking_lif<TestType, double> layer(p);
    run_forward(layer, {1.5, 0.2}, 2, 1);
    typename spiking_lif<TestType, double>::view gx("gx", 2, 1);
    layer.backward(to_device<TestType, double>({0, 1}, 2, 1), gx);
    return to_host(gx);
  };
  const auto g = [](double u) { return surrogates::sigmoid(u, 4.0); };
  const auto attached = run(false), detached = run(true);
  CHECK(attached[0] == Approx(g(0.7 - 1) * (1 - g(0.5))).epsilon(1e-14));
  CHECK(detached[0] == Approx(g(0.7 - 1)).epsilon(1e-14));
  CHECK(attached[1] == Approx(g(0.7 - 1)).epsilon(1e-14));
  CHECK(detached[1] == Approx(g(0.7 - 1)).epsilon(1e-14));
}

TEMPLATE_LIST_TEST_CASE("parameter gradients are zero unless trainable, and for a clamped beta",
                        "[learning][lif][bptt]", kspike_test::backends) {
  spiking_lif_params p = snntorch_leaky(0.5);
  spiking_lif<TestType, float> plain(p);
  run_forward(plain, appendix_x1, 8, 1);
  typename spiking_lif<TestType, float>::view gx("gx", 8, 1);
  plain.backward(to_device<TestType, float>(std::vector<double>(8, 1.0), 8, 1), gx);
  CHECK(plain.grad_threshold() == 0.0);
  CHECK(plain.grad_beta() == 0.0);

  p.trainable_threshold = p.trainable_beta = true;
  spiking_lif<TestType, float> trained(p);
  run_forward(trained, appendix_x1, 8, 1);
  trained.backward(to_device<TestType, float>(std::vector<double>(8, 1.0), 8, 1), gx);
  CHECK(trained.grad_threshold() != 0.0);
  CHECK(trained.grad_beta() != 0.0);

  p.beta = 1.3;  // used as 1: the raw parameter has no effect on the output
  spiking_lif<TestType, float> clamped(p);
  run_forward(clamped, appendix_x1, 8, 1);
  clamped.backward(to_device<TestType, float>(std::vector<double>(8, 1.0), 8, 1), gx);
  CHECK(clamped.grad_threshold() != 0.0);
  CHECK(clamped.grad_beta() == 0.0);
}

TEMPLATE_LIST_TEST_CASE("spiking_lif rejects bad parameters and shapes", "[learning][lif]", kspike_test::backends) {
  using layer_t = spiking_lif<TestType, float>;
  spiking_lif_params p = spikingjelly_lif(0.5);
  CHECK_THROWS_WITH(layer_t(p), Catch::Contains("tau"));
  p = spikingjelly_if();
  p.trainable_beta = true;
  CHECK_THROWS_AS(layer_t(p), kspike::error);
  p = spikingjelly_lif();
  p.surrogate.param = -1;
  CHECK_THROWS_AS(layer_t(p), kspike::error);

  layer_t layer(spikingjelly_lif());
  typename layer_t::view x("x", 4, 3), s("s", 4, 2), gx("gx", 4, 3);
  CHECK_THROWS_AS(layer.backward(x, gx), kspike::internal_error);
  CHECK_THROWS_WITH(layer.forward(x, s), Catch::Contains("spikes has shape [4, 2], expected [4, 3]"));
  typename layer_t::view s_ok("s", 4, 3);
  layer.forward(x, s_ok);
  CHECK_THROWS_AS(layer.backward(s, gx), kspike::error);
  CHECK_NOTHROW(layer.backward(s_ok, gx));
}

#if defined(KOKKOS_ENABLE_SERIAL) && defined(KOKKOS_ENABLE_OPENMP)
TEST_CASE("Serial and OpenMP give bit-identical spikes and input gradients", "[learning][lif][backends]") {
  // Each neuron's time loop runs in one thread, so per-neuron results cannot depend on the
  // backend or thread count. The parameter gradients are sums over neurons whose order does;
  // summed in double, they agree far below float resolution.
  const int steps = 6, n = 1000;
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> input(-0.5, 2.5), weight(-1.0, 1.0);
  std::vector<double> x(steps * n), w(steps * n);
  for (auto& v : x) v = input(rng);
  for (auto& v : w) v = weight(rng);
  spiking_lif_params p = with(spikingjelly_lif(), lif_reset::soft);
  p.trainable_threshold = p.trainable_beta = true;

  struct outcome {
    forward_result fwd;
    std::vector<double> grad_x;
    double grad_threshold, grad_beta;
  };
  auto run = [&](auto exec) {
    using Exec = decltype(exec);
    spiking_lif<Exec, float> layer(p);
    outcome o;
    o.fwd = run_forward(layer, x, steps, n);
    typename spiking_lif<Exec, float>::view gx("gx", steps, n);
    layer.backward(to_device<Exec, float>(w, steps, n), gx);
    o.grad_x = to_host(gx);
    o.grad_threshold = layer.grad_threshold();
    o.grad_beta = layer.grad_beta();
    return o;
  };
  const outcome serial = run(Kokkos::Serial()), openmp = run(Kokkos::OpenMP());
  CHECK(serial.fwd.s == openmp.fwd.s);
  CHECK(serial.fwd.h == openmp.fwd.h);
  CHECK(serial.fwd.v == openmp.fwd.v);
  CHECK(serial.grad_x == openmp.grad_x);
  CHECK(serial.grad_threshold == Approx(openmp.grad_threshold).epsilon(1e-12));
  CHECK(serial.grad_beta == Approx(openmp.grad_beta).epsilon(1e-12));
}
#endif

TEMPLATE_LIST_TEST_CASE("one step of input repeated over T equals T copies of it, forward and backward", "[learning][lif][bptt]",
                        kspike_test::backends) {
  // Direct encoding feeds the same input at every step; the layer can read it once ([1, N]) and
  // return the gradient summed over the steps. Checked against T explicit copies, for the fast
  // (soft, detached) path, a hard reset and a trainable threshold (the per-neuron kernel).
  const int steps = 5, n = 700;  // more than one 512-neuron block
  std::mt19937 rng(99);
  std::uniform_real_distribution<double> input(-0.5, 1.8), weight(-1.0, 1.0);
  std::vector<double> x1(n), w(steps * n);
  for (auto& v : x1) v = input(rng);
  for (auto& v : w) v = weight(rng);
  std::vector<double> xt;
  for (int t = 0; t < steps; ++t) xt.insert(xt.end(), x1.begin(), x1.end());
  spiking_lif_params soft = snntorch_leaky(0.5);
  soft.reset_delay = false;
  soft.detach_reset = true;
  soft.fire = fire_rule::greater_equal;
  spiking_lif_params hard = with(soft, lif_reset::hard);
  spiking_lif_params trainable = soft;
  trainable.trainable_threshold = true;
  for (const auto& p : {soft, hard, trainable}) {
    spiking_lif<TestType, double> once(p), copies(p);
    typename spiking_lif<TestType, double>::view s1("s1", steps, n), sT("sT", steps, n), g1("g1", 1, n), gT("gT", steps, n);
    once.forward(to_device<TestType, double>(x1, 1, n), s1);
    copies.forward(to_device<TestType, double>(xt, steps, n), sT);
    CHECK(to_host(s1) == to_host(sT));
    CHECK(to_host(once.saved_h()) == to_host(copies.saved_h()));
    const auto wd = to_device<TestType, double>(w, steps, n);
    once.backward(wd, g1);
    copies.backward(wd, gT);
    const auto a = to_host(g1), b = to_host(gT);
    for (int i = 0; i < n; ++i) {
      double sum = 0;
      for (int t = 0; t < steps; ++t) sum += b[std::size_t(t * n + i)];
      CHECK(a[std::size_t(i)] == Approx(sum).epsilon(1e-12).margin(1e-14));
    }
    CHECK(once.grad_threshold() == Approx(copies.grad_threshold()).epsilon(1e-12));
    typename spiking_lif<TestType, double>::view wrong("wrong", steps, n);
    CHECK_THROWS_AS(once.backward(wd, wrong), kspike::error);
  }
}
