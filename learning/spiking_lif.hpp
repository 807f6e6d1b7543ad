#pragma once
// Multi-step spiking LIF/IF layer: forward over all T steps and backward by BPTT, each one
// fused kernel (a parallel_for over the N neurons with the time loop inside), so a layer costs
// two launches per training step whatever T is.
//
// Tensors are [T, N] Views, N = batch × features flattened, LayoutRight so that neighbouring
// neurons are neighbours in memory at every step (coalesced on a GPU, streamed on a CPU).
//
// One step, for every option (docs/models.md "The training neuron"; docs/training.md):
//   H_t = β P_{t-1} + (1-β) v_rest + c x_t - [delayed soft] S_{t-1} θ      charge
//   S_t = Θ(H_t - θ)   (or g(H_t - θ) with firing_function::surrogate_primitive)
//   P_t = S_t V_r + (1-S_t) H_t    hard reset (same step, or delayed "zero")
//   P_t = H_t - S_t θ              soft reset, same step
//   P_t = H_t                      soft reset, delayed (the subtraction is in the charge)
// with P_{-1} = V_r for hard reset, initial_membrane·θ (default 0) for soft. β, c and v_rest come from the leak form:
//   tau:  β = 1 - 1/τ, c = decay_input ? 1/τ : 1,   v_rest = V_r (hard) or 0 (soft)
//   beta: β clamped to [0, 1], c = decay_input ? 1-β : 1, v_rest = 0
//   none: β = 1, c = 1 (IF)
// P is the membrane after reset that SpikingJelly reports as V; in the delayed (snnTorch)
// mode the reported membrane is H itself, snnTorch's mem.
//
// Backward (BPTT, reverse time loop), with g_t = g'(H_t - θ) standing in for dS_t/dH_t:
//   dL/dS_t  = grad_out_t + dL/dP_t · ∂P_t/∂S_t      (the second term is 0 if detached)
//   dL/dH_t  = dL/dP_t · ∂P_t/∂H_t|_S + dL/dS_t · g_t
//   dL/dx_t  = c · dL/dH_t,    dL/dP_{t-1} = β · dL/dH_t
//   dL/dθ   += -dL/dS_t · g_t + dL/dP_t · ∂P_t/∂θ|_S - [delayed soft] dL/dH_{t+1} · S_t
//   dL/dβ   += dL/dH_t · (P_{t-1} - v_rest - [decay_input] x_t)
// with ∂P/∂H|_S = 1-S (hard) or 1 (soft), ∂P/∂S = V_r - H (hard) or -θ (soft, same step),
// ∂P/∂θ|_S = -S (soft, same step) or 0. The delayed reset is always detached.
//
// Forward keeps H (per step and neuron) for backward; S and P are recomputed from it by the
// same inline functions, hence bit-identical to what forward produced.
#include <Kokkos_Core.hpp>

#include <cstdint>
#include <string>

#include "learning/spiking_lif_params.hpp"
#include "learning/surrogate.hpp"
#include "sim/core/error.hpp"

namespace kspike::learning {

namespace detail {

// The parameters as the kernels use them, derived once on the host.
template <class Real>
struct lif_coeffs {
  Real beta;         // decay of the carried membrane
  Real in_scale;     // c, the input's weight
  Real v_rest;       // where the leak pulls the membrane
  Real leak;         // (1 - β) v_rest
  Real v_threshold;  // θ
  Real v_reset;      // V_r
  Real v_init;       // P_{-1}
  bool hard;
  bool delayed;
  bool detach;  // detach_reset, or implied by the delayed reset
  bool strict;  // fire on > rather than >=
  bool smooth;  // firing_function::surrogate_primitive
  bool decay_input;
  surrogate_fn<Real> sg;

