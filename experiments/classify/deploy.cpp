#include "experiments/classify/deploy.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "experiments/classify/sequential_net.hpp"
#include "learning/mpbn.hpp"
#include "learning/spiking_lif.hpp"
#include "sim/core/error.hpp"

namespace kspike::classify {

namespace {

// A chain of analog layers between two spike layers (or to the output), folded into one
// procedural projection: [avgpool] [flatten] conv|linear [batchnorm] [dropout].
struct chain {
  std::int64_t pool = 1;
  int weighted = -1, batchnorm = -1;
};

}  // namespace

deployed_network::deployed_network(const std::string& checkpoint, const std::string& backend)
    : checkpoint_(checkpoint), backend_(backend) {
  spec_ = sequential_net::spec_in(checkpoint);
  const model_spec& m = spec_;
  if (m.neuron.kind != neuron_kind::lif && m.neuron.kind != neuron_kind::if_ && m.neuron.kind != neuron_kind::hoyer &&
      m.neuron.kind != neuron_kind::mpbn) {
    // Named at its first activation layer (an ANN's "spike" layers apply its activation).
    std::string at;
    for (std::size_t i = 0; i < m.layers.size() && at.empty(); ++i)
      if (m.layers[i].kind == layer_kind::spike) at = layer_at(m, i) + ": ";
    throw error(checkpoint + ": " + at + "a " + neuron_name(m.neuron.kind) +
                " model; the engine takes LIF, IF (trained or converted), MPBN and Hoyer networks (kspike convert makes an IF network of an ANN)");
  }
  tensor_ = std::make_unique<sequential_net>(m, sequential_net::seed_in(checkpoint), backend);
  sequential_net& tensor = *tensor_;
  tensor.load(checkpoint);
  auto array = [&](const std::string& name) { return tensor.get_array(name); };
  const auto names = tensor.array_names();
  auto has = [&](const std::string& name) { return std::find(names.begin(), names.end(), name) != names.end(); };
  start_.clear();

  std::vector<int> spikes;
  for (std::size_t i = 0; i < m.layers.size(); ++i) {
    if (m.layers[i].kind == layer_kind::maxpool)
      throw error(checkpoint + ": " + layer_at(m, i) + ": max-pooling of spikes is not a projection; train with avgpool");
    if (m.layers[i].kind == layer_kind::spike) spikes.push_back(static_cast<int>(i));
  }
  if (spikes.empty()) throw error(checkpoint + ": no spike layer");
  // Direct input: the analog layers before the first spike layer run on the tensor path and
  // drive it. Poisson or latency input: an input population fires the encoder's spikes, and
  // those layers become its projection onto the first spike layer, as after any spike layer.
  encoded_ = m.input_encoding != encoding::direct;
  analog_last_ = encoded_ ? -1 : spikes.front() - 1;
  for (int i = 0; i <= analog_last_; ++i)
    if (m.layers[static_cast<std::size_t>(i)].kind == layer_kind::spike || m.layers[static_cast<std::size_t>(i)].kind == layer_kind::avgpool)
      throw error(checkpoint + ": " + layer_at(m, static_cast<std::size_t>(i)) + ": before the first spike layer only conv, linear, batchnorm, flatten and dropout are supported");

  net_.dt = 1e-3;  // one model time step; only step counts matter
  net_.seed = 0;
  const int shift = encoded_ ? 1 : 0;  // the input population takes the first step
  // The spike layers' populations.
  for (std::size_t l = 0; l < spikes.size(); ++l) {
    const layer_spec& L = m.layers[static_cast<std::size_t>(spikes[l])];
    const std::string base = "param.layers." + std::to_string(spikes[l]) + ".spike";
    const auto n = static_cast<std::size_t>(L.out_size());
    population pop;
    pop.name = "spike" + std::to_string(spikes[l]);
    pop.size = L.out_size();
    if (L.neuron.kind == neuron_kind::mpbn) {
      // The batch norm folded into a threshold and direction per group (channel, or neuron),
      // from the running statistics, as kspike fold does (learning::fold_group).
      const std::string stats = "layers." + std::to_string(spikes[l]) + ".spike";
      const auto gamma = array(base + ".gamma"), beta = array(base + ".beta");
      const auto mean = array(stats + ".running_mean"), var = array(stats + ".running_var");
      neurons::mpbn_folded::params p;
      p.decay = L.neuron.mpbn_decay;
      pop.model = p;
      const std::size_t per = n / gamma.size();
      std::vector<float> hi(n), lo(n), dir(n), constant(n);
      for (std::size_t k = 0; k < n; ++k) {
        const std::size_t g = L.neuron.mpbn_channelwise ? k / per : k;
        const learning::mpbn_fold f = learning::fold_group(gamma[g], beta[g], mean[g], var[g], 1e-5, L.neuron.mpbn_threshold);
        hi[k] = f.dir == 0 ? 0.0f : static_cast<float>(f.theta);
        lo[k] = f.dir == 0 ? 0.0f : static_cast<float>(f.theta - static_cast<double>(hi[k]));
        dir[k] = static_cast<float>(f.dir);
        constant[k] = f.constant ? 1.0f : 0.0f;
      }
      start_.push_back({{"v", std::vector<float>(n, 0.0f)}, {"theta_hi", hi}, {"theta_lo", lo}, {"direction", dir}, {"constant", constant}});
      net_.populations.push_back(pop);
      net_.spike_recorders.push_back({pop.name});
      pops_.push_back({pop.name, spikes[l], pop.size, static_cast<int>(l) + shift});
      continue;
    }
    if (L.neuron.kind == neuron_kind::hoyer) {
      // The layer's learnt θ and running extremum (per channel, or one for the layer), the cut
      // the tensor path's eval mode compares with (x_thr_scale 1).
      neurons::hoyer_spike::params p;
      p.threshold = array(base + ".threshold")[0];
      pop.model = p;
      const std::vector<double> run = tensor.get_double_array("layers." + std::to_string(spikes[l]) + ".spike.running_extremum");
      const std::size_t per = run.size() == 1 ? n : n / run.size();
      std::vector<float> cut(n);
      for (std::size_t k = 0; k < n; ++k) cut[k] = static_cast<float>(run[k / per]);
      start_.push_back({{"v", std::vector<float>(n, 0.0f)}, {"cut", cut}});
      net_.populations.push_back(pop);
      net_.spike_recorders.push_back({pop.name});
      pops_.push_back({pop.name, spikes[l], pop.size, static_cast<int>(l) + shift});
      continue;
    }
    // The layer's neuron, with its trained threshold and leak when the model learnt them.
    learning::spiking_lif_params lp = spiking_lif_params_of(L.neuron);
    if (has(base + ".threshold")) lp.v_threshold = array(base + ".threshold")[0];
    if (has(base + ".leak")) lp.beta = array(base + ".leak")[0];
    const auto c = learning::detail::make_lif_coeffs<double>(lp);
    neurons::discrete_lif::params p;
    p.beta = c.beta;
    p.in_scale = c.in_scale;
    p.leak = c.leak;
    p.threshold = c.v_threshold;
    p.v_reset = c.v_reset;
    p.initial = c.v_init;
    p.hard_reset = c.hard;
    p.strict = c.strict;
    pop.model = p;
    net_.populations.push_back(pop);
    net_.spike_recorders.push_back({pop.name});  // a file recorder then writes every spike layer
    pops_.push_back({pop.name, spikes[l], pop.size, static_cast<int>(l) + shift});
    start_.push_back({{"v", std::vector<float>(n, static_cast<float>(p.initial))},
                      {"threshold", std::vector<float>(n, static_cast<float>(p.threshold))}});
  }
  // The output.
  {
    population out;
    out.name = "output";
    out.size = m.classes;
    neurons::accumulator::params p;
    p.beta = m.loss == loss_kind::ce_membrane ? m.neuron.beta : 1.0;
    out.model = p;
    net_.populations.push_back(out);
    pops_.push_back({"output", static_cast<int>(m.layers.size()) - 1, m.classes, static_cast<int>(spikes.size()) + shift});
    start_.push_back({{"v", std::vector<float>(static_cast<std::size_t>(m.classes), 0.0f)}});
  }
  drive_.assign(pops_.size(), {});
  if (encoded_) {
    // The input: a neuron per pixel that fires in the steps the encoder gave it a spike. It is
    // the training path's LIF with no memory (β = 0, weight 1) and θ = 1/2, its drive set to the
    // encoded value (0 or 1) at every step. The last engine population, so that the spike
    // layers and the output keep their indices.
    population in;
    in.name = "input";
    in.size = m.in_c * m.in_h * m.in_w;
    neurons::discrete_lif::params p;
    p.beta = 0.0;
    p.in_scale = 1.0;
    p.threshold = 0.5;
    p.hard_reset = true;
    in.model = p;
    net_.populations.push_back(in);
    net_.spike_recorders.push_back({in.name});
    input_ = {in.name, -1, in.size, 0};
  }

  // The chains between them, each folded into one projection and the next population's drive.
  // Chain to_pop runs from population to_pop − 1 (0: the input, when encoded) to population to_pop.
  for (std::size_t to_pop = encoded_ ? 0 : 1; to_pop <= spikes.size(); ++to_pop) {
    const std::size_t from = to_pop == 0 ? 0 : static_cast<std::size_t>(spikes[to_pop - 1]) + 1;
    const std::size_t to = to_pop < spikes.size() ? static_cast<std::size_t>(spikes[to_pop]) : m.layers.size();
    chain ch;
    for (std::size_t i = from; i < to; ++i) {
      const layer_spec& L = m.layers[i];
      switch (L.kind) {
        case layer_kind::avgpool:
          if (ch.weighted >= 0 || ch.pool != 1)
            throw error(checkpoint + ": " + layer_at(m, i) + ": one average pooling before the weighted layer is supported");
          ch.pool = L.size;
          break;
        case layer_kind::flatten:
        case layer_kind::dropout: break;
        case layer_kind::conv:
        case layer_kind::linear:
          if (ch.weighted >= 0) throw error(checkpoint + ": " + layer_at(m, i) + ": two weighted layers without a spike layer between them");
          ch.weighted = static_cast<int>(i);
          break;
        case layer_kind::batchnorm:
          if (ch.weighted < 0 || ch.batchnorm >= 0) throw error(checkpoint + ": " + layer_at(m, i) + ": batch norm must follow the weighted layer");
          ch.batchnorm = static_cast<int>(i);
          break;
        default: throw error(checkpoint + ": " + layer_at(m, i) + ": cannot be deployed on the engine");
      }
    }
    if (ch.weighted < 0)
      throw error(checkpoint + ": " + (to_pop == 0 ? std::string("the input") : layer_at(m, from - 1)) + ": no weighted layer follows it");
    const layer_spec& W = m.layers[static_cast<std::size_t>(ch.weighted)];
    const std::string wname = "param.layers." + std::to_string(ch.weighted) + "." + layer_name(W.kind);
    std::vector<float> weights = array(wname + ".weight");
    std::vector<float> bias = W.bias ? array(wname + ".bias") : std::vector<float>(static_cast<std::size_t>(W.out), 0.0f);
    if (ch.batchnorm >= 0) {  // W' = W γ/√(σ²+ε), b' = β + γ (b − μ)/√(σ²+ε), as kspike convert folds
      const std::string bn = "layers." + std::to_string(ch.batchnorm) + ".batchnorm";
      const auto gamma = array("param." + bn + ".gamma"), beta = array("param." + bn + ".beta");
      const auto mean = array(bn + ".running_mean"), var = array(bn + ".running_var");
      const std::size_t C = gamma.size(), per_c = weights.size() / C;
      for (std::size_t c = 0; c < C; ++c) {
        const double s = double(gamma[c]) / std::sqrt(double(var[c]) + 1e-5);
        for (std::size_t q = 0; q < per_c; ++q) weights[c * per_c + q] = static_cast<float>(weights[c * per_c + q] * s);
        bias[c] = static_cast<float>(double(beta[c]) + s * (double(bias[c]) - double(mean[c])));
      }
    }
    projection pr;
    pr.name = "to_" + pops_[to_pop].name;
    pr.pre = to_pop == 0 ? input_.name : pops_[to_pop - 1].name;
    pr.post = pops_[to_pop].name;
    auto& g = pr.procedural;
    if (to_pop == 0) {
      g.in_c = m.in_c;
      g.in_h = m.in_h;
      g.in_w = m.in_w;
    } else {
      const layer_spec& S = m.layers[static_cast<std::size_t>(spikes[to_pop - 1])];
      g.in_c = S.flat_out ? S.out_size() : S.out_c;
      g.in_h = S.flat_out ? 1 : S.out_h;
      g.in_w = S.flat_out ? 1 : S.out_w;
    }
    g.pool = ch.pool;
    if (W.kind == layer_kind::conv) {
      g.type = procedural_connection::kind::conv;
      g.out_c = W.out_c;
      g.out_h = W.out_h;
      g.out_w = W.out_w;
      g.kernel = W.kernel;
      g.stride = W.stride;
      g.padding = W.padding;
    } else {
      g.type = procedural_connection::kind::matrix;
    }
    g.weights = std::move(weights);
    net_.projections.push_back(std::move(pr));
    // The bias, per channel, as every neuron's drive.
    const std::int64_t per = W.kind == layer_kind::conv ? W.out_h * W.out_w : 1;
    std::vector<float> drive(static_cast<std::size_t>(W.out_size()));
    for (std::size_t k = 0; k < drive.size(); ++k) drive[k] = bias[k / static_cast<std::size_t>(per)];
    drive_[to_pop] = std::move(drive);
  }
}

deployed_network::~deployed_network() = default;

deploy_result deployed_network::run(const std::vector<float>& images, std::int64_t count, recording_sink* sink,
                                    const std::vector<std::uint64_t>& sample_ids) const {
  const model_spec& m = spec_;
  const std::int64_t T = m.effective_timesteps(), S = static_cast<std::int64_t>(pops_.size()) - 1;  // spike layers
  if (count < 1) throw error("deploy: no images");
  // Direct input: the analog layers before the first spike layer, once per image, on the
  // tensor path. Encoded input: the encoder's spikes, [T, count, pixels].
  const std::vector<float> first =
      encoded_ ? tensor_->encoded_input(images, count, sample_ids) : tensor_->layer_outputs(images, count, {analog_last_}, sample_ids)[0];
  const std::int64_t pixels = encoded_ ? input_.size : 0;

  engine_options o;
  o.backend = backend_;
  o.instances = static_cast<int>(count);
  engine eng(net_, o);

  struct counting_sink final : recording_sink {
    const std::vector<deployed_population>* pops;
    std::int64_t T = 0;
    recording_sink* next = nullptr;
    std::vector<std::vector<std::uint64_t>> counts;  // [image][spike population]
    void spikes(step_t step, std::size_t p, const std::int64_t* ids, std::size_t n) override {
      if (next) next->spikes(step, p, ids, n);
      if (p >= pops->size()) return;  // the input
      const auto& pop = (*pops)[p];
      if (step >= pop.first_step && step < pop.first_step + T)
        for (std::size_t k = 0; k < n; ++k) ++counts[static_cast<std::size_t>(ids[k] / pop.size)][p];
    }
    void state(step_t step, std::size_t r, const float* v, std::size_t n) override {
      if (next) next->state(step, r, v, n);
    }
  } counter;
  counter.pops = &pops_;
  counter.T = T;
  counter.next = sink;
  counter.counts.assign(static_cast<std::size_t>(count), std::vector<std::uint64_t>(static_cast<std::size_t>(S), 0));
  eng.set_sink(&counter);

  auto per_instance = [&](const std::vector<float>& one) {
    std::vector<float> all;
    all.reserve(one.size() * static_cast<std::size_t>(count));
    for (std::int64_t k = 0; k < count; ++k) all.insert(all.end(), one.begin(), one.end());
    return all;
  };
  const auto t0 = std::chrono::steady_clock::now();
  // Population l starts at its first step: its membrane at P_{-1} and its drive on, as its
  // first input arrives (before that it has had neither). The input, when encoded, fires step
  // t's spikes in engine step t.
  std::vector<float> step_input(static_cast<std::size_t>(count * pixels));
  const std::int64_t steps = T + S + (encoded_ ? 1 : 0);
  for (std::int64_t step = 0; step < steps;) {
    for (std::size_t l = 0; l < pops_.size(); ++l) {
      const auto& pop = pops_[l];
      if (pop.first_step != step) continue;
      for (const auto& [variable, values] : start_[l]) eng.set_state(pop.name, variable, per_instance(values));
      eng.set_state(pop.name, "drive", !encoded_ && l == 0 ? first : per_instance(drive_[l]));
    }
    if (encoded_ && step <= T) {
      if (step < T) std::copy(first.begin() + step * count * pixels, first.begin() + (step + 1) * count * pixels, step_input.begin());
      else std::fill(step_input.begin(), step_input.end(), 0.0f);
      eng.set_state(input_.name, "drive", step_input);
    }
    // Run to the next step where something is set.
    const std::int64_t next = encoded_ ? step + 1 : (step < S ? step + 1 : steps);
    eng.run(static_cast<double>(next - step) * 1e-3);
    step = next;
  }
  deploy_result r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.synaptic_events = eng.stats().synaptic_events;
  const std::vector<float> out = eng.state("output", "v");
  r.predictions.resize(static_cast<std::size_t>(count));
  for (std::int64_t k = 0; k < count; ++k) {
    int best = 0;
    for (std::int64_t c = 1; c < m.classes; ++c)
      if (out[static_cast<std::size_t>(k * m.classes + c)] > out[static_cast<std::size_t>(k * m.classes + best)]) best = static_cast<int>(c);
    r.predictions[static_cast<std::size_t>(k)] = best;
  }
  r.spikes = std::move(counter.counts);
  return r;
}

}  // namespace kspike::classify
