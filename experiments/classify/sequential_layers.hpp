#pragma once
// The layers of a sequential_net as one interface over flat device buffers: each wraps a layer
// of learning/ and sees its input and output as [rows, C, H, W] (or [rows, F]) views of raw
// pointers. Internal to experiments/classify (included by sequential_net.cpp only).
#include <Kokkos_Core.hpp>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "experiments/classify/model_spec.hpp"
#include "learning/dropout.hpp"
#include "learning/hoyer.hpp"
#include "learning/mpbn.hpp"
#include "learning/optimizers.hpp"
#include "learning/qcfs.hpp"
#include "learning/regularisers.hpp"
#include "learning/spiking_lif.hpp"
#include "learning/tensor_layers.hpp"
#include "sim/core/error.hpp"

namespace kspike::classify::detail {

namespace kl = learning;

// A named array a checkpoint saves and restores (float or double, on the device).
struct array_ref {
  std::string name;
  void* ptr;
  std::size_t size;
  bool is_double;
  bool state;         // optimiser state (not carried by a timestep reduction)
  bool host = false;  // lives in host memory (a counter), not on the device
};

template <class Exec>
class module {
 public:
  using Real = float;
  using tt = kl::detail::tensor_types<Exec, Real>;
  using a1 = typename tt::template alias<1>;
  using a2 = typename tt::template alias<2>;
  using a4 = typename tt::template alias<4>;
  using range = Kokkos::RangePolicy<Exec, Kokkos::IndexType<std::int64_t>>;

  explicit module(const layer_spec& s) : spec(s) {}
  virtual ~module() = default;
  // x: [rows, in], y: [rows, out]; T the number of steps in rows (rows = T·B) where the layer
  // runs over time, else 1.
  virtual void forward(Real* x, Real* y, std::int64_t rows, std::int64_t T) = 0;
  virtual void backward(Real* gy, Real* gx, std::int64_t rows, std::int64_t T) = 0;
  virtual void set_training(bool) {}
  virtual void add_params(kl::parameter_list<Exec, Real>&, const std::string&, bool) {}
  virtual void add_arrays(std::vector<array_ref>&, const std::string&) {}
  // Before forward / after backward: scalar parameters live in Views the optimiser updates.
  virtual void sync_in() {}
  virtual void sync_out() {}
  virtual bool identity() const { return false; }  // flatten: the output is the input
  virtual bool time_varying() const { return false; }
  bool input_layer = false;     // the network's first layer: its dL/dx is not needed
  bool repeated_input = false;  // gets one step [B, ...] that stands for all T (see sequential_net)
  // Whether the layer can take one step of input for all T itself (else the network copies it T times).
  virtual bool takes_repeated_input() const { return false; }

  a4 image(Real* p, std::int64_t rows, bool in) const {
    return in ? a4(p, rows, spec.in_c, spec.in_h, spec.in_w) : a4(p, rows, spec.out_c, spec.out_h, spec.out_w);
  }
  a2 flat(Real* p, std::int64_t rows, bool in) const {
    return in ? a2(p, rows, spec.in_size()) : a2(p, rows, spec.out_size());
  }
  layer_spec spec;
};

// PyTorch's default initialisation U(±1/√fan_in), from (seed, stream).
template <class V>
void init_uniform(const V& v, double fan_in, std::uint64_t seed, std::uint32_t stream) {
  auto h = Kokkos::create_mirror_view(v);
  const double bound = 1.0 / std::sqrt(fan_in);
  for (std::size_t i = 0; i < h.size(); ++i)
    h.data()[i] = static_cast<float>((2 * uniform01(philox4x32(seed, stream_id(kspike::stream::layer_init, stream), std::uint32_t(i), 0)) - 1) * bound);
  Kokkos::deep_copy(v, h);
}

template <class Exec>
class conv_module final : public module<Exec> {
  using base = module<Exec>;

 public:
  conv_module(const layer_spec& s, std::uint64_t seed, std::uint32_t stream)
      : base(s), conv_(s.in_c, s.out, s.kernel, s.stride, s.padding, s.bias) {
    const double fan_in = double(s.in_c * s.kernel * s.kernel);
    init_uniform(conv_.weight(), fan_in, seed, stream);
    if (s.bias) init_uniform(conv_.bias(), fan_in, seed, stream + 1);
  }
  void forward(float* x, float* y, std::int64_t rows, std::int64_t) override {
    conv_.forward(this->image(x, rows, true), this->image(y, rows, false));
  }
  void backward(float* gy, float* gx, std::int64_t rows, std::int64_t) override {
    // The first layer's input is the image: skip dL/dx (an empty View tells conv2d so).
    conv_.backward(this->image(gy, rows, false), this->input_layer ? typename base::a4() : this->image(gx, rows, true));
  }
  void add_params(kl::parameter_list<Exec, float>& p, const std::string& name, bool) override { p.add_layer(conv_, name); }

