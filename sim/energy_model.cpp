#include "sim/energy_model.hpp"

#include <cmath>

#include "sim/core/error.hpp"

namespace kspike::energy {

namespace {

constexpr double pj = 1e-12;
constexpr double e_mem_bit = 3.12;  // pJ per bit moved (the per-bit memory term)

const char* horowitz = "Horowitz, ISSCC 2014 (45 nm, 0.9 V)";

struct chip {
  const char* name;
  double per_sop, per_update;  // pJ (0: no figure)
  const char* source;
};
const chip chips[] = {
    {"loihi", 23.6, 52.0, "Loihi: 23.6 pJ per synaptic op (Davies et al., IEEE Micro 2018, as quoted by later papers); 52 pJ per neuron update, often quoted, not verified"},
    {"truenorth", 26.0, 0.0, "TrueNorth: 26 pJ per synaptic event (Merolla et al., Science 2014); no neuron-update figure"},
    {"spinnaker2", 10.0, 0.0, "SpiNNaker2: 10 pJ per synaptic op (Hoeppner et al. 2021, as tabulated by Tang et al., Front. Neurosci. 2023); no neuron-update figure"},
    {"tianjic", 1.54, 0.0, "Tianjic: 1.54 pJ per synaptic op (as tabulated by Tang et al., Front. Neurosci. 2023); no neuron-update figure"},
};

// Adds one layer's SNN and ANN energy to an estimate (and to its per-layer lists).
void add_layer(estimate& e, double snn, double ann) {
  e.snn_layer_joules.push_back(snn);
  e.ann_layer_joules.push_back(ann);
  e.snn_joules += snn;
  e.ann_joules += ann;
}

// Per-access energy of a memory holding `bits` (Lemaire et al. 2022's fit to 45 nm SRAM reads).
double lemaire_access(double bits) { return (1.09e-5 * bits + 13.2) * pj; }

estimate ops(const network_work& w, const op_energy& p) {
  estimate e;
  e.model = "ops:" + p.name;
  e.source = std::string(horowitz) + "; E_MAC·MACs + E_AC·ACs, analog-input layers as dense MACs, spike-driven layers one AC per synaptic event";
  e.snn_joules = e.ann_joules = 0;
  for (const auto& l : w.layers) {
    add_layer(e, (l.event_driven ? l.synaptic_events * p.ac() : l.macs * l.runs * p.mac()) * pj, l.macs * p.mac() * pj);
  }
  return e;
}

estimate memory(const network_work& w, const op_energy& p) {
  estimate e = ops(w, p);
  e.model = "memory:" + p.name;
  e.source = std::string(horowitz) + " operations plus 3.12 pJ per bit of memory traffic: a weight read per operation, a bias read per neuron and step, "
             "a state read and write per neuron update (ANN: a weight read per MAC, a bias read and an activation write per output)";
  e.snn_joules = e.ann_joules = 0;
  const double b = p.bits * e_mem_bit * pj;
  for (std::size_t i = 0; i < w.layers.size(); ++i) {
    const auto& l = w.layers[i];
    const double reads = l.event_driven ? l.synaptic_events : l.macs * l.runs;
    const double bias = l.biases > 0 ? l.out_neurons * w.T : 0.0;
    e.snn_layer_joules[i] += b * (reads + bias + 2 * l.updates_touched);
    e.ann_layer_joules[i] += b * (l.macs + (l.biases > 0 ? l.out_neurons : 0.0) + l.out_neurons);
    e.snn_joules += e.snn_layer_joules[i];
    e.ann_joules += e.ann_layer_joules[i];
  }
  return e;
}

// The per-access accounting of the golden values (labelled ASSUMED there): 3.12 pJ per access.
estimate step_assumed(const network_work& w) {
  const op_energy p = precision("fp32");
  estimate e = ops(w, p);
  e.model = "step-assumed";
  e.source = "ops:fp32 plus 3.12 pJ per memory access: SNN 2·T·neurons (membrane read and write) + synaptic events (weight reads) + "
             "analog-layer MACs; ANN MACs + neurons. An approximation of the STEP paper's model (its formula is not published in code)";
  e.snn_layer_joules.clear();
  e.ann_layer_joules.clear();
  double snn_acc = 0, ann_acc = 0;
  for (const auto& l : w.layers) {
    snn_acc += 2 * w.T * l.neurons + (l.event_driven ? l.synaptic_events : l.macs * l.runs);
    ann_acc += l.macs + l.neurons;
  }
  e.snn_joules += 3.12 * pj * snn_acc;
  e.ann_joules += 3.12 * pj * ann_acc;
  return e;
}

estimate lemaire(const network_work& w, const op_energy& p) {
  estimate e;
  e.model = "lemaire:" + p.name;
  e.source = "Lemaire et al. 2022 (arXiv:2210.13107): operations, addressing and memory accesses per layer, access energy "
             "1.09e-5·bits + 13.2 pJ of the memory read; operation energies of " + std::string(horowitz);
  e.snn_joules = e.ann_joules = 0;
  const double add = p.add * pj, mul = p.mul * pj, bits = p.bits;
  for (const auto& l : w.layers) {
    const double T = w.T, n_out = l.out_neurons;
    const double e_w = lemaire_access(l.weights * bits), e_v = lemaire_access(n_out * bits), e_b = lemaire_access(std::max(l.biases, 1.0) * bits),
                 e_in = lemaire_access(l.inputs * bits), e_o = lemaire_access(std::max(n_out, 1.0) * bits);
    double s = 0;
    if (l.event_driven) {
      const double conv = l.kernel > 1 || l.stride > 1;
      const double reach = conv ? std::ceil(l.kernel / l.stride) * std::ceil(l.kernel / l.stride) * l.c_out : n_out;
      double acc = l.input_spikes * reach + T * n_out + l.output_spikes;
      double mac = l.leaky ? T * n_out : 0.0;
      // Addressing: conv 2θ_in MACs and θ_in·k² ACCs; FC θ_in·N_out ACCs.
      if (conv) {
        mac += 2 * l.input_spikes;
        acc += l.input_spikes * l.kernel * l.kernel;
      } else {
        acc += l.input_spikes * n_out;
      }
      const double touched = l.input_spikes * reach;
      s = mac * (mul + add) + acc * add + touched * e_w + 2 * (touched + T * n_out) * e_v + (l.biases > 0 ? T * n_out * e_b : 0.0) +
          l.input_spikes * e_in + l.output_spikes * e_o;
    } else {
      // An analog layer computes as the ANN does, once per run.
      s = l.runs * (l.macs * (mul + add) + l.macs * (e_w + e_in) + n_out * (e_o + (l.biases > 0 ? e_b : 0.0)));
    }
    add_layer(e, s, l.macs * (mul + add) + l.macs * (e_w + e_in) + n_out * (e_o + (l.biases > 0 ? e_b : 0.0)));
  }
  return e;
}

estimate on_chip(const network_work& w, const chip& c) {
  estimate e;
  e.model = std::string("chip:") + c.name;
  e.source = std::string(c.source) + " (secondary sources)";
  e.secondary = true;
  for (const auto& l : w.layers) {
    const double s = (l.synaptic_events * c.per_sop + l.updates_touched * c.per_update) * pj;
    e.snn_layer_joules.push_back(s);
    e.snn_joules += s;
  }
  return e;
}

}  // namespace

op_energy precision(const std::string& name) {
  if (name == "fp32") return {"fp32", 0.9, 3.7, 32};
  if (name == "fp16") return {"fp16", 0.4, 1.1, 16};
  if (name == "int32") return {"int32", 0.1, 3.1, 32};
  if (name == "int8") return {"int8", 0.03, 0.2, 8};
  throw error("unknown precision '" + name + "' (fp32, fp16, int32, int8)");
}

std::vector<std::string> model_names() {
  std::vector<std::string> out;
  for (const char* p : {"fp32", "fp16", "int32", "int8"}) out.push_back(std::string("ops:") + p);
  for (const char* p : {"fp32", "fp16", "int32", "int8"}) out.push_back(std::string("memory:") + p);
  out.push_back("step-assumed");
  for (const char* p : {"fp32", "int32", "int8"}) out.push_back(std::string("lemaire:") + p);
  for (const auto& c : chips) out.push_back(std::string("chip:") + c.name);
  return out;
}

network_work event_network(double synaptic_events, double neurons, double steps, double spikes) {
  layer_work l;
  l.name = "network";
  l.event_driven = true;
  l.synaptic_events = synaptic_events;
  l.neurons = neurons;
  l.updates_total = l.updates_touched = neurons * steps;
  l.output_spikes = spikes;
  network_work w;
  w.T = steps;
  w.layers = {l};
  return w;
}

const std::vector<std::string>& event_network_models() {
  // Every ops:, memory: and chip: model, in model_names() order: those count operations, bits
  // moved or events and updates, which one event-driven layer has. step-assumed and lemaire:
  // count per layer of a trained network.
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& n : model_names())
      if (n.rfind("ops:", 0) == 0 || n.rfind("memory:", 0) == 0 || n.rfind("chip:", 0) == 0) out.push_back(n);
    return out;
  }();
  return names;
}

estimate estimate_energy(const network_work& w, const std::string& model) {
  const auto colon = model.find(':');
  const std::string family = model.substr(0, colon), arg = colon == std::string::npos ? "" : model.substr(colon + 1);
  std::string list;
  for (const auto& n : model_names()) list += (list.empty() ? "" : ", ") + n;
  try {
    if (family == "ops" && !arg.empty()) return ops(w, precision(arg));
    if (family == "memory" && !arg.empty()) return memory(w, precision(arg));
    if (family == "lemaire" && !arg.empty()) return lemaire(w, precision(arg));
  } catch (const error&) {
    throw error("unknown energy model '" + model + "' (" + list + ")");
  }
  if (model == "step-assumed") return step_assumed(w);
  if (family == "chip")
    for (const auto& c : chips)
      if (arg == c.name) return on_chip(w, c);
  throw error("unknown energy model '" + model + "' (" + list + ")");
}

}  // namespace kspike::energy
