#pragma once
// The one-timestep Hoyer spike of the training path at inference (learning/hoyer.hpp, after
// Datta, Liu & Beerel): a neuron fires when its input, scaled by the layer's 1/|θ| in double,
// reaches its cut, the layer's running Hoyer extremum (per channel or per layer). No membrane is
// carried: v keeps the step's input for recording. For deployed Hoyer networks (kspike deploy).
//
//   x = syn_e + syn_i + drive;   spike = double(x) / |θ| >= cut
//
// The cut is a state variable (one per neuron, from its channel's extremum), held in single
// precision: where the training path compares with the double extremum, a z within one float
// rounding of it can decide differently (docs/deploy.md).
#include "neurons/common.hpp"

namespace kspike::neurons {

struct hoyer_spike {
  static constexpr const char* name = "hoyer_spike";
  static constexpr const char* summary = "the one-timestep Hoyer spike (deployed Hoyer networks)";
  static constexpr const char* input_dimension = "dimensionless";
  static constexpr bool non_negative_weights = false;
  static constexpr bool uses_current = false;

  struct params {
    double threshold = 1.0;  // θ: the input is divided by |θ|
    double cut = 1.0;        // of every neuron until set per neuron
  };
  template <class V>
  static void parameters(V& v) {
    v.quantity("threshold", "dimensionless", &params::threshold, "the layer's clipping threshold: inputs are divided by |threshold|");
    v.quantity("cut", "dimensionless", &params::cut, "fires when input/|threshold| reaches it (a state variable: per neuron)");
  }
  struct state {
    real_t v;    // the step's input
    real_t cut;  // the running Hoyer extremum of the neuron's channel
    real_t drive;
    real_t syn_e, syn_i;
    std::int32_t since;
  };
  template <class F>
  KOKKOS_INLINE_FUNCTION static void variables(F&& f) {
    f("v", &state::v, "1", "the step's input");
    f("cut", &state::cut, "1", "fires when input / |threshold| reaches it");
    f("drive", &state::drive, "1", "constant input added at every step");
  }
  static state initial(const params& p) { return {0, static_cast<real_t>(p.cut), 0, 0, 0, since_never}; }
  struct coeffs {
    double inv_threshold;
  };
  static coeffs make(const params& p, double) {
    require(std::isfinite(p.threshold) && p.threshold != 0, "threshold", "must be finite and non-zero");
    require_finite(p.cut, "cut");
    return {1.0 / std::abs(p.threshold)};
  }
  KOKKOS_INLINE_FUNCTION static bool step(const coeffs& c, state& s, real_t) {
    const real_t x = s.syn_e + s.syn_i + s.drive;
    const bool spike = static_cast<double>(x) * c.inv_threshold >= static_cast<double>(s.cut);
    s.v = x;
    s.since = spike ? 0 : saturating_increment(s.since);
    s.syn_e = 0;
    s.syn_i = 0;
    return spike;
  }
};

}  // namespace kspike::neurons
