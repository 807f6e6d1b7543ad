#include "experiments/classify/energy_report.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "sim/core/error.hpp"
#include "sim/io/json_text.hpp"
#include "sim/io/png_check.hpp"
#include "sim/io/text_file.hpp"

namespace kspike::classify {

namespace fs = std::filesystem;

namespace {

// Steps of a layer counted when the first `used` steps of the run are.
std::int64_t counted(const layer_activity& l, std::int64_t used) { return l.steps == 1 ? 1 : std::min<std::int64_t>(l.steps, used); }

double sum_first(const std::vector<double>& v, std::int64_t n) {
  double s = 0;
  for (std::int64_t t = 0; t < n && t < static_cast<std::int64_t>(v.size()); ++t) s += v[static_cast<std::size_t>(t)];
  return s;
}

}  // namespace

energy::network_work work_of(const network_activity& a, std::int64_t used, bool per_step) {
  if (used <= 0 || used > a.T) used = a.T;
  if (a.images <= 0) throw internal_error("work_of: no images counted");
  const double n = double(a.images);
  energy::network_work w;
  w.T = double(used);
  for (const auto& l : a.layers) {
    const std::int64_t c = counted(l, used);
    if (l.kind != "spike") {
      energy::layer_work k;
      k.name = l.name;
      k.event_driven = l.source >= 0 || l.ternary_input;
      k.macs = l.macs;
      k.runs = double(c);
      if (per_step && !k.event_driven && l.steps == 1 && a.direct_input) k.runs = double(used);
      k.synaptic_events = sum_first(l.synaptic_events, c) / n;
      k.input_spikes = sum_first(l.input_events, c) / n;
      k.weights = double(l.weights);
      k.biases = double(l.biases);
      k.inputs = double(l.inputs);
      k.out_neurons = double(l.outputs);
      k.c_out = double(l.c_out);
      k.kernel = double(l.kernel);
      k.stride = double(l.stride);
      w.layers.push_back(k);
    } else if (!w.layers.empty() && w.layers.back().neurons == 0) {
      energy::layer_work& k = w.layers.back();  // the neurons this weighted layer drives
      k.neurons = double(l.neurons);
      k.updates_total = double(l.neurons) * double(c);
      k.updates_touched = sum_first(l.touched, c) / n;
      k.output_spikes = l.spiking ? sum_first(l.output_events, c) / n : 0.0;
      k.leaky = a.neuron == "lif" || a.neuron == "mpbn";
    }
  }
  return w;
}

std::string energy_json(const network_activity& a, double accuracy, std::int64_t used, bool per_step, const std::vector<std::string>& models) {
  if (used <= 0 || used > a.T) used = a.T;
  const double n = double(a.images);
  double weights = 0, zeros = 0, acts = 0, act_total = 0, eff_ac = 0, eff_mac = 0, dense = 0, updates = 0, updates_total = 0, events = 0,
         in_spikes = 0, out_spikes = 0;
  for (const auto& l : a.layers) {
    const std::int64_t c = counted(l, used);
    if (l.kind == "spike") {
      acts += sum_first(l.output_events, c);
      act_total += double(l.neurons) * double(c) * n;
      updates += sum_first(l.touched, c);
      updates_total += double(l.neurons) * double(c) * n;
      if (l.spiking) out_spikes += sum_first(l.output_events, c);
    } else {
      weights += double(l.weights);
      zeros += double(l.zero_weights);
      (l.ternary_input ? eff_ac : eff_mac) += sum_first(l.effective_pairs, c);
      dense += l.dense_pairs * double(c) * n;
      events += sum_first(l.synaptic_events, c);
      if (l.source >= 0 || l.ternary_input) in_spikes += sum_first(l.input_events, c);
    }
  }
  std::ostringstream o;
  o << "{\n  \"model\": " << io::json_string(a.model) << ",\n  \"neuron\": " << io::json_string(a.neuron) << ",\n  \"timesteps\": " << used
    << ",\n  \"images\": " << a.images << ",\n  \"accuracy\": " << io::json_number(accuracy) << ",\n  \"first_layer\": "
    << io::json_string(per_step ? "analog input layer counted at every step" : "analog input layer counted as run (once for direct input)")
    << ",\n  \"neurobench\": {\n    \"Footprint\": " << io::json_number(a.footprint_bytes) << ",\n    \"ConnectionSparsity\": " << io::json_number(weights > 0 ? zeros / weights : 0)
    << ",\n    \"ActivationSparsity\": " << io::json_number(act_total > 0 ? 1 - acts / act_total : 0) << ",\n    \"SynapticOperations\": {\"Effective_MACs\": "
    << io::json_number(eff_mac / n) << ", \"Effective_ACs\": " << io::json_number(eff_ac / n) << ", \"Dense\": " << io::json_number(dense / n)
    << "},\n    \"MembraneUpdates\": " << io::json_number(updates / n) << "\n  },\n  \"per_inference\": {\n    \"synaptic_events\": " << io::json_number(events / n)
    << ",\n    \"input_spikes\": " << io::json_number(in_spikes / n) << ",\n    \"output_spikes\": " << io::json_number(out_spikes / n)
    << ",\n    \"membrane_updates_touched\": " << io::json_number(updates / n) << ",\n    \"membrane_updates_total\": " << io::json_number(updates_total / n)
    << "\n  },\n  \"energy\": [";
  const auto w = work_of(a, used, per_step);
  for (std::size_t i = 0; i < models.size(); ++i) {
    const auto e = energy::estimate_energy(w, models[i]);
    o << (i ? "," : "") << "\n    {\"model\": " << io::json_string(e.model) << ", \"snn_joules\": " << io::json_number(e.snn_joules)
      << ", \"ann_joules\": " << (e.ann_joules < 0 ? std::string("null") : io::json_number(e.ann_joules)) << ", \"secondary\": " << (e.secondary ? "true" : "false")
      << ", \"source\": " << io::json_string(e.source) << "}";
  }
  o << "\n  ]\n}\n";
  return o.str();
}

std::string energy_layers_csv(const network_activity& a, std::int64_t used, bool per_step, const std::vector<std::string>& models) {
  const auto w = work_of(a, used, per_step);
  std::vector<energy::estimate> es;
  for (const auto& m : models) es.push_back(energy::estimate_energy(w, m));
  std::ostringstream o;
  o << "layer,event_driven,macs_per_run,runs,synaptic_events,input_spikes,neurons,membrane_updates_touched,membrane_updates_total,output_spikes";
  for (const auto& e : es)
    if (!e.snn_layer_joules.empty()) o << "," << e.model << "_snn_J" << (e.ann_layer_joules.empty() ? "" : "," + e.model + "_ann_J");
  o << "\n";
  for (std::size_t i = 0; i < w.layers.size(); ++i) {
    const auto& l = w.layers[i];
    o << l.name << "," << (l.event_driven ? 1 : 0) << "," << io::json_number(l.macs) << "," << io::json_number(l.runs) << "," << io::json_number(l.synaptic_events) << ","
      << io::json_number(l.input_spikes) << "," << io::json_number(l.neurons) << "," << io::json_number(l.updates_touched) << "," << io::json_number(l.updates_total) << "," << io::json_number(l.output_spikes);
    for (const auto& e : es)
      if (!e.snn_layer_joules.empty()) {
        o << "," << io::json_number(e.snn_layer_joules[i]);
        if (!e.ann_layer_joules.empty()) o << "," << io::json_number(e.ann_layer_joules[i]);
      }
    o << "\n";
  }
  return o.str();
}

namespace {

bool have_gnuplot(const std::string& png) {
  if (std::system("command -v gnuplot > /dev/null 2>&1") == 0) return true;
  std::cerr << "kspike: gnuplot not found; " << png << " not written\n";
  return false;
}

}  // namespace

void plot_energy_layers(const std::string& csv, const std::string& png, const std::string& title) {
  if (!have_gnuplot(png)) return;
  // Columns 11 and 12: ops:fp32 SNN and ANN (the first model of the CSV when ops:fp32 is first).
  std::ostringstream g;
  g << "set terminal pngcairo size 800,480 noenhanced\nset output '" << png << ".tmp'\nset datafile separator ','\n"
    << "set title '" << title << "'\nset style data histograms\nset style histogram clustered gap 1\nset style fill solid 0.8 border -1\n"
    << "set ylabel 'energy per inference (J), ops:fp32'\nset format y '%.0e'\nset logscale y\nset key top right\nset grid y\nset xtics rotate by -20\n"
    << "plot '" << csv << "' skip 1 using 11:xtic(1) title 'SNN (counted events)', '' skip 1 using 12 title 'ANN of the same layers'\n";
  io::plot_with_gnuplot(g.str(), png);
}

void plot_accuracy_vs_T(const std::string& csv, const std::string& png, const std::string& title) {
  if (!have_gnuplot(png)) return;
  std::ostringstream g;
  g << "set terminal pngcairo size 720,480 noenhanced\nset output '" << png << ".tmp'\nset datafile separator ','\n"
    << "set title '" << title << "'\nset xlabel 'time steps T'\nset ylabel 'test accuracy'\nset logscale x 2\nset grid\n"
    << "set key bottom right\n"
    << "plot '" << csv << "' skip 1 using 1:2 with linespoints pt 7 title 'SNN', '' skip 1 using 1:3 with lines dt 2 title 'ANN'\n";
  io::plot_with_gnuplot(g.str(), png);
}

void plot_accuracy_energy(const std::string& csv, const std::string& png, const std::string& title) {
  if (!have_gnuplot(png)) return;
  std::ostringstream g;
  g << "set terminal pngcairo size 860,540 noenhanced\nset output '" << png << ".tmp'\nset datafile separator ','\n"
    << "set title '" << title << "'\nset xlabel 'energy per inference (µJ, ops:fp32)'\nset ylabel 'test accuracy'\nset logscale x\n"
    << "set format x '%g'\nset grid\nset key off\n"
    << "plot '" << csv << "' skip 1 using ($2*1e6):3 with points pt 7 ps 1.2, '' skip 1 using ($2*1e6):3:1 with labels offset 0.6,0.5 left "
    << "font ',7'\n";
  io::plot_with_gnuplot(g.str(), png);
}

}  // namespace kspike::classify
