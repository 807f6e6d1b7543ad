// Training building blocks: the IDX reader (small files written here, and the real
// Fashion-MNIST test set when Debian's dataset-fashion-mnist is installed), the losses' gradients
// against central finite differences in double, optimiser steps against values worked out by
// hand from the update equations, and the learning-rate schedules.
#include <catch2/catch.hpp>

#include <Kokkos_Core.hpp>
#include <zlib.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "encoders/idx_reader.hpp"
#include "learning/losses.hpp"
#include "learning/optimizers.hpp"
#include "sim/core/error.hpp"
#include "support/backends.hpp"

namespace kl = kspike::learning;
namespace ke = kspike::encoders;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

// ---- IDX helpers -----------------------------------------------------------------------------

void put_be32(std::vector<std::uint8_t>& b, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(std::uint8_t(v >> s));
}

std::vector<std::uint8_t> idx_bytes(std::uint32_t magic, const std::vector<std::uint32_t>& dims,
                                    const std::vector<std::uint8_t>& data) {
  std::vector<std::uint8_t> b;
  put_be32(b, magic);
  for (auto d : dims) put_be32(b, d);
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

void write_file(const fs::path& p, const std::vector<std::uint8_t>& b) {
  std::ofstream o(p, std::ios::binary);
  o.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}

void write_gz(const fs::path& p, const std::vector<std::uint8_t>& b) {
  gzFile f = gzopen(p.string().c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, b.data(), unsigned(b.size())) == int(b.size()));
  REQUIRE(gzclose(f) == Z_OK);
}

// A scratch folder removed at the end of the test case.
struct temp_dir {
  fs::path path;
  temp_dir() {
    path = fs::temp_directory_path() / ("kspike_idx_" + std::to_string(std::random_device{}()));
    fs::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

// Three 2x3 images with pixel value 10·image + index, and their labels 7, 0, 3.
std::vector<std::uint8_t> three_pixels() {
  std::vector<std::uint8_t> px;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 6; ++j) px.push_back(std::uint8_t(10 * i + j));
  return px;
}
const std::vector<std::uint8_t> three_labels = {7, 0, 3};

// ---- View helpers ----------------------------------------------------------------------------

template <class V>
std::vector<double> to_host(const V& v) {
  auto h = Kokkos::create_mirror_view(v);
  Kokkos::deep_copy(h, v);
  return std::vector<double>(h.data(), h.data() + h.size());
}

template <class V>
void from_host(const V& v, const std::vector<double>& x) {
  auto h = Kokkos::create_mirror_view(v);
  REQUIRE(h.size() == x.size());
  for (std::size_t i = 0; i < x.size(); ++i) h.data()[i] = typename V::non_const_value_type(x[i]);
  Kokkos::deep_copy(v, h);
}

template <class Exec>
using view1d = Kokkos::View<double*, typename Exec::memory_space>;
template <class Exec>
using view2d = Kokkos::View<double**, Kokkos::LayoutRight, typename Exec::memory_space>;

// dL/dx of `loss` at x by central differences, element by element.
template <class Exec, class F>
std::vector<double> numeric_grad(const view2d<Exec>& x, F loss, double h = 1e-6) {
  std::vector<double> base = to_host(x), g(base.size());
  for (std::size_t i = 0; i < base.size(); ++i) {
    std::vector<double> p = base;
    p[i] = base[i] + h;
    from_host(x, p);
    const double up = loss();
    p[i] = base[i] - h;
    from_host(x, p);
    const double down = loss();
    g[i] = (up - down) / (2 * h);
  }
  from_host(x, base);
  return g;
}

void require_close(const std::vector<double>& a, const std::vector<double>& b, double tol) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    INFO("element " << i << ": " << a[i] << " vs " << b[i]);
    REQUIRE(std::abs(a[i] - b[i]) <= tol * (1.0 + std::abs(b[i])));
  }
}

}  // namespace

// =============================================================================================
// IDX reader
// =============================================================================================

