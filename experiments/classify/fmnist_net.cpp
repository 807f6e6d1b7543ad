#include "experiments/classify/fmnist_net.hpp"

#include <Kokkos_Core.hpp>

#include <cmath>

#include "learning/hoyer.hpp"
#include "learning/losses.hpp"
#include "learning/mpbn.hpp"
#include "learning/optimizers.hpp"
#include "learning/spiking_lif.hpp"
#include "learning/tensor_layers.hpp"
#include "sim/backend.hpp"
#include "sim/error.hpp"
#include "sim/rng.hpp"
#include "sim/io/hdf5_handle.hpp"

#include <hdf5.h>

#include <filesystem>
#include <tuple>

namespace kspike::classify {

class fmnist_net_base {
 public:
  virtual ~fmnist_net_base() = default;
  virtual double train_step(const std::vector<float>& images, const std::vector<std::int32_t>& labels, int* correct) = 0;
  virtual std::vector<int> predict(const std::vector<float>& images, std::int64_t batch) = 0;
  virtual void set_lr(double lr) = 0;
  // Every array a checkpoint holds: (name, device pointer, size), and the optimiser steps.
  virtual std::vector<std::tuple<std::string, float*, std::size_t>> arrays() = 0;
  virtual std::int64_t optimizer_steps() const = 0;
  virtual void set_optimizer_steps(std::int64_t t) = 0;
  virtual void copy(float* device, float* host, std::size_t n, bool to_host) = 0;
  virtual void fold_check(const std::vector<float>& images, std::int64_t batch, std::uint64_t* compared,
                          std::uint64_t* mismatched) = 0;
  virtual std::vector<std::vector<double>> folded_rules() const = 0;
  fmnist_options options;
};

namespace {

namespace kl = learning;

template <class Exec>
class net_impl final : public fmnist_net_base {
  using Real = float;
  using tt = kl::detail::tensor_types<Exec, Real>;
  using v1 = typename tt::template view<1>;
  using v2 = typename tt::template view<2>;
  using v4 = typename tt::template view<4>;
  using a2 = typename tt::template alias<2>;
  using a4 = typename tt::template alias<4>;
  using mem = typename Exec::memory_space;
  using range = Kokkos::RangePolicy<Exec, Kokkos::IndexType<std::int64_t>>;

 public:
  explicit net_impl(const fmnist_options& o)
      : conv1_(1, 16, 3, 1, 1), conv2_(16, 32, 3, 1, 1), bn1_(16), bn2_(32), pool_(2), fc_(1568, 10),
        lif1_(lif_params(o)), lif2_(lif_params(o)) {
    options = o;
    if (o.timesteps < 1) throw error("--timesteps: T must be >= 1");
    if (o.batch < 2) throw error("--batch: must be >= 2 (batch norm)");
    init(conv1_.weight(), 9, 1);
    init(conv1_.bias(), 9, 2);
    init(conv2_.weight(), 144, 3);
    init(conv2_.bias(), 144, 4);
    init(fc_.weight(), 1568, 5);
    init(fc_.bias(), 1568, 6);
    if (o.mpbn) {
      mp1_ = std::make_unique<kl::mpbn_lif<Exec, Real>>(16, 28 * 28);
      mp2_ = std::make_unique<kl::mpbn_lif<Exec, Real>>(32, 14 * 14);
    }
    if (o.hoyer) {
      hy1_ = std::make_unique<kl::hoyer_spike<Exec, Real>>(16, 28 * 28, kl::hoyer_mode::channel, 1.0);
      hy2_ = std::make_unique<kl::hoyer_spike<Exec, Real>>(32, 14 * 14, kl::hoyer_mode::channel, 1.0);
      theta_ = v1("hoyer_theta", 2);
      grad_theta_ = v1("hoyer_grad_theta", 2);
      Kokkos::deep_copy(theta_, Real(1));
    }
    kl::parameter_list<Exec, Real> params;
    if (o.hoyer) params.add(theta_, grad_theta_, true, "hoyer.threshold");
    if (o.mpbn) {
      params.add(mp1_->gamma(), mp1_->grad_gamma(), true, "mpbn1.gamma");
      params.add(mp1_->beta(), mp1_->grad_beta(), true, "mpbn1.beta");
      params.add(mp2_->gamma(), mp2_->grad_gamma(), true, "mpbn2.gamma");
      params.add(mp2_->beta(), mp2_->grad_beta(), true, "mpbn2.beta");
    }
    params.add_layer(conv1_, "conv1");
    params.add_layer(bn1_, "bn1");
    params.add_layer(conv2_, "conv2");
    params.add_layer(bn2_, "bn2");
    params.add_layer(fc_, "fc");
    kl::adam_options ao;
    ao.lr = o.lr;
    ao.weight_decay = o.weight_decay;
    opt_ = std::make_unique<kl::adam<Exec, Real>>(std::move(params), ao);
  }

