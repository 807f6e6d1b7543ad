// Google Benchmark micro-benchmarks of the engine's parts (kspike_microbench).
// `kspike bench cuba` times the whole network; these isolate one step of one model, so a
// change to a kernel can be judged side by side with its previous version:
//   build/kspike_microbench --benchmark_filter=step
// The vpr_floor_* benchmarks time parts of a place-recognition image (`kspike bench vpr`),
// stripped of everything else: what one image costs at least on this machine.
#include <benchmark/benchmark.h>

#include <Kokkos_Core.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "experiments/vpr/module_batch.hpp"
#include "sim/window_engine_impl.hpp"
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
  engine_options serial;
  serial.backend = "serial";
  serial.parallel_threshold = 0;
  engine eng(driven_network(params, n, weight), serial);
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

// One first-epoch VPR image delivers about 3.4 million input events (8,500 Poisson spikes x
// 400 synapses, docs/vpr.md). The cheapest form of that work: g_e[target] += w, streamed from
// a list that stays in L1, into 400 conductances; no spike queue, weights or learning.
void vpr_floor_delivery(benchmark::State& state) {
  constexpr std::int64_t events_per_image = 8500 * 400, chunk = 4000;  // 850 chunks
  std::mt19937 rng(1);
  std::vector<std::uint16_t> target(chunk);
  std::vector<float> w(chunk);
  for (std::int64_t k = 0; k < chunk; ++k) {
    target[static_cast<std::size_t>(k)] = static_cast<std::uint16_t>(rng() % 400);
    w[static_cast<std::size_t>(k)] = static_cast<float>(rng() % 1000) * 1e-4f;
  }
  std::vector<float> ge(400, 0.0f);
  for (auto _ : state) {
    for (std::int64_t done = 0; done < events_per_image; done += chunk) {
      const std::uint16_t* KOKKOS_RESTRICT t = target.data();
      const float* KOKKOS_RESTRICT x = w.data();
      float* KOKKOS_RESTRICT g = ge.data();
      for (std::int64_t k = 0; k < chunk; ++k) g[t[k]] += x[k];
    }
    benchmark::DoNotOptimize(ge.data());
    for (float& g : ge) g = 0.0f;  // sums stay small and normal: no decay to pay for
  }
  state.counters["events_per_image"] = static_cast<double>(events_per_image);
}

// The neuron updates of one VPR image: 5,000 steps (500 ms at 0.1 ms) of the kernel's own
// loops over 400 excitatory (learning: theta jumps only) and 400 inhibitory neurons, with its
// flush of tiny conductances.
void vpr_floor_neurons(benchmark::State& state) {
  using namespace kspike::vpr;
  const module_params p = reference_module_params();
  const auto ce = neurons::adaptive_lif::make(p.exc, p.dt), ci = neurons::adaptive_lif::make(p.inh, p.dt);
  constexpr std::int64_t n = 400, steps = 5000;
  std::vector<real_t> v(n, static_cast<real_t>(p.exc.v_leak)), ge(n, 0.01f), gi(n, 0.0f), th(n, 0.02f);
  std::vector<real_t> vi(n, static_cast<real_t>(p.inh.v_leak)), gei(n, 0.0f), gii(n, 0.0f), thi(n, 0.0f);
  std::vector<std::int32_t> se(n, neurons::since_never), si(n, neurons::since_never);
  int fired = 0;
  for (auto _ : state) {
    for (std::int64_t t = 0; t < steps; ++t) {
      if (t % 16 == 0) {  // as the kernel does: conductances below 1e-30 flushed to 0
        window_detail::flush(ge.data(), n);
        window_detail::flush(gi.data(), n);
        window_detail::flush(gei.data(), n);
        window_detail::flush(gii.data(), n);
      }
      fired += window_detail::update_euler<neurons::theta_rule::jumps_only>(ce, v.data(), ge.data(), gi.data(), th.data(),
                                                                         se.data(), n);
      fired += window_detail::update_euler<neurons::theta_rule::frozen>(ci, vi.data(), gei.data(), gii.data(), thi.data(),
                                                                     si.data(), n);
    }
    benchmark::DoNotOptimize(v.data());
  }
  state.counters["fired"] = fired;
}

