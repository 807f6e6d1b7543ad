#pragma once
// A recording sink that keeps everything in memory, for tests.
#include <cstdint>
#include <tuple>
#include <vector>

#include "sim/engine.hpp"

namespace kspike_test {

struct memory_sink final : kspike::recording_sink {
  // (step, population, local id), in the order the engine reported them.
  std::vector<std::tuple<kspike::step_t, std::size_t, std::int64_t>> spike_list;
  std::vector<std::vector<std::vector<float>>> samples;  // [recorder][sample][neuron]
  void spikes(kspike::step_t step, std::size_t population, const std::int64_t* ids, std::size_t n) override {
    for (std::size_t k = 0; k < n; ++k) spike_list.emplace_back(step, population, ids[k]);
  }
  void state(kspike::step_t, std::size_t recorder, const float* values, std::size_t n) override {
    if (samples.size() <= recorder) samples.resize(recorder + 1);
    samples[recorder].emplace_back(values, values + n);
  }
};

template <class Exec>
std::string backend_name() {
#ifdef KOKKOS_ENABLE_SERIAL
  if (std::is_same<Exec, Kokkos::Serial>::value) return "serial";
#endif
#ifdef KOKKOS_ENABLE_OPENMP
  if (std::is_same<Exec, Kokkos::OpenMP>::value) return "openmp";
#endif
#ifdef KOKKOS_ENABLE_CUDA
  if (std::is_same<Exec, Kokkos::Cuda>::value) return "cuda";
#endif
  return "unknown";
}

// Options that make the engine run the named backend's own kernels, whatever the network's
// size (the automatic Serial fallback for small networks is off), so each test exercises
// the backend it names.
inline kspike::engine_options on(const std::string& backend) {
  kspike::engine_options o;
  o.backend = backend;
  o.parallel_threshold = 0;
  return o;
}
template <class Exec>
kspike::engine_options on() {
  return on(backend_name<Exec>());
}

}  // namespace kspike_test