  static kl::spiking_lif_params lif_params(const fmnist_options& o) {
    kl::spiking_lif_params p;
    p.form = kl::leak_form::beta;
    p.beta = 0.5;
    p.decay_input = false;
    p.v_threshold = 1.0;
    p.reset = kl::lif_reset::soft;
    p.detach_reset = true;
    p.surrogate = kl::parse_surrogate(o.surrogate);
    return p;
  }

  // PyTorch's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases.
  template <class V>
  void init(const V& v, double fan_in, std::uint32_t stream) {
    auto h = Kokkos::create_mirror_view(v);
    const double bound = 1.0 / std::sqrt(fan_in);
    for (std::size_t i = 0; i < h.size(); ++i)
      h.data()[i] = Real((2 * uniform01(philox4x32(options.seed, 0x73000000u + stream, std::uint32_t(i), 0)) - 1) * bound);
    Kokkos::deep_copy(v, h);
  }

  void ensure(std::int64_t B) {
    if (B == B_) return;
    B_ = B;
    const std::int64_t T = options.ann ? 1 : options.timesteps;
    x_ = v4("x", B, 1, 28, 28);
    c1_ = v4("c1", B, 16, 28, 28);
    b1_ = v4("b1", B, 16, 28, 28);
    r1_ = v4("r1", T * B, 16, 28, 28);   // BN1 output repeated over T: the LIF input [T, B·16·28·28]
    s1_ = v4("s1", T * B, 16, 28, 28);
    p1_ = v4("p1", T * B, 16, 14, 14);
    c2_ = v4("c2", T * B, 32, 14, 14);
    b2_ = v4("b2", T * B, 32, 14, 14);
    s2_ = v4("s2", T * B, 32, 14, 14);
    p2_ = v4("p2", T * B, 32, 7, 7);
    f_ = v2("f", T * B, 1568);
    o_ = v2("o", T * B, 10);
    logits_ = v2("logits", B, 10);
    g_logits_ = v2("g_logits", B, 10);
    g_o_ = v2("g_o", T * B, 10);
    g_f_ = v2("g_f", T * B, 1568);
    g_p2_ = v4("g_p2", T * B, 32, 7, 7);
    g_s2_ = v4("g_s2", T * B, 32, 14, 14);
    g_b2_ = v4("g_b2", T * B, 32, 14, 14);
    g_c2_ = v4("g_c2", T * B, 32, 14, 14);
    g_p1_ = v4("g_p1", T * B, 16, 14, 14);
    g_s1_ = v4("g_s1", T * B, 16, 28, 28);
    g_r1_ = v4("g_r1", T * B, 16, 28, 28);
    g_b1_ = v4("g_b1", B, 16, 28, 28);
    g_c1_ = v4("g_c1", B, 16, 28, 28);
    g_x_ = v4("g_x", B, 1, 28, 28);
    labels_ = Kokkos::View<std::int32_t*, mem>("labels", B);
  }

  void load(const std::vector<float>& images, std::int64_t B) {
    if (static_cast<std::int64_t>(images.size()) != B * 784) throw error("fmnist_net: expected B*784 pixels");
    ensure(B);
    auto h = Kokkos::create_mirror_view(x_);
    for (std::size_t i = 0; i < images.size(); ++i) h.data()[i] = images[i];
    Kokkos::deep_copy(x_, h);
  }

