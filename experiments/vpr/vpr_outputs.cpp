#include "experiments/vpr/vpr_outputs.hpp"

#include <hdf5.h>

#include <cmath>
#include <map>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "sim/energy_model.hpp"
#include "sim/io/png_check.hpp"
#include "sim/io/text_file.hpp"
#include "sim/core/error.hpp"
#include "sim/io/hdf5_handle.hpp"
#include "sim/io/json_text.hpp"
#include "sim/io/sonata.hpp"

namespace kspike::vpr {

namespace fs = std::filesystem;

namespace {

// ------------------------------------------------------------------ JSON
std::string distance_json(const distance_metrics& m) {
  std::ostringstream s;
  s << "{\"length\": " << m.length << ", \"recall_at_n\": {";
  const auto& ns = default_recall_ns();
  for (std::size_t k = 0; k < m.recall_at_n.size() && k < ns.size(); ++k)
    s << (k ? ", " : "") << "\"" << ns[k] << "\": " << io::json_number(m.recall_at_n[k]);
  s << "}";
  if (m.square)
    s << ", \"auc\": " << io::json_number(m.pr.auc) << ", \"recall_at_100_precision\": " << io::json_number(m.pr.recall_at_100_precision)
      << ", \"precision_at_100_recall\": " << io::json_number(m.pr.precision_at_100_recall);
  s << "}";
  return s.str();
}

std::string sequences_json(const matrix& distance, const std::string& indent) {
  std::ostringstream s;
  s << "[";
  bool first = true;
  for (std::size_t L : sequence_lengths()) {
    if (L > distance.rows || L > distance.cols) continue;
    s << (first ? "" : ",") << "\n" << indent << "  " << distance_json(metrics_of(distance, L));
    first = false;
  }
  s << "\n" << indent << "]";
  return s.str();
}

std::string eval_json(const evaluation& e, int threshold, const std::string& indent) {
  std::ostringstream s;
  s << "{\n" << indent << "  \"hyperactive_threshold\": " << threshold << ",\n";
  s << indent << "  \"produced\": " << (e.produced ? "true" : "false") << ",\n";
  s << indent << "  \"masked_neurons\": " << e.num_masked << ",\n";
  s << indent << "  \"queries\": " << e.masked_queries.rows << ",\n";
  s << indent << "  \"accuracy_percent\": " << io::json_number(e.accuracy_percent) << ",\n";
  s << indent << "  \"recall_at_n\": {";
  const auto& ns = default_recall_ns();
  for (std::size_t k = 0; k < e.recall_at_n.size() && k < ns.size(); ++k)
    s << (k ? ", " : "") << "\"" << ns[k] << "\": " << io::json_number(e.recall_at_n[k]);
  s << "},\n";
  s << indent << "  \"ties_at_top\": " << e.ties_at_top << ",\n";
  s << indent << "  \"square\": " << (e.square ? "true" : "false");
  if (e.square) {
    s << ",\n" << indent << "  \"auc\": " << io::json_number(e.pr_stats.auc) << ",\n";
    s << indent << "  \"recall_at_100_precision\": " << io::json_number(e.pr_stats.recall_at_100_precision) << ",\n";
    s << indent << "  \"precision_at_100_recall\": " << io::json_number(e.pr_stats.precision_at_100_recall) << ",\n";
    s << indent << "  \"printed_p_at_100_recall_f1\": " << io::json_number(e.pr_stats.printed_p_at_100_recall);
  }
  if (e.produced && !e.distance.empty())
    s << ",\n" << indent << "  \"sequence_matching\": " << sequences_json(e.distance, indent + "  ");
  s << "\n" << indent << "}";
  return s.str();
}

void commit(const std::string& tmp, const std::string& path) {
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) throw error(path + ": cannot rename the finished file into place: " + ec.message());
}

// ------------------------------------------------------------------ HDF5 helpers
using io::h5::read_array;
using io::h5::write_array;


}  // namespace

