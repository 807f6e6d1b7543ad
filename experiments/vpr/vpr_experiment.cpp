#include "experiments/vpr/vpr_experiment.hpp"

#include <algorithm>
#include <chrono>
#include <numeric>

#include "encoders/poisson_rates.hpp"
#include "encoders/vpr_dataset.hpp"
#include "experiments/vpr/module_batch.hpp"
#include "experiments/vpr/vpr_outputs.hpp"
#include "sim/core/error.hpp"
#include "sim/core/rng.hpp"

namespace kspike::vpr {

namespace {

using rates_t = std::vector<double>;

// Fisher-Yates with the counter-based RNG: the same permutation on every platform (the
// reference uses numpy's generator, which we do not reproduce; docs/vpr.md).
void shuffle_range(std::vector<std::size_t>& v, std::size_t begin, std::size_t end, std::uint64_t seed) {
  for (std::size_t k = end - begin; k > 1; --k) {
    const double u = uniform01(philox4x32(seed, stream_id(stream::vpr_shuffle), static_cast<std::uint32_t>(begin), k));
    const auto j = static_cast<std::size_t>(u * static_cast<double>(k));
    std::swap(v[begin + k - 1], v[begin + j]);
  }
}

// Steps of the presentation schedule (docs/vpr.md "Input rates and timing").
struct schedule {
  std::int64_t initial_rest, present, rest;
  explicit schedule(double dt) {
    const encoders::vpr_presentation_timing t;
    initial_rest = std::llround(t.initial_rest_ms * 1e-3 / dt);
    present = std::llround(t.present_ms * 1e-3 / dt);
    rest = std::llround(t.rest_ms * 1e-3 / dt);
  }
};

// Presents images[m][k] to module m of the batch for k = 0..K-1 (all modules the same K), as
// the reference's main loop does: an initial rest, then per image (normalise when learning)
// presentation, counters read, rest. Returns counts[m] as a K x n_e matrix. The count of image
// k covers the rest before it (k >= 1), as the reference's counter snapshot does.
std::vector<matrix> present(module_batch& batch, const std::vector<std::vector<const rates_t*>>& images, bool learning,
                            const std::string& phase, const vpr_run_options& options, phase_timing& timing,
                            recorded_spikes* spikes = nullptr) {
  const schedule s(batch.params().dt);
  const std::size_t M = batch.modules(), K = images.front().size(), N = batch.params().n_e;
  std::vector<matrix> counts(M, matrix(K, N));
  const auto t0 = std::chrono::steady_clock::now();
  const std::int64_t first_step = batch.step();
  batch.set_learning(learning);
  batch.set_rates({});
  batch.run(s.initial_rest, false);
  auto take_spikes = [&] {
    if (!spikes) return;
    std::vector<std::pair<double, std::uint64_t>> all;
    const auto per_module = batch.take_spikes();
    for (std::size_t m = 0; m < M; ++m)
      for (const auto& sp : per_module[m])
        all.emplace_back(static_cast<double>(sp.step - first_step + 1) * batch.params().dt * 1e3,
                         static_cast<std::uint64_t>(m * N + static_cast<std::size_t>(sp.neuron)));
    std::sort(all.begin(), all.end());
    for (const auto& [t, n] : all) {
      spikes->time_ms.push_back(t);
      spikes->node.push_back(n);
    }
  };
  for (std::size_t k = 0; k < K; ++k) {
    if (learning) batch.normalise_weights();
    std::vector<std::vector<double>> rates;
    for (std::size_t m = 0; m < M; ++m) rates.push_back(*images[m][k]);
    batch.set_rates(rates);
    batch.run(s.present, true, spikes != nullptr);
    const auto c = batch.take_counts();
    for (std::size_t m = 0; m < M; ++m)
      for (std::size_t j = 0; j < N; ++j) counts[m](k, j) = c[m][j];
    batch.set_rates({});
    batch.run(s.rest, true, spikes != nullptr);
    take_spikes();
    if (options.progress) options.progress(phase, static_cast<std::int64_t>(k + 1), static_cast<std::int64_t>(K));
  }
  timing.phase = phase;
  timing.images += static_cast<std::int64_t>(K * M);
  timing.batch_images += static_cast<std::int64_t>(K);
  timing.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return counts;
}

std::vector<module_key> keys_for(std::size_t first_module, std::size_t count, std::size_t per_module) {
  std::vector<module_key> k;
  for (std::size_t m = first_module; m < first_module + count; ++m) k.push_back({static_cast<std::uint32_t>(m * per_module)});
  return k;
}

// A frozen batch of modules [first, first + count) with their trained weights and theta.
std::unique_ptr<module_batch> frozen_batch(const module_params& params, const vpr_results& r, std::size_t first, std::size_t count,
                                       std::uint32_t phase, const std::string& backend) {
  auto b = std::make_unique<module_batch>(params, keys_for(first, count, r.config.places_per_module), r.config.seed, backend);
  b->redraw_delays(phase);
  std::vector<float> theta;
  theta.reserve(count * params.n_e);
  for (std::size_t m = 0; m < count; ++m) {
    b->set_weights(m, r.modules[first + m].weights);
    const auto& th = r.modules[first + m].theta;
    if (th.size() != params.n_e)
      throw error("theta of module " + std::to_string(first + m) + ": expected " + std::to_string(params.n_e) +
                  " values, got " + std::to_string(th.size()));
    theta.insert(theta.end(), th.begin(), th.end());
  }
  b->set_theta(theta);
  return b;
}

}  // namespace

vpr_results run_vpr(const vpr_config& config, const vpr_run_options& options) {
  vpr_results r;
  r.config = config;
  r.n_e = config.n_e;
  const std::size_t n = config.total_places(), L = config.places_per_module, M = config.modules();
  const std::size_t calM = config.calibration_modules();

  // Data: reference traversals then the query traversal, the same places in each.
  encoders::vpr_dataset_options d;
  d.root = config.data_root;
  d.traversals = config.reference;
  d.traversals.push_back(config.query);
  d.frames_file = config.frames;
  d.places = n;
  d.skip = config.skip;
  d.offset = config.offset;
  const encoders::vpr_dataset data = encoders::read_vpr_dataset(d);
  for (const auto& p : data.places) r.place_names.push_back(p.name);
  std::vector<std::vector<rates_t>> rates;  // [traversal][place]
  for (const auto& t : data.traversals) {
    std::vector<rates_t> per_place;
    for (const auto& img : encoders::preprocess_traversal(t)) {
      if (img.data.size() != 784) throw error(t.dir + ": preprocessing gave " + std::to_string(img.data.size()) + " pixels, not 784");
      per_place.push_back(encoders::pixel_rates_hz(img));
    }
    rates.push_back(std::move(per_place));
  }
  const std::size_t R = config.reference.size(), Q = R;  // index of the query traversal

  r.permutation.resize(n);
  std::iota(r.permutation.begin(), r.permutation.end(), 0);
  if (config.shuffle) {
    // Calibration places permuted with seed 42, then the test places with --seed.
    shuffle_range(r.permutation, 0, config.calibration_places, 42);
    shuffle_range(r.permutation, config.calibration_places, n, config.seed);
  }

  module_params params = reference_module_params(config.tc_gi_ms * 1e-3);
  params.n_e = config.n_e;
  if (config.diehl_cook_sign) params.stdp.sign = learning::pre_term_sign::depress;

  // ---- training (or the checkpoint's result)
  if (!options.resume.empty()) {
    read_checkpoint(options.resume, r, options.allow_changed_config);
  } else {
    r.trained = true;
    module_batch batch(params, keys_for(0, M, L), config.seed, options.backend);
    batch.redraw_delays(0);
    std::vector<std::vector<const rates_t*>> images(M);
    std::vector<int> labels_of_presentation;
    for (std::size_t e = 0; e < config.epochs; ++e)
      for (std::size_t t = 0; t < R; ++t)
        for (std::size_t q = 0; q < L; ++q) {
          for (std::size_t m = 0; m < M; ++m) images[m].push_back(&rates[t][r.permutation[m * L + q]]);
          labels_of_presentation.push_back(static_cast<int>(q));
        }
    phase_timing timing;
    const auto counts = present(batch, images, true, "train", options, timing);
    r.timings.push_back(timing);
    const std::size_t window = config.assignment_epochs * R * L, K = images.front().size();
    for (std::size_t m = 0; m < M; ++m) {
      module_result mr;
      mr.first_label = m * L;
      mr.weights = batch.weights(m);
      mr.theta = batch.theta(m);
      mr.window_counts = matrix(window, config.n_e);
      for (std::size_t k = 0; k < window; ++k) {
        for (std::size_t j = 0; j < config.n_e; ++j) mr.window_counts(k, j) = counts[m](K - window + k, j);
        mr.window_labels.push_back(static_cast<int>(m * L) + labels_of_presentation[K - window + k]);
      }
      r.modules.push_back(std::move(mr));
    }
  }
  for (auto& mr : r.modules)
    mr.assignments = assign(config.weighted ? assignment_kind::weighted : assignment_kind::standard, mr.window_counts,
                            mr.window_labels);

  // Training statistics over the assignment windows.
  {
    double spikes = 0, active = 0, rows = 0, th_sum = 0, th_n = 0;
    r.theta_min_mv = 1e300;
    r.theta_max_mv = -1e300;
    for (const auto& mr : r.modules) {
      for (std::size_t k = 0; k < mr.window_counts.rows; ++k) {
        for (std::size_t j = 0; j < mr.window_counts.cols; ++j) {
          spikes += mr.window_counts(k, j);
          active += mr.window_counts(k, j) > 0;
        }
        ++rows;
      }
      for (float t : mr.theta) {
        th_sum += t * 1e3;
        ++th_n;
        r.theta_min_mv = std::min(r.theta_min_mv, double(t) * 1e3);
        r.theta_max_mv = std::max(r.theta_max_mv, double(t) * 1e3);
      }
    }
    r.spikes_per_presentation = rows > 0 ? spikes / rows : 0;
    r.active_per_presentation = rows > 0 ? active / rows : 0;
    r.theta_mean_mv = th_n > 0 ? th_sum / th_n : 0;
  }

  // ---- record: every module, frozen, on the first reference traversal, all places (docs/vpr.md
  // "Places, labels and modules").
  if (config.hyperactive != hyperactive_mode::off) {
    auto b = frozen_batch(params, r, 0, M, 1, options.backend);
    std::vector<std::vector<const rates_t*>> images(M);
    for (std::size_t k = 0; k < n; ++k)
      for (std::size_t m = 0; m < M; ++m) images[m].push_back(&rates[0][r.permutation[k]]);
    phase_timing timing;
    const auto counts = present(*b, images, false, "record", options, timing);
    r.timings.push_back(timing);
    r.activity = record_activity(concat_neurons(counts));
  }
  auto activity_of = [&](std::size_t first, std::size_t count) {
    if (r.activity.empty()) return std::vector<std::size_t>{};
    return std::vector<std::size_t>(r.activity.begin() + std::ptrdiff_t(first * config.n_e),
                                    r.activity.begin() + std::ptrdiff_t((first + count) * config.n_e));
  };
  auto merged = [&](std::size_t first, std::size_t count) {
    std::vector<neuron_assignments> a;
    for (std::size_t m = first; m < first + count; ++m) a.push_back(r.modules[m].assignments);
    return merge_assignments(a);
  };
  // Frozen modules [first, first + count) on the query images of labels [lo, hi).
  auto query_run = [&](std::size_t first, std::size_t count, std::size_t lo, std::size_t hi, std::uint32_t phase,
                       const std::string& name, recorded_spikes* spikes, query_work* work) {
    auto b = frozen_batch(params, r, first, count, phase, options.backend);
    std::vector<std::vector<const rates_t*>> images(count);
    for (std::size_t k = lo; k < hi; ++k)
      for (std::size_t m = 0; m < count; ++m) images[m].push_back(&rates[Q][r.permutation[k]]);
    phase_timing timing;
    const auto counts = present(*b, images, false, name, options, timing, spikes);
    r.timings.push_back(timing);
    if (work) {
      work->queries = static_cast<std::int64_t>(hi - lo);
      work->modules = static_cast<std::int64_t>(count);
      work->neurons = 2.0 * double(params.n_e) * double(count);
      const module_activity a = b->take_activity();
      work->steps = double(a.steps);
      work->input_spikes += double(a.input_spikes);
      work->synaptic_events += double(a.synaptic_events);
      work->spikes += double(a.exc_spikes + a.inh_spikes);
    }
    return concat_neurons(counts);
  };
  auto labels = [](std::size_t lo, std::size_t hi) {
    std::vector<int> v;
    for (std::size_t k = lo; k < hi; ++k) v.push_back(static_cast<int>(k));
    return v;
  };

  // ---- calibrate: calibration modules on the calibration queries; choose T.
  r.threshold = config.hyperactive == hyperactive_mode::fixed ? config.hyperactive_threshold : 0;
  if (calM > 0) {
    r.has_calibration = true;
    const matrix q = query_run(0, calM, 0, config.calibration_places, 2, "calibrate", nullptr, nullptr);
    evaluation_options eo;
    eo.complete_square = true;
    if (config.shuffle) eo.shuffle_order = shuffle_block(r.permutation, config.calibration_places, query_block::calibration);
    const std::vector<int> candidates =
        config.hyperactive == hyperactive_mode::calibrate ? hyperactive_candidates() : std::vector<int>{0};
    r.calibration = choose_hyperactive_threshold(merged(0, calM), q, labels(0, config.calibration_places),
                                                 activity_of(0, calM), eo, candidates);
    if (config.hyperactive == hyperactive_mode::calibrate) r.threshold = r.calibration.threshold;
  }

  // ---- test: test modules on the test queries, with T = 0 and with the chosen T.
  {
    const matrix q = query_run(calM, M - calM, config.calibration_places, n, 3, "test",
                               options.record_spikes ? &r.test_spikes : nullptr, &r.test_work);
    evaluation_options eo;
    eo.complete_square = true;
    if (config.shuffle) eo.shuffle_order = shuffle_block(r.permutation, config.calibration_places, query_block::test);
    const auto a = merged(calM, M - calM);
    const auto act = activity_of(calM, M - calM);
    const auto l = labels(config.calibration_places, n);
    eo.hyperactive_threshold = 0;
    r.test_off = evaluate(a, q, l, act, eo);
    eo.hyperactive_threshold = r.threshold;
    r.test_on = r.threshold == 0 ? r.test_off : evaluate(a, q, l, act, eo);
  }
  return r;
}

}  // namespace kspike::vpr
