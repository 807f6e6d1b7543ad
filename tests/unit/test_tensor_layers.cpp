// Tensor layers and gemm: every backward (input and parameter gradients) against central finite
// differences of its own forward, in double, on random inputs with fixed seeds, for every backend.
// The loss is L = Σ y·r with a fixed random r, so dL/dy = r and dL/dθ is what backward returns.
#include <catch2/catch.hpp>

#include <Kokkos_Core.hpp>

#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "learning/gemm.hpp"
#include "learning/tensor_layers.hpp"
#include "sim/core/error.hpp"
#include "support/backends.hpp"

namespace kl = kspike::learning;

namespace {

// Host copies of any (contiguous) View, element order = LayoutRight order.
template <class V>
std::vector<double> to_host(const V& v) {
  auto h = Kokkos::create_mirror_view(v);
  Kokkos::deep_copy(h, v);
  return std::vector<double>(h.data(), h.data() + h.size());
}

template <class V>
void from_host(const V& v, const std::vector<double>& values) {
  auto h = Kokkos::create_mirror_view(v);
  for (std::size_t i = 0; i < values.size(); ++i) h.data()[i] = values[i];
  Kokkos::deep_copy(v, h);
}

template <class V>
std::vector<double> fill_uniform(const V& v, std::mt19937_64& gen, double lo = -1.0, double hi = 1.0) {
  std::uniform_real_distribution<double> d(lo, hi);
  std::vector<double> values(v.size());
  for (auto& x : values) x = d(gen);
  from_host(v, values);
  return values;
}

// Values with |x| ≥ margin (and away from `ceiling` when given), so a central difference with a
// small step never straddles a ReLU kink.
template <class V>
void fill_away_from_kinks(const V& v, std::mt19937_64& gen, double ceiling = 0.0) {
  std::uniform_real_distribution<double> d(-2.0, 2.0);
  std::vector<double> values(v.size());
  for (auto& x : values) {
    do x = d(gen);
    while (std::abs(x) < 0.05 || (ceiling > 0 && std::abs(x - ceiling) < 0.05));
  }
  from_host(v, values);
}

template <class V>
double dot(const V& y, const std::vector<double>& r) {
  const auto h = to_host(y);
  double s = 0;
  for (std::size_t i = 0; i < h.size(); ++i) s += h[i] * r[i];
  return s;
}

// dL/dv by central differences, one element at a time.
template <class V>
std::vector<double> numeric_grad(const V& v, const std::function<double()>& loss, double step = 1e-6) {
  auto values = to_host(v);
  std::vector<double> g(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double orig = values[i];
    values[i] = orig + step;
    from_host(v, values);
    const double up = loss();
    values[i] = orig - step;
    from_host(v, values);
    const double down = loss();
    values[i] = orig;
    g[i] = (up - down) / (2 * step);
  }
  from_host(v, values);
  return g;
}

void require_close(const std::vector<double>& analytic, const std::vector<double>& numeric, const std::string& what,
                   double tol = 1e-6) {
  REQUIRE(analytic.size() == numeric.size());
  double worst = 0;
  std::size_t at = 0;
  for (std::size_t i = 0; i < analytic.size(); ++i) {
    const double err = std::abs(analytic[i] - numeric[i]) / (1.0 + std::abs(numeric[i]));
    if (err > worst) {
      worst = err;
      at = i;
    }
  }
  INFO(what << ": worst relative error " << worst << " at element " << at << " (analytic " << analytic[at]
            << ", numeric " << numeric[at] << ")");
  CHECK(worst < tol);
}

template <class Exec>
using v1 = Kokkos::View<double*, Kokkos::LayoutRight, typename Exec::memory_space>;
template <class Exec>
using v2 = Kokkos::View<double**, Kokkos::LayoutRight, typename Exec::memory_space>;
template <class Exec>
using v4 = Kokkos::View<double****, Kokkos::LayoutRight, typename Exec::memory_space>;

template <class F>
void require_error_mentions(F&& f, const std::vector<std::string>& parts) {
  try {
    f();
    FAIL("no kspike::error thrown");
  } catch (const kspike::error& e) {
    const std::string msg = e.what();
    INFO("message: " << msg);
    for (const auto& p : parts) CHECK(msg.find(p) != std::string::npos);
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// gemm

template <class Exec, bool Portable>
void check_gemm_all_transposes() {
  std::mt19937_64 gen(7);
  const int m = 5, n = 4, k = 3;
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      const auto opa = ta ? kl::trans::yes : kl::trans::no;
      const auto opb = tb ? kl::trans::yes : kl::trans::no;
      v2<Exec> a("a", ta ? k : m, ta ? m : k), b("b", tb ? n : k, tb ? k : n), c("c", m, n);
      const auto ha = fill_uniform(a, gen), hb = fill_uniform(b, gen), hc = fill_uniform(c, gen);
      const double alpha = 0.75, beta = -0.5;
      if (Portable)
        kl::detail::gemm_kokkos(Exec(), opa, opb, alpha, a, b, beta, c);
      else
        kl::gemm(Exec(), opa, opb, alpha, a, b, beta, c);
      const auto got = to_host(c);
      for (int i = 0; i < m; ++i)
        for (int j = 0; j < n; ++j) {
          double s = 0;
          for (int p = 0; p < k; ++p) {
            const double av = ta ? ha[p * m + i] : ha[i * k + p];
            const double bv = tb ? hb[j * k + p] : hb[p * n + j];
            s += av * bv;
          }
          const double want = alpha * s + beta * hc[i * n + j];
          INFO("transA " << ta << " transB " << tb << " at (" << i << ", " << j << ")");
          CHECK(got[i * n + j] == Approx(want).epsilon(1e-13).margin(1e-14));
        }
    }
}

TEMPLATE_LIST_TEST_CASE("gemm matches a triple loop for all four transposes", "[tensor_layers][gemm]",
                        kspike_test::backends) {
  INFO("host gemm goes to " << (kl::gemm_uses_blas ? "OpenBLAS" : "the Kokkos kernel"));
  check_gemm_all_transposes<TestType, false>();
  // The portable kernel too, which host builds otherwise never run.
  check_gemm_all_transposes<TestType, true>();
}

TEMPLATE_LIST_TEST_CASE("gemm with beta = 0 ignores C's old contents, and works in float", "[tensor_layers][gemm]",
                        kspike_test::backends) {
  using mem = typename TestType::memory_space;
  Kokkos::View<float**, Kokkos::LayoutRight, mem> a("a", 2, 2), b("b", 2, 2), c("c", 2, 2);
  auto ha = Kokkos::create_mirror_view(a);
  ha(0, 0) = 1;
  ha(0, 1) = 2;
  ha(1, 0) = 3;
  ha(1, 1) = 4;
  Kokkos::deep_copy(a, ha);
  Kokkos::deep_copy(b, ha);
  Kokkos::deep_copy(c, std::nanf(""));
  kl::gemm(TestType(), kl::trans::no, kl::trans::no, 1.0f, a, b, 0.0f, c);
  auto hc = Kokkos::create_mirror_view(c);
  Kokkos::deep_copy(hc, c);
  CHECK(hc(0, 0) == 7.0f);
  CHECK(hc(0, 1) == 10.0f);
  CHECK(hc(1, 0) == 15.0f);
  CHECK(hc(1, 1) == 22.0f);
  Kokkos::deep_copy(c, std::nanf(""));
  kl::detail::gemm_kokkos(TestType(), kl::trans::no, kl::trans::no, 1.0f, a, b, 0.0f, c);
  Kokkos::deep_copy(hc, c);
  CHECK(hc(1, 1) == 22.0f);
}

TEMPLATE_LIST_TEST_CASE("gemm rejects shapes that do not agree", "[tensor_layers][gemm]", kspike_test::backends) {
  v2<TestType> a("a", 2, 3), b("b", 4, 5), c("c", 2, 5);
  require_error_mentions([&] { kl::gemm(TestType(), kl::trans::no, kl::trans::no, 1.0, a, b, 0.0, c); },
                         {"gemm", "[2, 3]", "[4, 5]", "[2, 5]"});
}

// ---------------------------------------------------------------------------------------------
// linear

TEMPLATE_LIST_TEST_CASE("linear backward matches central differences", "[tensor_layers][linear]",
                        kspike_test::backends) {
  using exec = TestType;
  std::mt19937_64 gen(11);
  kl::linear<exec, double> layer(4, 3);
  fill_uniform(layer.weight(), gen);
  fill_uniform(layer.bias(), gen);
  v2<exec> x("x", 5, 4), y("y", 5, 3), gy("gy", 5, 3), gx("gx", 5, 4);
  fill_uniform(x, gen);
  const auto r = fill_uniform(gy, gen);
  const std::function<double()> loss = [&] {
    layer.forward(x, y);
    return dot(y, r);
  };
  loss();
  layer.zero_grad();
  layer.backward(gy, gx);
  const auto a_x = to_host(gx), a_w = to_host(layer.grad_weight()), a_b = to_host(layer.grad_bias());
  require_close(a_x, numeric_grad(x, loss), "dL/dx");
  require_close(a_w, numeric_grad(layer.weight(), loss), "dL/dW");
  require_close(a_b, numeric_grad(layer.bias(), loss), "dL/db");

  // Parameter gradients accumulate: a second backward doubles them.
  loss();
  layer.backward(gy, gx);
  const auto twice = to_host(layer.grad_weight());
  for (std::size_t i = 0; i < twice.size(); ++i) CHECK(twice[i] == Approx(2 * a_w[i]).epsilon(1e-12));
}

TEMPLATE_LIST_TEST_CASE("linear rejects wrong shapes, naming the layer and shapes", "[tensor_layers][linear]",
                        kspike_test::backends) {
  kl::linear<TestType, double> layer(4, 3);
  v2<TestType> x("x", 5, 6), y("y", 5, 3);
  require_error_mentions([&] { layer.forward(x, y); }, {"linear", "input", "[5, 6]", "[*, 4]"});
  v2<TestType> x2("x", 5, 4), y2("y", 4, 3);
  require_error_mentions([&] { layer.forward(x2, y2); }, {"linear", "output", "[4, 3]", "[5, 3]"});
}

// ---------------------------------------------------------------------------------------------
// conv2d

TEMPLATE_LIST_TEST_CASE("conv2d backward matches central differences", "[tensor_layers][conv2d]",
                        kspike_test::backends) {
  using exec = TestType;
  struct config {
    int k, stride, pad;
    bool bias;
  };
  const config configs[] = {{3, 1, 1, true}, {3, 2, 0, true}, {2, 2, 1, false}, {3, 2, 1, true}};
  for (const auto& cfg : configs) {
    INFO("kernel " << cfg.k << " stride " << cfg.stride << " padding " << cfg.pad << " bias " << cfg.bias);
    std::mt19937_64 gen(23 + cfg.k * 10 + cfg.stride);
    kl::conv2d<exec, double> layer(2, 3, cfg.k, cfg.stride, cfg.pad, cfg.bias);
    fill_uniform(layer.weight(), gen);
    if (cfg.bias) fill_uniform(layer.bias(), gen);
    const int h = 5, w = 6, oh = static_cast<int>(layer.out_size(h)), ow = static_cast<int>(layer.out_size(w));
    v4<exec> x("x", 2, 2, h, w), y("y", 2, 3, oh, ow), gy("gy", 2, 3, oh, ow), gx("gx", 2, 2, h, w);
    fill_uniform(x, gen);
    const auto r = fill_uniform(gy, gen);
    const std::function<double()> loss = [&] {
      layer.forward(x, y);
      return dot(y, r);
    };
    loss();
    layer.zero_grad();
    layer.backward(gy, gx);
    const auto a_x = to_host(gx), a_w = to_host(layer.grad_weight());
    require_close(a_x, numeric_grad(x, loss), "dL/dx");
    require_close(a_w, numeric_grad(layer.weight(), loss), "dL/dW");
    if (cfg.bias) {
      const auto a_b = to_host(layer.grad_bias());
      require_close(a_b, numeric_grad(layer.bias(), loss), "dL/db");
    }
  }
}

TEMPLATE_LIST_TEST_CASE("conv2d forward matches a direct convolution", "[tensor_layers][conv2d]",
                        kspike_test::backends) {
  using exec = TestType;
  std::mt19937_64 gen(5);
  kl::conv2d<exec, double> layer(2, 2, 3, 2, 1);
  const auto wt = fill_uniform(layer.weight(), gen);
  const auto bs = fill_uniform(layer.bias(), gen);
  const int h = 5, w = 4, oh = 3, ow = 2;
  REQUIRE(layer.out_size(h) == oh);
  REQUIRE(layer.out_size(w) == ow);
  v4<exec> x("x", 1, 2, h, w), y("y", 1, 2, oh, ow);
  const auto hx = fill_uniform(x, gen);
  layer.forward(x, y);
  const auto got = to_host(y);
  for (int o = 0; o < 2; ++o)
    for (int i = 0; i < oh; ++i)
      for (int j = 0; j < ow; ++j) {
        double s = bs[o];
        for (int c = 0; c < 2; ++c)
          for (int ki = 0; ki < 3; ++ki)
            for (int kj = 0; kj < 3; ++kj) {
              const int yy = i * 2 - 1 + ki, xx = j * 2 - 1 + kj;
              if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
              s += wt[((o * 2 + c) * 3 + ki) * 3 + kj] * hx[(c * h + yy) * w + xx];
            }
        CHECK(got[(o * oh + i) * ow + j] == Approx(s).epsilon(1e-13));
      }
}

TEMPLATE_LIST_TEST_CASE("conv2d rejects wrong shapes", "[tensor_layers][conv2d]", kspike_test::backends) {
  kl::conv2d<TestType, double> layer(2, 3, 3, 1, 1);
  v4<TestType> x("x", 1, 4, 5, 5), y("y", 1, 3, 5, 5);
  require_error_mentions([&] { layer.forward(x, y); }, {"conv2d", "input", "[1, 4, 5, 5]", "[*, 2, *, *]"});
  v4<TestType> x2("x", 1, 2, 5, 5), y2("y", 1, 3, 4, 4);
  require_error_mentions([&] { layer.forward(x2, y2); }, {"conv2d", "output", "[1, 3, 4, 4]", "[1, 3, 5, 5]"});
}

// ---------------------------------------------------------------------------------------------
// pooling

TEMPLATE_LIST_TEST_CASE("avg_pool2d and max_pool2d backward match central differences", "[tensor_layers][pool]",
                        kspike_test::backends) {
  using exec = TestType;
  // (kernel, stride): non-overlapping, overlapping, and a window that leaves a border unused.
  const int configs[][2] = {{2, 2}, {3, 2}, {2, 3}};
  for (const auto& cfg : configs) {
    INFO("kernel " << cfg[0] << " stride " << cfg[1]);
    std::mt19937_64 gen(31 + cfg[0] * 3 + cfg[1]);
    const int h = 6, w = 7;
    kl::avg_pool2d<exec, double> avg(cfg[0], cfg[1]);
    kl::max_pool2d<exec, double> mx(cfg[0], cfg[1]);
    const int oh = static_cast<int>(avg.out_size(h)), ow = static_cast<int>(avg.out_size(w));
    v4<exec> x("x", 2, 3, h, w), y("y", 2, 3, oh, ow), gy("gy", 2, 3, oh, ow), gx("gx", 2, 3, h, w);
    fill_uniform(x, gen);  // distinct values almost surely: no ties in a window
    const auto r = fill_uniform(gy, gen);
    {
      const std::function<double()> loss = [&] {
        avg.forward(x, y);
        return dot(y, r);
      };
      loss();
      avg.backward(gy, gx);
      require_close(to_host(gx), numeric_grad(x, loss), "avg_pool2d dL/dx");
    }
    {
      const std::function<double()> loss = [&] {
        mx.forward(x, y);
        return dot(y, r);
      };
      loss();
      mx.backward(gy, gx);
      require_close(to_host(gx), numeric_grad(x, loss), "max_pool2d dL/dx");
    }
  }
}

TEMPLATE_LIST_TEST_CASE("max_pool2d stores the argmax of each window", "[tensor_layers][pool]",
                        kspike_test::backends) {
  using exec = TestType;
  kl::max_pool2d<exec, double> mx(2);
  v4<exec> x("x", 1, 1, 2, 4), y("y", 1, 1, 1, 2);
  from_host(x, {1, 5, 2, 0, 3, 4, 9, 8});
  mx.forward(x, y);
  CHECK(to_host(y) == std::vector<double>{5, 9});
  auto am = Kokkos::create_mirror_view(mx.argmax());
  Kokkos::deep_copy(am, mx.argmax());
  CHECK(am(0, 0, 0, 0) == 1);  // row 0, column 1
  CHECK(am(0, 0, 0, 1) == 6);  // row 1, column 2
}

TEMPLATE_LIST_TEST_CASE("pooling rejects wrong shapes", "[tensor_layers][pool]", kspike_test::backends) {
  kl::max_pool2d<TestType, double> mx(2);
  v4<TestType> x("x", 1, 2, 4, 4), y("y", 1, 2, 3, 3);
  require_error_mentions([&] { mx.forward(x, y); }, {"max_pool2d", "output", "[1, 2, 3, 3]", "[1, 2, 2, 2]"});
  kl::avg_pool2d<TestType, double> avg(2);
  require_error_mentions([&] { avg.forward(x, y); }, {"avg_pool2d", "output", "[1, 2, 3, 3]", "[1, 2, 2, 2]"});
}

// ---------------------------------------------------------------------------------------------
// batch norm

TEMPLATE_LIST_TEST_CASE("batch_norm backward matches central differences in train and eval mode",
                        "[tensor_layers][batch_norm]", kspike_test::backends) {
  using exec = TestType;
  for (const bool train : {true, false}) {
    INFO((train ? "train" : "eval") << " mode");
    {
      std::mt19937_64 gen(train ? 41 : 42);
      kl::batch_norm1d<exec, double> bn(3);
      fill_uniform(bn.gamma(), gen, 0.5, 1.5);
      fill_uniform(bn.beta(), gen);
      fill_uniform(bn.running_mean(), gen);
      fill_uniform(bn.running_var(), gen, 0.5, 2.0);
      bn.set_training(train);
      v2<exec> x("x", 4, 3), y("y", 4, 3), gy("gy", 4, 3), gx("gx", 4, 3);
      fill_uniform(x, gen, -2.0, 3.0);
      const auto r = fill_uniform(gy, gen);
      const std::function<double()> loss = [&] {
        bn.forward(x, y);
        return dot(y, r);
      };
      loss();
      bn.zero_grad();
      bn.backward(gy, gx);
      const auto a_x = to_host(gx), a_g = to_host(bn.grad_gamma()), a_b = to_host(bn.grad_beta());
      require_close(a_x, numeric_grad(x, loss), "1d dL/dx");
      require_close(a_g, numeric_grad(bn.gamma(), loss), "1d dL/dgamma");
      require_close(a_b, numeric_grad(bn.beta(), loss), "1d dL/dbeta");
    }
    {
      std::mt19937_64 gen(train ? 43 : 44);
      kl::batch_norm2d<exec, double> bn(2);
      fill_uniform(bn.gamma(), gen, 0.5, 1.5);
      fill_uniform(bn.beta(), gen);
      fill_uniform(bn.running_mean(), gen);
      fill_uniform(bn.running_var(), gen, 0.5, 2.0);
      bn.set_training(train);
      v4<exec> x("x", 3, 2, 3, 2), y("y", 3, 2, 3, 2), gy("gy", 3, 2, 3, 2), gx("gx", 3, 2, 3, 2);
      fill_uniform(x, gen, -2.0, 3.0);
      const auto r = fill_uniform(gy, gen);
      const std::function<double()> loss = [&] {
        bn.forward(x, y);
        return dot(y, r);
      };
      loss();
      bn.zero_grad();
      bn.backward(gy, gx);
      const auto a_x = to_host(gx), a_g = to_host(bn.grad_gamma()), a_b = to_host(bn.grad_beta());
      require_close(a_x, numeric_grad(x, loss), "2d dL/dx");
      require_close(a_g, numeric_grad(bn.gamma(), loss), "2d dL/dgamma");
      require_close(a_b, numeric_grad(bn.beta(), loss), "2d dL/dbeta");
    }
  }
}

TEMPLATE_LIST_TEST_CASE("batch_norm running statistics and eval output, by hand", "[tensor_layers][batch_norm]",
                        kspike_test::backends) {
  using exec = TestType;
  kl::batch_norm1d<exec, double> bn(2);
  v2<exec> x("x", 4, 2), y("y", 4, 2);
  // Channel 0: 1, 2, 3, 4 (mean 2.5, biased var 1.25, unbiased 5/3).
  // Channel 1: 2, 2, 6, 6 (mean 4, biased var 4, unbiased 16/3).
  from_host(x, {1, 2, 2, 2, 3, 6, 4, 6});
  bn.forward(x, y);
  auto rm = to_host(bn.running_mean()), rv = to_host(bn.running_var());
  CHECK(rm[0] == Approx(0.1 * 2.5).epsilon(1e-14));
  CHECK(rm[1] == Approx(0.1 * 4.0).epsilon(1e-14));
  CHECK(rv[0] == Approx(0.9 * 1.0 + 0.1 * 5.0 / 3.0).epsilon(1e-14));
  CHECK(rv[1] == Approx(0.9 * 1.0 + 0.1 * 16.0 / 3.0).epsilon(1e-14));
  // Train output: (x - mean)/sqrt(var + eps) with γ = 1, β = 0.
  auto hy = to_host(y);
  CHECK(hy[0] == Approx((1 - 2.5) / std::sqrt(1.25 + 1e-5)).epsilon(1e-13));
  CHECK(hy[5] == Approx((6 - 4.0) / std::sqrt(4.0 + 1e-5)).epsilon(1e-13));

  // A second step moves the running stats on from where they are.
  bn.forward(x, y);
  rm = to_host(bn.running_mean());
  rv = to_host(bn.running_var());
  CHECK(rm[0] == Approx(0.9 * 0.25 + 0.1 * 2.5).epsilon(1e-14));
  CHECK(rv[1] == Approx(0.9 * (0.9 + 0.1 * 16.0 / 3.0) + 0.1 * 16.0 / 3.0).epsilon(1e-14));

  // Eval: running stats, with γ and β applied; running stats do not move.
  from_host(bn.gamma(), {2.0, 0.5});
  from_host(bn.beta(), {0.25, -1.0});
  bn.set_training(false);
  bn.forward(x, y);
  hy = to_host(y);
  const auto hx = to_host(x);
  for (int i = 0; i < 4; ++i)
    for (int c = 0; c < 2; ++c) {
      const double g = c == 0 ? 2.0 : 0.5, b = c == 0 ? 0.25 : -1.0;
      CHECK(hy[i * 2 + c] == Approx(g * (hx[i * 2 + c] - rm[c]) / std::sqrt(rv[c] + 1e-5) + b).epsilon(1e-13));
    }
  CHECK(to_host(bn.running_mean()) == rm);
  CHECK(to_host(bn.running_var()) == rv);
}

TEMPLATE_LIST_TEST_CASE("batch_norm rejects wrong shapes and single-value batches", "[tensor_layers][batch_norm]",
                        kspike_test::backends) {
  kl::batch_norm2d<TestType, double> bn(3);
  v4<TestType> x("x", 2, 4, 3, 3), y("y", 2, 4, 3, 3);
  require_error_mentions([&] { bn.forward(x, y); }, {"batch_norm2d", "input", "[2, 4, 3, 3]", "[*, 3, *, *]"});
  kl::batch_norm1d<TestType, double> bn1(3);
  v2<TestType> x1("x", 1, 3), y1("y", 1, 3), y2("y", 2, 3);
  require_error_mentions([&] { bn1.forward(x1, y1); }, {"batch_norm1d", "more than one value", "[1, 3]"});
  require_error_mentions([&] { bn1.forward(x1, y2); }, {"batch_norm1d", "output", "[2, 3]", "[1, 3]"});
}

// ---------------------------------------------------------------------------------------------
// flatten, relu, clipped relu

TEMPLATE_LIST_TEST_CASE("flatten, relu and clipped_relu backward match central differences",
                        "[tensor_layers][elementwise]", kspike_test::backends) {
  using exec = TestType;
  std::mt19937_64 gen(51);
  v4<exec> x("x", 2, 3, 2, 2), gx("gx", 2, 3, 2, 2), y4("y4", 2, 3, 2, 2), gy4("gy4", 2, 3, 2, 2);
  v2<exec> y("y", 2, 12), gy("gy", 2, 12);
  {
    kl::flatten<exec, double> fl;
    fill_uniform(x, gen);
    const auto r = fill_uniform(gy, gen);
    const std::function<double()> loss = [&] {
      fl.forward(x, y);
      return dot(y, r);
    };
    loss();
    CHECK(to_host(y) == to_host(x));  // same LayoutRight order
    CHECK(to_host(kl::flatten_alias(x)) == to_host(x));
    fl.backward(gy, gx);
    require_close(to_host(gx), numeric_grad(x, loss), "flatten dL/dx");
    CHECK(to_host(gx) == r);
  }
  {
    kl::relu<exec, double> act;
    fill_away_from_kinks(x, gen);
    const auto r = fill_uniform(gy4, gen);
    const std::function<double()> loss = [&] {
      act.forward(x, y4);
      return dot(y4, r);
    };
    loss();
    act.backward(gy4, gx);
    require_close(to_host(gx), numeric_grad(x, loss), "relu dL/dx");
  }
  {
    kl::clipped_relu<exec, double> act(1.0);
    fill_away_from_kinks(x, gen, 1.0);
    const auto hx = to_host(x);
    const auto r = fill_uniform(gy4, gen);
    const std::function<double()> loss = [&] {
      act.forward(x, y4);
      return dot(y4, r);
    };
    loss();
    const auto hy = to_host(y4);
    for (std::size_t i = 0; i < hx.size(); ++i) CHECK(hy[i] == std::min(std::max(hx[i], 0.0), 1.0));
    act.backward(gy4, gx);
    require_close(to_host(gx), numeric_grad(x, loss), "clipped_relu dL/dx");
  }
  {
    // [N, F] tensors work too.
    kl::relu<exec, double> act;
    v2<exec> a("a", 3, 5), b("b", 3, 5), ga("ga", 3, 5), gb("gb", 3, 5);
    fill_away_from_kinks(a, gen);
    const auto r = fill_uniform(gb, gen);
    const std::function<double()> loss = [&] {
      act.forward(a, b);
      return dot(b, r);
    };
    loss();
    act.backward(gb, ga);
    require_close(to_host(ga), numeric_grad(a, loss), "relu [N, F] dL/dx");
  }
}

TEMPLATE_LIST_TEST_CASE("flatten and relu reject wrong shapes", "[tensor_layers][elementwise]",
                        kspike_test::backends) {
  kl::flatten<TestType, double> fl;
  v4<TestType> x("x", 2, 3, 2, 2);
  v2<TestType> y("y", 2, 10);
  require_error_mentions([&] { fl.forward(x, y); }, {"flatten", "output", "[2, 10]", "[2, 12]"});
  kl::relu<TestType, double> act;
  v2<TestType> a("a", 3, 5), b("b", 5, 3);
  require_error_mentions([&] { act.forward(a, b); }, {"relu", "output", "[5, 3]", "[3, 5]"});
  kl::clipped_relu<TestType, double> clip(1.0);
  v2<TestType> c("c", 3, 5);
  clip.forward(a, c);
  require_error_mentions([&] { clip.backward(b, c); }, {"clipped_relu", "grad_output", "[5, 3]", "[3, 5]"});
}

// ---------------------------------------------------------------------------------------------
// A small stack, end to end: conv → bn → relu → maxpool → flatten → linear, whose input gradient
// must also match finite differences (checks that the layers' conventions compose).

TEMPLATE_LIST_TEST_CASE("a conv-bn-relu-pool-linear stack backpropagates correctly", "[tensor_layers][stack]",
                        kspike_test::backends) {
  using exec = TestType;
  std::mt19937_64 gen(61);
  kl::conv2d<exec, double> conv(1, 2, 3, 1, 1);
  kl::batch_norm2d<exec, double> bn(2);
  kl::clipped_relu<exec, double> act(2.0);
  kl::avg_pool2d<exec, double> pool(2);
  kl::flatten<exec, double> flat;
  kl::linear<exec, double> fc(8, 3);
  fill_uniform(conv.weight(), gen);
  fill_uniform(conv.bias(), gen);
  fill_uniform(fc.weight(), gen);
  fill_uniform(fc.bias(), gen);
  v4<exec> x("x", 2, 1, 4, 4), c("c", 2, 2, 4, 4), n("n", 2, 2, 4, 4), a("a", 2, 2, 4, 4), p("p", 2, 2, 2, 2);
  v2<exec> f("f", 2, 8), out("out", 2, 3);
  v4<exec> gx("gx", 2, 1, 4, 4), gc("gc", 2, 2, 4, 4), gn("gn", 2, 2, 4, 4), ga("ga", 2, 2, 4, 4),
      gp("gp", 2, 2, 2, 2);
  v2<exec> gf("gf", 2, 8), gout("gout", 2, 3);
  fill_uniform(x, gen);
  const auto r = fill_uniform(gout, gen);
  const std::function<double()> loss = [&] {
    conv.forward(x, c);
    bn.forward(c, n);
    act.forward(n, a);
    pool.forward(a, p);
    flat.forward(p, f);
    fc.forward(f, out);
    return dot(out, r);
  };
  loss();
  // Away from the clip's kinks the stack is smooth; check no pre-activation sits on one.
  for (double v : to_host(n)) REQUIRE((std::abs(v) > 1e-4 && std::abs(v - 2.0) > 1e-4));
  conv.zero_grad();
  bn.zero_grad();
  fc.zero_grad();
  fc.backward(gout, gf);
  flat.backward(gf, gp);
  pool.backward(gp, ga);
  act.backward(ga, gn);
  bn.backward(gn, gc);
  conv.backward(gc, gx);
  const auto a_x = to_host(gx), a_w = to_host(conv.grad_weight()), a_g = to_host(bn.grad_gamma());
  require_close(a_x, numeric_grad(x, loss), "stack dL/dx", 1e-5);
  require_close(a_w, numeric_grad(conv.weight(), loss), "stack dL/dW(conv)", 1e-5);
  require_close(a_g, numeric_grad(bn.gamma(), loss), "stack dL/dgamma", 1e-5);
}

// ---------------------------------------------------------------------------------------------
// Same inputs ⇒ bit-identical outputs and gradients on every CPU backend (docs/architecture.md
// "Backends"), in float as used for training: no layer may sum in a thread-dependent order.

namespace {

template <class Exec>
std::vector<std::vector<double>> run_float_stack() {
  using mem = typename Exec::memory_space;
  using f2 = Kokkos::View<float**, Kokkos::LayoutRight, mem>;
  using f4 = Kokkos::View<float****, Kokkos::LayoutRight, mem>;
  std::mt19937_64 gen(71);
  kl::conv2d<Exec, float> conv(3, 8, 3, 1, 1);
  kl::batch_norm2d<Exec, float> bn(8);
  kl::relu<Exec, float> act;
  kl::max_pool2d<Exec, float> pool(2);
  kl::flatten<Exec, float> flat;
  kl::linear<Exec, float> fc(8 * 4 * 4, 10);
  kl::batch_norm1d<Exec, float> bn1(10);
  kl::clipped_relu<Exec, float> clip(1.0f);
  fill_uniform(conv.weight(), gen);
  fill_uniform(conv.bias(), gen);
  fill_uniform(fc.weight(), gen, -0.1, 0.1);
  fill_uniform(fc.bias(), gen);
  f4 x("x", 16, 3, 8, 8), c("c", 16, 8, 8, 8), n("n", 16, 8, 8, 8), a("a", 16, 8, 8, 8), p("p", 16, 8, 4, 4);
  f2 f("f", 16, 128), o("o", 16, 10), b("b", 16, 10), z("z", 16, 10);
  fill_uniform(x, gen);
  conv.forward(x, c);
  bn.forward(c, n);
  act.forward(n, a);
  pool.forward(a, p);
  flat.forward(p, f);
  fc.forward(f, o);
  bn1.forward(o, b);
  clip.forward(b, z);
  f2 gz("gz", 16, 10), gb("gb", 16, 10), go("go", 16, 10), gf("gf", 16, 128);
  f4 gp("gp", 16, 8, 4, 4), ga("ga", 16, 8, 8, 8), gn("gn", 16, 8, 8, 8), gc("gc", 16, 8, 8, 8), gx("gx", 16, 3, 8, 8);
  fill_uniform(gz, gen);
  clip.backward(gz, gb);
  bn1.backward(gb, go);
  fc.backward(go, gf);
  flat.backward(gf, gp);
  pool.backward(gp, ga);
  act.backward(ga, gn);
  bn.backward(gn, gc);
  conv.backward(gc, gx);
  return {to_host(z), to_host(gx), to_host(conv.grad_weight()), to_host(conv.grad_bias()), to_host(fc.grad_weight()),
          to_host(bn.grad_gamma()), to_host(bn1.grad_beta()), to_host(bn.running_var())};
}

}  // namespace

#if defined(KOKKOS_ENABLE_SERIAL) && defined(KOKKOS_ENABLE_OPENMP)
TEST_CASE("tensor layers give bit-identical float results on Serial and OpenMP", "[tensor_layers][determinism]") {
  const auto serial = run_float_stack<Kokkos::Serial>();
  const auto openmp = run_float_stack<Kokkos::OpenMP>();
  REQUIRE(serial.size() == openmp.size());
  for (std::size_t i = 0; i < serial.size(); ++i) {
    INFO("result " << i);
    CHECK(serial[i] == openmp[i]);
  }
}
#endif