 private:
  kl::conv2d<Exec, float> conv_;
};

template <class Exec>
class linear_module final : public module<Exec> {
  using base = module<Exec>;

 public:
  linear_module(const layer_spec& s, std::uint64_t seed, std::uint32_t stream) : base(s), fc_(s.in_size(), s.out, s.bias) {
    init_uniform(fc_.weight(), double(s.in_size()), seed, stream);
    if (s.bias) init_uniform(fc_.bias(), double(s.in_size()), seed, stream + 1);
  }
  void forward(float* x, float* y, std::int64_t rows, std::int64_t) override {
    fc_.forward(this->flat(x, rows, true), this->flat(y, rows, false));
  }
  void backward(float* gy, float* gx, std::int64_t rows, std::int64_t) override {
    fc_.backward(this->flat(gy, rows, false), this->flat(gx, rows, true));
  }
  void add_params(kl::parameter_list<Exec, float>& p, const std::string& name, bool) override { p.add_layer(fc_, name); }

 private:
  kl::linear<Exec, float> fc_;
};

template <class Exec>
class batchnorm_module final : public module<Exec> {
  using base = module<Exec>;

 public:
  explicit batchnorm_module(const layer_spec& s) : base(s), bn4_(s.in_c), bn2_(s.in_size()) {}
  void forward(float* x, float* y, std::int64_t rows, std::int64_t) override {
    if (this->spec.flat_in)
      bn2_.forward(this->flat(x, rows, true), this->flat(y, rows, false));
    else
      bn4_.forward(this->image(x, rows, true), this->image(y, rows, false));
  }
  void backward(float* gy, float* gx, std::int64_t rows, std::int64_t) override {
    if (this->spec.flat_in)
      bn2_.backward(this->flat(gy, rows, false), this->flat(gx, rows, true));
    else
      bn4_.backward(this->image(gy, rows, false), this->image(gx, rows, true));
  }
  void set_training(bool on) override {
    bn4_.set_training(on);
    bn2_.set_training(on);
  }
  void add_params(kl::parameter_list<Exec, float>& p, const std::string& name, bool decay) override {
    if (this->spec.flat_in) {
      p.add(bn2_.gamma(), bn2_.grad_gamma(), !decay, name + ".gamma");
      p.add(bn2_.beta(), bn2_.grad_beta(), !decay, name + ".beta");
    } else {
      p.add(bn4_.gamma(), bn4_.grad_gamma(), !decay, name + ".gamma");
      p.add(bn4_.beta(), bn4_.grad_beta(), !decay, name + ".beta");
    }
  }
  void add_arrays(std::vector<array_ref>& out, const std::string& name) override {
    const auto& m = this->spec.flat_in ? bn2_.running_mean() : bn4_.running_mean();
    const auto& v = this->spec.flat_in ? bn2_.running_var() : bn4_.running_var();
    out.push_back({name + ".running_mean", m.data(), m.size(), false, false});
    out.push_back({name + ".running_var", v.data(), v.size(), false, false});
  }

 private:
  kl::batch_norm2d<Exec, float> bn4_;
  kl::batch_norm<Exec, float, 2> bn2_;
};

template <class Exec>
class pool_module final : public module<Exec> {
  using base = module<Exec>;

 public:
  explicit pool_module(const layer_spec& s) : base(s), avg_(s.size), max_(s.size) {}
  void forward(float* x, float* y, std::int64_t rows, std::int64_t) override {
    if (this->spec.kind == layer_kind::avgpool)
      avg_.forward(this->image(x, rows, true), this->image(y, rows, false));
    else
      max_.forward(this->image(x, rows, true), this->image(y, rows, false));
  }
  void backward(float* gy, float* gx, std::int64_t rows, std::int64_t) override {
    if (this->spec.kind == layer_kind::avgpool)
      avg_.backward(this->image(gy, rows, false), this->image(gx, rows, true));
    else
      max_.backward(this->image(gy, rows, false), this->image(gx, rows, true));
  }

