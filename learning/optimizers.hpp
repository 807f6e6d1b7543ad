#pragma once
// Optimisers and learning-rate schedules, following the update equations PyTorch documents for
// torch.optim.SGD, Adam and AdamW (t counts steps from 1, g is the gradient, θ the parameter,
// λ the weight decay, which is 0 for parameters registered as decay-excluded):
//
//   SGD (momentum μ, dampening τ):
//     g ← g + λθ;   b ← g at t = 1, else b ← μb + (1−τ)g   (only when μ ≠ 0)
//     g ← g + μb (Nesterov) or g ← b;   θ ← θ − lr·g
//   Adam (L2 decay, folded into the gradient) and AdamW (decoupled decay):
//     Adam:  g ← g + λθ            AdamW: θ ← θ − lr·λ·θ   (before the moments are used)
//     m ← β₁m + (1−β₁)g;   v ← β₂v + (1−β₂)g²
//     amsgrad: v_max ← max(v_max, v) and v_max replaces v below
//     θ ← θ − (lr / (1−β₁ᵗ)) · m / ( √v / √(1−β₂ᵗ) + ε )
// The last line is PyTorch's implementation order (ε added after the bias correction of √v),
// which is the documented m̂ / (√v̂ + ε).
//
// Parameters are registered as (value, gradient, size, decay-excluded flag): contiguous memory
// in the execution space's memory space, usually the Views of the layers in tensor_layers.hpp.
// The optimiser only reads gradients; the caller clears them (parameter_list::zero_grad) before
// each backward pass, since layers accumulate into them. Updates are elementwise, so results do
// not depend on the backend or thread count. Scalars (bias corrections, step sizes) are
// computed in double on the host and applied in the parameters' precision, as PyTorch does.
#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "sim/core/kokkos_math.hpp"
#include "learning/tensor_layers.hpp"
#include "sim/core/error.hpp"

namespace kspike::learning {

template <class Real>
struct parameter {
  Real* value = nullptr;
  Real* grad = nullptr;
  std::size_t size = 0;
  bool decay_excluded = false;  // thresholds, leaks, batch-norm γ/β: no weight decay
  std::string name;             // for error messages and checkpoints
};

template <class Exec, class Real = float>
class parameter_list {
  using memory_space = typename Exec::memory_space;
  using flat = Kokkos::View<Real*, memory_space, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;

 public:
  // Any pair of contiguous Views of Real of the same size in Exec's memory space.
  template <class V, class G>
  void add(const V& value, const G& grad, bool decay_excluded = false, std::string name = "") {
    static_assert(std::is_same<typename V::non_const_value_type, Real>::value &&
                      std::is_same<typename G::non_const_value_type, Real>::value,
                  "parameter_list::add: value and gradient must hold the optimiser's scalar type");
    static_assert(Kokkos::SpaceAccessibility<Exec, typename V::memory_space>::accessible &&
                      Kokkos::SpaceAccessibility<Exec, typename G::memory_space>::accessible,
                  "parameter_list::add: the Views must be reachable from the execution space");
    if (name.empty()) name = "parameter " + std::to_string(items_.size());
    if (!value.span_is_contiguous() || !grad.span_is_contiguous())
      throw kspike::error("optimiser: " + name + ": value and gradient must be contiguous");
    if (value.size() != grad.size())
      throw kspike::error("optimiser: " + name + ": value has " + std::to_string(value.size()) +
                          " elements, gradient " + std::to_string(grad.size()));
    add(value.data(), grad.data(), value.size(), decay_excluded, std::move(name));
  }

  // Raw pointers into Exec's memory space, for parameters that are not Views.
  void add(Real* value, Real* grad, std::size_t size, bool decay_excluded = false, std::string name = "") {
    if (name.empty()) name = "parameter " + std::to_string(items_.size());
    if (size == 0) return;  // an absent bias: nothing to train
    if (value == nullptr || grad == nullptr) throw kspike::error("optimiser: " + name + ": null value or gradient");
    items_.push_back(parameter<Real>{value, grad, size, decay_excluded, std::move(name)});
  }