  void forward(bool train) {
    const std::int64_t B = B_, T = options.ann ? 1 : options.timesteps;
    bn1_.set_training(train);
    bn2_.set_training(train);
    conv1_.forward(x_, c1_);
    bn1_.forward(c1_, b1_);
    const std::int64_t per = B * 16 * 28 * 28;
    Real *src = b1_.data(), *dst = r1_.data();
    Kokkos::parallel_for("fmnist::repeat", range(0, T * per), KOKKOS_LAMBDA(std::int64_t i) { dst[i] = src[i % per]; });
    if (mp1_) {
      mp1_->set_training(train);
      mp2_->set_training(train);
    }
    if (hy1_) {
      // θ lives in a View the optimiser updates; the layers take it as a number.
      auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), theta_);
      hy1_->set_threshold(h(0));
      hy2_->set_threshold(h(1));
      hy1_->set_training(train);
      hy2_->set_training(train);
    }
    spike_or_relu(r1_, s1_, lif1_, relu1_, T, mp1_.get(), hy1_.get());
    pool_.forward(s1_, p1_);
    conv2_.forward(p1_, c2_);
    bn2_.forward(c2_, b2_);
    spike_or_relu(b2_, s2_, lif2_, relu2_, T, mp2_.get(), hy2_.get());
    pool2_.forward(s2_, p2_);
    flat_.forward(p2_, f_);
    fc_.forward(f_, o_);
    Real *o = o_.data(), *l = logits_.data();
    const Real inv_t = Real(1) / Real(T);
    Kokkos::parallel_for("fmnist::mean_over_t", range(0, B * 10), KOKKOS_LAMBDA(std::int64_t i) {
      Real s = 0;
      for (std::int64_t t = 0; t < T; ++t) s += o[t * B * 10 + i];
      l[i] = s * inv_t;
    });
  }

  void spike_or_relu(const v4& in, const v4& out, kl::spiking_lif<Exec, Real>& lif, kl::relu<Exec, Real>& relu,
                     std::int64_t T, kl::mpbn_lif<Exec, Real>* mp, kl::hoyer_spike<Exec, Real>* hy = nullptr) {
    if (hy) {
      hy->forward(in, out, static_cast<std::int64_t>(in.extent(0)));
      return;
    }
    if (mp) {
      mp->forward(in, out, T, static_cast<std::int64_t>(in.extent(0)) / T);
      return;
    }
    if (options.ann) {
      relu.forward(in, out);
      return;
    }
    const std::int64_t n = static_cast<std::int64_t>(in.size()) / T;
    lif.forward(a2(in.data(), T, n), a2(out.data(), T, n));
  }
  void spike_or_relu_back(const v4& g_out, const v4& g_in, kl::spiking_lif<Exec, Real>& lif, kl::relu<Exec, Real>& relu,
                          std::int64_t T, kl::mpbn_lif<Exec, Real>* mp, kl::hoyer_spike<Exec, Real>* hy = nullptr) {
    if (hy) {
      hy->backward(g_out, g_in);
      return;
    }
    if (mp) {
      mp->backward(g_out, g_in);
      return;
    }
    if (options.ann) {
      relu.backward(g_out, g_in);
      return;
    }
    const std::int64_t n = static_cast<std::int64_t>(g_out.size()) / T;
    lif.backward(a2(g_out.data(), T, n), a2(g_in.data(), T, n));
  }

  double train_step(const std::vector<float>& images, const std::vector<std::int32_t>& labels, int* correct) override {
    const auto B = static_cast<std::int64_t>(labels.size());
    load(images, B);
    auto hl = Kokkos::create_mirror_view(labels_);
    for (std::int64_t i = 0; i < B; ++i) hl(i) = labels[static_cast<std::size_t>(i)];
    Kokkos::deep_copy(labels_, hl);
    forward(true);
    const double loss = kl::cross_entropy<Exec, Real>::compute(logits_, labels_, g_logits_);
    if (correct) *correct = count_correct(labels);
    opt_->zero_grad();
    const std::int64_t T = options.ann ? 1 : options.timesteps;
    Real *gl = g_logits_.data(), *go = g_o_.data();
    const Real inv_t = Real(1) / Real(T);
    Kokkos::parallel_for("fmnist::grad_mean", range(0, T * B * 10),
                         KOKKOS_LAMBDA(std::int64_t i) { go[i] = gl[i % (B * 10)] * inv_t; });
    fc_.backward(g_o_, g_f_);
    flat_.backward(g_f_, g_p2_);
    pool2_.backward(g_p2_, g_s2_);
    if (hy1_) {
      hy1_->zero_grad();
      hy2_->zero_grad();
    }
    spike_or_relu_back(g_s2_, g_b2_, lif2_, relu2_, T, mp2_.get(), hy2_.get());
    bn2_.backward(g_b2_, g_c2_);
    conv2_.backward(g_c2_, g_p1_);
    pool_.backward(g_p1_, g_s1_);
    spike_or_relu_back(g_s1_, g_r1_, lif1_, relu1_, T, mp1_.get(), hy1_.get());
    if (hy1_) {
      auto g = Kokkos::create_mirror_view(grad_theta_);
      g(0) = static_cast<Real>(hy1_->grad_threshold());
      g(1) = static_cast<Real>(hy2_->grad_threshold());
      Kokkos::deep_copy(grad_theta_, g);
    }
    const std::int64_t per = B * 16 * 28 * 28;
    Real *gr = g_r1_.data(), *gb = g_b1_.data();
    Kokkos::parallel_for("fmnist::sum_over_t", range(0, per), KOKKOS_LAMBDA(std::int64_t i) {
      Real s = 0;
      for (std::int64_t t = 0; t < T; ++t) s += gr[t * per + i];
      gb[i] = s;
    });
    bn1_.backward(g_b1_, g_c1_);
    conv1_.backward(g_c1_, g_x_);
    opt_->step();
    Kokkos::fence();
    return loss;
  }