  // S_t from H_t.
  KOKKOS_INLINE_FUNCTION Real fire(Real h) const {
    const Real x = h - v_threshold;
    if (smooth) return sg.primitive(x);
    return (strict ? x > Real(0) : x >= Real(0)) ? Real(1) : Real(0);
  }
  // P_t from H_t and S_t: what the next charge starts from.
  KOKKOS_INLINE_FUNCTION Real carried(Real h, Real s) const {
    if (hard) return s * v_reset + (Real(1) - s) * h;
    return delayed ? h : h - s * v_threshold;
  }
  // H_t from P_{t-1}, x_t and (delayed soft reset only) S_{t-1}.
  KOKKOS_INLINE_FUNCTION Real charge(Real p_prev, Real x, Real s_prev) const {
    const Real h = beta * p_prev + leak + in_scale * x;
    return delayed && !hard ? h - s_prev * v_threshold : h;
  }
};

template <class Real>
lif_coeffs<Real> make_lif_coeffs(const spiking_lif_params& p) {
  validate(p);
  double beta = 1.0, in_scale = 1.0, v_rest = 0.0;
  const bool hard = p.reset == lif_reset::hard;
  switch (p.form) {
    case leak_form::tau:
      beta = 1.0 - 1.0 / p.tau;
      in_scale = p.decay_input ? 1.0 / p.tau : 1.0;
      v_rest = hard ? p.v_reset : 0.0;  // SpikingJelly leaks towards 0 when v_reset is None
      break;
    case leak_form::beta:
      beta = p.beta < 0.0 ? 0.0 : (p.beta > 1.0 ? 1.0 : p.beta);  // snnTorch clamps β
      in_scale = p.decay_input ? 1.0 - beta : 1.0;
      break;
    case leak_form::none:
      break;
  }
  lif_coeffs<Real> c{};
  c.beta = static_cast<Real>(beta);
  c.in_scale = static_cast<Real>(in_scale);
  c.v_rest = static_cast<Real>(v_rest);
  c.leak = static_cast<Real>((1.0 - beta) * v_rest);
  c.v_threshold = static_cast<Real>(p.v_threshold);
  c.v_reset = static_cast<Real>(p.v_reset);
  c.v_init = static_cast<Real>(hard ? p.v_reset : p.initial_membrane * p.v_threshold);
  c.hard = hard;
  c.delayed = p.reset_delay;
  c.detach = p.detach_reset || p.reset_delay;
  c.strict = p.fire == fire_rule::greater;
  c.smooth = p.firing == firing_function::surrogate_primitive;
  c.decay_input = p.decay_input && p.form != leak_form::none;
  c.sg = surrogate_fn<Real>::from(p.surrogate);
  return c;
}

// Parameter gradients summed over steps and neurons, in double: the order in which threads
// combine the neurons' partial sums depends on the thread count, and double keeps that
// difference far below what a float gradient can resolve.
struct lif_param_grads {
  double threshold = 0;
  double beta = 0;

  KOKKOS_INLINE_FUNCTION lif_param_grads& operator+=(const lif_param_grads& o) {
    threshold += o.threshold;
    beta += o.beta;
    return *this;
  }
#if KOKKOS_VERSION < 40000
  // Kokkos 3 joins through volatile references on some backends.
  KOKKOS_INLINE_FUNCTION void operator+=(const volatile lif_param_grads& o) volatile {
    threshold = threshold + o.threshold;
    beta = beta + o.beta;
  }
#endif
};

template <class Real, class MemorySpace>
struct lif_forward_kernel {
  using const_view = Kokkos::View<const Real**, Kokkos::LayoutRight, MemorySpace>;
  using view = Kokkos::View<Real**, Kokkos::LayoutRight, MemorySpace>;
  lif_coeffs<Real> c;
  const_view x;
  view spikes, h_saved, membrane;  // membrane may be empty
  bool write_membrane;
  bool repeat = false;  // x is one step [1, N], the input of every step
  bool store_h = true;  // keep H for backward (not in inference)

  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    const std::int64_t steps = static_cast<std::int64_t>(spikes.extent(0));
    Real p = c.v_init;
    Real s = Real(0);
    for (std::int64_t t = 0; t < steps; ++t) {
      const Real h = c.charge(p, x(repeat ? 0 : t, i), s);
      s = c.fire(h);
      p = c.carried(h, s);
      if (store_h) h_saved(t, i) = h;
      spikes(t, i) = s;
      if (write_membrane) membrane(t, i) = c.delayed ? h : p;
    }
  }