TEST_CASE("idx: valid image and label files, plain and gzip", "[training][idx]") {
  temp_dir dir;
  const auto images = idx_bytes(0x803, {3, 2, 3}, three_pixels());
  const auto labels = idx_bytes(0x801, {3}, three_labels);
  write_file(dir / "img", images);
  write_file(dir / "lab", labels);
  write_gz(dir / "img.gz", images);
  write_gz(dir / "lab.gz", labels);

  for (const std::string suffix : {"", ".gz"}) {
    INFO("suffix '" << suffix << "'");
    const ke::idx_images img = ke::read_idx_images(dir / ("img" + suffix), 2, 3);
    REQUIRE(img.count == 3);
    REQUIRE(img.rows == 2);
    REQUIRE(img.cols == 3);
    REQUIRE(img.pixels == three_pixels());
    REQUIRE(img.image(2)[4] == 24);
    REQUIRE(ke::read_idx_labels(dir / ("lab" + suffix)) == three_labels);
    const ke::idx_dataset ds = ke::read_idx_dataset(dir / ("img" + suffix), dir / ("lab" + suffix), 10, 2, 3);
    REQUIRE(ds.labels == three_labels);
    REQUIRE(ds.images.count == 3);
  }
  // 0 extents accept any image size.
  REQUIRE(ke::read_idx_images(dir / "img", 0, 0).count == 3);
  // An empty set is well-formed.
  write_file(dir / "empty", idx_bytes(0x803, {0, 28, 28}, {}));
  REQUIRE(ke::read_idx_images(dir / "empty").count == 0);
}

