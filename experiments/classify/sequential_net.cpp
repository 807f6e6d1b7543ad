#include "experiments/classify/sequential_net.hpp"
#include "kspike_build_info.hpp"

#include <Kokkos_Core.hpp>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>

#include "encoders/spike_encoders.hpp"
#include "experiments/classify/sequential_layers.hpp"
#include "learning/losses.hpp"
#include "sim/backend.hpp"
#include "sim/backend_dispatch.hpp"
#include "sim/core/error.hpp"
#include "sim/io/hdf5_handle.hpp"
#include "sim/io/text_file.hpp"
#include "sim/memory_budget.hpp"
#include "sim/core/rng.hpp"

#include <hdf5.h>

namespace kspike::classify {

class sequential_net_base {
 public:
  virtual ~sequential_net_base() = default;
  virtual double train_step(const std::vector<float>& images, const std::vector<std::int32_t>& labels, int* correct,
                            const std::vector<std::uint64_t>& ids) = 0;
  virtual std::vector<int> predict(const std::vector<float>& images, std::int64_t batch, const std::vector<std::uint64_t>& ids) = 0;
  virtual void set_epoch(int e, int epochs) = 0;
  virtual std::vector<detail::array_ref> arrays() = 0;
  virtual std::string gemm_library() const = 0;
  virtual std::string gemm_advice() const = 0;
  virtual std::int64_t optimizer_steps() const = 0;
  virtual void set_optimizer_steps(std::int64_t t) = 0;
  virtual void copy(const detail::array_ref& a, void* host, bool to_host) = 0;
  virtual void fold_check(const std::vector<float>& images, std::int64_t batch, std::uint64_t* compared,
                          std::uint64_t* mismatched) = 0;
  virtual std::vector<std::pair<int, std::vector<double>>> folded_rules() const = 0;
  virtual std::vector<std::vector<int>> predict_prefixes(const std::vector<float>& images, std::int64_t batch,
                                                         const std::vector<std::int64_t>& prefixes, const std::vector<std::uint64_t>& ids,
                                                         network_activity* activity) = 0;
  virtual std::vector<std::vector<float>> layer_outputs(const std::vector<float>& images, std::int64_t batch, const std::vector<int>& layers,
                                                        const std::vector<std::uint64_t>& ids) = 0;
  virtual std::vector<int> count_activity(const std::vector<float>& images, std::int64_t batch, network_activity* activity,
                                          const std::vector<std::uint64_t>& ids) = 0;
  model_spec spec;
  std::uint64_t seed = 0;
  loss_terms last;
};

// The model's input encoding of a batch (sequential_net::encoded_input).
std::vector<float> encoded_input(const model_spec& spec, std::uint64_t seed, const std::vector<float>& images, std::int64_t B,
                                 const std::vector<std::uint64_t>& ids) {
  const std::int64_t per = spec.in_c * spec.in_h * spec.in_w;
  if (static_cast<std::int64_t>(images.size()) != B * per)
    throw error("sequential_net: expected " + std::to_string(B) + " x " + std::to_string(per) + " input values, got " +
                std::to_string(images.size()));
  if (!ids.empty() && static_cast<std::int64_t>(ids.size()) != B)
    throw internal_error("sequential_net: " + std::to_string(ids.size()) + " sample ids for " + std::to_string(B) + " images");
  if (spec.input_encoding == encoding::direct) return images;
  // Step-major [T, B, ...]: step t of image b at (t·B + b)·per.
  const std::int64_t T = spec.effective_timesteps();
  const auto kind = spec.input_encoding == encoding::poisson ? encoders::spike_encoding::poisson : encoders::spike_encoding::latency_linear;
  std::vector<float> out(static_cast<std::size_t>(T * B * per)), x(static_cast<std::size_t>(per));
  for (std::int64_t b = 0; b < B; ++b) {
    for (std::int64_t k = 0; k < per; ++k) {
      const float v = images[static_cast<std::size_t>(b * per + k)];
      x[static_cast<std::size_t>(k)] = kind == encoders::spike_encoding::poisson ? static_cast<float>(v * spec.poisson_max_rate) : v;
    }
    const std::uint64_t id = ids.empty() ? static_cast<std::uint64_t>(b) : ids[static_cast<std::size_t>(b)];
    const auto enc = encoders::encode(kind, x.data(), x.size(), static_cast<int>(T), seed, id);
    for (std::int64_t t = 0; t < T; ++t)
      std::copy(enc.begin() + t * per, enc.begin() + (t + 1) * per, out.begin() + (t * B + b) * per);
  }
  return out;
}

namespace {

namespace kl = learning;
using detail::array_ref;

template <class Exec>
class net_impl final : public sequential_net_base {
  using Real = float;
  using mem = typename Exec::memory_space;
  using v1 = Kokkos::View<Real*, mem>;
  using tt = kl::detail::tensor_types<Exec, Real>;
  using a2 = typename tt::template alias<2>;
  using range = Kokkos::RangePolicy<Exec, Kokkos::IndexType<std::int64_t>>;