 private:
  kl::avg_pool2d<Exec, float> avg_;
  kl::max_pool2d<Exec, float> max_;
};

template <class Exec>
class flatten_module final : public module<Exec> {
 public:
  using module<Exec>::module;
  void forward(float*, float*, std::int64_t, std::int64_t) override {}
  void backward(float*, float*, std::int64_t, std::int64_t) override {}
  bool identity() const override { return true; }
};

// Element-wise layers: dropout, ReLU, clipped ReLU, QCFS.
template <class Exec>
class elementwise_module final : public module<Exec> {
  using base = module<Exec>;

 public:
  elementwise_module(const layer_spec& s, std::uint64_t seed, std::uint32_t stream)
      : base(s), drop_(s.kind == layer_kind::dropout ? s.p : 0.0, seed ^ (0x9E3779B97F4A7C15ull * (stream + 1))),
        clip_(static_cast<float>(s.clip)), q_(int(s.levels), s.clip) {}
  void forward(float* x, float* y, std::int64_t rows, std::int64_t) override {
    const auto xv = this->flat(x, rows, true);
    const auto yv = this->flat(y, rows, false);
    switch (this->spec.kind) {
      case layer_kind::dropout: drop_.forward(xv, yv); break;
      case layer_kind::qcfs: q_.forward(xv, yv); break;
      case layer_kind::relu: relu_.forward(xv, yv); break;
      default: clip_.forward(xv, yv);
    }
  }
  void backward(float* gy, float* gx, std::int64_t rows, std::int64_t) override {
    const auto gyv = this->flat(gy, rows, false);
    const auto gxv = this->flat(gx, rows, true);
    switch (this->spec.kind) {
      case layer_kind::dropout: drop_.backward(gyv, gxv); break;
      case layer_kind::qcfs:
        q_.zero_grad();
        q_.backward(gyv, gxv);
        break;
      case layer_kind::relu: relu_.backward(gyv, gxv); break;
      default: clip_.backward(gyv, gxv);
    }
  }
  void set_training(bool on) override { drop_.set_training(on); }
  void add_arrays(std::vector<array_ref>& out, const std::string& name) override {
    // The dropout mask counter, so a resumed run draws the masks it would have drawn.
    if (this->spec.kind == layer_kind::dropout) out.push_back({name + ".calls", &calls_, 1, true, false, true});
  }
  void sync_in() override { drop_.set_calls(static_cast<std::uint64_t>(calls_)); }
  void sync_out() override { calls_ = static_cast<double>(drop_.calls()); }

 private:
  kl::dropout<Exec, float> drop_;
  kl::clipped_relu<Exec, float> clip_;
  kl::relu<Exec, float> relu_;
  kl::qcfs<Exec, float> q_;
  double calls_ = 0;  // host copy of the dropout counter (a checkpoint array)
};

// A spike layer: LIF/IF (multi-step, learning/spiking_lif.hpp), MPBN-LIF, the Hoyer spike, or
// ReLU or QCFS (λ learnt as the layer's `threshold` parameter) in an ANN. Owns the layer's loss terms (RMP on the LIF membrane, the Hoyer regulariser
// on the Hoyer layer's input) and its scalar trainable threshold and leak.
template <class Exec>
class spike_module final : public module<Exec> {
  using base = module<Exec>;
  using v1 = Kokkos::View<float*, typename Exec::memory_space>;
  using v2 = Kokkos::View<float**, Kokkos::LayoutRight, typename Exec::memory_space>;

 public:
  explicit spike_module(const layer_spec& s) : base(s), lif_(lif_params(s.neuron)) {
    const neuron_spec& n = s.neuron;
    const std::int64_t spatial = s.in_h * s.in_w;
    if (n.kind == neuron_kind::mpbn)
      mp_ = std::make_unique<kl::mpbn_lif<Exec, float>>(s.in_c, spatial, n.mpbn_channelwise ? kl::mpbn_form::channel : kl::mpbn_form::element,
                                                        n.mpbn_decay, n.mpbn_threshold);
    if (n.kind == neuron_kind::hoyer)
      hy_ = std::make_unique<kl::hoyer_spike<Exec, float>>(
          s.in_c, spatial, (n.hoyer_channelwise && !s.flat_in) ? kl::hoyer_mode::channel : kl::hoyer_mode::layer, n.threshold);
    if (n.kind == neuron_kind::qcfs) qc_ = std::make_unique<kl::qcfs<Exec, float>>(static_cast<int>(n.levels), n.threshold);
    theta_ = v1("spike.threshold", 1);
    grad_theta_ = v1("spike.grad_threshold", 1);
    beta_ = v1("spike.beta", 1);
    grad_beta_ = v1("spike.grad_beta", 1);
    Kokkos::deep_copy(theta_, static_cast<float>(n.threshold));
    Kokkos::deep_copy(beta_, static_cast<float>(n.beta));
  }

