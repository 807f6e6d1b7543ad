#pragma once
// Membrane-potential batch norm (MPBN, Guo et al. ICCV 2023; docs/models.md "MPBN"), the LIF of the
// official code with a batch norm on the membrane before firing:
//
//   u_t = decay · v_{t-1} + x_t                  charge (decay 0.25, no 1/tau on the input)
//   ũ_t = γ (u_t − μ_t) / √(σ²_t + ε) + β        BN of the membrane, statistics per step
//   S_t = [ũ_t > V_th]                           V_th = 0.5 (the repo's ũ/1.0 > 0.5), strict
//   v_t = u_t (1 − S_t)                          hard reset on the PRE-BN membrane
//
// Two forms: channel-wise (one (μ, σ², γ, β) per channel, statistics over batch and space at each
// step) and element-wise (one per neuron (c, h, w), statistics over the batch only). In training,
// μ_t, σ²_t are the batch's at step t and the running statistics (momentum 0.1, unbiased variance,
// shared across t) are updated at every step; in eval the running statistics are used.
// Backward (BPTT, the reset path not detached), with sg the repo's tanh window (surrogate.hpp
// mpbn_tanh) at ũ_t:
//   gS_total = dL/dS_t − u_t · dL/dv_t,   dL/dũ_t = sg · gS_total,
//   dL/du_t  = (1 − S_t) · dL/dv_t + BN_backward(dL/dũ_t),   dL/dx_t = dL/du_t,
//   dL/dv_{t−1} = decay · dL/du_t.
// After training, fold() replaces the BN by a per-group threshold and firing direction (exact in
// eval mode, also for γ ≤ 0): see mpbn_fold below.
//
// Tensors are [T, N, C, S] (S = H·W, 1 for dense layers), contiguous.
#include <Kokkos_Core.hpp>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "sim/core/error.hpp"
#include "sim/core/kokkos_math.hpp"

namespace kspike::learning {

// The repo's straight-through gradient: with y = clip(ũ, 0, 1) and b = temp (3),
// b (1 − tanh²(b (y − ½))) / (2 tanh(b/2)) on 0 < ũ < 1, else 0 (docs/models.md "MPBN").
KOKKOS_INLINE_FUNCTION double mpbn_surrogate(double u_norm, double temp = 3.0) {
  if (!(u_norm > 0.0 && u_norm < 1.0)) return 0.0;
  const double th = kmath::tanh(temp * (u_norm - 0.5));
  return temp * (1.0 - th * th) / (2.0 * kmath::tanh(temp / 2.0));
}

enum class mpbn_form { channel, element };

// One group's folded firing rule: fire iff dir · u > dir · theta (dir = ±1), or always / never
// when γ = 0 (dir = 0, constant = whether β > V_th).
struct mpbn_fold {
  double theta = 0;
  int dir = 1;
  bool constant = false;
  bool fires(double u) const { return dir == 0 ? constant : (dir > 0 ? u > theta : u < theta); }
};

// Eval-mode BN + threshold as a threshold on the un-normalised membrane:
//   γ (u − μ)/√(σ²+ε) + β > V_th  ⇔  u > θ' (γ > 0), u < θ' (γ < 0),  θ' = μ + (V_th − β) √(σ²+ε) / γ.
inline mpbn_fold fold_group(double gamma, double beta, double mean, double var, double eps, double v_th) {
  mpbn_fold f;
  if (gamma == 0.0) {
    f.dir = 0;
    f.constant = beta > v_th;
    f.theta = std::nan("");
    return f;
  }
  f.theta = mean + (v_th - beta) * std::sqrt(var + eps) / gamma;
  f.dir = gamma > 0 ? 1 : -1;
  return f;
}

template <class Exec, class Real = float>
class mpbn_lif {
  using mem = typename Exec::memory_space;
  using view1 = Kokkos::View<Real*, mem>;
  using dview1 = Kokkos::View<double*, mem>;