 public:
  net_impl(const model_spec& m, std::uint64_t s) {
    spec = m;
    seed = s;
    T_ = m.effective_timesteps();
    // Parameters, their gradients and two optimiser moments, float: refused before allocating.
    double param_count = 0;
    for (const auto& L : m.layers) {
      if (L.kind == layer_kind::conv) param_count += double(L.out) * (double(L.in_c) * double(L.kernel) * double(L.kernel) + 1);
      if (L.kind == layer_kind::linear) param_count += double(L.out) * (double(L.in_size()) + 1);
      if (L.kind == layer_kind::batchnorm || L.kind == layer_kind::spike) param_count += 4.0 * double(L.in_size());
    }
    if (param_count * 16.0 > available_memory_bytes())
      throw error("model " + m.name + ": " + std::to_string(static_cast<long long>(param_count)) + " parameters need about " +
                  std::to_string(static_cast<long long>(param_count * 16.0 / 1e6)) + " MB with gradients and optimiser state, more than the " +
                  std::to_string(static_cast<long long>(available_memory_bytes() / 1e6)) + " MB available");
    if (m.train.batch < 2) throw error("--batch: must be >= 2 (batch norm)");
    // The first layer that runs over time: the first spike layer (direct input), else the input.
    time_from_ = m.input_encoding == encoding::direct ? -1 : 0;
    std::uint32_t stream = 1;
    for (std::size_t i = 0; i < m.layers.size(); ++i) {
      const layer_spec& L = m.layers[i];
      std::unique_ptr<detail::module<Exec>> mod;
      switch (L.kind) {
        case layer_kind::conv: mod = std::make_unique<detail::conv_module<Exec>>(L, s, stream); stream += 2; break;
        case layer_kind::linear: mod = std::make_unique<detail::linear_module<Exec>>(L, s, stream); stream += 2; break;
        case layer_kind::batchnorm: mod = std::make_unique<detail::batchnorm_module<Exec>>(L); break;
        case layer_kind::avgpool:
        case layer_kind::maxpool: mod = std::make_unique<detail::pool_module<Exec>>(L); break;
        case layer_kind::flatten: mod = std::make_unique<detail::flatten_module<Exec>>(L); break;
        case layer_kind::spike: mod = std::make_unique<detail::spike_module<Exec>>(L); break;
        default: mod = std::make_unique<detail::elementwise_module<Exec>>(L, s, static_cast<std::uint32_t>(i)); break;
      }
      mod->input_layer = i == 0;
      if (time_from_ < 0 && mod->time_varying()) time_from_ = static_cast<int>(i);
      layers_.push_back(std::move(mod));
    }
    if (time_from_ < 0) time_from_ = static_cast<int>(layers_.size());  // no spike layer: nothing varies
    if (repeats() && layers_[static_cast<std::size_t>(time_from_)]->takes_repeated_input())
      layers_[static_cast<std::size_t>(time_from_)]->repeated_input = true;  // a LIF reads one step for all T
    kl::parameter_list<Exec, Real> all;
    for (std::size_t i = 0; i < layers_.size(); ++i) layers_[i]->add_params(all, name_of(i), true);
    // Weight decay skips the parameters named in train.no_weight_decay.
    kl::parameter_list<Exec, Real> params;
    for (const auto& p : all.items()) {
      bool excluded = false;
      for (const auto& part : m.train.no_weight_decay) excluded = excluded || p.name.find(part) != std::string::npos;
      params.add(p.value, p.grad, p.size, excluded, p.name);
    }
    const train_spec& t = m.train;
    if (t.optimizer == "sgd") {
      kl::sgd_options o;
      o.lr = t.lr;
      o.momentum = t.momentum;
      o.nesterov = t.nesterov;
      o.weight_decay = t.weight_decay;
      opt_ = std::make_unique<kl::sgd<Exec, Real>>(std::move(params), o);
    } else {
      kl::adam_options o;
      o.lr = t.lr;
      o.weight_decay = t.weight_decay;
      o.amsgrad = t.amsgrad;
      o.decoupled_weight_decay = t.optimizer == "adamw";
      opt_ = std::make_unique<kl::adam<Exec, Real>>(std::move(params), o);
    }
    set_epoch(0, static_cast<int>(t.epochs));
  }

  std::string name_of(std::size_t i) const {
    return "layers." + std::to_string(i) + "." + layer_name(spec.layers[i].kind);
  }

  void set_epoch(int e, int epochs) override {
    const train_spec& t = spec.train;
    double lr = t.lr;
    if (t.schedule == "cosine") {
      lr = kl::cosine_schedule(t.lr, epochs).lr_at(e);
    } else if (t.schedule == "step") {
      std::vector<std::int64_t> at;
      for (double f : t.milestones) at.push_back(static_cast<std::int64_t>(std::llround(f * epochs)));
      lr = kl::multi_step_schedule(t.lr, at, t.gamma).lr_at(e);
    }
    opt_->set_lr(lr);
    const double rmp = t.rmp_schedule == "linear" ? t.rmp_weight * double(e + 1) / double(epochs) : t.rmp_weight;
    rmp_layers_ = 0;
    for (auto& l : layers_)
      if (auto* s = dynamic_cast<detail::spike_module<Exec>*>(l.get()))
        rmp_layers_ += s->kind() == neuron_kind::lif || s->kind() == neuron_kind::if_;
    rmp_weight_now_ = rmp_layers_ > 0 ? rmp : 0.0;
    for (auto& l : layers_)
      if (auto* s = dynamic_cast<detail::spike_module<Exec>*>(l.get()))
        s->set_weights(t.hoyer_weight, rmp_layers_ > 0 ? rmp / rmp_layers_ : 0.0);  // RMP: the mean over layers
  }

  // Rows of layer i's input: B before the time-varying part, T·B from it on.
  std::int64_t rows_in(std::size_t i) const { return static_cast<int>(i) >= time_from_ ? T_ * B_ : B_; }
  bool repeats() const { return spec.input_encoding == encoding::direct && time_from_ < static_cast<int>(layers_.size()) && T_ > 1; }
  // Whether layer i's input is copied T times by the network (the layers that cannot read one step for all T).
  bool copies(std::size_t i) const {
    return static_cast<int>(i) == time_from_ && repeats() && !layers_[i]->repeated_input;
  }

  // Bytes ensure(B) is about to allocate (activations and gradients of every layer, the
  // repeated input), checked against what the machine has before any of it is allocated.
  void check_activation_memory(std::int64_t B) const {
    double values = double(T_) * double(B) * double(spec.classes);
    for (std::size_t i = 0; i < layers_.size(); ++i) values += double(static_cast<int>(i) >= time_from_ ? T_ : 1) * double(B) * double(spec.layers[i].in_size());
    // act + grad, float; spike layers keep H for backward and the repeat buffers add one layer.
    const double bytes = values * 4.0 * 3.0;
    const double have = available_memory_bytes();
    if (bytes > have)
      throw error("model " + spec.name + ": a batch of " + std::to_string(B) + " images at T = " + std::to_string(T_) + " needs about " +
                  std::to_string(static_cast<long long>(bytes / 1e6)) + " MB of activations, more than the " +
                  std::to_string(static_cast<long long>(have / 1e6)) + " MB available (use a smaller batch or T)");
  }