  static kl::spiking_lif_params lif_params(const neuron_spec& n) { return spiking_lif_params_of(n); }

  bool time_varying() const override { return true; }
  bool takes_repeated_input() const override { return kind() == neuron_kind::lif || kind() == neuron_kind::if_; }
  neuron_kind kind() const { return this->spec.neuron.kind; }
  kl::mpbn_lif<Exec, float>* mpbn() const { return mp_.get(); }
  void set_weights(double hoyer, double rmp) {
    hoyer_weight_ = hoyer;
    rmp_weight_ = rmp;
  }
  double hoyer_value() const { return hoyer_value_; }
  double rmp_value() const { return rmp_value_; }

  void set_training(bool on) override {
    training_ = on;
    lif_.set_training(on);
    if (mp_) mp_->set_training(on);
    if (hy_) hy_->set_training(on);
  }

  void sync_in() override {
    const neuron_spec& n = this->spec.neuron;
    if (hy_) hy_->set_threshold(host_value(theta_));
    if (qc_) qc_->set_lambda(host_value(theta_));
    if ((n.kind == neuron_kind::lif || n.kind == neuron_kind::if_) && (n.trainable_threshold || n.trainable_leak)) {
      auto p = lif_.params();
      p.v_threshold = host_value(theta_);
      p.beta = host_value(beta_);
      lif_.set_params(p);
    }
  }

  void forward(float* x, float* y, std::int64_t rows, std::int64_t T) override {
    const std::int64_t size = this->spec.in_size();
    switch (kind()) {
      case neuron_kind::relu: relu_.forward(this->flat(x, rows, true), this->flat(y, rows, false)); return;
      case neuron_kind::qcfs: qc_->forward(this->flat(x, rows, true), this->flat(y, rows, false)); return;
      case neuron_kind::mpbn: mp_->forward(this->flat(x, rows, true), this->flat(y, rows, false), T, rows / T); return;
      case neuron_kind::hoyer:
        x_ = x;  // the regulariser reads it in backward
        hy_->forward(this->flat(x, rows, true), this->flat(y, rows, false), rows);
        return;
      default: {
        const std::int64_t n = rows / T * size;
        lif_.forward(typename base::a2(x, this->repeated_input ? 1 : T, n), typename base::a2(y, T, n));
        rmp_value_ = 0;
        if (training_ && rmp_weight_ > 0) {
          if (grad_h_.extent(0) != std::size_t(T) || grad_h_.extent(1) != std::size_t(n))
            grad_h_ = v2(Kokkos::view_alloc(Kokkos::WithoutInitializing, "spike.rmp_grad"), T, n);
          rmp_value_ = kl::rmp_loss<Exec, float>(lif_.saved_h().data(), grad_h_.data(), T * n, lif_.params().v_threshold,
                                                 rmp_weight_, &rmp_grad_theta_);
        }
      }
    }
  }

  void backward(float* gy, float* gx, std::int64_t rows, std::int64_t T) override {
    const std::int64_t size = this->spec.in_size();
    switch (kind()) {
      case neuron_kind::relu: relu_.backward(this->flat(gy, rows, false), this->flat(gx, rows, true)); return;
      case neuron_kind::qcfs:
        qc_->zero_grad();
        qc_->backward(this->flat(gy, rows, false), this->flat(gx, rows, true));
        set_value(grad_theta_, qc_->grad_lambda());
        return;
      case neuron_kind::mpbn: mp_->backward(this->flat(gy, rows, false), this->flat(gx, rows, true)); return;
      case neuron_kind::hoyer: {
        hy_->zero_grad();
        hy_->backward(this->flat(gy, rows, false), this->flat(gx, rows, true));
        hoyer_value_ = kl::hoyer_regulariser_add<Exec, float>(x_, gx, rows * size, hy_->threshold(), hoyer_weight_);
        set_value(grad_theta_, hy_->grad_threshold());
        return;
      }
      default: {
        const std::int64_t n = rows / T * size;
        const bool rmp = training_ && rmp_weight_ > 0;
        lif_.backward(typename base::a2(gy, T, n), typename base::a2(gx, this->repeated_input ? 1 : T, n),
                      rmp ? typename kl::spiking_lif<Exec, float>::const_view(grad_h_) : typename kl::spiking_lif<Exec, float>::const_view());
        const auto& p = lif_.params();
        if (p.trainable_threshold) set_value(grad_theta_, lif_.grad_threshold() + (rmp ? rmp_grad_theta_ : 0.0));
        if (p.trainable_beta) set_value(grad_beta_, lif_.grad_beta());
      }
    }
  }

