#pragma once
// SONATA spike reports and frame reports (docs/formats.md): streaming writers and
// lenient readers. Host-only (HDF5 C API); no Kokkos.
//
// Writers are strict and atomic: they write "<path>.tmp", buffer at most `chunk` records per
// population in memory, extend chunked datasets as buffers fill, and rename to <path> on
// commit(). close_partial() (used on SIGINT) flushes what was recorded, marks the file with
// root attribute `kspike_complete` = 0, closes it and renames it to "<path>.partial".
// A writer destroyed without either removes its temporary file.
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace kspike::io {

class spike_report_writer {
 public:
  // populations: (name, number of nodes). chunk: spikes buffered per population before a write.
  spike_report_writer(std::string path,
                      const std::vector<std::pair<std::string, std::uint64_t>>& populations,
                      std::size_t chunk = std::size_t{1} << 16);
  ~spike_report_writer();
  spike_report_writer(const spike_report_writer&) = delete;
  spike_report_writer& operator=(const spike_report_writer&) = delete;

  // Appends n spikes of population `pop` (index into the constructor's list). Times in ms,
  // non-decreasing across calls for a population (the file says sorting = by_time).
  void append(std::size_t pop, const std::uint64_t* node_ids, const double* times_ms, std::size_t n);
  void commit();
  std::string close_partial();  // returns the path of the partial file
  std::uint64_t spikes_written() const;
  std::size_t buffer_bytes() const;  // bytes held in memory at most (for peak-memory reports)
  const std::string& path() const;

 private:
  struct impl;
  impl* impl_;
};

// One file per recorded variable, with /report/<population>/{data, mapping/...}.
class frame_report_writer {
 public:
  struct population_spec {
    std::string name;
    std::vector<std::uint64_t> node_ids;  // one element per node
  };
  frame_report_writer(std::string path, std::string variable, std::string units, double t_start_ms,
                      double dt_ms, const std::vector<population_spec>& populations,
                      std::size_t chunk_frames = 256);
  ~frame_report_writer();
  frame_report_writer(const frame_report_writer&) = delete;
  frame_report_writer& operator=(const frame_report_writer&) = delete;

  // One sample of every node of population `pop` (values.size() == node count).
  void append_frame(std::size_t pop, const float* values);
  void commit();
  std::string close_partial();
  const std::string& path() const;

 private:
  struct impl;
  impl* impl_;
};

// ---- readers: lenient ----------------------------------------------------------------
struct spike_population {
  std::string name;
  std::vector<std::uint64_t> node_ids;
  std::vector<double> timestamps;  // as stored (units below, normally ms)
  std::string sorting;             // "none", "by_id", "by_time", "by_gid" (legacy) or "" if absent
  std::string units;               // "" if absent
};
// Reads /spikes/<pop>/{timestamps,node_ids} (string or enum `sorting`, on the group or on
// node_ids) and the legacy /spikes/{gids,timestamps} layout (returned as population "").
std::vector<spike_population> read_spike_report(const std::string& path);

struct frame_population {
  std::string name;
  std::vector<std::uint64_t> node_ids;
  std::vector<std::uint64_t> index_pointers;
  std::vector<std::uint32_t> element_ids;
  double t_start = 0, t_stop = 0, dt = 0;  // ms, from mapping/time
  std::size_t n_frames = 0, n_elements = 0;
  std::vector<float> data;  // row-major [n_frames][n_elements]
  std::string units, variable;
};
std::vector<frame_population> read_frame_report(const std::string& path);

}  // namespace kspike::io