  void ensure(std::int64_t B) {
    if (B == B_) return;
    check_activation_memory(B);
    B_ = B;
    const std::size_t L = layers_.size();
    act_.assign(L + 1, v1());
    grad_.assign(L + 1, v1());
    for (std::size_t i = 0; i <= L; ++i) {
      const std::int64_t per = i < L ? spec.layers[i].in_size() : spec.classes;
      const std::int64_t rows = i < L ? (static_cast<int>(i) == time_from_ && repeats() ? B : rows_in(i)) : T_ * B;
      if (i > 0 && i < L + 1 && layers_[i - 1]->identity()) {
        act_[i] = act_[i - 1];
        grad_[i] = grad_[i - 1];
        continue;
      }
      act_[i] = v1(Kokkos::view_alloc(Kokkos::WithoutInitializing, "act"), static_cast<std::size_t>(rows * per));
      grad_[i] = v1(Kokkos::view_alloc(Kokkos::WithoutInitializing, "grad"), static_cast<std::size_t>(rows * per));
    }
    if (repeats() && copies(static_cast<std::size_t>(time_from_))) {
      const std::int64_t per = spec.layers[static_cast<std::size_t>(time_from_)].in_size();
      rep_ = v1(Kokkos::view_alloc(Kokkos::WithoutInitializing, "repeat"), static_cast<std::size_t>(T_ * B * per));
      grad_rep_ = v1(Kokkos::view_alloc(Kokkos::WithoutInitializing, "grad_repeat"), static_cast<std::size_t>(T_ * B * per));
    }
    if (!layers_.empty() && time_from_ == static_cast<int>(layers_.size()) && T_ > 1)
      throw internal_error("sequential_net: T > 1 without a spike layer");
    logits_ = typename tt::template view<2>("logits", B, spec.classes);
    g_logits_ = typename tt::template view<2>("g_logits", B, spec.classes);
    target_ = typename tt::template view<2>("target", B, spec.classes);
    labels_ = Kokkos::View<std::int32_t*, mem>("labels", B);
  }

  void load_input(const std::vector<float>& images, std::int64_t B, const std::vector<std::uint64_t>& ids) {
    const std::vector<float> x = encoded_input(spec, seed, images, B, ids);
    ensure(B);
    auto h = Kokkos::create_mirror_view(act_[0]);
    std::copy(x.begin(), x.end(), h.data());
    Kokkos::deep_copy(act_[0], h);
  }

  void forward(bool train) {
    for (auto& l : layers_) {
      l->set_training(train);
      l->sync_in();
    }
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      Real* in = act_[i].data();
      if (copies(i)) {
        const std::int64_t per = B_ * spec.layers[i].in_size();
        using flat = Kokkos::View<Real*, mem, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
        for (std::int64_t t = 0; t < T_; ++t) Kokkos::deep_copy(Exec(), flat(rep_.data() + t * per, per), flat(act_[i].data(), per));
        in = rep_.data();
      }
      if (!layers_[i]->identity()) layers_[i]->forward(in, act_[i + 1].data(), rows_in(i), static_cast<int>(i) >= time_from_ ? T_ : 1);
    }
    // Logits from the last layer's output over T.
    const std::int64_t B = B_, K = spec.classes, T = T_;
    const Real* o = act_.back().data();
    Real* l = logits_.data();
    const bool membrane = spec.loss == loss_kind::ce_membrane;
    const Real beta = static_cast<Real>(spec.neuron.beta), inv_t = Real(1) / Real(T);
    Kokkos::parallel_for("sequential::readout", range(0, B * K), KOKKOS_LAMBDA(std::int64_t i) {
      Real s = 0;
      for (std::int64_t t = 0; t < T; ++t) s = membrane ? beta * s + o[t * B * K + i] : s + o[t * B * K + i];
      l[i] = membrane ? s : s * inv_t;
    });
  }

  double train_step(const std::vector<float>& images, const std::vector<std::int32_t>& labels, int* correct,
                    const std::vector<std::uint64_t>& ids) override {
    const auto B = static_cast<std::int64_t>(labels.size());
    load_input(images, B, ids);
    auto hl = Kokkos::create_mirror_view(labels_);
    for (std::int64_t i = 0; i < B; ++i) hl(i) = labels[static_cast<std::size_t>(i)];
    Kokkos::deep_copy(labels_, hl);
    forward(true);
    last = loss_terms();
    if (spec.loss == loss_kind::mse_mean) {
      auto ht = Kokkos::create_mirror_view(target_);
      for (std::int64_t i = 0; i < B; ++i)
        for (std::int64_t k = 0; k < spec.classes; ++k) ht(i, k) = labels[static_cast<std::size_t>(i)] == k ? Real(1) : Real(0);
      Kokkos::deep_copy(target_, ht);
      last.task = kl::mse<Exec, Real>::compute(logits_, target_, g_logits_);
    } else {
      last.task = kl::cross_entropy<Exec, Real>::compute(logits_, labels_, g_logits_);
    }
    if (correct) *correct = count_correct(labels);
    opt_->zero_grad();
    // dL/d(output at step t): 1/T of dL/dlogits for the mean, β^(T-1-t) of it for the membrane.
    const std::int64_t T = T_, K = spec.classes;
    Real *gl = g_logits_.data(), *go = grad_.back().data();
    const bool membrane = spec.loss == loss_kind::ce_membrane;
    const Real inv_t = Real(1) / Real(T), beta = static_cast<Real>(spec.neuron.beta);
    Kokkos::parallel_for("sequential::grad_readout", range(0, T * B * K), KOKKOS_LAMBDA(std::int64_t i) {
      const std::int64_t t = i / (B * K);
      Real w = inv_t;
      if (membrane) {
        w = Real(1);
        for (std::int64_t k = t + 1; k < T; ++k) w *= beta;
      }
      go[i] = gl[i % (B * K)] * w;
    });
    for (std::size_t i = layers_.size(); i-- > 0;) {
      if (layers_[i]->identity()) continue;
      const bool rep = copies(i);
      Real* gin = rep ? grad_rep_.data() : grad_[i].data();
      layers_[i]->backward(grad_[i + 1].data(), gin, rows_in(i), static_cast<int>(i) >= time_from_ ? T_ : 1);
      if (rep) {
        const std::int64_t per = B_ * spec.layers[i].in_size();
        Real *gr = grad_rep_.data(), *gb = grad_[i].data();
        Kokkos::parallel_for("sequential::sum_over_t", range(0, per), KOKKOS_LAMBDA(std::int64_t k) {
          Real s = 0;
          for (std::int64_t t = 0; t < T; ++t) s += gr[t * per + k];
          gb[k] = s;
        });
      }
    }
    for (auto& l : layers_) {
      l->sync_out();
      if (auto* s = dynamic_cast<detail::spike_module<Exec>*>(l.get())) {
        last.hoyer += s->hoyer_value();
        last.rmp += s->rmp_value();
      }
    }
    if (rmp_layers_ > 0) last.rmp /= double(rmp_layers_);
    opt_->step();
    Kokkos::fence();
    return last.task + spec.train.hoyer_weight * last.hoyer + rmp_weight_now_ * last.rmp;
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
      for (int k = 1; k < spec.classes; ++k)
        if (h(i, k) > h(i, best)) best = k;
      out[static_cast<std::size_t>(i)] = best;
    }
    return out;
  }

