#pragma once
// Encoders that turn a static input x in [0, 1] into T time steps for training and inference
// (docs/models.md "Spike encoders"). Host functions over flat arrays: out[t * n + i] for step t
// of value i.
//   direct:  x at every step (analog input to the first layer)
//   poisson: s_t = [U_t <= x], U_t ~ U(0, 1) i.i.d. (SpikingJelly's PoissonEncoder; E[s] = x).
//            U_t is a counter-based Philox draw of (seed, sample, value, step): the same spikes
//            on every backend and thread count, and for a sample wherever it sits in a batch.
//   latency: one spike per value at t_f = round((T - 1)(1 - x)) ("linear", SpikingJelly) or
//            t_f = round(T - 1 - ln(alpha x + 1)), alpha = e^(T-1) - 1 ("log"); x = 0 fires at the last step
//            in both.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "sim/core/error.hpp"
#include "sim/core/rng.hpp"

namespace kspike::encoders {

enum class spike_encoding { direct, poisson, latency_linear, latency_log };

inline spike_encoding parse_spike_encoding(const std::string& name) {
  if (name == "direct") return spike_encoding::direct;
  if (name == "poisson" || name == "rate") return spike_encoding::poisson;
  if (name == "latency" || name == "latency_linear") return spike_encoding::latency_linear;
  if (name == "latency_log") return spike_encoding::latency_log;
  throw error("encoding: unknown '" + name + "' (direct, poisson, latency, latency_log)");
}

inline std::vector<float> encode(spike_encoding kind, const float* x, std::size_t n, int T, std::uint64_t seed = 0,
                                 std::uint64_t sample = 0) {
  if (T < 1) throw error("encoding: T must be >= 1 (got " + std::to_string(T) + ")");
  for (std::size_t i = 0; i < n; ++i)
    if (!(x[i] >= 0.0f && x[i] <= 1.0f)) throw error("encoding: inputs must lie in [0, 1] (value " + std::to_string(i) + " is " + std::to_string(x[i]) + ")");
  std::vector<float> out(static_cast<std::size_t>(T) * n, 0.0f);
  for (int t = 0; t < T; ++t)
    for (std::size_t i = 0; i < n; ++i) {
      float& o = out[static_cast<std::size_t>(t) * n + i];
      switch (kind) {
        case spike_encoding::direct:
          o = x[i];
          break;
        case spike_encoding::poisson: {
          const double u = uniform01(philox4x32(seed, stream_id(stream::spike_encoder), static_cast<std::uint32_t>(i),
                                                (sample << 20) | static_cast<std::uint64_t>(t)));
          o = u <= double(x[i]) ? 1.0f : 0.0f;  // U(0,1) <= x: P = x
          break;
        }
        case spike_encoding::latency_linear:
          o = std::lround((T - 1) * (1.0 - double(x[i]))) == t ? 1.0f : 0.0f;
          break;
        case spike_encoding::latency_log: {
          const double alpha = std::exp(double(T - 1)) - 1.0;
          o = std::lround(double(T - 1) - std::log(alpha * double(x[i]) + 1.0)) == t ? 1.0f : 0.0f;
          break;
        }
      }
    }
  return out;
}

}  // namespace kspike::encoders