 public:
  // channels C, spatial size S (H·W); decay, V_th, momentum, eps as in the official code.
  mpbn_lif(std::int64_t channels, std::int64_t spatial, mpbn_form form = mpbn_form::channel, double decay = 0.25,
           double v_th = 0.5, double momentum = 0.1, double eps = 1e-5)
      : c_(channels), s_(spatial), form_(form), decay_(decay), v_th_(v_th), momentum_(momentum), eps_(eps) {
    if (channels < 1 || spatial < 1) throw error("mpbn_lif: channels and spatial size must be >= 1");
    if (!(decay >= 0 && decay <= 1)) throw error("mpbn_lif: decay must be in [0, 1]");
    if (!(eps > 0) || !(momentum >= 0 && momentum <= 1)) throw error("mpbn_lif: momentum in [0, 1], eps > 0");
    g_ = form == mpbn_form::channel ? c_ : c_ * s_;
    gamma_ = view1("kspike::mpbn::gamma", g_);
    beta_ = view1("kspike::mpbn::beta", g_);
    grad_gamma_ = view1("kspike::mpbn::grad_gamma", g_);
    grad_beta_ = view1("kspike::mpbn::grad_beta", g_);
    running_mean_ = view1("kspike::mpbn::running_mean", g_);
    running_var_ = view1("kspike::mpbn::running_var", g_);
    Kokkos::deep_copy(gamma_, Real(1));
    Kokkos::deep_copy(running_var_, Real(1));
  }

  std::int64_t groups() const { return g_; }
  void set_training(bool on) { training_ = on; }
  const view1& gamma() const { return gamma_; }
  const view1& beta() const { return beta_; }
  const view1& grad_gamma() const { return grad_gamma_; }
  const view1& grad_beta() const { return grad_beta_; }
  const view1& running_mean() const { return running_mean_; }
  const view1& running_var() const { return running_var_; }
  void zero_grad() {
    Kokkos::deep_copy(grad_gamma_, Real(0));
    Kokkos::deep_copy(grad_beta_, Real(0));
  }

  // x, spikes: [T, N, C, S] flat (T·N·C·S values each).
  template <class XV, class SV>
  void forward(const XV& x, const SV& spikes, std::int64_t T, std::int64_t N) {
    const std::int64_t per_step = N * c_ * s_;
    if (T < 1 || N < 1) throw error("mpbn_lif: T and N must be >= 1");
    if (static_cast<std::int64_t>(x.size()) != T * per_step || static_cast<std::int64_t>(spikes.size()) != T * per_step)
      throw error("mpbn_lif: input has " + std::to_string(x.size()) + " values, expected T*N*C*S = " +
                  std::to_string(T * per_step));
    const bool train = training_;
    const std::int64_t m = N * (form_ == mpbn_form::channel ? s_ : 1);
    if (train && m < 2) throw error("mpbn_lif: training needs more than one value per group and step");
    T_ = T;
    N_ = N;
    u_ = view1("kspike::mpbn::u", T * per_step);        // pre-BN membrane (before reset)
    xhat_ = view1("kspike::mpbn::xhat", T * per_step);  // normalised membrane
    mean_ = dview1("kspike::mpbn::mean", T * g_);
    inv_std_ = dview1("kspike::mpbn::inv_std", T * g_);
    view1 v("kspike::mpbn::v", per_step);
    const Real* xp = x.data();
    Real* sp = spikes.data();
    Real *up = u_.data(), *xh = xhat_.data(), *vp = v.data();
    double *mean = mean_.data(), *inv = inv_std_.data();
    Real *gam = gamma_.data(), *bet = beta_.data(), *rm = running_mean_.data(), *rv = running_var_.data();
    const std::int64_t C = c_, S = s_, G = g_;
    const bool channel = form_ == mpbn_form::channel;
    const double decay = decay_, v_th = v_th_, mom = momentum_, eps = eps_;
    using range = Kokkos::RangePolicy<Exec, Kokkos::IndexType<std::int64_t>>;
    for (std::int64_t t = 0; t < T; ++t) {
      const std::int64_t off = t * per_step;
      Kokkos::parallel_for("kspike::mpbn::charge", range(0, per_step), KOKKOS_LAMBDA(std::int64_t i) {
        up[off + i] = static_cast<Real>(decay * static_cast<double>(vp[i]) + static_cast<double>(xp[off + i]));
      });
      Kokkos::parallel_for("kspike::mpbn::statistics", range(0, G), KOKKOS_LAMBDA(std::int64_t g) {
        double mu, var;
        // Members of group g: channel c = g (all s) or neuron (c, s) = g.
        const std::int64_t c = channel ? g : g / S, s0 = channel ? 0 : g % S, s1 = channel ? S : s0 + 1;
        if (train) {
          double sum = 0;
          for (std::int64_t n = 0; n < N; ++n)
            for (std::int64_t s = s0; s < s1; ++s) sum += up[off + (n * C + c) * S + s];
          mu = sum / double(m);
          double sq = 0;
          for (std::int64_t n = 0; n < N; ++n)
            for (std::int64_t s = s0; s < s1; ++s) {
              const double d = up[off + (n * C + c) * S + s] - mu;
              sq += d * d;
            }
          var = sq / double(m);
          rm[g] = static_cast<Real>((1 - mom) * rm[g] + mom * mu);
          rv[g] = static_cast<Real>((1 - mom) * rv[g] + mom * var * double(m) / double(m - 1));
        } else {
          mu = rm[g];
          var = rv[g];
        }
        mean[t * G + g] = mu;
        inv[t * G + g] = 1.0 / kmath::sqrt(var + eps);
      });
      Kokkos::parallel_for("kspike::mpbn::fire", range(0, per_step), KOKKOS_LAMBDA(std::int64_t i) {
        const std::int64_t c = (i / S) % C, s = i % S, g = channel ? c : c * S + s;
        const double xn = (static_cast<double>(up[off + i]) - mean[t * G + g]) * inv[t * G + g];
        xh[off + i] = static_cast<Real>(xn);
        const double un = static_cast<double>(gam[g]) * xn + static_cast<double>(bet[g]);
        const bool fire = un > v_th;
        sp[off + i] = fire ? Real(1) : Real(0);
        vp[i] = fire ? Real(0) : up[off + i];
      });
    }
    Kokkos::fence();
    forwarded_train_ = train;
  }