  std::vector<int> predict(const std::vector<float>& images, std::int64_t batch, const std::vector<std::uint64_t>& ids) override {
    load_input(images, batch, ids);
    forward(false);
    return argmax();
  }


  std::vector<std::vector<int>> predict_prefixes(const std::vector<float>& images, std::int64_t batch, const std::vector<std::int64_t>& prefixes,
                                                 const std::vector<std::uint64_t>& ids, network_activity* activity) override {
    for (auto p : prefixes)
      if (p < 1 || p > T_) throw error("predict_prefixes: a prefix of " + std::to_string(p) + " steps in a run of T = " + std::to_string(T_));
    load_input(images, batch, ids);
    forward(false);
    if (activity) count_current(activity);
    const std::int64_t K = spec.classes, B = B_;
    auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), act_.back());
    const bool membrane = spec.loss == loss_kind::ce_membrane;
    const float beta = static_cast<float>(spec.neuron.beta);
    std::vector<std::vector<int>> out(prefixes.size(), std::vector<int>(static_cast<std::size_t>(B)));
    std::vector<float> acc(static_cast<std::size_t>(K));
    for (std::int64_t b = 0; b < B; ++b) {
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (std::int64_t t = 0; t < T_; ++t) {
        // The same sums, in the same order and precision, as the read-out kernel of forward().
        for (std::int64_t k = 0; k < K; ++k) {
          const float o = h.data()[(t * B + b) * K + k];
          acc[static_cast<std::size_t>(k)] = membrane ? beta * acc[static_cast<std::size_t>(k)] + o : acc[static_cast<std::size_t>(k)] + o;
        }
        for (std::size_t q = 0; q < prefixes.size(); ++q) {
          if (prefixes[q] != t + 1) continue;
          int best = 0;
          for (int k = 1; k < K; ++k)
            if (acc[static_cast<std::size_t>(k)] > acc[static_cast<std::size_t>(best)]) best = k;
          out[q][static_cast<std::size_t>(b)] = best;
        }
      }
    }
    return out;
  }

  std::vector<std::vector<float>> layer_outputs(const std::vector<float>& images, std::int64_t batch, const std::vector<int>& which,
                                                const std::vector<std::uint64_t>& ids) override {
    load_input(images, batch, ids);
    forward(false);
    std::vector<std::vector<float>> out;
    for (int i : which) {
      if (i < 0 || i >= static_cast<int>(layers_.size())) throw internal_error("layer_outputs: no layer " + std::to_string(i));
      const std::size_t n = static_cast<std::size_t>(rows_out(static_cast<std::size_t>(i)) * spec.layers[static_cast<std::size_t>(i)].out_size());
      auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), act_[static_cast<std::size_t>(i) + 1]);
      out.emplace_back(h.data(), h.data() + n);
    }
    return out;
  }
  // Rows of layer i's output.
  std::int64_t rows_out(std::size_t i) const { return static_cast<int>(i) >= time_from_ ? T_ * B_ : B_; }

  // Σ over the elements of each step of x ([steps, B·per] step-major) of [x ≠ 0]·table[element
  // mod per] (1 without a table): integers summed in double, exact in any order.
  std::vector<double> per_step(const Real* x, std::int64_t steps, std::int64_t per, const Kokkos::View<double*, mem>& table) const {
    std::vector<double> out(static_cast<std::size_t>(steps));
    const std::int64_t n = B_ * per;
    const bool weighted = table.data() != nullptr;
    const auto tab = table;
    for (std::int64_t t = 0; t < steps; ++t) {
      const Real* xt = x + t * n;
      double sum = 0;
      Kokkos::parallel_reduce(
          "activity::per_step", range(0, n),
          KOKKOS_LAMBDA(std::int64_t j, double& acc) {
            if (xt[j] != Real(0)) acc += weighted ? tab(j % per) : 1.0;
          },
          sum);
      out[static_cast<std::size_t>(t)] = sum;
    }
    return out;
  }

  struct fanout_tables {
    Kokkos::View<double*, mem> direct, direct_nonzero, from_source;  // over the direct input; over the source spike layer's output
    // The layer's fixed numbers, read once from its weights (evaluation does not change them).
    std::int64_t weights = 0, zero_weights = 0;
    double dense_pairs = 0;
  };

  Kokkos::View<double*, mem> to_device(const std::vector<double>& v) const {
    Kokkos::View<double*, mem> d(Kokkos::view_alloc(Kokkos::WithoutInitializing, "activity.table"), v.size());
    Kokkos::deep_copy(d, Kokkos::View<const double*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>(v.data(), v.size()));
    return d;
  }

  // The spike layer driving weighted layer i through average pooling, flatten or dropout, or -1.
  int source_of(std::size_t i) const {
    int j = static_cast<int>(i) - 1;
    while (j >= 0) {
      const layer_kind k = spec.layers[static_cast<std::size_t>(j)].kind;
      if (k != layer_kind::avgpool && k != layer_kind::flatten && k != layer_kind::dropout) break;
      --j;
    }
    return j >= 0 && spec.layers[static_cast<std::size_t>(j)].kind == layer_kind::spike && spec.spiking() ? j : -1;
  }

  fanout_tables tables_for(std::size_t i) {
    const layer_spec& L = spec.layers[i];
    std::vector<float> w = host_param("param." + name_of(i) + ".weight");
    std::vector<double> st, nz;
    if (L.kind == layer_kind::conv) {
      st = conv_fanout(L.in_c, L.in_h, L.in_w, L.out, L.kernel, L.stride, L.padding);
      nz = conv_fanout(L.in_c, L.in_h, L.in_w, L.out, L.kernel, L.stride, L.padding, w.data());
    } else {
      st = linear_fanout(L.in_size(), L.out);
      nz = linear_fanout(L.in_size(), L.out, w.data());
    }
    fanout_tables t{to_device(st), to_device(nz), {}};
    t.weights = static_cast<std::int64_t>(w.size());
    for (float v : w) t.zero_weights += v == 0.0f;
    for (double f : st) t.dense_pairs += f;
    const int src = source_of(i);
    if (src >= 0) {
      std::vector<double> composite = st;
      for (int j = static_cast<int>(i) - 1; j > src; --j) {
        const layer_spec& P = spec.layers[static_cast<std::size_t>(j)];
        if (P.kind == layer_kind::avgpool) composite = through_pool(composite, P.in_c, P.in_h, P.in_w, P.size);
      }
      t.from_source = to_device(composite);
    }
    return t;
  }

  std::vector<float> host_param(const std::string& name) {
    for (const auto& a : arrays())
      if (a.name == name) {
        std::vector<float> h(a.size);
        copy(a, h.data(), true);
        return h;
      }
    throw internal_error("no array " + name);
  }

  std::vector<int> count_activity(const std::vector<float>& images, std::int64_t batch, network_activity* out,
                                  const std::vector<std::uint64_t>& ids) override {
    load_input(images, batch, ids);
    forward(false);
    count_current(out);
    return argmax();
  }

  // Adds the activity of the forward pass just made to *out.
  void count_current(network_activity* out) {
    const std::int64_t batch = B_;
    if (tables_.empty())
      for (std::size_t i = 0; i < layers_.size(); ++i)
        tables_.push_back(spec.layers[i].kind == layer_kind::conv || spec.layers[i].kind == layer_kind::linear ? tables_for(i) : fanout_tables{});
    network_activity a;
    a.model = spec.name;
    a.neuron = neuron_name(spec.neuron.kind);
    a.T = T_;
    a.images = batch;
    a.direct_input = spec.input_encoding == encoding::direct;
    for (const auto& r : arrays())
      if (!r.state && !r.host) a.footprint_bytes += double(r.size) * (r.is_double ? 8.0 : 4.0);
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      const layer_spec& L = spec.layers[i];
      layer_activity la;
      la.index = static_cast<int>(i);
      la.name = name_of(i);
      la.kind = layer_name(L.kind);
      la.steps = static_cast<int>(i) >= time_from_ ? T_ : 1;
      if (L.kind == layer_kind::conv || L.kind == layer_kind::linear) {
        const fanout_tables& tab = tables_[i];
        const Real* x = act_[i].data();
        const std::int64_t per = L.in_size();
        la.inputs = per;
        la.outputs = L.out_size();
        la.macs = L.kind == layer_kind::conv ? double(L.kernel * L.kernel * L.in_c) * double(L.out_size()) : double(per) * double(L.out);
        la.kernel = L.kind == layer_kind::conv ? L.kernel : 1;
        la.stride = L.kind == layer_kind::conv ? L.stride : 1;
        la.c_out = L.out;
        la.weights = tab.weights;
        la.zero_weights = tab.zero_weights;
        la.biases = L.bias ? L.out_c : 0;
        la.dense_pairs = tab.dense_pairs;
        la.effective_pairs = per_step(x, la.steps, per, tab.direct_nonzero);
        std::int64_t odd = 0;
        Kokkos::parallel_reduce(
            "activity::ternary", range(0, la.steps * B_ * per),
            KOKKOS_LAMBDA(std::int64_t j, std::int64_t & acc) { acc += (x[j] != Real(0) && x[j] != Real(1) && x[j] != Real(-1)) ? 1 : 0; }, odd);
        la.ternary_input = odd == 0;
        la.source = source_of(i);
        if (la.source >= 0) {
          const std::size_t s = static_cast<std::size_t>(la.source);
          const std::int64_t sper = spec.layers[s].out_size();
          la.input_events = per_step(act_[s + 1].data(), la.steps, sper, {});
          la.synaptic_events = per_step(act_[s + 1].data(), la.steps, sper, tab.from_source);
        } else {
          la.input_events = per_step(x, la.steps, per, {});
          la.synaptic_events = per_step(x, la.steps, per, tab.direct);
        }
      } else if (L.kind == layer_kind::spike) {
        auto* sm = dynamic_cast<detail::spike_module<Exec>*>(layers_[i].get());
        la.neurons = L.out_size();
        la.spiking = spec.spiking();
        la.output_events = per_step(act_[i + 1].data(), la.steps, L.out_size(), {});
        const Real* x = copies(i) ? rep_.data() : act_[i].data();
        la.touched = sm->touched(x, rows_in(i), la.steps);
      } else {
        continue;
      }
      a.layers.push_back(std::move(la));
    }
    out->add(a);
  }

  std::string gemm_library() const override { return kl::gemm_library<Exec>(); }
  std::string gemm_advice() const override {
    return Kokkos::SpaceAccessibility<Exec, Kokkos::HostSpace>::accessible ? kl::gemm_advice() : std::string();
  }
  std::vector<array_ref> arrays() override {
    std::vector<array_ref> out;
    for (const auto& p : opt_->params().items()) out.push_back({"param." + p.name, p.value, p.size, false, false});
    for (std::size_t i = 0; i < layers_.size(); ++i) layers_[i]->add_arrays(out, name_of(i));
    for (const auto& [name, v] : opt_->state()) out.push_back({"optimizer." + name, v.data(), v.size(), false, true});
    return out;
  }

  void fold_check(const std::vector<float>& images, std::int64_t batch, std::uint64_t* compared, std::uint64_t* mismatched) override {
    load_input(images, batch, {});
    forward(false);
    auto host = [](const v1& v, std::size_t n) {
      auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
      return std::vector<float>(h.data(), h.data() + n);
    };
    bool any = false;
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      auto* s = dynamic_cast<detail::spike_module<Exec>*>(layers_[i].get());
      if (!s || !s->mpbn()) continue;
      any = true;
      auto* mp = s->mpbn();
      const bool rep = copies(i);
      const std::size_t n = static_cast<std::size_t>(T_ * batch * spec.layers[i].in_size());
      std::vector<float> folded;
      kl::folded_lif_forward(mp->fold(), spec.layers[i].neuron.mpbn_channelwise ? kl::mpbn_form::channel : kl::mpbn_form::element,
                             mp->channels(), mp->spatial(), mp->decay(), host(rep ? rep_ : act_[i], n), folded, T_, batch);
      const auto spikes = host(act_[i + 1], n);
      for (std::size_t k = 0; k < n; ++k) *mismatched += spikes[k] != folded[k];
      *compared += n;
    }
    if (!any) throw error("fold: the model has no MPBN layers (train with --neuron mpbn)");
  }

  std::vector<std::pair<int, std::vector<double>>> folded_rules() const override {
    std::vector<std::pair<int, std::vector<double>>> out;
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      auto* s = dynamic_cast<detail::spike_module<Exec>*>(layers_[i].get());
      if (!s || !s->mpbn()) continue;
      std::vector<double> v;
      const auto rules = s->mpbn()->fold();
      for (const auto& r : rules) v.push_back(r.theta);
      for (const auto& r : rules) v.push_back(r.dir);
      for (const auto& r : rules) v.push_back(r.constant ? 1.0 : 0.0);
      out.emplace_back(static_cast<int>(i), v);
    }
    return out;
  }

  std::int64_t optimizer_steps() const override { return opt_->steps(); }
  void set_optimizer_steps(std::int64_t t) override { opt_->set_steps(t); }
  void copy(const array_ref& a, void* host, bool to_host) override {
    const std::size_t bytes = a.size * (a.is_double ? sizeof(double) : sizeof(float));
    if (a.host) {
      if (to_host)
        std::memcpy(host, a.ptr, bytes);
      else
        std::memcpy(a.ptr, host, bytes);
      return;
    }
    using bytes_view = Kokkos::View<char*, mem, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
    using host_view = Kokkos::View<char*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
    bytes_view d(static_cast<char*>(a.ptr), bytes);
    host_view h(static_cast<char*>(host), bytes);
    if (to_host)
      Kokkos::deep_copy(h, d);
    else
      Kokkos::deep_copy(d, h);
  }

 private:
  std::vector<std::unique_ptr<detail::module<Exec>>> layers_;
  std::unique_ptr<kl::optimizer<Exec, Real>> opt_;
  std::int64_t T_ = 1, B_ = -1;
  int time_from_ = 0;
  double rmp_weight_now_ = 0;
  int rmp_layers_ = 0;
  std::vector<v1> act_, grad_;
  v1 rep_, grad_rep_;
  std::vector<fanout_tables> tables_;  // per layer, built at the first count_activity
  typename tt::template view<2> logits_, g_logits_, target_;
  Kokkos::View<std::int32_t*, mem> labels_;
};