  // The layers of tensor_layers.hpp. Weights and biases take weight decay (PyTorch's default);
  // batch-norm γ and β do not.
  void add_layer(linear<Exec, Real>& l, const std::string& name = "linear") {
    add(l.weight(), l.grad_weight(), false, name + ".weight");
    if (l.bias().data() != nullptr) add(l.bias(), l.grad_bias(), false, name + ".bias");
  }
  void add_layer(conv2d<Exec, Real>& l, const std::string& name = "conv2d") {
    add(l.weight(), l.grad_weight(), false, name + ".weight");
    if (l.bias().data() != nullptr) add(l.bias(), l.grad_bias(), false, name + ".bias");
  }
  template <int Rank>
  void add_layer(batch_norm<Exec, Real, Rank>& l, const std::string& name = "batch_norm") {
    add(l.gamma(), l.grad_gamma(), true, name + ".gamma");
    add(l.beta(), l.grad_beta(), true, name + ".beta");
  }

  const std::vector<parameter<Real>>& items() const { return items_; }
  std::size_t size() const { return items_.size(); }

  void zero_grad() const {
    for (const auto& p : items_) Kokkos::deep_copy(Exec(), flat(p.grad, p.size), Real(0));
    Exec().fence();
  }

 private:
  std::vector<parameter<Real>> items_;
};

// Common part: the parameter list, the learning rate and the step count.
template <class Exec, class Real = float>
class optimizer {
 public:
  using memory_space = typename Exec::memory_space;
  using state_view = Kokkos::View<Real*, memory_space>;

  optimizer(parameter_list<Exec, Real> params, double lr) : params_(std::move(params)), lr_(lr) {
    check_lr(lr);
  }
  virtual ~optimizer() = default;

  // One update of every parameter from its current gradient.
  virtual void step() = 0;

  double lr() const { return lr_; }
  void set_lr(double lr) {
    check_lr(lr);
    lr_ = lr;
  }
  std::int64_t steps() const { return t_; }
  // For checkpoints: the step count, and every state buffer with a name that says which
  // parameter it belongs to (restoring both continues a run bit for bit).
  void set_steps(std::int64_t t) { t_ = t; }
  virtual std::vector<std::pair<std::string, state_view>> state() const { return {}; }
  const parameter_list<Exec, Real>& params() const { return params_; }
  void zero_grad() const { params_.zero_grad(); }

 protected:
  static void check_lr(double lr) {
    if (!(lr >= 0.0) || !std::isfinite(lr))
      throw kspike::error("optimiser: learning rate must be finite and >= 0, got " + std::to_string(lr));
  }
  // One state View per parameter, zero-initialised.
  std::vector<state_view> make_state(const char* label) const {
    std::vector<state_view> s;
    for (const auto& p : params_.items()) s.emplace_back(std::string(label) + ":" + p.name, p.size);
    return s;
  }
  using range = Kokkos::RangePolicy<Exec, Kokkos::IndexType<std::int64_t>>;

  parameter_list<Exec, Real> params_;
  double lr_;
  std::int64_t t_ = 0;
};

struct sgd_options {
  double lr = 0.01;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
};

template <class Exec, class Real = float>
class sgd : public optimizer<Exec, Real> {
  using base = optimizer<Exec, Real>;

 public:
  sgd(parameter_list<Exec, Real> params, const sgd_options& o) : base(std::move(params), o.lr), o_(o) {
    if (!(o.momentum >= 0.0) || !(o.weight_decay >= 0.0) || !(o.dampening >= 0.0 && o.dampening <= 1.0))
      throw kspike::error("sgd: momentum and weight_decay must be >= 0, dampening in [0, 1]");
    // As in PyTorch: Nesterov needs a momentum buffer that is not damped.
    if (o.nesterov && (o.momentum <= 0.0 || o.dampening != 0.0))
      throw kspike::error("sgd: nesterov needs momentum > 0 and dampening 0");
    if (o.momentum != 0.0) buf_ = this->make_state("kspike::sgd::momentum");
  }