  int count_correct(const std::vector<std::int32_t>& labels) {
    const auto p = argmax();
    int c = 0;
    for (std::size_t i = 0; i < labels.size(); ++i) c += p[i] == labels[i];
    return c;
  }
  std::vector<int> argmax() {
    auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), logits_);
    std::vector<int> out(static_cast<std::size_t>(B_));
    for (std::int64_t i = 0; i < B_; ++i) {
      int best = 0;
      for (int k = 1; k < 10; ++k)
        if (h(i, k) > h(i, best)) best = k;
      out[static_cast<std::size_t>(i)] = best;
    }
    return out;
  }

  std::vector<int> predict(const std::vector<float>& images, std::int64_t batch) override {
    load(images, batch);
    forward(false);
    return argmax();
  }

  void set_lr(double lr) override { opt_->set_lr(lr); }

  std::vector<std::tuple<std::string, float*, std::size_t>> arrays() override {
    std::vector<std::tuple<std::string, float*, std::size_t>> out;
    for (const auto& p : opt_->params().items()) out.emplace_back("param." + p.name, p.value, p.size);
    out.emplace_back("bn1.running_mean", bn1_.running_mean().data(), bn1_.running_mean().size());
    out.emplace_back("bn1.running_var", bn1_.running_var().data(), bn1_.running_var().size());
    out.emplace_back("bn2.running_mean", bn2_.running_mean().data(), bn2_.running_mean().size());
    out.emplace_back("bn2.running_var", bn2_.running_var().data(), bn2_.running_var().size());
    if (mp1_)
      for (auto* m : {mp1_.get(), mp2_.get()}) {
        const std::string n = m == mp1_.get() ? "mpbn1" : "mpbn2";
        out.emplace_back(n + ".running_mean", m->running_mean().data(), m->running_mean().size());
        out.emplace_back(n + ".running_var", m->running_var().data(), m->running_var().size());
      }
    for (const auto& [name, v] : opt_->state()) out.emplace_back("optimizer." + name, v.data(), v.size());
    return out;
  }
  void fold_check(const std::vector<float>& images, std::int64_t batch, std::uint64_t* compared,
                  std::uint64_t* mismatched) override {
    if (!mp1_) throw error("fold: the model has no MPBN layers (train with --neuron mpbn)");
    load(images, batch);
    forward(false);
    const std::int64_t T = options.timesteps;
    auto host = [](const v4& v) {
      auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
      return std::vector<float>(h.data(), h.data() + h.size());
    };
    const std::pair<kl::mpbn_lif<Exec, Real>*, std::pair<v4, v4>> layers[] = {{mp1_.get(), {r1_, s1_}},
                                                                                {mp2_.get(), {b2_, s2_}}};
    for (const auto& [mp, io] : layers) {
      std::vector<float> folded;
      kl::folded_lif_forward(mp->fold(), kl::mpbn_form::channel, mp->channels(), mp->spatial(), mp->decay(),
                             host(io.first), folded, T, batch);
      const auto spikes = host(io.second);
      for (std::size_t i = 0; i < spikes.size(); ++i) *mismatched += spikes[i] != folded[i];
      *compared += spikes.size();
    }
  }
  std::vector<std::vector<double>> folded_rules() const override {
    std::vector<std::vector<double>> out;
    if (!mp1_) return out;
    for (auto* mp : {mp1_.get(), mp2_.get()}) {
      std::vector<double> v;
      const auto rules = mp->fold();
      for (const auto& r : rules) v.push_back(r.theta);
      for (const auto& r : rules) v.push_back(r.dir);
      for (const auto& r : rules) v.push_back(r.constant ? 1.0 : 0.0);
      out.push_back(v);
    }
    return out;
  }
  std::int64_t optimizer_steps() const override { return opt_->steps(); }
  void set_optimizer_steps(std::int64_t t) override { opt_->set_steps(t); }
  void copy(float* device, float* host, std::size_t n, bool to_host) override {
    Kokkos::View<float*, mem, Kokkos::MemoryTraits<Kokkos::Unmanaged>> d(device, n);
    Kokkos::View<float*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> h(host, n);
    if (to_host)
      Kokkos::deep_copy(h, d);
    else
      Kokkos::deep_copy(d, h);
  }

 private:
  kl::conv2d<Exec, Real> conv1_, conv2_;
  kl::batch_norm2d<Exec, Real> bn1_, bn2_;
  kl::avg_pool2d<Exec, Real> pool_, pool2_{2};
  kl::flatten<Exec, Real> flat_;
  kl::linear<Exec, Real> fc_;
  kl::spiking_lif<Exec, Real> lif1_, lif2_;
  kl::relu<Exec, Real> relu1_, relu2_;
  std::unique_ptr<kl::mpbn_lif<Exec, Real>> mp1_, mp2_;
  std::unique_ptr<kl::hoyer_spike<Exec, Real>> hy1_, hy2_;
  v1 theta_, grad_theta_;
  std::unique_ptr<kl::adam<Exec, Real>> opt_;
  std::int64_t B_ = -1;
  v4 x_, c1_, b1_, r1_, s1_, p1_, c2_, b2_, s2_, p2_;
  v2 f_, o_, logits_, g_logits_, g_o_, g_f_;
  v4 g_p2_, g_s2_, g_b2_, g_c2_, g_p1_, g_s1_, g_r1_, g_b1_, g_c1_, g_x_;
  Kokkos::View<std::int32_t*, mem> labels_;
};