std::unique_ptr<sequential_net_base> make(const model_spec& m, std::uint64_t seed, const std::string& backend) {
  return dispatch_backend<std::unique_ptr<sequential_net_base>>(backend, never_serial, [&](auto space, const char*) {
    using Exec = typename decltype(space)::type;
    return std::unique_ptr<sequential_net_base>(std::make_unique<net_impl<Exec>>(m, seed));
  });
}

}  // namespace

sequential_net::sequential_net(const model_spec& m, std::uint64_t seed, const std::string& backend) : impl_(make(m, seed, backend)) {}
sequential_net::~sequential_net() = default;
double sequential_net::train_step(const std::vector<float>& images, const std::vector<std::int32_t>& labels, int* correct,
                                  const std::vector<std::uint64_t>& ids) {
  return impl_->train_step(images, labels, correct, ids);
}
std::vector<int> sequential_net::predict(const std::vector<float>& images, std::int64_t batch, const std::vector<std::uint64_t>& ids) {
  return impl_->predict(images, batch, ids);
}
void sequential_net::set_epoch(int e, int epochs) { impl_->set_epoch(e, epochs); }
const loss_terms& sequential_net::last_loss() const { return impl_->last; }
const model_spec& sequential_net::spec() const { return impl_->spec; }
std::uint64_t sequential_net::seed() const { return impl_->seed; }
std::string sequential_net::gemm_library() const { return impl_->gemm_library(); }
std::string sequential_net::gemm_advice() const { return impl_->gemm_advice(); }
void sequential_net::fold_check(const std::vector<float>& images, std::int64_t batch, std::uint64_t* compared,
                                std::uint64_t* mismatched) {
  impl_->fold_check(images, batch, compared, mismatched);
}
std::vector<std::pair<int, std::vector<double>>> sequential_net::folded_rules() const { return impl_->folded_rules(); }
std::vector<std::vector<int>> sequential_net::predict_prefixes(const std::vector<float>& images, std::int64_t batch,
                                                               const std::vector<std::int64_t>& prefixes, const std::vector<std::uint64_t>& ids,
                                                               network_activity* activity) {
  return impl_->predict_prefixes(images, batch, prefixes, ids, activity);
}
std::vector<std::vector<float>> sequential_net::layer_outputs(const std::vector<float>& images, std::int64_t batch, const std::vector<int>& layers,
                                                              const std::vector<std::uint64_t>& ids) {
  return impl_->layer_outputs(images, batch, layers, ids);
}
std::vector<float> sequential_net::encoded_input(const std::vector<float>& images, std::int64_t batch,
                                                 const std::vector<std::uint64_t>& ids) const {
  return classify::encoded_input(impl_->spec, impl_->seed, images, batch, ids);
}
std::vector<int> sequential_net::count_activity(const std::vector<float>& images, std::int64_t batch, network_activity* activity,
                                                const std::vector<std::uint64_t>& ids) {
  return impl_->count_activity(images, batch, activity, ids);
}
std::vector<std::string> sequential_net::array_names() const {
  std::vector<std::string> out;
  for (const auto& a : impl_->arrays())
    if (!a.state && !a.is_double) out.push_back(a.name);
  return out;
}
std::vector<float> sequential_net::get_array(const std::string& name) const {
  for (const auto& a : impl_->arrays())
    if (a.name == name && !a.is_double) {
      std::vector<float> h(a.size);
      impl_->copy(a, h.data(), true);
      Kokkos::fence();
      return h;
    }
  throw error("no float array '" + name + "' in model " + impl_->spec.name);
}
std::vector<double> sequential_net::get_double_array(const std::string& name) const {
  for (const auto& a : impl_->arrays())
    if (a.name == name && a.is_double) {
      std::vector<double> h(a.size);
      impl_->copy(a, h.data(), true);
      Kokkos::fence();
      return h;
    }
  throw error("no double array '" + name + "' in model " + impl_->spec.name);
}
void sequential_net::set_double_array(const std::string& name, const std::vector<double>& values) {
  for (const auto& a : impl_->arrays())
    if (a.name == name && a.is_double) {
      if (values.size() != a.size)
        throw error(name + ": " + std::to_string(values.size()) + " values given, the array has " + std::to_string(a.size));
      std::vector<double> h = values;
      impl_->copy(a, h.data(), false);
      Kokkos::fence();
      return;
    }
  throw error("no double array '" + name + "' in model " + impl_->spec.name);
}
void sequential_net::set_array(const std::string& name, const std::vector<float>& values) {
  for (const auto& a : impl_->arrays())
    if (a.name == name && !a.is_double) {
      if (values.size() != a.size)
        throw error(name + ": " + std::to_string(values.size()) + " values given, the array has " + std::to_string(a.size));
      std::vector<float> h = values;
      impl_->copy(a, h.data(), false);
      Kokkos::fence();
      return;
    }
  throw error("no float array '" + name + "' in model " + impl_->spec.name);
}

}  // namespace kspike::classify

