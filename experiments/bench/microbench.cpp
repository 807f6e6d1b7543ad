// Google Benchmark micro-benchmarks of the engine's parts (kspike_microbench).
// `kspike bench cuba` times the whole network; these isolate one step of one model, so a
// change to a kernel can be judged side by side with its previous version:
//   build/kspike_microbench --benchmark_filter=step
#include <benchmark/benchmark.h>

#include <Kokkos_Core.hpp>

#include "sim/engine.hpp"

namespace {

using namespace kspike;

// N neurons of one model driven by Poisson input through fixed_probability synapses.
network driven_network(neuron_model model, std::int64_t n, double weight) {
  network net;
  net.dt = 1e-4;
  net.seed = 1;
  population src;
  src.name = "src";
  src.size = 1000;
  src.model = poisson_source{{20.0}};
  population pop;
  pop.name = "pop";
  pop.size = n;
  pop.model = model;
  net.populations = {src, pop};
  projection pr;
  pr.name = "in";
  pr.pre = "src";
  pr.post = "pop";
  pr.conn.type = connector::kind::fixed_probability;
  pr.conn.p = 0.05;
  pr.weight = value_dist::constant(weight);
  net.projections = {pr};
  return net;
}

template <class Params>
void bm_step(benchmark::State& state, Params params, double weight) {
  const auto n = static_cast<std::int64_t>(state.range(0));
  engine eng(driven_network(params, n, weight), engine_options{"serial", 0});
  eng.run(0.05);  // past the start-up transient
  for (auto _ : state) eng.run(1e-4 * 100);
  state.SetItemsProcessed(state.iterations() * 100 * (n + 1000));
  state.counters["time_per_step"] = benchmark::Counter(static_cast<double>(state.iterations()) * 100,
                                                     benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void step_lif(benchmark::State& s) {
  neurons::lif::params p;
  p.tau = 20e-3;
  p.v_threshold = 20e-3;
  bm_step(s, p, 2e-3);
}
void step_cuba_lif(benchmark::State& s) {
  neurons::cuba_lif::params p;
  p.v_threshold = 20e-3;
  bm_step(s, p, 1e-2);
}
void step_adaptive_lif(benchmark::State& s) {
  neurons::adaptive_lif::params p;
  p.theta_plus = 0.05e-3;
  bm_step(s, p, 0.5);
}

}  // namespace

BENCHMARK(step_lif)->Arg(4000)->Arg(40000)->Unit(benchmark::kMicrosecond);
BENCHMARK(step_cuba_lif)->Arg(4000)->Arg(40000)->Unit(benchmark::kMicrosecond);
BENCHMARK(step_adaptive_lif)->Arg(4000)->Arg(40000)->Unit(benchmark::kMicrosecond);

int main(int argc, char** argv) {
  Kokkos::ScopeGuard kokkos(argc, argv);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
