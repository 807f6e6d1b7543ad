#pragma once
// Writes what a network's recorders ask for to SONATA files, streaming as the run goes:
//   OUT                         spike report of every population with a spike recorder
//   OUT_STEM_<pop>_<var>.h5     one frame report per state recorder
//   OUT_STEM.csv                (optional) the same spikes as text: population,node_id,time_ms
// With N instances, population NAME is written as NAME.0 .. NAME.{N-1}.
// Files are written under temporary names and renamed by commit(); close_partial() keeps
// what was recorded so far as "<file>.partial" (interrupted runs).
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "sim/engine.hpp"
#include "sim/io/sonata.hpp"

namespace kspike {

class file_recorder final : public recording_sink {
 public:
  // With `instances` N > 1 (engine_options::instances) every recorded population becomes N
  // SONATA populations, NAME.0 .. NAME.{N-1}, in the spike report and in each frame report.
  file_recorder(const network& net, const std::string& out_path, bool csv = false, int instances = 1);
  static std::string population_name(const std::string& population, int instance, int instances);
  ~file_recorder() override;
  void spikes(step_t step, std::size_t population, const std::int64_t* ids, std::size_t n) override;
  void state(step_t step, std::size_t recorder, const float* values, std::size_t n) override;
  // Renames every file to its final name; returns the paths written.
  std::vector<std::string> commit();
  std::vector<std::string> close_partial();
  std::uint64_t spikes_recorded() const { return spikes_recorded_; }
  std::size_t buffer_bytes() const;
  static std::string state_file(const std::string& out_path, const state_recorder& r);
  static std::string csv_file(const std::string& out_path);

 private:
  std::string finish_csv(const std::string& suffix);
  double dt_ms_;
  std::unique_ptr<io::spike_report_writer> spike_writer_;
  std::vector<int> spike_slot_;  // population -> index in the spike writer, or -1
  std::vector<std::unique_ptr<io::frame_report_writer>> frame_writers_;
  std::vector<std::uint64_t> id_buffer_;
  std::vector<double> time_buffer_;
  std::uint64_t spikes_recorded_ = 0;
  std::vector<std::string> population_names_;  // [population * instances + instance]
  std::vector<std::uint64_t> population_sizes_;  // neurons of one instance
  int instances_ = 1;
  std::string csv_path_;
  std::FILE* csv_ = nullptr;  // written as csv_path_ + ".tmp", renamed by commit()
};

}  // namespace kspike