  // Neurons [lo, hi) (at most `block_size`) on a host: time outer, neurons inner, so the inner
  // loop runs over contiguous memory and vectorises. Per neuron the same operations in the same
  // order as operator(), so the results are identical.
  static constexpr std::int64_t block_size = 512;
  void block(const std::int64_t lo, const std::int64_t hi) const {
    const std::int64_t steps = static_cast<std::int64_t>(spikes.extent(0)), n = hi - lo;
    Real p[block_size], s[block_size], h_local[block_size];
    for (std::int64_t j = 0; j < n; ++j) {
      p[j] = c.v_init;
      s[j] = Real(0);
    }
    for (std::int64_t t = 0; t < steps; ++t) {
      const Real* KOKKOS_RESTRICT xt = &x(repeat ? 0 : t, lo);
      Real* KOKKOS_RESTRICT ht = store_h ? &h_saved(t, lo) : h_local;
      Real* KOKKOS_RESTRICT st = &spikes(t, lo);
      if (!c.smooth && !c.hard && !c.delayed && !c.strict) {
        // The common soft reset with a Heaviside on >=, branch-free so that it vectorises
        // (the same operations as charge(), fire(), carried()).
        const Real beta = c.beta, leak = c.leak, in_scale = c.in_scale, thr = c.v_threshold;
        for (std::int64_t j = 0; j < n; ++j) {
          const Real h = beta * p[j] + leak + in_scale * xt[j];
          const Real sj = h - thr >= Real(0) ? Real(1) : Real(0);
          p[j] = h - sj * thr;
          s[j] = sj;
          ht[j] = h;
          st[j] = sj;
        }
      } else {
        for (std::int64_t j = 0; j < n; ++j) {
          const Real h = c.charge(p[j], xt[j], s[j]);
          const Real sj = c.fire(h);
          p[j] = c.carried(h, sj);
          s[j] = sj;
          ht[j] = h;
          st[j] = sj;
        }
      }
      if (write_membrane)
        for (std::int64_t j = 0; j < n; ++j) membrane(t, lo + j) = c.delayed ? ht[j] : p[j];
    }
  }
};

template <class Real, class MemorySpace>
struct lif_backward_kernel {
  using const_view = Kokkos::View<const Real**, Kokkos::LayoutRight, MemorySpace>;
  using view = Kokkos::View<Real**, Kokkos::LayoutRight, MemorySpace>;
  lif_coeffs<Real> c;
  const_view h_saved, grad_spikes, x;  // x only when dL/dβ needs it (decay_input)
  view grad_x;
  bool want_beta;  // skip dL/dβ's recomputation of P_{t-1} when β is not trained
  const_view grad_h_in;  // optional dL/dH_t from a loss on the membrane itself (RMP); empty: none
  bool repeat = false;   // the forward's x was one step repeated: grad_x [1, N] is the sum over t

  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i) const {
    lif_param_grads unused;
    (*this)(i, unused);
  }

  KOKKOS_INLINE_FUNCTION void operator()(const std::int64_t i, lif_param_grads& sums) const {
    const std::int64_t steps = static_cast<std::int64_t>(h_saved.extent(0));
    const Real theta = c.v_threshold;
    Real grad_p = Real(0);       // dL/dP_t, arriving from step t+1
    Real grad_h_next = Real(0);  // dL/dH_{t+1}
    double d_theta = 0, d_beta = 0;  // see lif_param_grads
    Real grad_x_sum = Real(0);
    for (std::int64_t t = steps - 1; t >= 0; --t) {
      const Real h = h_saved(t, i);
      const Real s = c.fire(h);
      const Real g = c.sg.derivative(h - theta);
      // How P_t depends on H_t (S held) and on S_t; the latter is cut when detached.
      const Real dp_dh = c.hard ? Real(1) - s : Real(1);
      const Real dp_ds = c.detach ? Real(0) : (c.hard ? c.v_reset - h : -theta);
      const Real grad_s = grad_spikes(t, i) + grad_p * dp_ds;
      Real grad_h = grad_p * dp_dh + grad_s * g;
      if (grad_h_in.data() != nullptr) grad_h += grad_h_in(t, i);
      if (repeat)
        grad_x_sum += c.in_scale * grad_h;
      else
        grad_x(t, i) = c.in_scale * grad_h;

      d_theta -= static_cast<double>(grad_s * g);
      if (!c.hard) d_theta -= static_cast<double>((c.delayed ? grad_h_next : grad_p) * s);

      if (want_beta) {
        // P_{t-1} (and S_{t-1}) recomputed from the stored H_{t-1}.
        const Real p_prev = t > 0 ? c.carried(h_saved(t - 1, i), c.fire(h_saved(t - 1, i))) : c.v_init;
        const Real x_term = c.decay_input ? x(repeat ? 0 : t, i) : Real(0);
        d_beta += static_cast<double>(grad_h * (p_prev - c.v_rest - x_term));
      }

      grad_p = c.beta * grad_h;
      grad_h_next = grad_h;
    }
    if (repeat) grad_x(0, i) = grad_x_sum;
    sums.threshold += d_theta;
    sums.beta += d_beta;
  }