// One image's input events delivered through weights of the real size and layout (784 rows
// of 400 synapses sorted by delay, 1.25 MB of float weights and 0.6 MB of targets: more than
// the 512 KB L2), with the kernel's own unpack-and-deliver loops, but from arrival lists built
// before timing starts: no spike queue, no neurons. Each (spike, delay) run lands at a random
// place in the matrix, so its weights come from beyond L2, as in the kernel; the lists
// themselves are streamed in order (7 MB, prefetched). First argument 1: learning (w +=
// nu_pre * post1 at every event). Second argument 1: every record points into the first 8
// rows instead (12.8 KB of weights, in L1), which leaves the cost of the loops alone.
void vpr_floor_rows(benchmark::State& state) {
  using namespace kspike::vpr;
  const bool learn = state.range(0) != 0, rows_in_l1 = state.range(1) != 0;
  const module_params p = reference_module_params();
  const std::int64_t I = 784, N = 400, D = std::llround(p.max_delay / p.dt), B = D + 2;
  const std::int64_t present = 3500, steps = 5000;  // 350 ms of input, 150 ms of rest
  std::mt19937 rng(1);
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  // The kernel's layout (window_detail::delay_sorted_rows) of delays U[0, max delay] in steps.
  std::vector<std::int32_t> delay(static_cast<std::size_t>(I * N));
  for (std::int32_t& d : delay) d = static_cast<std::int32_t>(std::llround(u01(rng) * static_cast<double>(D)));
  const window_detail::row_layout rows = window_detail::delay_sorted_rows(delay, I, N, B);
  const std::vector<std::uint16_t>& tgt = rows.target;
  const std::vector<std::uint16_t>& bucket = rows.bucket;
  std::vector<float> w(static_cast<std::size_t>(I * N));
  for (float& x : w) x = static_cast<float>(u01(rng) * 0.3);
  // One image of Poisson input (pixel rates U[0, 63.75) Hz: about 8,700 spikes), as records
  // (first synapse << 16 | run length) per arrival step, in the order the kernel appends them.
  std::vector<double> prob(static_cast<std::size_t>(I));
  for (double& x : prob) x = u01(rng) * 63.75 * p.dt;
  std::vector<std::vector<std::uint64_t>> arrive(static_cast<std::size_t>(steps + B));
  std::int64_t input_spikes = 0, events = 0;
  for (std::int64_t t = 0; t < present; ++t)
    for (std::int64_t i = 0; i < I; ++i) {
      if (u01(rng) >= prob[static_cast<std::size_t>(i)]) continue;
      ++input_spikes;
      for (std::int64_t d = 0; d + 1 < B; ++d) {
        const std::uint64_t first = bucket[static_cast<std::size_t>(i * B + d)],
                            len = bucket[static_cast<std::size_t>(i * B + d + 1)] - first;
        if (len == 0) continue;
        arrive[static_cast<std::size_t>(t + d)].push_back((static_cast<std::uint64_t>((rows_in_l1 ? i % 8 : i) * N) + first) << window_detail::run_bits | len);
        events += static_cast<std::int64_t>(len);
      }
    }
  std::vector<std::uint64_t> records;
  std::vector<std::int64_t> start{0};
  for (std::int64_t t = 0; t < steps; ++t) {
    const auto& a = arrive[static_cast<std::size_t>(t)];
    records.insert(records.end(), a.begin(), a.end());
    start.push_back(static_cast<std::int64_t>(records.size()));
  }
  const std::int64_t flat_cap = 4 * (N + window_detail::append_width), flat_limit = flat_cap - N - window_detail::append_width;
  std::vector<std::uint32_t> flat(static_cast<std::size_t>(flat_cap));
  std::vector<real_t> ge(static_cast<std::size_t>(N), 0.0f);
  std::vector<float> post1(static_cast<std::size_t>(N));
  for (float& x : post1) x = static_cast<float>(u01(rng) * 0.1);
  const float nu_pre = static_cast<float>(p.stdp.signed_nu_pre());
  constexpr std::uint64_t len_mask = (std::uint64_t{1} << window_detail::run_bits) - 1;
  for (auto _ : state) {
    for (std::int64_t t = 0; t < steps; ++t) {
      std::int64_t nf = 0;
      for (std::int64_t k = start[static_cast<std::size_t>(t)]; k < start[static_cast<std::size_t>(t + 1)]; ++k) {
        const auto first = static_cast<std::uint32_t>(records[static_cast<std::size_t>(k)] >> window_detail::run_bits);
        const auto len = static_cast<std::uint32_t>(records[static_cast<std::size_t>(k)] & len_mask);
        window_detail::append_run(flat.data() + nf, first, len);
        nf += len;
        if (nf > flat_limit || k + 1 == start[static_cast<std::size_t>(t + 1)]) {
          if (learn)
            window_detail::deliver_learning(flat.data(), nf, tgt.data(), w.data(), ge.data(), post1.data(), nu_pre, 0.0f, 1.0f);
          else
            window_detail::deliver(flat.data(), nf, tgt.data(), w.data(), ge.data());
          nf = 0;
        }
      }
    }
    benchmark::DoNotOptimize(ge.data());
    for (real_t& g : ge) g = 0.0f;
  }
  state.counters["input_spikes"] = static_cast<double>(input_spikes);
  state.counters["events_per_image"] = static_cast<double>(events);
}

}  // namespace

BENCHMARK(vpr_floor_delivery)->Unit(benchmark::kMillisecond);
BENCHMARK(vpr_floor_neurons)->Unit(benchmark::kMillisecond);
BENCHMARK(vpr_floor_rows)->ArgNames({"learn", "l1"})->ArgsProduct({{0, 1}, {0, 1}})->Unit(benchmark::kMillisecond);
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