  void step() override {
    ++this->t_;
    const bool first = this->t_ == 1, use_momentum = o_.momentum != 0.0, nesterov = o_.nesterov;
    const Real lr = Real(this->lr_), mu = Real(o_.momentum), damp = Real(1.0 - o_.dampening);
    const auto& items = this->params_.items();
    for (std::size_t i = 0; i < items.size(); ++i) {
      Real* const x = items[i].value;
      const Real* const gr = items[i].grad;
      const Real wd = Real(items[i].decay_excluded ? 0.0 : o_.weight_decay);
      Real* const b = use_momentum ? buf_[i].data() : nullptr;
      Kokkos::parallel_for(
          "kspike::sgd::step", typename base::range(0, std::int64_t(items[i].size)),
          KOKKOS_LAMBDA(const std::int64_t j) {
            Real g = gr[j];
            if (wd != Real(0)) g += wd * x[j];
            if (b != nullptr) {
              b[j] = first ? g : mu * b[j] + damp * g;
              g = nesterov ? g + mu * b[j] : b[j];
            }
            x[j] -= lr * g;
          });
    }
    Exec().fence();
  }

  const sgd_options& options() const { return o_; }

  std::vector<std::pair<std::string, typename base::state_view>> state() const override {
    std::vector<std::pair<std::string, typename base::state_view>> out;
    for (std::size_t i = 0; i < buf_.size(); ++i) out.emplace_back("sgd.momentum." + this->params_.items()[i].name, buf_[i]);
    return out;
  }

 private:
  sgd_options o_;
  std::vector<typename base::state_view> buf_;
};

struct adam_options {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool amsgrad = false;
  bool decoupled_weight_decay = false;  // true: AdamW
};

template <class Exec, class Real = float>
class adam : public optimizer<Exec, Real> {
  using base = optimizer<Exec, Real>;

 public:
  adam(parameter_list<Exec, Real> params, const adam_options& o) : base(std::move(params), o.lr), o_(o) {
    if (!(o.beta1 >= 0.0 && o.beta1 < 1.0) || !(o.beta2 >= 0.0 && o.beta2 < 1.0))
      throw kspike::error("adam: betas must be in [0, 1)");
    if (!(o.eps >= 0.0) || !(o.weight_decay >= 0.0)) throw kspike::error("adam: eps and weight_decay must be >= 0");
    m_ = this->make_state("kspike::adam::exp_avg");
    v_ = this->make_state("kspike::adam::exp_avg_sq");
    if (o.amsgrad) vmax_ = this->make_state("kspike::adam::max_exp_avg_sq");
  }

  void step() override {
    ++this->t_;
    const double t = double(this->t_);
    const double bc1 = 1.0 - std::pow(o_.beta1, t), bc2 = 1.0 - std::pow(o_.beta2, t);
    const Real step_size = Real(this->lr_ / bc1), bc2_sqrt = Real(std::sqrt(bc2));
    const Real b1 = Real(o_.beta1), b2 = Real(o_.beta2), eps = Real(o_.eps);
    const bool decoupled = o_.decoupled_weight_decay;
    const auto& items = this->params_.items();
    for (std::size_t i = 0; i < items.size(); ++i) {
      Real* const x = items[i].value;
      const Real* const gr = items[i].grad;
      const double wd = items[i].decay_excluded ? 0.0 : o_.weight_decay;
      // AdamW shrinks θ by (1 − lr·λ); Adam adds λθ to the gradient.
      const Real shrink = Real(decoupled ? 1.0 - this->lr_ * wd : 1.0), l2 = Real(decoupled ? 0.0 : wd);
      Real* const m = m_[i].data();
      Real* const v = v_[i].data();
      Real* const vmax = o_.amsgrad ? vmax_[i].data() : nullptr;
      Kokkos::parallel_for(
          "kspike::adam::step", typename base::range(0, std::int64_t(items[i].size)),
          KOKKOS_LAMBDA(const std::int64_t j) {
            if (shrink != Real(1)) x[j] *= shrink;
            Real g = gr[j];
            if (l2 != Real(0)) g += l2 * x[j];
            m[j] = b1 * m[j] + (Real(1) - b1) * g;
            v[j] = b2 * v[j] + (Real(1) - b2) * g * g;
            Real vv = v[j];
            if (vmax != nullptr) {
              vmax[j] = kmath::max(vmax[j], vv);
              vv = vmax[j];
            }
            x[j] -= step_size * m[j] / (kmath::sqrt(vv) / bc2_sqrt + eps);
          });
    }
    Exec().fence();
  }