  // Neurons [lo, hi) without parameter gradients, time outer and neurons inner (see the forward
  // kernel's block()); the same operations per neuron as operator().
  static constexpr std::int64_t block_size = 512;
  void block(const std::int64_t lo, const std::int64_t hi) const {
    if (!c.smooth && !c.hard && !c.delayed && !c.strict && c.detach) {
      // The common detached soft reset: with the surrogate chosen once here rather than per
      // element, the loop below vectorises. The same operations per neuron as operator().
      const Real p = c.sg.p, p2 = c.sg.p2;
      switch (c.sg.kind) {
        case surrogate_kind::arctan: return block_soft_detached(lo, hi, [p](Real x) { return surrogates::arctan(x, p); });
        case surrogate_kind::sigmoid: return block_soft_detached(lo, hi, [p](Real x) { return surrogates::sigmoid(x, p); });
        case surrogate_kind::triangle:
          return block_soft_detached(lo, hi, [p, p2](Real x) { return surrogates::triangle(x, p, p2); });
        case surrogate_kind::fast_sigmoid:
          return block_soft_detached(lo, hi, [p](Real x) { return surrogates::fast_sigmoid(x, p); });
        case surrogate_kind::rectangular:
          return block_soft_detached(lo, hi, [p](Real x) { return surrogates::rectangular(x, p); });
        default: return block_soft_detached(lo, hi, [sg = c.sg](Real x) { return sg.derivative(x); });
      }
    }
    const std::int64_t steps = static_cast<std::int64_t>(h_saved.extent(0)), n = hi - lo;
    const Real theta = c.v_threshold;
    Real grad_p[block_size], sum[block_size];
    for (std::int64_t j = 0; j < n; ++j) grad_p[j] = sum[j] = Real(0);
    for (std::int64_t t = steps - 1; t >= 0; --t) {
      const Real* KOKKOS_RESTRICT ht = &h_saved(t, lo);
      const Real* KOKKOS_RESTRICT gs = &grad_spikes(t, lo);
      Real* KOKKOS_RESTRICT gx = repeat ? sum : &grad_x(t, lo);
      const Real* KOKKOS_RESTRICT gh = grad_h_in.data() != nullptr ? &grad_h_in(t, lo) : nullptr;
      for (std::int64_t j = 0; j < n; ++j) {
        const Real h = ht[j];
        const Real s = c.fire(h);
        const Real g = c.sg.derivative(h - theta);
        const Real dp_dh = c.hard ? Real(1) - s : Real(1);
        const Real dp_ds = c.detach ? Real(0) : (c.hard ? c.v_reset - h : -theta);
        const Real grad_s = gs[j] + grad_p[j] * dp_ds;
        Real grad_h = grad_p[j] * dp_dh + grad_s * g;
        if (gh != nullptr) grad_h += gh[j];
        gx[j] = repeat ? gx[j] + c.in_scale * grad_h : c.in_scale * grad_h;
        grad_p[j] = c.beta * grad_h;
      }
    }
    if (repeat)
      for (std::int64_t j = 0; j < n; ++j) grad_x(0, lo + j) = sum[j];
  }

  // block() for soft reset, detached, Heaviside on >=: dP/dH = 1 and no path through S.
  template <class G>
  void block_soft_detached(const std::int64_t lo, const std::int64_t hi, const G& deriv) const {
    const std::int64_t steps = static_cast<std::int64_t>(h_saved.extent(0)), n = hi - lo;
    const Real theta = c.v_threshold, beta = c.beta, in_scale = c.in_scale;
    Real grad_p[block_size], sum[block_size];
    for (std::int64_t j = 0; j < n; ++j) grad_p[j] = sum[j] = Real(0);
    for (std::int64_t t = steps - 1; t >= 0; --t) {
      const Real* KOKKOS_RESTRICT ht = &h_saved(t, lo);
      const Real* KOKKOS_RESTRICT gs = &grad_spikes(t, lo);
      Real* KOKKOS_RESTRICT gx = &grad_x(repeat ? 0 : t, lo);
      const Real* KOKKOS_RESTRICT gh = grad_h_in.data() != nullptr ? &grad_h_in(t, lo) : nullptr;
      if (repeat) {
        for (std::int64_t j = 0; j < n; ++j) {
          const Real grad_h = grad_p[j] + gs[j] * deriv(ht[j] - theta) + (gh != nullptr ? gh[j] : Real(0));
          sum[j] += in_scale * grad_h;
          grad_p[j] = beta * grad_h;
        }
      } else if (gh == nullptr) {
        for (std::int64_t j = 0; j < n; ++j) {
          const Real grad_h = grad_p[j] + gs[j] * deriv(ht[j] - theta);
          gx[j] = in_scale * grad_h;
          grad_p[j] = beta * grad_h;
        }
      } else {
        for (std::int64_t j = 0; j < n; ++j) {
          const Real grad_h = grad_p[j] + gs[j] * deriv(ht[j] - theta) + gh[j];
          gx[j] = in_scale * grad_h;
          grad_p[j] = beta * grad_h;
        }
      }
    }
    if (repeat)
      for (std::int64_t j = 0; j < n; ++j) grad_x(0, lo + j) = sum[j];
  }
};

}  // namespace detail

}  // namespace kspike::learning