  // grad_spikes: dL/dS [T, N, C, S]; writes dL/dx and accumulates dL/dγ, dL/dβ.
  template <class GV, class XV>
  void backward(const GV& grad_spikes, const XV& grad_x) {
    if (u_.data() == nullptr) throw internal_error("mpbn_lif: backward called before forward");
    const std::int64_t T = T_, N = N_, C = c_, S = s_, G = g_, per_step = N * C * S;
    if (static_cast<std::int64_t>(grad_spikes.size()) != T * per_step ||
        static_cast<std::int64_t>(grad_x.size()) != T * per_step)
      throw error("mpbn_lif: gradient shapes do not match the forward input");
    const bool channel = form_ == mpbn_form::channel, train = forwarded_train_;
    const std::int64_t m = N * (channel ? S : 1);
    const double decay = decay_, v_th = v_th_;
    dview1 gv("kspike::mpbn::grad_v", per_step), gn("kspike::mpbn::grad_norm", per_step);
    dview1 sum_g("kspike::mpbn::sum_g", G), sum_gx("kspike::mpbn::sum_gx", G);
    const Real* gs = grad_spikes.data();
    Real* gx = grad_x.data();
    const Real *up = u_.data(), *xh = xhat_.data(), *gam = gamma_.data(), *bet = beta_.data();
    Real *ggam = grad_gamma_.data(), *gbet = grad_beta_.data();
    const double* inv = inv_std_.data();
    double *gvp = gv.data(), *gnp = gn.data(), *sg = sum_g.data(), *sgx = sum_gx.data();
    using range = Kokkos::RangePolicy<Exec, Kokkos::IndexType<std::int64_t>>;
    for (std::int64_t t = T - 1; t >= 0; --t) {
      const std::int64_t off = t * per_step;
      // dL/dũ through the spike (its own gradient and the reset's).
      Kokkos::parallel_for("kspike::mpbn::grad_spike", range(0, per_step), KOKKOS_LAMBDA(std::int64_t i) {
        const std::int64_t c = (i / S) % C, s = i % S, g = channel ? c : c * S + s;
        const double un = static_cast<double>(gam[g]) * xh[off + i] + static_cast<double>(bet[g]);
        const double g_total = static_cast<double>(gs[off + i]) - static_cast<double>(up[off + i]) * gvp[i];
        // The repo's window is on ũ / V_th' with V_th' = 1 and the threshold at 0.5.
        gnp[i] = mpbn_surrogate(un / (2.0 * v_th)) / (2.0 * v_th) * g_total;
      });
      Kokkos::parallel_for("kspike::mpbn::grad_sums", range(0, G), KOKKOS_LAMBDA(std::int64_t g) {
        const std::int64_t c = channel ? g : g / S, s0 = channel ? 0 : g % S, s1 = channel ? S : s0 + 1;
        double a = 0, b = 0;
        for (std::int64_t n = 0; n < N; ++n)
          for (std::int64_t s = s0; s < s1; ++s) {
            const std::int64_t i = (n * C + c) * S + s;
            a += gnp[i];
            b += gnp[i] * xh[off + i];
          }
        sg[g] = a;
        sgx[g] = b;
        ggam[g] += static_cast<Real>(b);
        gbet[g] += static_cast<Real>(a);
      });
      Kokkos::parallel_for("kspike::mpbn::grad_u", range(0, per_step), KOKKOS_LAMBDA(std::int64_t i) {
        const std::int64_t c = (i / S) % C, s = i % S, g = channel ? c : c * S + s;
        const double scale = static_cast<double>(gam[g]) * inv[t * G + g];
        const double through_bn =
            train ? scale * (gnp[i] - (sg[g] + static_cast<double>(xh[off + i]) * sgx[g]) / double(m)) : scale * gnp[i];
        const double un = static_cast<double>(gam[g]) * xh[off + i] + static_cast<double>(bet[g]);
        const double spiked = un > v_th ? 1.0 : 0.0;
        const double gu = (1.0 - spiked) * gvp[i] + through_bn;
        gx[off + i] = static_cast<Real>(gu);
        gvp[i] = decay * gu;
      });
    }
    Kokkos::fence();
  }