// ---------------------------------------------------------------------------------------------
// Checkpoints.
namespace kspike::classify {

namespace {

namespace h5 = io::h5;
constexpr const char* checkpoint_format = "kspike-train-2";

std::string read_attr(hid_t loc, const char* name, const std::string& path) {
  return h5::read_string_attribute(loc, name, path);
}

// A whole-number attribute in [lo, hi]; anything else names the file and the attribute.
std::int64_t read_count(hid_t loc, const char* name, const std::string& path, std::int64_t lo, std::int64_t hi) {
  const std::string s = read_attr(loc, name, path);
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || errno != 0 || v < lo || v > hi)
    throw error(path + ": attribute " + name + ": '" + s.substr(0, 40) + "' is not a whole number in [" + std::to_string(lo) + ", " +
                std::to_string(hi) + "]");
  return v;
}

h5::handle open_checkpoint(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) throw error(path + ": checkpoint not found");
  h5::handle f = h5::file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!f) throw error(path + ": not a readable HDF5 file (truncated?)");
  if (H5Aexists(f.get(), "kspike_format") <= 0 || read_attr(f.get(), "kspike_format", path) != checkpoint_format)
    throw error(path + ": not a kspike train checkpoint (format " + checkpoint_format + ")");
  return f;
}

// Reads every array of `want` (or, with `skip_state`, every one but the optimiser's) from f.
void read_arrays(hid_t f, const std::string& path, const std::vector<detail::array_ref>& want, bool skip_state,
                 sequential_net_base& net) {
  for (const auto& a : want) {
    if (skip_state && a.state) continue;
    std::vector<char> h(a.size * (a.is_double ? sizeof(double) : sizeof(float)));
    // Every value finite, and variances not negative: a NaN weight would otherwise run silently.
    auto check = [&](const auto* v) {
      const bool variance = a.name.find("running_var") != std::string::npos;
      for (std::size_t k = 0; k < a.size; ++k)
        if (!std::isfinite(v[k]) || (variance && v[k] < 0))
          throw error(path + ": " + a.name + ": value " + std::to_string(k) + " is " + std::to_string(double(v[k])) +
                      (variance ? " (a variance must be finite and >= 0)" : " (must be finite)"));
    };
    if (a.is_double) {
      h5::read_array(f, a.name, reinterpret_cast<double*>(h.data()), a.size, path, 1);
      check(reinterpret_cast<const double*>(h.data()));
    } else {
      h5::read_array(f, a.name, reinterpret_cast<float*>(h.data()), a.size, path, 1);
      check(reinterpret_cast<const float*>(h.data()));
    }
    net.copy(a, h.data(), false);
  }
}

