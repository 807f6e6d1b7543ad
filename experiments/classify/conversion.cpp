#include "experiments/classify/conversion.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "experiments/classify/sequential_net.hpp"
#include "experiments/classify/trainer.hpp"
#include "sim/core/error.hpp"

namespace kspike::classify {

namespace {

std::string param(std::size_t i, const layer_spec& L, const char* what) {
  return "param.layers." + std::to_string(i) + "." + layer_name(L.kind) + "." + what;
}

// The value below which `p` percent of `v` lie (nearest rank on the sorted values).
double percentile_of(std::vector<float>& v, double p) {
  if (v.empty()) return 0.0;
  const std::size_t k = std::min(v.size() - 1, static_cast<std::size_t>(std::ceil(p / 100.0 * double(v.size()))) - (p > 0 ? 1 : 0));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

// Per channel (C of [C, H, W], or every feature of a flat layer) sums of rows of `x`
// ([rows, C·HW]) times `scale`, added to `sums`.
void channel_sums(const std::vector<float>& x, const layer_spec& L, double scale, std::vector<double>& sums) {
  const std::int64_t per = L.out_size(), hw = L.flat_out ? 1 : L.out_h * L.out_w;
  const std::size_t rows = x.size() / static_cast<std::size_t>(per);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::int64_t k = 0; k < per; ++k) sums[static_cast<std::size_t>(k / hw)] += scale * x[r * static_cast<std::size_t>(per) + static_cast<std::size_t>(k)];
}

}  // namespace

model_spec check_convertible(const std::string& ckpt, const std::string& method) {
  model_spec m = sequential_net::spec_in(ckpt);
  if (m.spiking())
    throw error(ckpt + ": a spiking model (neuron " + neuron_name(m.neuron.kind) +
                "); kspike convert takes an ANN checkpoint (kspike train --neuron relu or --neuron qcfs)");
  if (method == "qcfs" && m.neuron.kind != neuron_kind::qcfs)
    throw error(ckpt + ": --method qcfs needs an ANN trained with QCFS activations (kspike train --neuron qcfs); this one has " +
                neuron_name(m.neuron.kind) + " (use --method max or percentile)");
  if (m.input_encoding != encoding::direct) throw error(ckpt + ": model.encoding: conversion takes direct (analog) input");
  for (std::size_t i = 0; i < m.layers.size(); ++i) {
    const layer_spec& L = m.layers[i];
    switch (L.kind) {
      case layer_kind::maxpool:
        throw error(ckpt + ": " + layer_at(m, i) + ": max-pooling is not converted (a spike count is not a maximum); train with avgpool");
      case layer_kind::batchnorm:
        if (i == 0 || (m.layers[i - 1].kind != layer_kind::conv && m.layers[i - 1].kind != layer_kind::linear))
          throw error(ckpt + ": " + layer_at(m, i) + ": batch norm is folded into the conv or linear layer before it, and there is none");
        break;
      case layer_kind::conv:
      case layer_kind::linear:
      case layer_kind::avgpool:
      case layer_kind::flatten:
      case layer_kind::dropout:
      case layer_kind::spike: break;
      default:
        throw error(ckpt + ": " + layer_at(m, i) + ": not convertible (conv, linear, batchnorm, avgpool, flatten, dropout and spike layers are)");
    }
  }
  return m;
}

converted_model convert_ann(const std::string& ckpt, const conversion_options& o, const encoders::idx_dataset& calibration) {
  const model_spec ann = check_convertible(ckpt, o.method);
  sequential_net net(ann, sequential_net::seed_in(ckpt), o.backend);
  net.load(ckpt);

  converted_model out;
  model_spec& snn = out.spec;
  snn = ann;
  snn.layers.clear();
  snn.timesteps = o.timesteps;
  snn.loss = loss_kind::ce_mean;  // the output layer's accumulated value, averaged over T
  const double v0 = std::isnan(o.initial_membrane) ? 0.5 : o.initial_membrane;
  neuron_spec ifn;
  ifn.kind = neuron_kind::if_;
  ifn.soft_reset = true;
  ifn.fire_strict = false;
  ifn.initial_membrane = v0;
  snn.neuron = ifn;

  // Layers and parameters, batch norm folded: W' = W·γ/√(σ²+ε), b' = β + γ(b − μ)/√(σ²+ε).
  std::vector<int> weighted_of_spike;  // per SNN spike layer: the SNN weighted layer feeding it
  int last_weighted = -1;
  for (std::size_t i = 0; i < ann.layers.size(); ++i) {
    const layer_spec& L = ann.layers[i];
    if (L.kind == layer_kind::dropout) continue;
    if (L.kind == layer_kind::batchnorm) {
      const auto k = static_cast<std::size_t>(last_weighted);
      const std::string base = "param.layers." + std::to_string(k) + "." + layer_name(snn.layers[k].kind);
      std::vector<float>& W = out.arrays[base + ".weight"];
      std::vector<float>& B = out.arrays[base + ".bias"];
      const std::string bn = "layers." + std::to_string(i) + ".batchnorm";
      const auto gamma = net.get_array("param." + bn + ".gamma"), beta = net.get_array("param." + bn + ".beta");
      const auto mean = net.get_array(bn + ".running_mean"), var = net.get_array(bn + ".running_var");
      const std::size_t C = gamma.size(), per_c = W.size() / C;
      for (std::size_t c = 0; c < C; ++c) {
        const double s = double(gamma[c]) / std::sqrt(double(var[c]) + 1e-5);
        for (std::size_t q = 0; q < per_c; ++q) W[c * per_c + q] = static_cast<float>(W[c * per_c + q] * s);
        B[c] = static_cast<float>(double(beta[c]) + s * (double(B[c]) - double(mean[c])));
      }
      continue;
    }
    layer_spec S = L;
    const int at = static_cast<int>(snn.layers.size());
    if (L.kind == layer_kind::conv || L.kind == layer_kind::linear) {
      S.bias = true;  // a folded batch norm or the conversion's calibration may need one
      const std::string base = "param.layers." + std::to_string(at) + "." + layer_name(L.kind);
      out.arrays[base + ".weight"] = net.get_array(param(i, L, "weight"));
      out.arrays[base + ".bias"] = L.bias ? net.get_array(param(i, L, "bias")) : std::vector<float>(static_cast<std::size_t>(L.out), 0.0f);
      last_weighted = at;
    }
    if (L.kind == layer_kind::spike) {
      S.neuron = ifn;
      out.ann_spike_layers.push_back(static_cast<int>(i));
      out.snn_spike_layers.push_back(at);
      weighted_of_spike.push_back(last_weighted);
    }
    snn.layers.push_back(S);
  }

  // λ per spike layer.
  std::vector<float> images;
  std::vector<std::int32_t> labels;
  const std::int64_t ncal = std::min<std::int64_t>(o.calibration_images, calibration.images.count);
  std::vector<std::int64_t> order(static_cast<std::size_t>(ncal));
  std::iota(order.begin(), order.end(), 0);
  if (o.method == "qcfs") {
    for (int i : out.ann_spike_layers) out.thresholds.push_back(net.get_array("param.layers." + std::to_string(i) + ".spike.threshold")[0]);
  } else {
    std::vector<std::vector<float>> acts(out.ann_spike_layers.size());
    for (std::int64_t first = 0; first < ncal; first += 100) {
      const auto b = static_cast<std::size_t>(std::min<std::int64_t>(100, ncal - first));
      batch_of(calibration, order, static_cast<std::size_t>(first), b, images, labels);
      const auto outs = net.layer_outputs(images, static_cast<std::int64_t>(b), out.ann_spike_layers);
      for (std::size_t l = 0; l < outs.size(); ++l)
        for (float v : outs[l])
          if (v > 0) acts[l].push_back(v);
    }
    for (auto& a : acts) {
      const double lam = o.method == "max" ? (a.empty() ? 0.0 : *std::max_element(a.begin(), a.end())) : percentile_of(a, o.percentile);
      out.thresholds.push_back(lam > 0 ? lam : 1.0);  // a layer that never activates: any threshold keeps it silent
    }
  }
  for (std::size_t l = 0; l < out.thresholds.size(); ++l) {
    const auto si = static_cast<std::size_t>(out.snn_spike_layers[l]);
    snn.layers[si].neuron.threshold = out.thresholds[l];
    // A spike stands for λ_l: the next weighted layer's weights take the factor.
    for (std::size_t j = si + 1; j < snn.layers.size(); ++j) {
      if (snn.layers[j].kind != layer_kind::conv && snn.layers[j].kind != layer_kind::linear) continue;
      for (float& w : out.arrays["param.layers." + std::to_string(j) + "." + layer_name(snn.layers[j].kind) + ".weight"])
        w = static_cast<float>(w * out.thresholds[l]);
      break;
    }
  }
  // Spike-count read-out: IF neurons after the output layer, with a threshold from the ANN's
  // positive logits (a logit that is never positive leaves its class silent, as it should).
  if (o.readout == "spikes") {
    const int last = static_cast<int>(ann.layers.size()) - 1;
    std::vector<float> pos;
    for (std::int64_t first = 0; first < ncal; first += 100) {
      const auto b = static_cast<std::size_t>(std::min<std::int64_t>(100, ncal - first));
      batch_of(calibration, order, static_cast<std::size_t>(first), b, images, labels);
      const auto outs = net.layer_outputs(images, static_cast<std::int64_t>(b), {last});  // kept: a temporary's element would dangle
      for (float v : outs[0])
        if (v > 0) pos.push_back(v);
    }
    const double lam = o.method == "max" ? (pos.empty() ? 0.0 : *std::max_element(pos.begin(), pos.end()))
                                         : percentile_of(pos, o.percentile);
    out.output_threshold = lam > 0 ? lam : 1.0;
    layer_spec S;
    S.kind = layer_kind::spike;
    S.neuron = ifn;
    S.neuron.threshold = out.output_threshold;
    snn.layers.push_back(S);
  } else if (o.readout != "membrane") {
    throw error("readout: unknown '" + o.readout + "' (membrane or spikes)");
  }
  finish_model_spec(snn);

  // Bias calibration, layer by layer: each layer is corrected with the layers before it already corrected.
  if (o.calibrate_bias_steps > 0) {
    model_spec cal = snn;
    cal.timesteps = o.calibrate_bias_steps;
    cal.train.batch = std::max<std::int64_t>(2, cal.train.batch);
    sequential_net s(cal, 0, o.backend);
    for (const auto& [name, v] : out.arrays) s.set_array(name, v);
    const std::int64_t nb = std::min<std::int64_t>(ncal, 512);
    for (std::size_t l = 0; l < out.snn_spike_layers.size(); ++l) {
      const auto si = out.snn_spike_layers[l], ai = out.ann_spike_layers[l];
      const layer_spec& L = snn.layers[static_cast<std::size_t>(si)];
      const std::size_t channels = static_cast<std::size_t>(L.flat_out ? L.out_size() : L.out_c);
      std::vector<double> ann_sum(channels, 0.0), snn_sum(channels, 0.0);
      for (std::int64_t first = 0; first < nb; first += 64) {
        const auto b = static_cast<std::size_t>(std::min<std::int64_t>(64, nb - first));
        batch_of(calibration, order, static_cast<std::size_t>(first), b, images, labels);
        channel_sums(net.layer_outputs(images, static_cast<std::int64_t>(b), {ai})[0], L, 1.0, ann_sum);
        channel_sums(s.layer_outputs(images, static_cast<std::int64_t>(b), {si})[0], L, out.thresholds[l] / double(cal.timesteps), snn_sum);
      }
      const std::int64_t hw = L.flat_out ? 1 : L.out_h * L.out_w;
      const double count = double(nb) * double(hw);
      const auto wi = static_cast<std::size_t>(weighted_of_spike[l]);
      const std::string bname = "param.layers." + std::to_string(wi) + "." + layer_name(snn.layers[wi].kind) + ".bias";
      std::vector<float>& B = out.arrays[bname];
      for (std::size_t c = 0; c < channels; ++c) B[c] = static_cast<float>(B[c] + (ann_sum[c] - snn_sum[c]) / count);
      s.set_array(bname, B);
    }
  }
  return out;
}

void save_converted(const converted_model& m, std::uint64_t seed, const std::string& path, const std::string& backend) {
  sequential_net net(m.spec, seed, backend);
  for (const auto& [name, v] : m.arrays) net.set_array(name, v);
  train_progress p;
  net.save(path, p);
}

}  // namespace kspike::classify