std::unique_ptr<fmnist_net_base> make(const fmnist_options& o) {
  const std::string name = o.backend.empty() ? default_backend() : o.backend;
  require_backend(name);
#ifdef KOKKOS_ENABLE_OPENMP
  if (name == "openmp") return std::make_unique<net_impl<Kokkos::OpenMP>>(o);
#endif
#ifdef KOKKOS_ENABLE_CUDA
  if (name == "cuda") return std::make_unique<net_impl<Kokkos::Cuda>>(o);
#endif
#ifdef KOKKOS_ENABLE_SERIAL
  if (name == "serial") return std::make_unique<net_impl<Kokkos::Serial>>(o);
#endif
  throw internal_error("backend '" + name + "' listed but not instantiated");
}

}  // namespace

fmnist_net::fmnist_net(const fmnist_options& o) : impl_(make(o)) {}
fmnist_net::~fmnist_net() = default;
double fmnist_net::train_step(const std::vector<float>& images, const std::vector<std::int32_t>& labels, int* correct) {
  return impl_->train_step(images, labels, correct);
}
std::vector<int> fmnist_net::predict(const std::vector<float>& images, std::int64_t batch) {
  return impl_->predict(images, batch);
}
void fmnist_net::set_lr(double lr) { impl_->set_lr(lr); }
void fmnist_net::fold_check(const std::vector<float>& images, std::int64_t batch, std::uint64_t* compared,
                            std::uint64_t* mismatched) {
  impl_->fold_check(images, batch, compared, mismatched);
}
std::vector<std::vector<double>> fmnist_net::folded_rules() const { return impl_->folded_rules(); }
const fmnist_options& fmnist_net::options() const { return impl_->options; }