// The first key on which two canonical model texts differ: "model.timesteps is 2 in the
// checkpoint but 3 here".
std::string first_difference(const std::string& stored, const std::string& here) {
  std::istringstream a(stored), b(here);
  std::string la, lb, section;
  int layer = -1;
  while (true) {
    const bool ga = static_cast<bool>(std::getline(a, la)), gb = static_cast<bool>(std::getline(b, lb));
    if (!ga || !gb) return ga == gb ? "" : "the number of layers differs";
    if (la == "[[layers]]") section = "layers[" + std::to_string(++layer) + "]";
    else if (!la.empty() && la[0] == '[') section = la.substr(1, la.size() - 2);
    if (la == lb) continue;
    const auto key = [](const std::string& l) { return l.substr(0, l.find(" = ")); };
    const auto value = [](const std::string& l) { return l.find(" = ") == std::string::npos ? l : l.substr(l.find(" = ") + 3); };
    if (key(la) != key(lb)) return section + ": the layers differ (" + la + " vs " + lb + ")";
    return section + "." + key(la) + " is " + value(la) + " in the checkpoint but " + value(lb) + " here";
  }
}

}  // namespace

void sequential_net::save(const std::string& path, const train_progress& progress) const {
  const std::string tmp = io::temporary_for(path);
  try {
    write_checkpoint(tmp, progress);
  } catch (const error&) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    throw;
  }
  std::filesystem::rename(tmp, path);
}