  // Membrane updates per step by NeuroBench's rule, for a LIF/IF layer that has just run forward
  // on x ([T or 1, rows/T · size] as forward read it): every neuron at the first step, then the
  // neurons whose membrane H_t differs from what the step started from, P_{t-1}. The membrane is
  // recomputed with the layer's own inline functions, so it is the one forward produced. Other
  // kinds update every neuron at every step.
  std::vector<double> touched(const float* x, std::int64_t rows, std::int64_t T) const {
    const std::int64_t n = rows / T * this->spec.in_size();
    std::vector<double> out(static_cast<std::size_t>(T), double(n));
    if (kind() != neuron_kind::lif && kind() != neuron_kind::if_) return out;
    const auto c = kl::detail::make_lif_coeffs<float>(lif_.params());
    v1 p(Kokkos::view_alloc(Kokkos::WithoutInitializing, "touched.p"), static_cast<std::size_t>(n));
    v1 s("touched.s", static_cast<std::size_t>(n));
    Kokkos::deep_copy(p, c.v_init);
    const bool rep = this->repeated_input;
    for (std::int64_t t = 0; t < T; ++t) {
      const float* xt = x + (rep ? 0 : t) * n;
      double changed = 0;
      Kokkos::parallel_reduce(
          "spike.touched", typename base::range(0, n),
          KOKKOS_LAMBDA(std::int64_t i, double& acc) {
            const float h = c.charge(p(i), xt[i], s(i));
            const float si = c.fire(h);
            acc += h != p(i) ? 1.0 : 0.0;
            p(i) = c.carried(h, si);
            s(i) = si;
          },
          changed);
      if (t > 0) out[static_cast<std::size_t>(t)] = changed;
    }
    return out;
  }

  void add_params(kl::parameter_list<Exec, float>& p, const std::string& name, bool decay) override {
    const neuron_spec& n = this->spec.neuron;
    if (mp_) {
      p.add(mp_->gamma(), mp_->grad_gamma(), !decay, name + ".gamma");
      p.add(mp_->beta(), mp_->grad_beta(), !decay, name + ".beta");
    }
    if (hy_ || qc_ || ((n.kind == neuron_kind::lif || n.kind == neuron_kind::if_) && n.trainable_threshold))
      p.add(theta_, grad_theta_, !decay, name + ".threshold");
    if (n.kind == neuron_kind::lif && n.trainable_leak) p.add(beta_, grad_beta_, !decay, name + ".leak");
  }
  void add_arrays(std::vector<array_ref>& out, const std::string& name) override {
    if (mp_) {
      out.push_back({name + ".running_mean", mp_->running_mean().data(), mp_->running_mean().size(), false, false});
      out.push_back({name + ".running_var", mp_->running_var().data(), mp_->running_var().size(), false, false});
    }
    if (hy_) {
      const auto& r = hy_->running_extremum_view();
      out.push_back({name + ".running_extremum", r.data(), r.size(), true, false});
    }
  }

 private:
  static float host_value(const v1& v) {
    float h = 0;
    Kokkos::deep_copy(Kokkos::View<float, Kokkos::HostSpace>(&h), Kokkos::subview(v, 0));
    return h;
  }
  static void set_value(const v1& v, double x) { Kokkos::deep_copy(v, static_cast<float>(x)); }

  kl::spiking_lif<Exec, float> lif_;
  kl::relu<Exec, float> relu_;
  std::unique_ptr<kl::mpbn_lif<Exec, float>> mp_;
  std::unique_ptr<kl::hoyer_spike<Exec, float>> hy_;
  std::unique_ptr<kl::qcfs<Exec, float>> qc_;
  v1 theta_, grad_theta_, beta_, grad_beta_;
  v2 grad_h_;
  bool training_ = true;
  double hoyer_weight_ = 0, rmp_weight_ = 0, hoyer_value_ = 0, rmp_value_ = 0, rmp_grad_theta_ = 0;
  float* x_ = nullptr;
};

}  // namespace kspike::classify::detail