namespace {

namespace h5 = io::h5;


std::string read_attr(hid_t loc, const char* name, const std::string& path) {
  if (H5Aexists(loc, name) <= 0) throw error(path + ": attribute " + name + " missing (not a kspike train checkpoint?)");
  h5::handle a = h5::attribute(H5Aopen(loc, name, H5P_DEFAULT));
  h5::handle type = h5::datatype(H5Aget_type(a.get()));
  const std::size_t n = H5Tget_size(type.get());
  std::string s(n, '\0');
  h5::handle mt = h5::datatype(H5Tcopy(H5T_C_S1));
  H5Tset_size(mt.get(), n);
  if (H5Aread(a.get(), mt.get(), s.data()) < 0) throw error(path + ": attribute " + name + " unreadable");
  while (!s.empty() && s.back() == '\0') s.pop_back();
  return s;
}


h5::handle open_checkpoint(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) throw error(path + ": checkpoint not found");
  h5::handle f = h5::file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!f) throw error(path + ": not a readable HDF5 file (truncated?)");
  if (H5Aexists(f.get(), "kspike_format") <= 0 || read_attr(f.get(), "kspike_format", path) != "fmnist-checkpoint-1")
    throw error(path + ": not a kspike train checkpoint");
  return f;
}

}  // namespace