TEST_CASE("idx: malformed files throw one-line errors naming the file", "[training][idx]") {
  temp_dir dir;
  const auto images = idx_bytes(0x803, {3, 2, 3}, three_pixels());
  const auto labels = idx_bytes(0x801, {3}, three_labels);

  SECTION("missing file") {
    const std::string p = dir / "nope.gz";
    REQUIRE_THROWS_MATCHES(ke::read_idx_images(p, 2, 3), kspike::error, Catch::Matchers::Message(p + ": cannot open: No such file or directory"));
  }
  SECTION("wrong magic: a label file read as images, and a non-byte type") {
    const std::string p = dir / "lab";
    write_file(p, labels);
    REQUIRE_THROWS_WITH(ke::read_idx_images(p, 2, 3), Contains(p) && Contains("bad magic number 0x00000801") &&
                                                          Contains("expected 0x00000803"));
    const std::string q = dir / "int";
    write_file(q, idx_bytes(0xC01, {3}, three_labels));  // type 0x0C: int32 samples
    REQUIRE_THROWS_WITH(ke::read_idx_labels(q), Contains(q) && Contains("0x00000C01"));
    const std::string r = dir / "tiny";
    write_file(r, {0, 0});
    REQUIRE_THROWS_WITH(ke::read_idx_labels(r), Contains(r) && Contains("too short"));
  }
  SECTION("truncated data, header and gzip stream") {
    auto cut = images;
    cut.pop_back();
    const std::string p = dir / "cut";
    write_file(p, cut);
    REQUIRE_THROWS_WITH(ke::read_idx_images(p, 2, 3), Contains(p) && Contains("truncated") && Contains("18") &&
                                                          Contains("17"));
    const std::string h = dir / "head";
    write_file(h, std::vector<std::uint8_t>(images.begin(), images.begin() + 10));
    REQUIRE_THROWS_WITH(ke::read_idx_images(h, 2, 3), Contains(h) && Contains("truncated IDX header"));
    // A gzip file cut in half: zlib reports the stream ending early.
    write_gz(dir / "full.gz", images);
    std::ifstream in(dir / "full.gz", std::ios::binary);
    std::vector<std::uint8_t> gz((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    gz.resize(gz.size() / 2);
    const std::string g = dir / "half.gz";
    write_file(g, gz);
    REQUIRE_THROWS_WITH(ke::read_idx_images(g, 2, 3), Contains(g) && Contains("gzip"));
  }
  SECTION("bytes beyond the declared data") {
    auto longer = labels;
    longer.push_back(1);
    const std::string p = dir / "long";
    write_file(p, longer);
    REQUIRE_THROWS_WITH(ke::read_idx_labels(p), Contains(p) && Contains("1 bytes beyond"));
  }
  SECTION("wrong image dimensions") {
    const std::string p = dir / "img";
    write_file(p, images);
    REQUIRE_THROWS_WITH(ke::read_idx_images(p), Contains(p) && Contains("images are 2x3, expected 28x28"));
  }
  SECTION("label out of range, and counts that disagree") {
    const std::string p = dir / "lab";
    write_file(p, labels);
    REQUIRE_THROWS_WITH(ke::read_idx_labels(p, 5), Contains(p) && Contains("label 0 is 7, expected < 5"));
    const std::string i2 = dir / "img2";
    write_file(i2, idx_bytes(0x803, {2, 2, 3}, std::vector<std::uint8_t>(12, 1)));
    REQUIRE_THROWS_WITH(ke::read_idx_dataset(i2, p, 10, 2, 3), Contains(p) && Contains("3 labels for 2 images"));
  }
  SECTION("every message is one line") {
    const std::string p = dir / "img";
    write_file(p, images);
    try {
      ke::read_idx_images(p);
      FAIL("no throw");
    } catch (const kspike::error& e) {
      REQUIRE(std::string(e.what()).find('\n') == std::string::npos);
    }
  }
}

TEST_CASE("idx: Debian's Fashion-MNIST test set", "[training][idx][dataset]") {
  const std::string dir = "/usr/share/datasets/fashion-mnist/";
  const std::string img = dir + "t10k-images-idx3-ubyte.gz", lab = dir + "t10k-labels-idx1-ubyte.gz";
  if (!fs::exists(img) || !fs::exists(lab)) {
    WARN("skipped: " << img << " not found (apt-get install dataset-fashion-mnist)");
    return;
  }
  const ke::idx_dataset ds = ke::read_idx_dataset(img, lab);
  REQUIRE(ds.images.count == 10000);
  REQUIRE(ds.images.rows == 28);
  REQUIRE(ds.images.cols == 28);
  REQUIRE(ds.images.pixels.size() == 10000u * 784u);
  // What the file holds (read independently with Python's gzip module): the first twelve labels
  // (9 = ankle boot, 2 = pullover, 1 = trouser, ...), the pixel sums of the first and the last
  // image, and the centre pixel of the first.
  const std::vector<std::uint8_t> first = {9, 2, 1, 1, 6, 1, 4, 6, 5, 7, 4, 5};
  REQUIRE(std::vector<std::uint8_t>(ds.labels.begin(), ds.labels.begin() + 12) == first);
  long s0 = 0, s_last = 0;
  for (int i = 0; i < 784; ++i) {
    s0 += ds.images.image(0)[i];
    s_last += ds.images.image(9999)[i];
  }
  REQUIRE(s0 == 33456);
  REQUIRE(s_last == 24390);
  REQUIRE(ds.images.image(0)[14 * 28 + 14] == 110);
  // Ten classes, each 1000 times in the test set.
  std::vector<int> per_class(10, 0);
  for (auto l : ds.labels) ++per_class[l];
  REQUIRE(per_class == std::vector<int>(10, 1000));
}

// =============================================================================================
// Losses
// =============================================================================================

TEMPLATE_LIST_TEST_CASE("losses: cross-entropy value and gradient", "[training][loss]", kspike_test::backends) {
  using Exec = TestType;
  using ce = kl::cross_entropy<Exec, double>;
  const int n = 3, k = 4;
  view2d<Exec> x("x", n, k), g("g", n, k);
  Kokkos::View<std::int32_t*, typename Exec::memory_space> y("y", n);
  {
    auto hy = Kokkos::create_mirror_view(y);
    hy(0) = 2;
    hy(1) = 0;
    hy(2) = 3;
    Kokkos::deep_copy(y, hy);
  }

  SECTION("zero logits give log K, gradient (1/K − onehot)/N") {
    const double l = ce::compute(x, y, g);
    REQUIRE(l == Approx(std::log(4.0)).epsilon(1e-14));
    const auto gh = to_host(g);
    REQUIRE(gh[0 * k + 2] == Approx((0.25 - 1.0) / 3).epsilon(1e-14));
    REQUIRE(gh[0 * k + 1] == Approx(0.25 / 3).epsilon(1e-14));
  }
  SECTION("large logits do not overflow") {
    std::vector<double> v(n * k, 0.0);
    v[0 * k + 2] = 1000.0;  // right and sure: loss ≈ 0
    v[1 * k + 3] = 1000.0;  // wrong and sure: loss ≈ 1000
    v[2 * k + 3] = -1000.0; // sure it is not the label: loss ≈ 1000 + log 3
    from_host(x, v);
    const double l = ce::compute(x, y, g);
    REQUIRE(std::isfinite(l));
    REQUIRE(l == Approx((0.0 + 1000.0 + 1000.0 + std::log(3.0)) / 3).epsilon(1e-12));
  }
  SECTION("gradient against central differences") {
    std::mt19937 rng(11);
    std::normal_distribution<double> nd(0.0, 2.0);
    std::vector<double> v(n * k);
    for (auto& e : v) e = nd(rng);
    from_host(x, v);
    const double l = ce::compute(x, y, g);
    // The loss written out for row 0 as a spot check of the value.
    double lse0 = 0;
    for (int j = 0; j < k; ++j) lse0 += std::exp(v[j]);
    double want = std::log(lse0) - v[2];
    for (int i = 1; i < n; ++i) {
      double s = 0;
      for (int j = 0; j < k; ++j) s += std::exp(v[i * k + j]);
      want += std::log(s) - v[i * k + (i == 1 ? 0 : 3)];
    }
    REQUIRE(l == Approx(want / n).epsilon(1e-13));
    const auto numeric = numeric_grad<Exec>(x, [&] { return ce::compute(x, y); });
    require_close(to_host(g), numeric, 1e-8);
  }
  SECTION("bad labels and shapes throw") {
    auto hy = Kokkos::create_mirror_view(y);
    Kokkos::deep_copy(hy, y);
    hy(1) = 4;
    Kokkos::deep_copy(y, hy);
    REQUIRE_THROWS_WITH(ce::compute(x, y, g), "cross_entropy: label 1 is 4, expected 0..3");
    hy(1) = -1;
    Kokkos::deep_copy(y, hy);
    REQUIRE_THROWS_AS(ce::compute(x, y), kspike::error);
    view2d<Exec> wrong("wrong", n, k + 1);
    hy(1) = 0;
    Kokkos::deep_copy(y, hy);
    REQUIRE_THROWS_WITH(ce::compute(x, y, wrong), Contains("cross_entropy: gradient has shape [3, 5]"));
    Kokkos::View<std::int32_t*, typename Exec::memory_space> short_y("y", n - 1);
    REQUIRE_THROWS_WITH(ce::compute(x, short_y), Contains("labels"));
  }
}

TEMPLATE_LIST_TEST_CASE("losses: MSE value and gradient", "[training][loss]", kspike_test::backends) {
  using Exec = TestType;
  using mse = kl::mse<Exec, double>;
  const int n = 2, k = 3;
  view2d<Exec> x("x", n, k), t("t", n, k), g("g", n, k);
  // (x − t) = 1, −2, 0.5, 0, 3, −1: L = (1 + 4 + 0.25 + 0 + 9 + 1)/6 = 15.25/6.
  from_host(x, {1.0, 0.0, 2.5, 4.0, 3.0, -1.0});
  from_host(t, {0.0, 2.0, 2.0, 4.0, 0.0, 0.0});
  REQUIRE(mse::compute(x, t, g) == Approx(15.25 / 6).epsilon(1e-15));
  // dL/dx = 2(x − t)/6.
  require_close(to_host(g), {2.0 / 6, -4.0 / 6, 1.0 / 6, 0.0, 6.0 / 6, -2.0 / 6}, 1e-15);

  std::mt19937 rng(5);
  std::uniform_real_distribution<double> ud(-1.0, 1.0);
  std::vector<double> v(n * k);
  for (auto& e : v) e = ud(rng);
  from_host(x, v);
  mse::compute(x, t, g);
  require_close(to_host(g), numeric_grad<Exec>(x, [&] { return mse::compute(x, t); }), 1e-8);

  view2d<Exec> wrong("wrong", n + 1, k);
  REQUIRE_THROWS_WITH(mse::compute(x, wrong), Contains("mse: target has shape [3, 3], expected [2, 3]"));
}

// =============================================================================================
// Optimisers
// =============================================================================================

namespace {

// Two one-element parameters: p1 = 1.0 with weight decay, p2 = −2.0 excluded from decay. The
// gradients are rewritten before every step (a constant unless `g1` gives a sequence).
template <class Exec>
struct two_params {
  view1d<Exec> v1{"v1", 1}, g1{"g1", 1}, v2{"v2", 1}, g2{"g2", 1};
  kl::parameter_list<Exec, double> list;
  two_params() {
    from_host(v1, {1.0});
    from_host(v2, {-2.0});
    list.add(v1, g1, false, "p1");
    list.add(v2, g2, true, "p2");
  }
  void set_grads(double a, double b) {
    from_host(g1, {a});
    from_host(g2, {b});
  }
  double x1() const { return to_host(v1)[0]; }
  double x2() const { return to_host(v2)[0]; }
};

}  // namespace

TEMPLATE_LIST_TEST_CASE("optimisers: SGD against hand-computed steps", "[training][optim]", kspike_test::backends) {
  using Exec = TestType;
  two_params<Exec> p;
  kl::sgd_options o;
  o.lr = 0.1;
  o.weight_decay = 0.01;
  // Gradients 0.5 (p1) and 0.25 (p2) at every step.

  SECTION("plain, weight decay on p1 only") {
    kl::sgd<Exec, double> opt(p.list, o);
    const std::vector<double> g = {0.5, -0.3, 0.2};
    // p1: x ← x − 0.1·(g + 0.01·x)
    //   x1 = 1 − 0.1·0.51 = 0.949
    //   x2 = 0.949 − 0.1·(−0.3 + 0.00949) = 0.978051
    //   x3 = 0.978051 − 0.1·(0.2 + 0.00978051) = 0.957072949
    // p2 (no decay): −2 − 0.1·0.25·t
    const std::vector<double> want1 = {0.949, 0.978051, 0.957072949}, want2 = {-2.025, -2.05, -2.075};
    for (int t = 0; t < 3; ++t) {
      p.set_grads(g[t], 0.25);
      opt.step();
      REQUIRE(p.x1() == Approx(want1[t]).epsilon(1e-14));
      REQUIRE(p.x2() == Approx(want2[t]).epsilon(1e-14));
    }
    REQUIRE(opt.steps() == 3);
  }
  SECTION("momentum 0.9") {
    o.momentum = 0.9;
    kl::sgd<Exec, double> opt(p.list, o);
    // p1: g = 0.5 + 0.01x, b₁ = g, bₜ = 0.9 bₜ₋₁ + g, x ← x − 0.1 b
    //   t1: g = 0.51,          b = 0.51,       x = 0.949
    //   t2: g = 0.50949,       b = 0.96849,    x = 0.852151
    //   t3: g = 0.50852151,    b = 1.38016251, x = 0.714134749
    // p2: b = 0.25, 0.475, 0.6775 → x = −2.025, −2.0725, −2.14025
    const std::vector<double> want1 = {0.949, 0.852151, 0.714134749}, want2 = {-2.025, -2.0725, -2.14025};
    for (int t = 0; t < 3; ++t) {
      p.set_grads(0.5, 0.25);
      opt.step();
      REQUIRE(p.x1() == Approx(want1[t]).epsilon(1e-14));
      REQUIRE(p.x2() == Approx(want2[t]).epsilon(1e-14));
    }
  }
  SECTION("Nesterov momentum 0.9") {
    o.momentum = 0.9;
    o.nesterov = true;
    kl::sgd<Exec, double> opt(p.list, o);
    // step direction g + 0.9 b:
    // p1: t1: g = 0.51, b = 0.51, d = 0.969, x = 0.9031
    //     t2: g = 0.509031, b = 0.968031, d = 1.3802589, x = 0.76507411
    //     t3: g = 0.5076507411, b = 1.3788786411, d = 1.74864151809, x = 0.590209958191
    // p2: b = 0.25, 0.475, 0.6775; d = 0.475, 0.6775, 0.85975 → x = −2.0475, −2.11525, −2.201225
    const std::vector<double> want1 = {0.9031, 0.76507411, 0.590209958191}, want2 = {-2.0475, -2.11525, -2.201225};
    for (int t = 0; t < 3; ++t) {
      p.set_grads(0.5, 0.25);
      opt.step();
      REQUIRE(p.x1() == Approx(want1[t]).epsilon(1e-13));
      REQUIRE(p.x2() == Approx(want2[t]).epsilon(1e-14));
    }
  }
  SECTION("dampening 0.5: the first step takes the raw gradient") {
    o.momentum = 0.9;
    o.dampening = 0.5;
    kl::sgd<Exec, double> opt(p.list, o);
    // p2: b = 0.25, 0.9·0.25 + 0.5·0.25 = 0.35, 0.9·0.35 + 0.125 = 0.44 → x = −2.025, −2.06, −2.104
    const std::vector<double> want2 = {-2.025, -2.06, -2.104};
    for (int t = 0; t < 3; ++t) {
      p.set_grads(0.5, 0.25);
      opt.step();
      REQUIRE(p.x2() == Approx(want2[t]).epsilon(1e-14));
    }
  }
  SECTION("invalid options throw") {
    o.nesterov = true;
    REQUIRE_THROWS_WITH((kl::sgd<Exec, double>(p.list, o)), "sgd: nesterov needs momentum > 0 and dampening 0");
    o.nesterov = false;
    o.lr = -1;
    REQUIRE_THROWS_AS((kl::sgd<Exec, double>(p.list, o)), kspike::error);
  }
}

TEMPLATE_LIST_TEST_CASE("optimisers: Adam, AdamW and amsgrad against hand-computed steps", "[training][optim]",
                        kspike_test::backends) {
  using Exec = TestType;
  two_params<Exec> p;
  const std::vector<double> g = {0.5, -0.3, 0.2};

  SECTION("Adam with L2 weight decay 0.1") {
    kl::adam_options o;
    o.lr = 0.1;
    o.weight_decay = 0.1;
    kl::adam<Exec, double> opt(p.list, o);
    // p1, g ← g + 0.1x, bias corrections 1 − 0.9ᵗ and 1 − 0.999ᵗ:
    //   t1: g = 0.6, m = 0.06, v = 3.6e-4, m̂ = 0.6, v̂ = 0.36 → x = 1 − 0.1·0.6/(0.6 + 1e-8)
    //       = 0.9000000016666666
    //   t2: g = −0.3 + 0.09 = −0.21, m = 0.054 − 0.021 = 0.033, v = 3.5964e-4 + 4.41e-5 = 4.0374e-4,
    //       m̂ = 0.033/0.19, v̂ = 4.0374e-4/0.001999 → x = 0.8613529972101512
    //   t3: g = 0.2 + 0.08613529972, m = 0.05831352999, v = 4.852096697e-4 → x = 0.8078745546785667
    // p2 (excluded, g = 0.25 each step): m̂ = 0.25, v̂ = 0.0625 → x = −2 − 0.1·t·0.25/(0.25 + 1e-8)
    const std::vector<double> want1 = {0.9000000016666666, 0.8613529972101512, 0.8078745546785667};
    for (int t = 0; t < 3; ++t) {
      p.set_grads(g[t], 0.25);
      opt.step();
      REQUIRE(p.x1() == Approx(want1[t]).epsilon(1e-13));
      REQUIRE(p.x2() == Approx(-2.0 - 0.1 * (t + 1) * 0.25 / (0.25 + 1e-8)).epsilon(1e-14));
    }
  }
  SECTION("AdamW with decoupled weight decay 0.1") {
    kl::adam<Exec, double> opt(p.list, kl::adamw_options(0.1, 0.1));
    // p1: x ← x·(1 − 0.1·0.1) first, then the Adam step on the raw gradient:
    //   t1: x = 0.99, m = 0.05, v = 2.5e-4, m̂ = 0.5, v̂ = 0.25 → x = 0.99 − 0.1·0.5/(0.5 + 1e-8)
    //       = 0.890000002
    //   t2: x = 0.8811, m = 0.045 − 0.03 = 0.015, v = 2.4975e-4 + 9e-5 = 3.3975e-4
    //       → x = 0.8811 − 0.1·(0.015/0.19)/(√(3.3975e-4/0.001999) + 1e-8) = 0.8619501989217752
    //   t3: m = 0.0335, v = 3.7941025e-4 → x = 0.8185879287816642
    // p2 is excluded: no shrinking, so the same path as plain Adam.
    const std::vector<double> want1 = {0.890000002, 0.8619501989217752, 0.8185879287816642};
    for (int t = 0; t < 3; ++t) {
      p.set_grads(g[t], 0.25);
      opt.step();
      REQUIRE(p.x1() == Approx(want1[t]).epsilon(1e-13));
      REQUIRE(p.x2() == Approx(-2.0 - 0.1 * (t + 1) * 0.25 / (0.25 + 1e-8)).epsilon(1e-14));
    }
  }
  SECTION("amsgrad keeps the largest raw second moment") {
    // β₂ = 0.5 so that v falls: gradients 1, 0.1, 0.1 give v = 0.5, 0.255, 0.1325.
    for (bool ams : {true, false}) {
      INFO("amsgrad " << ams);
      two_params<Exec> q;
      kl::adam_options o;
      o.lr = 0.1;
      o.beta2 = 0.5;
      o.amsgrad = ams;
      kl::adam<Exec, double> opt(q.list, o);
      // m = 0.1 at every step (0.9·0 + 0.1·1, then 0.9·0.1 + 0.1·0.1).
      //   t1: x = 1 − 0.1·(0.1/0.1)/(√0.5/√0.5 + 1e-8) = 0.900000001
      //   t2, amsgrad: v_max = 0.5, x = 0.9 − 0.1·(0.1/0.19)/(√0.5/√0.75 + 1e-8) = 0.8355397454004426
      //   t2, plain:   v = 0.255,   x = 0.9 − 0.1·(0.1/0.19)/(√0.255/√0.75 + 1e-8) = 0.8097375893150882
      //   t3, amsgrad: 0.786725146211059; plain: 0.7149117303589074
      const std::vector<double> want = ams ? std::vector<double>{0.900000001, 0.8355397454004426, 0.786725146211059}
                                           : std::vector<double>{0.900000001, 0.8097375893150882, 0.7149117303589074};
      const double gs[] = {1.0, 0.1, 0.1};
      for (int t = 0; t < 3; ++t) {
        q.set_grads(gs[t], 0.0);
        opt.step();
        REQUIRE(q.x1() == Approx(want[t]).epsilon(1e-13));
        REQUIRE(q.x2() == -2.0);  // a zero gradient leaves it where it is
      }
    }
  }
  SECTION("invalid options throw") {
    kl::adam_options o;
    o.beta1 = 1.0;
    REQUIRE_THROWS_WITH((kl::adam<Exec, double>(p.list, o)), "adam: betas must be in [0, 1)");
  }
}

TEMPLATE_LIST_TEST_CASE("optimisers: parameter lists from layers, zero_grad, multi-element updates",
                        "[training][optim]", kspike_test::backends) {
  using Exec = TestType;
  kl::linear<Exec, double> fc(3, 2);
  kl::linear<Exec, double> fc_nobias(3, 2, false);
  kl::batch_norm<Exec, double, 2> bn(2);
  kl::parameter_list<Exec, double> list;
  list.add_layer(fc, "fc");
  list.add_layer(fc_nobias, "fc2");
  list.add_layer(bn, "bn");
  REQUIRE(list.size() == 5);
  REQUIRE(list.items()[0].name == "fc.weight");
  REQUIRE(list.items()[0].size == 6);
  REQUIRE_FALSE(list.items()[1].decay_excluded);
  REQUIRE(list.items()[3].name == "bn.gamma");
  REQUIRE(list.items()[3].decay_excluded);
  REQUIRE(list.items()[4].decay_excluded);

  // Every weight element moves by −lr·(g + λw); γ (excluded) by −lr·g only.
  from_host(fc.weight(), {1, 2, 3, 4, 5, 6});
  from_host(fc.grad_weight(), {1, 1, 1, -1, -1, -1});
  from_host(bn.grad_gamma(), {0.5, -0.5});
  kl::sgd_options o;
  o.lr = 0.5;
  o.weight_decay = 0.1;
  kl::sgd<Exec, double> opt(list, o);
  opt.step();
  require_close(to_host(fc.weight()), {1 - 0.5 * 1.1, 2 - 0.5 * 1.2, 3 - 0.5 * 1.3, 4 - 0.5 * -0.6, 5 - 0.5 * -0.5,
                                       6 - 0.5 * -0.4},
                1e-15);
  require_close(to_host(bn.gamma()), {0.75, 1.25}, 1e-15);
  opt.zero_grad();
  for (const auto& prm : list.items()) {
    Kokkos::View<double*, typename Exec::memory_space, Kokkos::MemoryTraits<Kokkos::Unmanaged>> gv(prm.grad, prm.size);
    for (double e : to_host(gv)) REQUIRE(e == 0.0);
  }

  view1d<Exec> a("a", 3), b("b", 4);
  REQUIRE_THROWS_WITH(list.add(a, b, false, "odd"), "optimiser: odd: value has 3 elements, gradient 4");
  // The learning rate can be changed between steps (schedules do).
  opt.set_lr(0.25);
  REQUIRE(opt.lr() == 0.25);
  REQUIRE_THROWS_AS(opt.set_lr(std::nan("")), kspike::error);
}

TEST_CASE("optimisers: float parameters", "[training][optim]") {
  // The training precision: one Adam step on a float parameter moves it by ≈ lr.
  Kokkos::View<float*, Kokkos::HostSpace> v("v", 2), g("g", 2);
  v(0) = 1.0f;
  v(1) = -1.0f;
  g(0) = 3.0f;
  g(1) = -0.001f;
  kl::parameter_list<Kokkos::DefaultHostExecutionSpace, float> list;
  list.add(v, g);
  // A parameter that is not a View goes in as raw pointers; size 0 (an absent bias) is skipped.
  float w = 2.0f, gw = 1.0f;
  list.add(&w, &gw, 1, true, "raw");
  list.add(&w, &gw, 0);
  REQUIRE(list.size() == 2);
  kl::adam_options o;
  o.lr = 0.01;
  kl::adam<Kokkos::DefaultHostExecutionSpace, float> opt(list, o);
  opt.step();
  REQUIRE(v(0) == Approx(0.99f).epsilon(1e-6));
  REQUIRE(v(1) == Approx(-0.99f).epsilon(1e-4));  // 1e-3/(1e-3 + 1e-8): the ε shows
  REQUIRE(w == Approx(1.99f).epsilon(1e-6));
}

// =============================================================================================
// Schedules
// =============================================================================================

TEST_CASE("schedules: cosine, step and multi-step at a few epochs", "[training][schedule]") {
  // Cosine from 0.1 to 0 over 10 epochs: 0.1·(1 + cos(π e/10))/2.
  const kl::cosine_schedule cos10(0.1, 10);
  REQUIRE(cos10.lr_at(0) == Approx(0.1).epsilon(1e-15));
  REQUIRE(cos10.lr_at(5) == Approx(0.05).epsilon(1e-15));                                 // cos(π/2) = 0
  REQUIRE(cos10.lr_at(2) == Approx(0.05 * (1 + std::cos(3.14159265358979323846 / 5))).epsilon(1e-15));      // 0.0904508...
  REQUIRE(cos10.lr_at(2) == Approx(0.09045084971874737).epsilon(1e-14));
  REQUIRE(cos10.lr_at(10) == Approx(0.0).margin(1e-18));
  REQUIRE(cos10.lr_at(15) == Approx(0.0).margin(1e-18));  // stays at eta_min past t_max
  const kl::cosine_schedule cos_min(1.0, 4, 0.2);
  REQUIRE(cos_min.lr_at(2) == Approx(0.6).epsilon(1e-15));  // 0.2 + 0.8·(1 + 0)/2
  REQUIRE(cos_min.lr_at(4) == Approx(0.2).epsilon(1e-15));

  // Step: 0.1 · 0.5^⌊e/3⌋.
  const kl::step_schedule st(0.1, 3, 0.5);
  REQUIRE(st.lr_at(0) == 0.1);
  REQUIRE(st.lr_at(2) == 0.1);
  REQUIRE(st.lr_at(3) == Approx(0.05).epsilon(1e-15));
  REQUIRE(st.lr_at(8) == Approx(0.025).epsilon(1e-15));
  REQUIRE(st.lr_at(9) == Approx(0.0125).epsilon(1e-15));

  // IIR-SNN's schedule for 100 epochs: ÷5 at 60, 80 and 90.
  const kl::multi_step_schedule ms(1e-4, {90, 60, 80}, 0.2);
  REQUIRE(ms.lr_at(59) == Approx(1e-4).epsilon(1e-15));
  REQUIRE(ms.lr_at(60) == Approx(2e-5).epsilon(1e-15));
  REQUIRE(ms.lr_at(85) == Approx(4e-6).epsilon(1e-15));
  REQUIRE(ms.lr_at(99) == Approx(8e-7).epsilon(1e-15));

  REQUIRE_THROWS_AS(kl::cosine_schedule(0.1, 0), kspike::error);
  REQUIRE_THROWS_AS(kl::step_schedule(0.1, 0), kspike::error);

  // Driving an optimiser: the rate at the start of each epoch.
  Kokkos::View<double*, Kokkos::HostSpace> v("v", 1), g("g", 1);
  kl::parameter_list<Kokkos::DefaultHostExecutionSpace, double> list;
  list.add(v, g);
  kl::sgd_options o;
  o.lr = 0.1;
  kl::sgd<Kokkos::DefaultHostExecutionSpace, double> opt(list, o);
  for (int e = 0; e < 4; ++e) opt.set_lr(st.lr_at(e));
  REQUIRE(opt.lr() == Approx(0.05).epsilon(1e-15));
}