std::vector<std::size_t> sequence_lengths() { return {2, 4, 6, 10}; }

distance_metrics metrics_of(const matrix& distance, std::size_t length) {
  distance_metrics m;
  m.length = length;
  const matrix d = length > 1 ? sequence_distance(distance, length) : distance;
  m.recall_at_n = recall_at_n(d);
  m.square = d.rows == d.cols;
  if (m.square) m.pr = summarise(precision_recall(d));
  return m;
}

void write_results_h5(const vpr_results& r, const std::string& path) {
  io::h5::quiet_errors quiet;  // a write error is reported once, below, not as HDF5's stack
  const std::string tmp = io::temporary_for(path);
  {
    io::h5::handle f = io::h5::file(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    if (!f) throw error(tmp + ": cannot create");
    io::h5::write_string_attribute(f.get(), "kspike_format", "vpr-results-1");
    io::h5::write_string_attribute(f.get(), "config_text", r.config.text);
    io::h5::handle g = io::h5::group(H5Gcreate2(f.get(), "test", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    const int threshold[1] = {r.threshold};
    write_array(g.get(), "hyperactive_threshold", std::vector<int>(threshold, threshold + 1), {1}, path);
    for (const auto& [name, e] : {std::pair<const char*, const evaluation*>{"similarity_off", &r.test_off},
                                  std::pair<const char*, const evaluation*>{"similarity_on", &r.test_on}}) {
      const matrix& S = e->similarity_unshuffled;
      write_array(g.get(), name, S.values, {S.rows, S.cols}, path);
    }
    if (!f.close()) throw error(tmp + ": HDF5 failed to finish the file (disk full?)");
  }
  commit(tmp, path);
}

matrix read_similarity(const std::string& path, bool hyperactive_on) {
  if (!fs::is_regular_file(path)) throw error(path + ": not found (a kspike vpr output folder holds results.h5)");
  io::h5::quiet_errors quiet;
  io::h5::handle f = io::h5::file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!f) throw error(path + ": not a readable HDF5 file");
  const std::string name = std::string("test/") + (hyperactive_on ? "similarity_on" : "similarity_off");
  if (H5Lexists(f.get(), "test", H5P_DEFAULT) <= 0 || H5Lexists(f.get(), name.c_str(), H5P_DEFAULT) <= 0)
    throw error(path + ": " + name + ": missing");
  io::h5::handle ds = io::h5::dataset(H5Dopen2(f.get(), name.c_str(), H5P_DEFAULT));
  io::h5::handle space = io::h5::dataspace(H5Dget_space(ds.get()));
  hsize_t dims[2] = {0, 0};
  if (H5Sget_simple_extent_ndims(space.get()) != 2) throw error(path + ": " + name + ": not a matrix");
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  matrix S(dims[0], dims[1]);
  if (!S.values.empty() && H5Dread(ds.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, S.values.data()) < 0)
    throw error(path + ": " + name + ": cannot be read");
  return S;
}

void write_ensemble(const std::vector<std::string>& runs, const std::string& folder, const std::string& command) {
  if (runs.size() < 2) throw error("ensemble: give at least two run folders");
  std::ostringstream s;
  s << "{\n  \"command\": " << io::json_string(command) << ",\n  \"members\": [";
  for (std::size_t k = 0; k < runs.size(); ++k) s << (k ? ", " : "") << io::json_string(runs[k]);
  s << "],\n";
  for (bool on : {false, true}) {
    std::vector<matrix> members;
    for (const auto& r : runs) members.push_back(read_similarity((fs::path(r) / "results.h5").string(), on));
    matrix S;
    try {
      S = ensemble_similarity(members);
    } catch (const error& e) {
      throw error("ensemble: the runs do not share their test places: " + std::string(e.what()));
    }
    const matrix D = distance_from_similarity(S);
    s << "  \"" << (on ? "hyperactive_on" : "hyperactive_off") << "\": {\n    \"single\": " << distance_json(metrics_of(D))
      << ",\n    \"sequence_matching\": " << sequences_json(D, "    ") << "\n  }" << (on ? "\n" : ",\n");
  }
  s << "}\n";
  fs::create_directories(folder);
  const std::string path = (fs::path(folder) / "metrics.json").string();
  {
    io::write_text_file_atomically(path, s.str());  // flushed and checked: a full disk is an error, not a short file
  }
}

energy::network_work work_per_query(const query_work& w) {
  const double q = w.queries > 0 ? double(w.queries) : 1.0;
  return energy::event_network(w.synaptic_events / q, w.neurons, w.steps / q, w.spikes / q);
}

std::string energy_text(const vpr_results& r) {
  const query_work& w = r.test_work;
  if (w.queries == 0) return "";
  const double q = double(w.queries);
  const energy::network_work work = work_per_query(w);
  std::ostringstream o;
  char line[200];
  std::snprintf(line, sizeof line,
                "energy per query image (%lld test modules): %.4g synaptic events, %.4g neuron updates, %.4g spikes\n",
                static_cast<long long>(w.modules), w.synaptic_events / q, w.neurons * w.steps / q, w.spikes / q);
  o << line;
  for (const auto& m : energy::event_network_models()) {
    const auto e = energy::estimate_energy(work, m);
    std::snprintf(line, sizeof line, "    %-16s %.4g uJ%s\n", e.model.c_str(), e.snn_joules * 1e6,
                  e.secondary ? " (secondary source)" : "");
    o << line;
  }
  return o.str();
}

void write_metrics_json(const vpr_results& r, const std::string& path, const std::string& command) {
  const vpr_config& c = r.config;
  std::ostringstream s;
  s << "{\n  \"name\": " << io::json_string(c.name) << ",\n  \"command\": " << io::json_string(command) << ",\n";
  s << "  \"config\": " << io::json_string(c.source) << ",\n  \"seed\": " << c.seed << ",\n";
  s << "  \"places\": {\"calibration\": " << c.calibration_places << ", \"test\": " << c.test_places
    << ", \"per_module\": " << c.places_per_module << ", \"modules\": " << c.modules() << ", \"shuffled\": "
    << (c.shuffle ? "true" : "false") << "},\n";
  s << "  \"assignment\": " << io::json_string(c.weighted ? "weighted" : "standard") << ",\n";
  s << "  \"training\": {\n    \"trained_here\": " << (r.trained ? "true" : "false") << ",\n    \"epochs\": " << c.epochs
    << ",\n    \"spikes_per_presentation\": " << io::json_number(r.spikes_per_presentation)
    << ",\n    \"active_neurons_per_presentation\": " << io::json_number(r.active_per_presentation)
    << ",\n    \"theta_mean_mV\": " << io::json_number(r.theta_mean_mv) << ",\n    \"theta_min_mV\": " << io::json_number(r.theta_min_mv)
    << ",\n    \"theta_max_mV\": " << io::json_number(r.theta_max_mv) << "\n  },\n";
  s << "  \"timings\": [";
  for (std::size_t k = 0; k < r.timings.size(); ++k) {
    const auto& t = r.timings[k];
    s << (k ? "," : "") << "\n    {\"phase\": " << io::json_string(t.phase) << ", \"module_images\": " << t.images
      << ", \"batch_images\": " << t.batch_images << ", \"seconds\": " << io::json_number(t.seconds)
      << ", \"ms_per_module_image\": " << io::json_number(t.images ? 1e3 * t.seconds / double(t.images) : 0) << "}";
  }
  s << "\n  ],\n";
  if (r.has_calibration) {
    s << "  \"calibration\": {\n    \"chosen_threshold\": " << r.calibration.threshold << ",\n    \"trials\": [";
    for (std::size_t k = 0; k < r.calibration.trials.size(); ++k)
      s << (k ? "," : "") << "\n      " << eval_json(r.calibration.trials[k].result, r.calibration.trials[k].threshold, "      ");
    s << "\n    ]\n  },\n";
  }
  s << "  \"test\": {\n    \"hyperactive_off\": " << eval_json(r.test_off, 0, "    ") << ",\n    \"hyperactive_on\": "
    << eval_json(r.test_on, r.threshold, "    ") << "\n  },\n";
  // What the test phase simulated per query image, and the energy estimates from it.
  const query_work& w = r.test_work;
  const double q = w.queries > 0 ? double(w.queries) : 1.0;
  s << "  \"energy_per_query_image\": {\n    \"queries\": " << w.queries << ", \"test_modules\": " << w.modules
    << ", \"steps\": " << io::json_number(w.steps / q) << ",\n    \"input_spikes\": " << io::json_number(w.input_spikes / q)
    << ", \"synaptic_events\": " << io::json_number(w.synaptic_events / q) << ", \"neuron_updates\": " << io::json_number(w.neurons * w.steps / q)
    << ", \"spikes\": " << io::json_number(w.spikes / q) << ",\n    \"estimates\": [";
  bool first = true;
  for (const auto& m : energy::event_network_models()) {
    const auto e = energy::estimate_energy(work_per_query(w), m);
    s << (first ? "" : ",") << "\n      {\"model\": " << io::json_string(e.model) << ", \"joules\": " << io::json_number(e.snn_joules)
      << ", \"secondary\": " << (e.secondary ? "true" : "false") << "}";
    first = false;
  }
  s << "\n    ]\n  }\n}\n";
  io::write_text_file_atomically(path, s.str());
}

void write_checkpoint(const vpr_results& r, const std::string& path) {
  io::h5::quiet_errors quiet;  // a write error is reported once, below, not as HDF5's stack
  const std::string tmp = io::temporary_for(path);
  {
    io::h5::handle f = io::h5::file(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    if (!f) throw error(tmp + ": cannot create");
    io::h5::write_string_attribute(f.get(), "kspike_format", "vpr-checkpoint-1");
    io::h5::write_string_attribute(f.get(), "config_text", r.config.text);
    io::h5::write_string_attribute(f.get(), "config_file", r.config.source);
    std::string settings;
    for (const auto& [k, v] : training_settings(r.config)) settings += k + "=" + v + "\n";
    io::h5::write_string_attribute(f.get(), "training_settings", settings);
    std::vector<unsigned long long> perm(r.permutation.begin(), r.permutation.end());
    write_array(f.get(), "permutation", perm, {perm.size()}, path);
    const std::size_t N = r.n_e;
    for (std::size_t m = 0; m < r.modules.size(); ++m) {
      const auto& mr = r.modules[m];
      const std::string g = "module_" + std::to_string(m);
      io::h5::handle grp = io::h5::group(H5Gcreate2(f.get(), g.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
      write_array(grp.get(), "weights", mr.weights, {mr.weights.size() / N, N}, path);
      write_array(grp.get(), "theta", mr.theta, {N}, path);
      write_array(grp.get(), "window_counts", mr.window_counts.values, {mr.window_counts.rows, N}, path);
      write_array(grp.get(), "window_labels", mr.window_labels, {mr.window_labels.size()}, path);
      write_array(grp.get(), "assignments", mr.assignments.label, {mr.assignments.label.size()}, path);
    }
    if (!f.close()) throw error(tmp + ": HDF5 failed to finish the file (disk full?)");
  }
  commit(tmp, path);
}

void read_checkpoint(const std::string& path, vpr_results& r, bool allow_changed_settings) {
  if (!fs::is_regular_file(path)) throw error(path + ": checkpoint not found");
  io::h5::quiet_errors quiet;
  io::h5::handle f = io::h5::file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!f) throw error(path + ": not a readable HDF5 file (truncated?)");
  if (H5Aexists(f.get(), "kspike_format") <= 0 ||
      io::h5::read_string_attribute(f.get(), "kspike_format", path) != "vpr-checkpoint-1")
    throw error(path + ": not a checkpoint of kspike vpr (attribute kspike_format)");
  // The settings training used must be this run's, key by key (checkpoints written before they
  // were stored carry none; the permutation check below still applies to them).
  if (H5Aexists(f.get(), "training_settings") > 0 && !allow_changed_settings) {
    std::map<std::string, std::string> stored;  // "key=value" lines
    std::istringstream lines(io::h5::read_string_attribute(f.get(), "training_settings", path));
    for (std::string line; std::getline(lines, line);)
      if (const auto eq = line.find('='); eq != std::string::npos) stored[line.substr(0, eq)] = line.substr(eq + 1);
    for (const auto& [key, value] : training_settings(r.config)) {
      const auto it = stored.find(key);
      const std::string was = it == stored.end() ? "(absent)" : it->second;
      if (was != value)
        throw error(path + ": trained with " + key + " = " + was + ", this run has " + value +
                    " (--allow-changed-config resumes anyway)");
    }
  }
  const std::size_t n = r.config.total_places(), M = r.config.modules(), N = r.config.n_e, I = 784;
  const auto perm = read_array<unsigned long long>(f.get(), "permutation", n, path);
  for (std::size_t k = 0; k < n; ++k)
    if (perm[k] != r.permutation[k])
      throw error(path + ": permutation: differs from this configuration's (other seed or shuffle setting?)");
  const std::size_t window = r.config.assignment_epochs * r.config.reference.size() * r.config.places_per_module;
  r.modules.clear();
  for (std::size_t m = 0; m < M; ++m) {
    const std::string g = "module_" + std::to_string(m);
    if (H5Lexists(f.get(), g.c_str(), H5P_DEFAULT) <= 0)
      throw error(path + ": " + g + ": missing (the checkpoint has fewer modules than this configuration)");
    io::h5::handle grp = io::h5::group(H5Gopen2(f.get(), g.c_str(), H5P_DEFAULT));
    module_result mr;
    mr.first_label = m * r.config.places_per_module;
    mr.weights = read_array<float>(grp.get(), "weights", I * N, path + ": " + g);
    mr.theta = read_array<float>(grp.get(), "theta", N, path + ": " + g);
    mr.window_counts = matrix(window, N);
    mr.window_counts.values = read_array<double>(grp.get(), "window_counts", window * N, path + ": " + g);
    mr.window_labels = read_array<int>(grp.get(), "window_labels", window, path + ": " + g);
    // Values a broken or hand-edited file could hold: refused before they reach the read-out.
    for (float w : mr.weights)
      if (!std::isfinite(w) || w < 0) throw error(path + ": " + g + "/weights: holds a value that is negative or not finite");
    for (float t : mr.theta)
      if (!std::isfinite(t)) throw error(path + ": " + g + "/theta: holds a value that is not finite");
    for (double x : mr.window_counts.values)
      if (!(x >= 0) || !std::isfinite(x)) throw error(path + ": " + g + "/window_counts: holds a negative or non-finite count");
    for (int label : mr.window_labels)
      if (label < static_cast<int>(mr.first_label) || label >= static_cast<int>(mr.first_label + r.config.places_per_module))
        throw error(path + ": " + g + "/window_labels: label " + std::to_string(label) + " is outside the module's places " +
                    std::to_string(mr.first_label) + ".." + std::to_string(mr.first_label + r.config.places_per_module - 1));
    r.modules.push_back(std::move(mr));
  }
}

void write_test_spikes(const vpr_results& r, const std::string& path) {
  const std::size_t test_modules = r.config.modules() - r.config.calibration_modules();
  io::spike_report_writer w(path, {{"excitatory", static_cast<std::uint64_t>(test_modules * r.n_e)}});
  if (!r.test_spikes.node.empty()) w.append(0, r.test_spikes.node.data(), r.test_spikes.time_ms.data(), r.test_spikes.node.size());
  w.commit();
}

bool write_plots(const vpr_results& r, const std::string& folder) {
  if (std::system("command -v gnuplot > /dev/null 2>&1") != 0) {
    std::cerr << "kspike vpr: gnuplot not found; pr_curve.png and similarity.png not written\n";
    return false;
  }
  const fs::path dir = fs::path(folder) / ".plot-data";
  fs::create_directories(dir);
  auto pr_file = [&](const evaluation& e, const std::string& name) {
    std::ofstream o(dir / name);
    if (e.square)
      for (std::size_t k = 0; k < e.pr.recall.size(); ++k) o << e.pr.recall[k] << " " << e.pr.precision[k] << "\n";
    return e.square;
  };
  const bool off = pr_file(r.test_off, "pr_off.dat");
  const bool on = pr_file(r.test_on, "pr_on.dat");
  {
    std::ofstream o(dir / "similarity.dat");
    const matrix& S = r.test_on.produced ? r.test_on.similarity_unshuffled : r.test_off.similarity_unshuffled;
    for (std::size_t i = 0; i < S.rows; ++i) {
      for (std::size_t j = 0; j < S.cols; ++j) o << (j ? " " : "") << S(i, j);
      o << "\n";
    }
  }
  const std::string pr_png = (fs::path(folder) / "pr_curve.png").string();
  const std::string sim_png = (fs::path(folder) / "similarity.png").string();
  io::temporary_for(pr_png);  // gnuplot writes them: nothing left there may be written through
  io::temporary_for(sim_png);
  std::ostringstream g;
  g << "set terminal pngcairo size 720,560 noenhanced\n";
  g << "set output '" << pr_png << ".tmp'\n";
  g << "set title '" << r.config.name << " (seed " << r.config.seed << "): test precision-recall'\n";
  g << "set xlabel 'recall'\nset ylabel 'precision'\nset xrange [0:1]\nset yrange [0:1.05]\nset grid\nset key bottom left\n";
  std::string plot;
  if (off) plot += "'" + (dir / "pr_off.dat").string() + "' with linespoints pt 7 ps 0.5 title 'hyperactive rule off'";
  if (on && r.threshold != 0)
    plot += std::string(plot.empty() ? "" : ", ") + "'" + (dir / "pr_on.dat").string() +
            "' with linespoints pt 5 ps 0.5 title 'hyperactive T = " + std::to_string(r.threshold) + "'";
  if (plot.empty()) plot = "0 notitle";  // no square similarity matrix: no PR curve (docs/vpr.md)
  g << "plot " << plot << "\nunset output\n";
  g << "set output '" << sim_png << ".tmp'\n";
  g << "set title 'similarity S (rows: reference places, columns: queries, route order)'\n";
  const matrix& S = r.test_on.produced ? r.test_on.similarity_unshuffled : r.test_off.similarity_unshuffled;
  g << "set xlabel 'query'\nset ylabel 'reference place'\nunset grid\n";
  g << "set xrange [-0.5:" << double(S.cols) - 0.5 << "]\nset yrange [" << double(S.rows) - 0.5 << ":-0.5]\n";
  g << "set size ratio -1\nset palette rgb 33,13,10\n";
  g << "plot '" << (dir / "similarity.dat").string() << "' matrix with image notitle\nunset output\n";
  const fs::path script = dir / "plots.gp";
  {
    std::ofstream o(script);
    o << g.str();
  }
  const int rc = std::system(("gnuplot '" + script.string() + "' 2>'" + (dir / "gnuplot.log").string() + "'").c_str());
  bool ok = rc == 0 && io::png_is_complete(pr_png + ".tmp") && io::png_is_complete(sim_png + ".tmp");
  if (ok) {
    commit(pr_png + ".tmp", pr_png);
    commit(sim_png + ".tmp", sim_png);
    fs::remove_all(dir);
  } else {
    std::error_code ec;
    fs::remove(pr_png + ".tmp", ec);
    fs::remove(sim_png + ".tmp", ec);
    std::cerr << "kspike vpr: gnuplot failed; see " << (dir / "gnuplot.log").string() << "\n";
  }
  return ok;
}

}  // namespace kspike::vpr