  const adam_options& options() const { return o_; }

  std::vector<std::pair<std::string, typename base::state_view>> state() const override {
    std::vector<std::pair<std::string, typename base::state_view>> out;
    const auto& items = this->params_.items();
    for (std::size_t i = 0; i < items.size(); ++i) {
      out.emplace_back("adam.exp_avg." + items[i].name, m_[i]);
      out.emplace_back("adam.exp_avg_sq." + items[i].name, v_[i]);
      if (o_.amsgrad) out.emplace_back("adam.max_exp_avg_sq." + items[i].name, vmax_[i]);
    }
    return out;
  }

 private:
  adam_options o_;
  std::vector<typename base::state_view> m_, v_, vmax_;
};

// AdamW: Adam with decoupled weight decay; PyTorch's default λ is 0.01.
inline adam_options adamw_options(double lr = 1e-3, double weight_decay = 1e-2, bool amsgrad = false) {
  adam_options o;
  o.lr = lr;
  o.weight_decay = weight_decay;
  o.amsgrad = amsgrad;
  o.decoupled_weight_decay = true;
  return o;
}

// ---------------------------------------------------------------------------------------------
// Learning-rate schedules as closed forms of the epoch (0 = the first epoch), so a run resumed
// at epoch e gets the same rate without replaying the earlier ones. Use as
//   opt.set_lr(schedule.lr_at(epoch)) at the start of every epoch.
class lr_schedule {
 public:
  virtual ~lr_schedule() = default;
  virtual double lr_at(std::int64_t epoch) const = 0;
};

// Cosine annealing from base_lr to eta_min over t_max epochs (PyTorch's CosineAnnealingLR):
//   lr(e) = eta_min + (base_lr − eta_min)·(1 + cos(π·e/t_max))/2.
// PyTorch's rate climbs back up after t_max; here it stays at eta_min, which is what a run that
// overshoots its planned length wants.
class cosine_schedule : public lr_schedule {
 public:
  cosine_schedule(double base_lr, std::int64_t t_max, double eta_min = 0.0)
      : base_(base_lr), t_max_(t_max), eta_min_(eta_min) {
    if (t_max <= 0) throw kspike::error("cosine schedule: t_max must be positive");
  }
  double lr_at(std::int64_t epoch) const override {
    const double e = double(std::min(std::max<std::int64_t>(epoch, 0), t_max_));
    const double pi = 3.14159265358979323846;
    return eta_min_ + (base_ - eta_min_) * 0.5 * (1.0 + std::cos(pi * e / double(t_max_)));
  }

 private:
  double base_;
  std::int64_t t_max_;
  double eta_min_;
};

// lr(e) = base_lr · gamma^⌊e / step_size⌋ (PyTorch's StepLR).
class step_schedule : public lr_schedule {
 public:
  step_schedule(double base_lr, std::int64_t step_size, double gamma = 0.1)
      : base_(base_lr), step_(step_size), gamma_(gamma) {
    if (step_size <= 0) throw kspike::error("step schedule: step_size must be positive");
  }
  double lr_at(std::int64_t epoch) const override {
    return base_ * std::pow(gamma_, double(std::max<std::int64_t>(epoch, 0) / step_));
  }

 private:
  double base_;
  std::int64_t step_;
  double gamma_;
};

// lr(e) = base_lr · gamma^(number of milestones ≤ e) (PyTorch's MultiStepLR), e.g. IIR-SNN's
// "÷5 at 60/80/90 % of the epochs" is milestones {0.6E, 0.8E, 0.9E}, gamma 0.2.
class multi_step_schedule : public lr_schedule {
 public:
  multi_step_schedule(double base_lr, std::vector<std::int64_t> milestones, double gamma = 0.1)
      : base_(base_lr), milestones_(std::move(milestones)), gamma_(gamma) {
    std::sort(milestones_.begin(), milestones_.end());
  }
  double lr_at(std::int64_t epoch) const override {
    const auto passed = std::upper_bound(milestones_.begin(), milestones_.end(), epoch) - milestones_.begin();
    return base_ * std::pow(gamma_, double(passed));
  }

 private:
  double base_;
  std::vector<std::int64_t> milestones_;
  double gamma_;
};

}  // namespace kspike::learning