  // Per-group folded rule from the running statistics (eval-mode BN).
  std::vector<mpbn_fold> fold() const {
    auto h = [](const view1& v) {
      auto m = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
      return std::vector<double>(m.data(), m.data() + m.size());
    };
    const auto g = h(gamma_), b = h(beta_), mu = h(running_mean_), var = h(running_var_);
    std::vector<mpbn_fold> out;
    for (std::int64_t k = 0; k < g_; ++k)
      out.push_back(fold_group(g[static_cast<std::size_t>(k)], b[static_cast<std::size_t>(k)],
                               mu[static_cast<std::size_t>(k)], var[static_cast<std::size_t>(k)], eps_, v_th_));
    return out;
  }

  std::int64_t channels() const { return c_; }
  std::int64_t spatial() const { return s_; }
  mpbn_form form() const { return form_; }
  double decay() const { return decay_; }

 private:
  std::int64_t c_, s_, g_ = 0;
  mpbn_form form_;
  double decay_, v_th_, momentum_, eps_;
  bool training_ = true, forwarded_train_ = true;
  std::int64_t T_ = 0, N_ = 0;
  view1 gamma_, beta_, grad_gamma_, grad_beta_, running_mean_, running_var_;
  view1 u_, xhat_;
  dview1 mean_, inv_std_;
};

// The folded model: a plain LIF (same charge and reset) firing by a per-group threshold and
// direction. x, spikes: [T, N, C, S] on the host (inference of the deployed network).
inline void folded_lif_forward(const std::vector<mpbn_fold>& rule, mpbn_form form, std::int64_t C, std::int64_t S,
                               double decay, const std::vector<float>& x, std::vector<float>& spikes, std::int64_t T,
                               std::int64_t N) {
  const std::int64_t per_step = N * C * S;
  if (static_cast<std::int64_t>(x.size()) != T * per_step) throw error("folded_lif: input size mismatch");
  const std::int64_t G = form == mpbn_form::channel ? C : C * S;
  if (static_cast<std::int64_t>(rule.size()) != G) throw error("folded_lif: one rule per group expected");
  spikes.assign(x.size(), 0.0f);
  std::vector<float> v(static_cast<std::size_t>(per_step), 0.0f);
  for (std::int64_t t = 0; t < T; ++t)
    for (std::int64_t i = 0; i < per_step; ++i) {
      const std::int64_t c = (i / S) % C, s = i % S, g = form == mpbn_form::channel ? c : c * S + s;
      const float u = static_cast<float>(decay * static_cast<double>(v[static_cast<std::size_t>(i)]) +
                                         static_cast<double>(x[static_cast<std::size_t>(t * per_step + i)]));
      const bool fire = rule[static_cast<std::size_t>(g)].fires(u);
      spikes[static_cast<std::size_t>(t * per_step + i)] = fire ? 1.0f : 0.0f;
      v[static_cast<std::size_t>(i)] = fire ? 0.0f : u;
    }
}

}  // namespace kspike::learning