namespace Kokkos {
// Lets Kokkos::Sum reduce the parameter gradients of all neurons in the backward kernel.
template <>
struct reduction_identity<kspike::learning::detail::lif_param_grads> {
  KOKKOS_FORCEINLINE_FUNCTION static kspike::learning::detail::lif_param_grads sum() {
    return kspike::learning::detail::lif_param_grads();
  }
};
}  // namespace Kokkos

namespace kspike::learning {

// The layer. Exec picks the backend; Real the precision (float for training, double where a
// test wants to compare gradients to 1e-10).
template <class Exec, class Real = float>
class spiking_lif {
 public:
  using execution_space = Exec;
  using memory_space = typename Exec::memory_space;
  using view = Kokkos::View<Real**, Kokkos::LayoutRight, memory_space>;
  using const_view = Kokkos::View<const Real**, Kokkos::LayoutRight, memory_space>;

  explicit spiking_lif(const spiking_lif_params& p) : params_(p), c_(detail::make_lif_coeffs<Real>(p)) {}

  const spiking_lif_params& params() const { return params_; }

  // Training mode (the default) keeps H for backward and saved_h(); inference mode does not.
  void set_training(bool on) { training_ = on; }

  // For optimisers of a trainable θ or β (or τ): takes effect from the next forward.
  void set_params(const spiking_lif_params& p) {
    c_ = detail::make_lif_coeffs<Real>(p);
    params_ = p;
  }

  // x[T, N] -> spikes[T, N]; membrane[T, N], if given, receives V (or snnTorch's mem in the
  // delayed mode). Keeps H for backward, and a handle on x when dL/dβ will need the input
  // (trainable β with decay_input): x must then stay unchanged until backward.
  // Asynchronous on a GPU, as any Kokkos kernel.
  //
  // x may also be a single step [1, N] while spikes has T rows: the same input at every step
  // (direct encoding), without T copies of it; backward's grad_x is then [1, N], the sum over t.
  void forward(const const_view& x, const view& spikes, const view& membrane = view()) {
    repeated_ = x.extent(0) == 1 && spikes.extent(0) > 1;
    if (!repeated_) require_shape(spikes, x, "spikes");
    if (repeated_ && spikes.extent(1) != x.extent(1)) require_shape(x, spikes, "x");
    const bool write_membrane = membrane.data() != nullptr;
    if (write_membrane) require_shape(membrane, spikes, "membrane");
    if (h_.extent(0) != spikes.extent(0) || h_.extent(1) != spikes.extent(1))
      h_ = view(Kokkos::view_alloc(Kokkos::WithoutInitializing, "kspike::spiking_lif::h"), spikes.extent(0),
                spikes.extent(1));
    x_ = (params_.trainable_beta && c_.decay_input) ? x : const_view();
    forwarded_ = params_;
    forwarded_c_ = c_;
    // Inference on a host backend keeps nothing for backward (the per-neuron kernel stores H regardless).
    const bool store = training_ || !host_memory;
    has_forward_ = store;
    detail::lif_forward_kernel<Real, memory_space> k{c_, x, spikes, h_, membrane, write_membrane, repeated_, store};
    if constexpr (host_memory) {
      launch_blocks("kspike::spiking_lif::forward", [k](std::int64_t lo, std::int64_t hi) { k.block(lo, hi); });
    } else {
      Kokkos::parallel_for("kspike::spiking_lif::forward", neurons(), k);
    }
  }