void sequential_net::write_checkpoint(const std::string& tmp, const train_progress& progress) const {
  {
    h5::quiet_errors quiet;
    h5::handle f = h5::file(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    if (!f) throw error(tmp + ": cannot create");
    const model_spec& m = impl_->spec;
    h5::write_string_attribute(f.get(), "kspike_format", checkpoint_format);
    h5::write_string_attribute(f.get(), "kspike_version", KSPIKE_VERSION);
    h5::write_string_attribute(f.get(), "gemm", impl_->gemm_library());
    h5::write_string_attribute(f.get(), "model", m.name);
    h5::write_string_attribute(f.get(), "model_toml", to_toml(m));
    h5::write_string_attribute(f.get(), "neuron", neuron_name(m.neuron.kind));
    h5::write_string_attribute(f.get(), "timesteps", std::to_string(m.effective_timesteps()));
    h5::write_string_attribute(f.get(), "seed", std::to_string(impl_->seed));
    h5::write_string_attribute(f.get(), "epochs_done", std::to_string(progress.epochs_done));
    h5::write_string_attribute(f.get(), "epochs_planned", std::to_string(progress.epochs_planned));
    h5::write_string_attribute(f.get(), "optimizer_steps", std::to_string(impl_->optimizer_steps()));
    std::string rows;
    for (const auto& r : progress.csv_rows) rows += r + "\n";
    h5::write_string_attribute(f.get(), "metrics_csv", rows);
    for (const auto& a : impl_->arrays()) {
      std::vector<char> h(a.size * (a.is_double ? sizeof(double) : sizeof(float)));
      impl_->copy(a, h.data(), true);
      if (a.is_double)
        h5::write_array(f.get(), a.name, reinterpret_cast<const double*>(h.data()), {a.size}, tmp);
      else
        h5::write_array(f.get(), a.name, reinterpret_cast<const float*>(h.data()), {a.size}, tmp);
    }
    if (!f.close()) throw error(tmp + ": HDF5 failed to finish the file (disk full?)");
  }
}

model_spec sequential_net::spec_in(const std::string& path) {
  h5::quiet_errors quiet;
  h5::handle f = open_checkpoint(path);
  return parse_model_spec(read_attr(f.get(), "model_toml", path), path + ":model_toml");
}

std::uint64_t sequential_net::seed_in(const std::string& path) {
  h5::quiet_errors quiet;
  h5::handle f = open_checkpoint(path);
  const std::string s = read_attr(f.get(), "seed", path);
  const bool digits = !s.empty() && s.size() <= 20 && s.find_first_not_of("0123456789") == std::string::npos;
  errno = 0;
  const unsigned long long v = digits ? std::strtoull(s.c_str(), nullptr, 10) : 0;
  if (!digits || errno == ERANGE) throw error(path + ": attribute seed: '" + s.substr(0, 40) + "' is not a whole number in [0, 2^64)");
  return static_cast<std::uint64_t>(v);
}

train_progress sequential_net::load(const std::string& path) {
  h5::quiet_errors quiet;
  const model_spec stored = spec_in(path);
  const model_spec& m = impl_->spec;
  if (to_toml(stored, false) != to_toml(m, false))
    throw error(path + ": a checkpoint of another model: " + first_difference(to_toml(stored, false), to_toml(m, false)));
  if (stored.train.batch != m.train.batch)
    throw error(path + ": batch is " + std::to_string(stored.train.batch) + " in the checkpoint but " +
                std::to_string(m.train.batch) + " here (a resume must keep it)");
  if (seed_in(path) != impl_->seed)
    throw error(path + ": seed is " + std::to_string(seed_in(path)) + " in the checkpoint but " + std::to_string(impl_->seed) + " here");
  h5::handle f = open_checkpoint(path);
  read_arrays(f.get(), path, impl_->arrays(), false, *impl_);
  impl_->set_optimizer_steps(read_count(f.get(), "optimizer_steps", path, 0, std::int64_t(1) << 50));
  train_progress p;
  p.epochs_done = static_cast<int>(read_count(f.get(), "epochs_done", path, 0, 100000));
  p.epochs_planned = static_cast<int>(read_count(f.get(), "epochs_planned", path, 0, 100000));
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

void sequential_net::init_from(const std::string& path) {
  h5::quiet_errors quiet;
  model_spec stored = spec_in(path);
  model_spec here = impl_->spec;
  stored.timesteps = here.timesteps = 1;  // the layers must match; T may differ
  if (to_toml(stored, false) != to_toml(here, false))
    throw error(path + ": not the same layers (timestep reduction keeps them): " +
                first_difference(to_toml(stored, false), to_toml(here, false)));
  h5::handle f = open_checkpoint(path);
  read_arrays(f.get(), path, impl_->arrays(), true, *impl_);
  Kokkos::fence();
}

void write_folded_rules(const std::string& path, const std::vector<std::pair<int, std::vector<double>>>& rules,
                        std::uint64_t compared, std::uint64_t mismatched) {
  h5::quiet_errors quiet;
  h5::handle f = h5::file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  if (!f) throw error(path + ": cannot create");
  h5::write_string_attribute(f.get(), "kspike_format", "mpbn-fold-2");
  h5::write_string_attribute(f.get(), "spikes_compared", std::to_string(compared));
  h5::write_string_attribute(f.get(), "spike_mismatches", std::to_string(mismatched));
  for (const auto& [layer, v] : rules) {
    const std::size_t c = v.size() / 3;
    const char* part[] = {"theta", "direction", "constant"};
    for (int k = 0; k < 3; ++k) {
      h5::write_array(f.get(), "layers." + std::to_string(layer) + "." + part[k], v.data() + k * c, {c}, path);
    }
  }
  if (!f.close()) throw error(path + ": HDF5 failed to finish the file (disk full?)");
}

}  // namespace kspike::classify