void fmnist_net::save(const std::string& path, const train_progress& progress) const {
  const std::string tmp = path + ".tmp";
  {
    h5::quiet_errors quiet;
    h5::handle f = h5::file(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    if (!f) throw error(tmp + ": cannot create");
    const auto& o = impl_->options;
    h5::write_string_attribute(f.get(), "kspike_format", "fmnist-checkpoint-1");
    h5::write_string_attribute(f.get(), "kspike_version", KSPIKE_VERSION);
    h5::write_string_attribute(f.get(), "model", o.ann ? "fmnist-ann" : "fmnist-snn");
    h5::write_string_attribute(f.get(), "neuron", o.ann ? "relu" : (o.mpbn ? "mpbn" : (o.hoyer ? "hoyer" : "lif")));
    h5::write_string_attribute(f.get(), "timesteps", std::to_string(o.timesteps));
    h5::write_string_attribute(f.get(), "surrogate", o.surrogate);
    h5::write_string_attribute(f.get(), "batch", std::to_string(o.batch));
    h5::write_string_attribute(f.get(), "seed", std::to_string(o.seed));
    char lr[64];
    std::snprintf(lr, sizeof lr, "%.17g", o.lr);
    h5::write_string_attribute(f.get(), "lr", lr);
    h5::write_string_attribute(f.get(), "epochs_done", std::to_string(progress.epochs_done));
    h5::write_string_attribute(f.get(), "epochs_planned", std::to_string(progress.epochs_planned));
    h5::write_string_attribute(f.get(), "optimizer_steps", std::to_string(impl_->optimizer_steps()));
    std::string rows;
    for (const auto& r : progress.csv_rows) rows += r + "\n";
    h5::write_string_attribute(f.get(), "metrics_csv", rows);
    for (auto& [name, ptr, n] : impl_->arrays()) {
      std::vector<float> h(n);
      impl_->copy(ptr, h.data(), n, true);
      const hsize_t dims[1] = {n};
      h5::handle space = h5::dataspace(H5Screate_simple(1, dims, nullptr));
      h5::handle ds = h5::dataset(H5Dcreate2(f.get(), name.c_str(), H5T_NATIVE_FLOAT, space.get(), H5P_DEFAULT,
                                             H5P_DEFAULT, H5P_DEFAULT));
      if (!ds || H5Dwrite(ds.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, h.data()) < 0)
        throw error(tmp + ": cannot write " + name);
    }
    if (!f.close()) throw error(tmp + ": HDF5 failed to finish the file");
  }
  std::filesystem::rename(tmp, path);
}

void write_folded_rules(const std::string& path, const std::vector<std::vector<double>>& rules, std::uint64_t compared,
                        std::uint64_t mismatched) {
  h5::quiet_errors quiet;
  h5::handle f = h5::file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  if (!f) throw error(path + ": cannot create");
  h5::write_string_attribute(f.get(), "kspike_format", "mpbn-fold-1");
  h5::write_string_attribute(f.get(), "spikes_compared", std::to_string(compared));
  h5::write_string_attribute(f.get(), "spike_mismatches", std::to_string(mismatched));
  for (std::size_t l = 0; l < rules.size(); ++l) {
    const std::size_t c = rules[l].size() / 3;
    const char* part[] = {"theta", "direction", "constant"};
    for (int k = 0; k < 3; ++k) {
      const std::string name = "mpbn" + std::to_string(l + 1) + "." + part[k];
      const hsize_t dims[1] = {c};
      h5::handle space = h5::dataspace(H5Screate_simple(1, dims, nullptr));
      h5::handle ds = h5::dataset(H5Dcreate2(f.get(), name.c_str(), H5T_NATIVE_DOUBLE, space.get(), H5P_DEFAULT,
                                             H5P_DEFAULT, H5P_DEFAULT));
      if (!ds || H5Dwrite(ds.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, rules[l].data() + k * c) < 0)
        throw error(path + ": cannot write " + name);
    }
  }
  if (!f.close()) throw error(path + ": HDF5 failed to finish the file");
}

fmnist_options fmnist_net::options_in(const std::string& path) {
  h5::quiet_errors quiet;
  h5::handle f = open_checkpoint(path);
  fmnist_options o;
  o.ann = read_attr(f.get(), "model", path) == "fmnist-ann";
  o.mpbn = read_attr(f.get(), "neuron", path) == "mpbn";
  o.hoyer = read_attr(f.get(), "neuron", path) == "hoyer";
  o.timesteps = std::stoi(read_attr(f.get(), "timesteps", path));
  o.surrogate = read_attr(f.get(), "surrogate", path);
  o.batch = std::stoi(read_attr(f.get(), "batch", path));
  o.seed = std::stoull(read_attr(f.get(), "seed", path));
  o.lr = std::stod(read_attr(f.get(), "lr", path));
  return o;
}

train_progress fmnist_net::load(const std::string& path) {
  h5::quiet_errors quiet;
  const fmnist_options stored = options_in(path);
  const auto& o = impl_->options;
  auto mismatch = [&](const std::string& what, const std::string& a, const std::string& b) {
    throw error(path + ": " + what + " is " + a + " in the checkpoint but " + b + " here (a checkpoint of another model)");
  };
  if (stored.ann != o.ann) mismatch("model", stored.ann ? "fmnist-ann" : "fmnist-snn", o.ann ? "fmnist-ann" : "fmnist-snn");
  auto kind = [](const fmnist_options& x) { return std::string(x.mpbn ? "mpbn" : (x.hoyer ? "hoyer" : "lif")); };
  if (kind(stored) != kind(o)) mismatch("neuron", kind(stored), kind(o));
  if (stored.timesteps != o.timesteps) mismatch("timesteps", std::to_string(stored.timesteps), std::to_string(o.timesteps));
  if (stored.surrogate != o.surrogate) mismatch("surrogate", stored.surrogate, o.surrogate);
  if (stored.batch != o.batch) mismatch("batch", std::to_string(stored.batch), std::to_string(o.batch));
  if (stored.seed != o.seed) mismatch("seed", std::to_string(stored.seed), std::to_string(o.seed));
  h5::handle f = open_checkpoint(path);
  for (auto& [name, ptr, n] : impl_->arrays()) {
    if (H5Lexists(f.get(), name.c_str(), H5P_DEFAULT) <= 0) throw error(path + ": " + name + ": missing");
    h5::handle ds = h5::dataset(H5Dopen2(f.get(), name.c_str(), H5P_DEFAULT));
    h5::handle space = h5::dataspace(H5Dget_space(ds.get()));
    if (H5Sget_simple_extent_npoints(space.get()) != static_cast<hssize_t>(n))
      throw error(path + ": " + name + ": wrong size (a checkpoint of another model)");
    std::vector<float> h(n);
    if (H5Dread(ds.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, h.data()) < 0)
      throw error(path + ": " + name + ": unreadable");
    impl_->copy(ptr, h.data(), n, false);
  }
  impl_->set_optimizer_steps(std::stoll(read_attr(f.get(), "optimizer_steps", path)));
  train_progress p;
  p.epochs_done = std::stoi(read_attr(f.get(), "epochs_done", path));
  p.epochs_planned = std::stoi(read_attr(f.get(), "epochs_planned", path));
  const std::string rows = read_attr(f.get(), "metrics_csv", path);
  std::size_t at = 0;
  while (at < rows.size()) {
    const auto nl = rows.find('\n', at);
    p.csv_rows.push_back(rows.substr(at, nl - at));
    at = nl == std::string::npos ? rows.size() : nl + 1;
  }
  Kokkos::fence();
  return p;
}

}  // namespace kspike::classify