  // grad_spikes[T, N] = dL/dS -> grad_x[T, N] = dL/dx, by BPTT over the latest forward. With
  // a trainable θ or β, also sets grad_threshold() / grad_beta() (sums over T and N; these
  // calls block until the kernel is done). grad_h[T, N], if given, is a direct dL/dH_t from a
  // loss on the membrane (RMP-Loss), added before it flows back through time.
  void backward(const const_view& grad_spikes, const view& grad_x, const const_view& grad_h = const_view()) {
    if (!has_forward_) throw kspike::internal_error("spiking_lif: backward called before a training-mode forward");
    require_shape(grad_spikes, h_, "grad_spikes");
    if (repeated_) {
      if (grad_x.extent(0) != 1 || grad_x.extent(1) != h_.extent(1))
        throw kspike::error("spiking_lif: grad_x must be [1, N] after a forward with a repeated input");
    } else {
      require_shape(grad_x, h_, "grad_x");
    }
    if (grad_h.data() != nullptr) require_shape(grad_h, h_, "grad_h");
    const spiking_lif_params& p = forwarded_;  // set_params() since forward must not matter
    detail::lif_backward_kernel<Real, memory_space> k{forwarded_c_, h_, grad_spikes, x_, grad_x, p.trainable_beta, grad_h,
                                                      repeated_};
    grads_ = detail::lif_param_grads();
    if (p.trainable_threshold || p.trainable_beta) {
      Kokkos::parallel_reduce("kspike::spiking_lif::backward", neurons(), k,
                              Kokkos::Sum<detail::lif_param_grads>(grads_));
      // A β clamped into [0, 1] does not move with the raw parameter (torch's clamp agrees).
      if (p.form == leak_form::beta && (p.beta < 0.0 || p.beta > 1.0)) grads_.beta = 0;
    } else if constexpr (host_memory) {
      launch_blocks("kspike::spiking_lif::backward", [k](std::int64_t lo, std::int64_t hi) { k.block(lo, hi); });
    } else {
      Kokkos::parallel_for("kspike::spiking_lif::backward", neurons(), k);
    }
    if (!p.trainable_threshold) grads_.threshold = 0;
    if (!p.trainable_beta) grads_.beta = 0;
  }

  // dL/dθ and dL/dβ of the latest backward (0 unless trainable). For the tau form β = 1 - 1/τ,
  // so dL/dτ = grad_beta() / τ².
  double grad_threshold() const { return grads_.threshold; }
  double grad_beta() const { return grads_.beta; }

  // H[T, N] of the latest forward (the membrane before firing).
  const view& saved_h() const { return h_; }

 private:
  // One work item per neuron: the time loop runs inside it.
  static constexpr bool host_memory = Kokkos::SpaceAccessibility<Kokkos::HostSpace, memory_space>::accessible;
  // Host backends: one work item per block of 512 neurons (see the kernels' block()).
  template <class F>
  void launch_blocks(const char* label, const F& f) const {
    const std::int64_t n = static_cast<std::int64_t>(h_.extent(1)), b = 512, blocks = (n + b - 1) / b;
    Kokkos::parallel_for(label, Kokkos::RangePolicy<Exec>(0, blocks), [f, n, b](const std::int64_t k) {
      f(k * b, k * b + b < n ? k * b + b : n);
    });
  }
  Kokkos::RangePolicy<Exec> neurons() const {
    return Kokkos::RangePolicy<Exec>(0, static_cast<std::int64_t>(h_.extent(1)));
  }

  template <class A, class B>
  static void require_shape(const A& a, const B& like, const char* what) {
    if (a.extent(0) != like.extent(0) || a.extent(1) != like.extent(1))
      throw kspike::error(std::string("spiking_lif: ") + what + " has shape [" + std::to_string(a.extent(0)) +
                          ", " + std::to_string(a.extent(1)) + "], expected [" +
                          std::to_string(like.extent(0)) + ", " + std::to_string(like.extent(1)) + "]");
  }

  spiking_lif_params params_;
  detail::lif_coeffs<Real> c_;
  spiking_lif_params forwarded_;            // the parameters H was computed with
  detail::lif_coeffs<Real> forwarded_c_{};  // and their kernel form
  view h_;
  const_view x_;
  bool has_forward_ = false;
  bool repeated_ = false;  // the latest forward took one step of input for all T
  bool training_ = true;
  detail::lif_param_grads grads_;
};

}  // namespace kspike::learning
