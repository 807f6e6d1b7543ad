#include "sim/recorder.hpp"

#include <algorithm>

#include "sim/core/error.hpp"
#include "sim/io/text_file.hpp"

namespace kspike {

namespace {
std::string stem_of(const std::string& out_path) {
  std::string stem = out_path;
  if (stem.size() > 3 && stem.compare(stem.size() - 3, 3, ".h5") == 0) stem.resize(stem.size() - 3);
  return stem;
}
}  // namespace

std::string file_recorder::csv_file(const std::string& out_path) { return stem_of(out_path) + ".csv"; }

std::string file_recorder::state_file(const std::string& out_path, const state_recorder& r) {
  return stem_of(out_path) + "_" + r.population + "_" + r.variable + ".h5";
}

std::string file_recorder::population_name(const std::string& population, int instance, int instances) {
  return instances == 1 ? population : population + "." + std::to_string(instance);
}

file_recorder::file_recorder(const network& net, const std::string& out_path, bool csv, int instances)
    : dt_ms_(net.dt * 1e3), instances_(std::max(instances, 1)) {
  for (const auto& p : net.populations) {
    population_sizes_.push_back(static_cast<std::uint64_t>(p.size));
    for (int k = 0; k < instances_; ++k) population_names_.push_back(population_name(p.name, k, instances_));
  }
  spike_slot_.assign(net.populations.size(), -1);
  std::vector<std::pair<std::string, std::uint64_t>> pops;
  for (const auto& r : net.spike_recorders) {
    const int p = net.find_population(r.population);
    if (p < 0) throw error(where(net.source, "record.spikes") + ": unknown population '" + r.population + "'");
    if (spike_slot_[static_cast<std::size_t>(p)] >= 0) continue;  // recorded once, whatever the config says
    spike_slot_[static_cast<std::size_t>(p)] = static_cast<int>(pops.size());  // its instance 0
    // With instances, one SONATA population per instance: NAME.0, NAME.1, ...
    for (int k = 0; k < instances_; ++k)
      pops.emplace_back(population_name(r.population, k, instances_),
                        static_cast<std::uint64_t>(net.populations[static_cast<std::size_t>(p)].size));
  }
  spike_writer_ = std::make_unique<io::spike_report_writer>(out_path, pops);
  if (csv) {
    csv_path_ = csv_file(out_path);
    csv_ = std::fopen(io::temporary_for(csv_path_).c_str(), "w");
    if (!csv_) throw error(csv_path_ + ": cannot create the CSV spike file");
    std::fprintf(csv_, "population,node_id,time_ms\n");
  }
  for (const auto& r : net.state_recorders) {
    const int p = net.find_population(r.population);
    std::vector<std::uint64_t> ids;
    if (r.neurons.empty())
      for (std::int64_t i = 0; i < net.populations[static_cast<std::size_t>(p)].size; ++i) ids.push_back(static_cast<std::uint64_t>(i));
    else
      for (auto i : r.neurons) ids.push_back(static_cast<std::uint64_t>(i));
    const double every = std::max(1.0, std::round(r.interval / net.dt));
    // The model's own variables have their unit in its header; syn_e/syn_i that of its weights.
    std::string units = "model";
    visit_neuron_model(net.populations[static_cast<std::size_t>(p)].model, [&](auto tag, const auto&) {
      using M = typename decltype(tag)::type;
      const std::string u = neurons::variable_unit<M>(r.variable);
      if (!u.empty()) units = u;
    });
    // The engine samples the neurons of every instance, instance after instance.
    std::vector<io::frame_report_writer::population_spec> specs;
    for (int k = 0; k < instances_; ++k) specs.push_back({population_name(r.population, k, instances_), ids});
    frame_writers_.push_back(std::make_unique<io::frame_report_writer>(state_file(out_path, r), r.variable, units,
                                                                       every * dt_ms_, every * dt_ms_, specs));
  }
}

file_recorder::~file_recorder() {
  if (csv_) {  // neither committed nor kept as partial: remove the temporary file
    std::fclose(csv_);
    std::remove((csv_path_ + ".tmp").c_str());
  }
}

void file_recorder::spikes(step_t step, std::size_t population, const std::int64_t* ids, std::size_t n) {
  const int slot = spike_slot_[population];
  if (slot < 0) return;
  // A spike found at the end of step s happened at time (s + 1) dt.
  const double t = static_cast<double>(step + 1) * dt_ms_;
  // ids arrive sorted, so instance after instance (id = instance * size + node): one run each.
  const std::uint64_t size = population_sizes_[population];
  std::size_t k = 0;
  while (k < n) {
    const std::uint64_t instance = static_cast<std::uint64_t>(ids[k]) / size;
    id_buffer_.clear();
    for (; k < n && static_cast<std::uint64_t>(ids[k]) / size == instance; ++k)
      id_buffer_.push_back(static_cast<std::uint64_t>(ids[k]) - instance * size);
    time_buffer_.assign(id_buffer_.size(), t);
    spike_writer_->append(static_cast<std::size_t>(slot) + instance, id_buffer_.data(), time_buffer_.data(),
                          id_buffer_.size());
    if (csv_) {
      const std::string& name = population_names_[population * static_cast<std::size_t>(instances_) + instance];
      for (std::uint64_t id : id_buffer_) std::fprintf(csv_, "%s,%llu,%.10g\n", name.c_str(), static_cast<unsigned long long>(id), t);
    }
  }
  spikes_recorded_ += n;
}

void file_recorder::state(step_t, std::size_t recorder, const float* values, std::size_t) {
  frame_writers_[recorder]->append_frame(0, values);
}

std::vector<std::string> file_recorder::commit() {
  std::vector<std::string> paths;
  for (auto& w : frame_writers_) {
    w->commit();
    paths.push_back(w->path());
  }
  spike_writer_->commit();
  paths.insert(paths.begin(), spike_writer_->path());
  if (csv_) paths.push_back(finish_csv(""));
  return paths;
}

std::string file_recorder::finish_csv(const std::string& suffix) {
  const bool ok = std::fclose(csv_) == 0;
  csv_ = nullptr;
  if (!ok || std::rename((csv_path_ + ".tmp").c_str(), (csv_path_ + suffix).c_str()) != 0)
    throw error(csv_path_ + ": cannot write the CSV spike file");
  return csv_path_ + suffix;
}

std::vector<std::string> file_recorder::close_partial() {
  std::vector<std::string> paths{spike_writer_->close_partial()};
  for (auto& w : frame_writers_) paths.push_back(w->close_partial());
  if (csv_) paths.push_back(finish_csv(".partial"));
  return paths;
}

std::size_t file_recorder::buffer_bytes() const { return spike_writer_->buffer_bytes(); }

}  // namespace kspike
