// SONATA spike and frame reports over the HDF5 C API (docs/formats.md).
#include "sim/io/sonata.hpp"

#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <system_error>

#include "sim/core/error.hpp"
#include "sim/io/hdf5_handle.hpp"
#include "sim/io/text_file.hpp"
#include "sim/memory_budget.hpp"

namespace kspike::io {
namespace {

namespace fs = std::filesystem;

constexpr std::uint32_t sonata_magic = 0x0A7A;
constexpr std::uint32_t sonata_version[2] = {0, 1};

// HDF5 prints its whole error stack to stderr by default; our callers want the one-line
// kspike::error instead, so the stack is switched off before any call that may fail.
void quiet_hdf5() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

// ======================================================================================
// Writing
// ======================================================================================

[[noreturn]] void write_failed(const std::string& path, const std::string& what) {
  throw error(path + ": cannot write " + what + " (disk full or file removed?)");
}

void check(herr_t status, const std::string& path, const std::string& what) {
  if (status < 0) write_failed(path, what);
}

h5::handle checked(h5::handle h, const std::string& path, const std::string& what) {
  if (!h) write_failed(path, what);
  return h;
}

// Why H5Fcreate failed, in words a user can act on (HDF5's own reason is not exposed).
std::string creation_failure(const std::string& path) {
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return "cannot create file: directory '" + dir.string() + "' does not exist";
  if (::access(dir.c_str(), W_OK) != 0) return "cannot create file: directory '" + dir.string() + "' is not writable";
  return "cannot create file";
}

// Writes attribute `name` on `loc`, creating it or overwriting an existing one (so the
// `kspike_complete` flag can be set at creation and changed at the end).
// file_type is what the file stores (fixed little-endian), mem_type what `value` holds.
void put_attribute(hid_t loc, const char* name, hid_t file_type, hid_t mem_type, hid_t space, const void* value,
                   const std::string& path) {
  h5::handle attr;
  if (H5Aexists(loc, name) > 0)
    attr = h5::attribute(H5Aopen(loc, name, H5P_DEFAULT));
  else
    attr = h5::attribute(H5Acreate2(loc, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT));
  attr = checked(std::move(attr), path, std::string("attribute ") + name);
  check(H5Awrite(attr.get(), mem_type, value), path, std::string("attribute ") + name);
}

h5::handle scalar_space() { return h5::dataspace(H5Screate(H5S_SCALAR)); }

void put_u8(hid_t loc, const char* name, std::uint8_t value, const std::string& path) {
  put_attribute(loc, name, H5T_STD_U8LE, H5T_NATIVE_UINT8, scalar_space().get(), &value, path);
}

// Variable-length strings, as BMTK and h5py write them (h5py reads them back as str).
void put_string(hid_t loc, const char* name, const std::string& value, const std::string& path) {
  h5::handle type = h5::datatype(H5Tcopy(H5T_C_S1));
  check(H5Tset_size(type.get(), H5T_VARIABLE), path, name);
  check(H5Tset_cset(type.get(), H5T_CSET_UTF8), path, name);
  const char* text = value.c_str();
  put_attribute(loc, name, type.get(), type.get(), scalar_space().get(), &text, path);
}

// `sorting` as the SONATA spec and libsonata have it: an enum over uint8.
void put_sorting_enum(hid_t loc, const char* value_name, const std::string& path) {
  h5::handle type = checked(h5::datatype(H5Tenum_create(H5T_NATIVE_UINT8)), path, "sorting type");
  const char* names[] = {"none", "by_id", "by_time"};
  for (std::uint8_t v = 0; v < 3; ++v) check(H5Tenum_insert(type.get(), names[v], &v), path, "sorting type");
  std::uint8_t value = 0;
  check(H5Tenum_valueof(type.get(), value_name, &value), path, "sorting");
  put_attribute(loc, "sorting", type.get(), type.get(), scalar_space().get(), &value, path);
}

void put_root_attributes(hid_t file, const std::string& path) {
  put_attribute(file, "magic", H5T_STD_U32LE, H5T_NATIVE_UINT32, scalar_space().get(), &sonata_magic, path);
  const hsize_t two = 2;
  h5::handle pair = h5::dataspace(H5Screate_simple(1, &two, nullptr));
  put_attribute(file, "version", H5T_STD_U32LE, H5T_NATIVE_UINT32, pair.get(), sonata_version, path);
  put_u8(file, "kspike_complete", 0, path);  // a crash leaves a .tmp that says "incomplete"
}

// Groups remember creation order so readers list populations in the order they were given.
h5::handle make_group(hid_t loc, const std::string& name, const std::string& path) {
  h5::handle gcpl = h5::plist(H5Pcreate(H5P_GROUP_CREATE));
  check(H5Pset_link_creation_order(gcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED), path, name);
  return checked(h5::group(H5Gcreate2(loc, name.c_str(), H5P_DEFAULT, gcpl.get(), H5P_DEFAULT)), path,
                 "group " + name);
}

// A chunked dataset that starts with zero rows and grows along its first dimension.
h5::handle make_growing_dataset(hid_t loc, const char* name, hid_t type, int rank, const hsize_t* chunk,
                                const hsize_t* columns, const std::string& path) {
  hsize_t dims[2] = {0, rank > 1 ? columns[0] : 0};
  // A zero-width fixed dimension cannot hold a chunk, so an empty population's is unlimited too.
  hsize_t max_dims[2] = {H5S_UNLIMITED, rank > 1 && columns[0] > 0 ? columns[0] : H5S_UNLIMITED};
  h5::handle space = checked(h5::dataspace(H5Screate_simple(rank, dims, max_dims)), path, name);
  h5::handle dcpl = h5::plist(H5Pcreate(H5P_DATASET_CREATE));
  check(H5Pset_chunk(dcpl.get(), rank, chunk), path, name);
  return checked(h5::dataset(H5Dcreate2(loc, name, type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT)),
                 path, name);
}

// Appends `rows` rows (of `columns` values each for 2-D datasets) after the first `at` rows.
void append_rows(hid_t dset, hid_t mem_type, int rank, hsize_t at, hsize_t rows, hsize_t columns, const void* data,
                 const std::string& path, const std::string& what) {
  if (rows == 0) return;
  const hsize_t new_dims[2] = {at + rows, columns};
  check(H5Dset_extent(dset, new_dims), path, what);
  h5::handle file_space = checked(h5::dataspace(H5Dget_space(dset)), path, what);
  const hsize_t start[2] = {at, 0};
  const hsize_t count[2] = {rows, columns};
  check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr), path, what);
  h5::handle mem_space = checked(h5::dataspace(H5Screate_simple(rank, count, nullptr)), path, what);
  check(H5Dwrite(dset, mem_type, mem_space.get(), file_space.get(), H5P_DEFAULT, data), path, what);
}

// A fixed-size 1-D dataset written in one go.
void write_array(hid_t loc, const char* name, hid_t file_type, hid_t mem_type, hsize_t n, const void* data,
                 const std::string& path) {
  h5::handle space = checked(h5::dataspace(H5Screate_simple(1, &n, nullptr)), path, name);
  h5::handle dset = checked(
      h5::dataset(H5Dcreate2(loc, name, file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)), path, name);
  if (n > 0) check(H5Dwrite(dset.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), path, name);
}

void check_population_names(const std::vector<std::string>& names, const std::string& path) {
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string& n = names[i];
    if (n.empty() || n == "." || n.find('/') != std::string::npos)
      throw error(path + ": population name '" + n + "' cannot name an HDF5 group");
    if (std::find(names.begin(), names.begin() + static_cast<std::ptrdiff_t>(i), n) !=
        names.begin() + static_cast<std::ptrdiff_t>(i))
      throw error(path + ": population '" + n + "' is listed twice");
  }
}

// The life of one output file: created as "<path>.tmp" with the root attributes, then either
// finished (flagged, closed, renamed) or abandoned (closed and removed) by the destructor.
class report_file {
 public:
  explicit report_file(std::string path) : path_(std::move(path)), tmp_(temporary_for(path_)) {
    quiet_hdf5();
    file_ = h5::file(H5Fcreate(tmp_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    if (!file_) throw error(path_ + ": " + creation_failure(path_));
    try {
      put_root_attributes(file_.get(), path_);
    } catch (...) {
      abandon();  // the destructor does not run for a half-built object
      throw;
    }
  }
  ~report_file() {
    if (!finished_) abandon();
  }
  report_file(const report_file&) = delete;
  report_file& operator=(const report_file&) = delete;

  hid_t id() const { return file_.get(); }
  const std::string& path() const { return path_; }
  bool finished() const { return finished_; }

  // Every dataset and group of the file must be closed first: HDF5 keeps the file open
  // while any object in it is, and the data must be on disk before the rename.
  std::string finish(bool complete) {
    put_u8(file_.get(), "kspike_complete", complete ? 1 : 0, path_);
    if (!file_.close()) write_failed(path_, "file (closing)");
    const std::string target = complete ? path_ : path_ + ".partial";
    std::error_code ec;
    fs::rename(tmp_, target, ec);
    if (ec) throw error(path_ + ": cannot rename " + tmp_ + " to " + target + ": " + ec.message());
    finished_ = true;
    final_path_ = target;
    return target;
  }
  const std::string& final_path() const { return final_path_; }

 private:
  void abandon() {
    file_.reset();
    std::error_code ec;
    fs::remove(tmp_, ec);
  }

  std::string path_, tmp_, final_path_;
  h5::handle file_;
  bool finished_ = false;
};

// The largest HDF5 chunk we ask for, in elements: big enough for fast sequential writes,
// small enough that HDF5's default 1 MiB chunk cache is not the thing holding memory.
constexpr hsize_t max_chunk_elements = hsize_t{1} << 17;

}  // namespace

// ======================================================================================
// spike_report_writer
// ======================================================================================

struct spike_report_writer::impl {
  struct population {
    std::string name;
    h5::handle node_ids, timestamps;
    std::vector<std::uint64_t> ids;  // at most `chunk` spikes wait here
    std::vector<double> times;
    std::uint64_t flushed = 0;  // spikes already in the file
    double last_time = -std::numeric_limits<double>::infinity();
  };

  // file first: members are destroyed in reverse, so datasets close before the file does.
  report_file file;
  std::size_t chunk;
  std::vector<population> pops;
  std::uint64_t appended = 0;

  impl(std::string path, std::size_t chunk_spikes) : file(std::move(path)), chunk(std::max<std::size_t>(1, chunk_spikes)) {}

  void flush(population& p) {
    const hsize_t n = p.ids.size();
    const std::string where_ids = "/spikes/" + p.name + "/node_ids";
    append_rows(p.node_ids.get(), H5T_NATIVE_UINT64, 1, p.flushed, n, 1, p.ids.data(), file.path(), where_ids);
    append_rows(p.timestamps.get(), H5T_NATIVE_DOUBLE, 1, p.flushed, n, 1, p.times.data(), file.path(),
                "/spikes/" + p.name + "/timestamps");
    p.flushed += n;
    p.ids.clear();  // keeps the capacity: no reallocation per chunk
    p.times.clear();
  }

  std::string finish(bool complete) {
    if (file.finished()) {
      if (complete || file.final_path() == file.path()) throw internal_error(file.path() + ": report already closed");
      return file.final_path();
    }
    for (auto& p : pops) flush(p);
    for (auto& p : pops) {
      p.node_ids.reset();
      p.timestamps.reset();
    }
    return file.finish(complete);
  }
};

spike_report_writer::spike_report_writer(std::string path,
                                         const std::vector<std::pair<std::string, std::uint64_t>>& populations,
                                         std::size_t chunk) {
  std::vector<std::string> names;
  for (const auto& p : populations) names.push_back(p.first);
  check_population_names(names, path);
  auto im = std::make_unique<impl>(std::move(path), chunk);
  const std::string& where_file = im->file.path();
  h5::handle spikes = make_group(im->file.id(), "spikes", where_file);
  const hsize_t h5_chunk = std::min<hsize_t>(im->chunk, max_chunk_elements);
  for (const auto& [name, size] : populations) {
    (void)size;  // SONATA spike files do not store the population size
    impl::population p;
    p.name = name;
    h5::handle g = make_group(spikes.get(), name, where_file);
    put_sorting_enum(g.get(), "by_time", where_file);
    p.node_ids = make_growing_dataset(g.get(), "node_ids", H5T_STD_U64LE, 1, &h5_chunk, nullptr, where_file);
    p.timestamps = make_growing_dataset(g.get(), "timestamps", H5T_IEEE_F64LE, 1, &h5_chunk, nullptr, where_file);
    put_string(p.timestamps.get(), "units", "ms", where_file);
    im->pops.push_back(std::move(p));
  }
  impl_ = im.release();
}

spike_report_writer::~spike_report_writer() { delete impl_; }

void spike_report_writer::append(std::size_t pop, const std::uint64_t* node_ids, const double* times_ms,
                                 std::size_t n) {
  if (impl_->file.finished()) throw internal_error(impl_->file.path() + ": append after the report was closed");
  if (pop >= impl_->pops.size()) throw internal_error(impl_->file.path() + ": population index out of range");
  auto& p = impl_->pops[pop];
  // The file promises sorting = by_time, so an out-of-order caller is a bug to catch here.
  for (std::size_t i = 0; i < n; ++i) {
    if (times_ms[i] < p.last_time)
      throw internal_error(impl_->file.path() + ": spikes of '" + p.name + "' appended out of time order");
    p.last_time = times_ms[i];
  }
  if (p.ids.capacity() < impl_->chunk) {
    p.ids.reserve(impl_->chunk);
    p.times.reserve(impl_->chunk);
  }
  // Copy in pieces that fill the buffer, so a large batch never grows it past `chunk`.
  std::size_t done = 0;
  while (done < n) {
    const std::size_t take = std::min(n - done, impl_->chunk - p.ids.size());
    p.ids.insert(p.ids.end(), node_ids + done, node_ids + done + take);
    p.times.insert(p.times.end(), times_ms + done, times_ms + done + take);
    done += take;
    if (p.ids.size() == impl_->chunk) impl_->flush(p);
  }
  impl_->appended += n;
}

void spike_report_writer::commit() { impl_->finish(true); }

std::string spike_report_writer::close_partial() { return impl_->finish(false); }

// Every spike handed to append(), whether still buffered or already in the file.
std::uint64_t spike_report_writer::spikes_written() const { return impl_->appended; }

std::size_t spike_report_writer::buffer_bytes() const {
  return impl_->pops.size() * impl_->chunk * (sizeof(std::uint64_t) + sizeof(double));
}

const std::string& spike_report_writer::path() const { return impl_->file.path(); }

// ======================================================================================
// frame_report_writer
// ======================================================================================

struct frame_report_writer::impl {
  struct population {
    std::string name;
    std::size_t n_nodes = 0;
    h5::handle data, time;
    std::vector<float> frames;  // row-major, at most `chunk` frames
    std::size_t buffered = 0;
    std::uint64_t flushed = 0;
  };

  report_file file;  // first, so the datasets below close before it (reverse destruction)
  double t_start, dt;
  std::size_t chunk;
  std::vector<population> pops;

  impl(std::string path, double t0, double step, std::size_t chunk_frames)
      : file(std::move(path)), t_start(t0), dt(step), chunk(std::max<std::size_t>(1, chunk_frames)) {}

  void flush(population& p) {
    append_rows(p.data.get(), H5T_NATIVE_FLOAT, 2, p.flushed, p.buffered, p.n_nodes, p.frames.data(), file.path(),
                "/report/" + p.name + "/data");
    p.flushed += p.buffered;
    p.buffered = 0;
  }

  // t_stop is only known at the end; until then the file says t_stop = t_start.
  void write_time(population& p) {
    const double time[3] = {t_start, t_start + static_cast<double>(p.flushed) * dt, dt};
    check(H5Dwrite(p.time.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, time), file.path(),
          "/report/" + p.name + "/mapping/time");
  }

  std::string finish(bool complete) {
    if (file.finished()) {
      if (complete || file.final_path() == file.path()) throw internal_error(file.path() + ": report already closed");
      return file.final_path();
    }
    for (auto& p : pops) {
      flush(p);
      write_time(p);
      p.data.reset();
      p.time.reset();
    }
    return file.finish(complete);
  }
};

frame_report_writer::frame_report_writer(std::string path, std::string variable, std::string units,
                                         double t_start_ms, double dt_ms,
                                         const std::vector<population_spec>& populations, std::size_t chunk_frames) {
  std::vector<std::string> names;
  for (const auto& p : populations) names.push_back(p.name);
  check_population_names(names, path);
  auto im = std::make_unique<impl>(std::move(path), t_start_ms, dt_ms, chunk_frames);
  const std::string& where_file = im->file.path();
  h5::handle report = make_group(im->file.id(), "report", where_file);
  for (const auto& spec : populations) {
    impl::population p;
    p.name = spec.name;
    p.n_nodes = spec.node_ids.size();
    h5::handle g = make_group(report.get(), spec.name, where_file);
    const hsize_t columns = p.n_nodes;
    const hsize_t chunk_columns = std::clamp<hsize_t>(columns, 1, max_chunk_elements);
    const hsize_t chunk_rows = std::clamp<hsize_t>(max_chunk_elements / chunk_columns, 1, im->chunk);
    const hsize_t chunk[2] = {chunk_rows, chunk_columns};
    p.data = make_growing_dataset(g.get(), "data", H5T_IEEE_F32LE, 2, chunk, &columns, where_file);
    put_string(p.data.get(), "units", units, where_file);
    put_string(p.data.get(), "variable", variable, where_file);

    h5::handle mapping = make_group(g.get(), "mapping", where_file);
    write_array(mapping.get(), "node_ids", H5T_STD_U64LE, H5T_NATIVE_UINT64, columns, spec.node_ids.data(), where_file);
    // One element per node: node i owns elements [i, i+1).
    std::vector<std::uint64_t> pointers(p.n_nodes + 1);
    for (std::size_t i = 0; i < pointers.size(); ++i) pointers[i] = i;
    write_array(mapping.get(), "index_pointers", H5T_STD_U64LE, H5T_NATIVE_UINT64, pointers.size(), pointers.data(),
                where_file);
    const std::vector<std::uint32_t> elements(p.n_nodes, 0);
    write_array(mapping.get(), "element_ids", H5T_STD_U32LE, H5T_NATIVE_UINT32, columns, elements.data(), where_file);
    const double time[3] = {t_start_ms, t_start_ms, dt_ms};
    write_array(mapping.get(), "time", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 3, time, where_file);
    p.time = checked(h5::dataset(H5Dopen2(mapping.get(), "time", H5P_DEFAULT)), where_file, "mapping/time");
    im->pops.push_back(std::move(p));
  }
  impl_ = im.release();
}

frame_report_writer::~frame_report_writer() { delete impl_; }

void frame_report_writer::append_frame(std::size_t pop, const float* values) {
  if (impl_->file.finished()) throw internal_error(impl_->file.path() + ": append after the report was closed");
  if (pop >= impl_->pops.size()) throw internal_error(impl_->file.path() + ": population index out of range");
  auto& p = impl_->pops[pop];
  if (p.frames.size() < impl_->chunk * p.n_nodes) p.frames.resize(impl_->chunk * p.n_nodes);
  std::copy(values, values + p.n_nodes, p.frames.begin() + static_cast<std::ptrdiff_t>(p.buffered * p.n_nodes));
  if (++p.buffered == impl_->chunk) impl_->flush(p);
}

void frame_report_writer::commit() { impl_->finish(true); }

std::string frame_report_writer::close_partial() { return impl_->finish(false); }

const std::string& frame_report_writer::path() const { return impl_->file.path(); }

// ======================================================================================
// Readers
// ======================================================================================

namespace {

// Error reporting for one input file: "file: /hdf5/path: what is wrong".
struct source {
  std::string file;
  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw error(where(file, field) + ": " + what);
  }
};

h5::handle open_input(const std::string& path) {
  quiet_hdf5();
  std::error_code ec;
  if (!fs::exists(path, ec)) throw error(path + ": no such file");
  if (fs::is_directory(path, ec)) throw error(path + ": is a directory, not an HDF5 file");
  h5::handle f = h5::file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!f) throw error(path + ": not a readable HDF5 file (truncated or corrupt?)");
  return f;
}

bool has_link(hid_t loc, const std::string& name) { return H5Lexists(loc, name.c_str(), H5P_DEFAULT) > 0; }

// Children of a group, in creation order where the file tracked it (ours do), else by name.
std::vector<std::string> child_names(const source& src, hid_t group, const std::string& group_path) {
  H5G_info_t info;
  if (H5Gget_info(group, &info) < 0) src.fail(group_path, "cannot list group");
  H5_index_t order = H5_INDEX_NAME;
  h5::handle gcpl = h5::plist(H5Gget_create_plist(group));
  unsigned flags = 0;
  if (gcpl && H5Pget_link_creation_order(gcpl.get(), &flags) >= 0 && (flags & H5P_CRT_ORDER_TRACKED))
    order = H5_INDEX_CRT_ORDER;
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t len = H5Lget_name_by_idx(group, ".", order, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (len < 0) src.fail(group_path, "cannot list group");
    std::string name(static_cast<std::size_t>(len) + 1, '\0');
    H5Lget_name_by_idx(group, ".", order, H5_ITER_INC, i, name.data(), name.size(), H5P_DEFAULT);
    name.resize(static_cast<std::size_t>(len));
    names.push_back(name);
  }
  return names;
}

bool is_group(hid_t loc, const std::string& name) {
  h5::handle obj = h5::object(H5Oopen(loc, name.c_str(), H5P_DEFAULT));
  return obj && H5Iget_type(obj.get()) == H5I_GROUP;
}

h5::handle open_group(const source& src, hid_t loc, const std::string& name, const std::string& field) {
  if (!has_link(loc, name) || !is_group(loc, name)) src.fail(field, "missing group");
  h5::handle g = h5::group(H5Gopen2(loc, name.c_str(), H5P_DEFAULT));
  if (!g) src.fail(field, "cannot open group");
  return g;
}

h5::handle open_dataset(const source& src, hid_t loc, const std::string& name, const std::string& field) {
  if (!has_link(loc, name)) src.fail(field, "missing dataset");
  h5::handle d = h5::dataset(H5Dopen2(loc, name.c_str(), H5P_DEFAULT));
  if (!d) src.fail(field, "cannot open dataset (not a dataset, or the file is corrupt)");
  return d;
}

// Dimensions of a dataset, which must have `rank` of them.
std::vector<hsize_t> shape(const source& src, hid_t dset, int rank, const std::string& field) {
  h5::handle space = h5::dataspace(H5Dget_space(dset));
  const int r = space ? H5Sget_simple_extent_ndims(space.get()) : -1;
  if (r != rank) src.fail(field, "expected a " + std::to_string(rank) + "-D dataset, found rank " + std::to_string(r));
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return dims;
}

H5T_class_t type_class(hid_t dset) {
  h5::handle type = h5::datatype(H5Dget_type(dset));
  return type ? H5Tget_class(type.get()) : H5T_NO_CLASS;
}

bool is_signed_integer(hid_t dset) {
  h5::handle type = h5::datatype(H5Dget_type(dset));
  return type && H5Tget_sign(type.get()) == H5T_SGN_2;
}

// A dataset's declared size, checked before anything is allocated for it: a file of a few
// kilobytes can declare 2^40 values (chunks never written read as the fill value). Refused
// when it would not fit in memory, or when it is large (over 64 MiB) and the file stores less
// than a thousandth of it (more than any compression of real data achieves).
void check_declared(const source& src, const std::string& field, double values, double bytes_each, hid_t dset) {
  const double bytes = values * bytes_each, free_bytes = available_memory_bytes();
  const double stored = static_cast<double>(H5Dget_storage_size(dset));
  if (bytes > 64.0 * (1 << 20) && bytes > 1000.0 * stored) {
    char what[160];
    std::snprintf(what, sizeof what, "declares %.4g values (%.3g GB in memory) but the file stores only %.0f bytes of them",
                  values, bytes * 1e-9, stored);
    src.fail(field, what);
  }
  if (bytes > free_bytes) {
    char what[160];
    std::snprintf(what, sizeof what, "declares %.4g values (%.3g GB in memory), more than the %.3g GB this machine has free",
                  values, bytes * 1e-9, free_bytes * 1e-9);
    src.fail(field, what);
  }
}

// Reads a whole dataset, letting HDF5 convert from the stored type to T (`mem_type`).
template <class T>
std::vector<T> read_all(const source& src, hid_t dset, hid_t mem_type, std::size_t count, const std::string& field) {
  check_declared(src, field, static_cast<double>(count), sizeof(T), dset);
  std::vector<T> values(count);
  if (count > 0 && H5Dread(dset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0)
    src.fail(field, "cannot read dataset (truncated or corrupt file?)");
  return values;
}

// Any integer type (writers use uint64, int64, uint32...); negative ids are rejected.
std::vector<std::uint64_t> read_ids(const source& src, hid_t loc, const std::string& name, const std::string& field) {
  h5::handle d = open_dataset(src, loc, name, field);
  if (type_class(d.get()) != H5T_INTEGER) src.fail(field, "expected integer ids");
  const std::size_t n = shape(src, d.get(), 1, field)[0];
  if (!is_signed_integer(d.get())) return read_all<std::uint64_t>(src, d.get(), H5T_NATIVE_UINT64, n, field);
  const auto signed_ids = read_all<std::int64_t>(src, d.get(), H5T_NATIVE_INT64, n, field);
  std::vector<std::uint64_t> ids(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (signed_ids[i] < 0) src.fail(field, "negative id " + std::to_string(signed_ids[i]) + " at index " + std::to_string(i));
    ids[i] = static_cast<std::uint64_t>(signed_ids[i]);
  }
  return ids;
}

// float64, float32 (or integers), all returned as double.
std::vector<double> read_reals(const source& src, hid_t loc, const std::string& name, const std::string& field) {
  h5::handle d = open_dataset(src, loc, name, field);
  const H5T_class_t c = type_class(d.get());
  if (c != H5T_FLOAT && c != H5T_INTEGER) src.fail(field, "expected numbers");
  const std::size_t n = shape(src, d.get(), 1, field)[0];
  return read_all<double>(src, d.get(), H5T_NATIVE_DOUBLE, n, field);
}

std::string trim_fixed(const char* bytes, std::size_t size) {
  std::string s(bytes, size);
  s.resize(std::strlen(s.c_str()));  // NUL-terminated or NUL-padded
  while (!s.empty() && s.back() == ' ') s.pop_back();  // space-padded
  return s;
}

// A text attribute in any of the forms found in the wild: variable- or fixed-length string,
// an enum (its value's name), or an integer code of the SONATA `sorting` enum.
// Returns nothing when the attribute is absent.
std::optional<std::string> read_label(const source& src, hid_t obj, const char* name, const std::string& obj_path) {
  if (H5Aexists(obj, name) <= 0) return std::nullopt;
  const std::string field = obj_path + " attribute '" + name + "'";
  h5::handle attr = h5::attribute(H5Aopen(obj, name, H5P_DEFAULT));
  h5::handle type = h5::datatype(attr ? H5Aget_type(attr.get()) : H5I_INVALID_HID);
  h5::handle space = h5::dataspace(attr ? H5Aget_space(attr.get()) : H5I_INVALID_HID);
  if (!type || !space) src.fail(field, "cannot open attribute");
  if (H5Sget_simple_extent_npoints(space.get()) != 1) src.fail(field, "expected a single value");

  switch (H5Tget_class(type.get())) {
    case H5T_STRING: {
      if (H5Tis_variable_str(type.get()) > 0) {
        h5::handle mem = h5::datatype(H5Tcopy(H5T_C_S1));
        H5Tset_size(mem.get(), H5T_VARIABLE);
        H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
        char* text = nullptr;
        if (H5Aread(attr.get(), mem.get(), &text) < 0) src.fail(field, "cannot read string");
        std::string s = text ? text : "";
        H5free_memory(text);
        return s;
      }
      // Fixed length: read the stored bytes as they are and trim the padding ourselves.
      std::vector<char> bytes(H5Tget_size(type.get()) + 1, '\0');
      if (H5Aread(attr.get(), type.get(), bytes.data()) < 0) src.fail(field, "cannot read string");
      return trim_fixed(bytes.data(), bytes.size() - 1);
    }
    case H5T_ENUM: {
      h5::handle mem = h5::datatype(H5Tget_native_type(type.get(), H5T_DIR_ASCEND));
      std::uint64_t value = 0;  // large and aligned enough for any enum base type
      char label[128] = {};
      if (!mem || H5Tget_size(mem.get()) > sizeof value || H5Aread(attr.get(), mem.get(), &value) < 0 ||
          H5Tenum_nameof(mem.get(), &value, label, sizeof label) < 0)
        src.fail(field, "cannot read enum value");
      return std::string(label);
    }
    case H5T_INTEGER: {
      std::int64_t code = -1;
      if (H5Aread(attr.get(), H5T_NATIVE_INT64, &code) < 0) src.fail(field, "cannot read integer");
      static const char* sorting_names[] = {"none", "by_id", "by_time"};
      if (code < 0 || code > 2) src.fail(field, "unknown code " + std::to_string(code));
      return std::string(sorting_names[code]);
    }
    default:
      src.fail(field, "expected a string or an enum");
  }
}

// The first of `objects` (HDF5 paths relative to `group`) that carries the attribute.
std::string find_label(const source& src, hid_t group, const std::string& group_path,
                       const std::vector<std::string>& objects, const char* name) {
  for (const auto& rel : objects) {
    if (rel != "." && !has_link(group, rel)) continue;
    h5::handle obj = h5::object(H5Oopen(group, rel.c_str(), H5P_DEFAULT));
    if (!obj) continue;
    const std::string obj_path = rel == "." ? group_path : group_path + "/" + rel;
    if (auto label = read_label(src, obj.get(), name, obj_path)) return *label;
  }
  return "";
}

// timestamps + ids of one population (or of the legacy /spikes group, ids_name = "gids").
spike_population read_spikes(const source& src, hid_t group, const std::string& group_path, const char* ids_name,
                             std::string name) {
  spike_population pop;
  pop.name = std::move(name);
  const std::string ids_path = group_path + "/" + ids_name;
  pop.timestamps = read_reals(src, group, "timestamps", group_path + "/timestamps");
  pop.node_ids = read_ids(src, group, ids_name, ids_path);
  if (pop.node_ids.size() != pop.timestamps.size())
    src.fail(ids_path, "has " + std::to_string(pop.node_ids.size()) + " values but " + group_path +
                           "/timestamps has " + std::to_string(pop.timestamps.size()));
  // The spec puts `sorting` on the group; some writers put it on the ids dataset.
  pop.sorting = find_label(src, group, group_path, {".", ids_name, "timestamps"}, "sorting");
  pop.units = find_label(src, group, group_path, {"timestamps", "."}, "units");
  return pop;
}

frame_population read_frames(const source& src, hid_t report, const std::string& name) {
  const std::string base = "/report/" + name;
  h5::handle g = open_group(src, report, name, base);
  h5::handle mapping = open_group(src, g.get(), "mapping", base + "/mapping");
  frame_population pop;
  pop.name = name;
  pop.node_ids = read_ids(src, mapping.get(), "node_ids", base + "/mapping/node_ids");
  pop.index_pointers = read_ids(src, mapping.get(), "index_pointers", base + "/mapping/index_pointers");
  {
    const std::string field = base + "/mapping/element_ids";
    h5::handle d = open_dataset(src, mapping.get(), "element_ids", field);
    if (type_class(d.get()) != H5T_INTEGER) src.fail(field, "expected integer ids");
    pop.element_ids = read_all<std::uint32_t>(src, d.get(), H5T_NATIVE_UINT32, shape(src, d.get(), 1, field)[0], field);
  }
  const auto time = read_reals(src, mapping.get(), "time", base + "/mapping/time");
  if (time.size() != 3) src.fail(base + "/mapping/time", "expected 3 values (t_start, t_stop, dt)");
  pop.t_start = time[0];
  pop.t_stop = time[1];
  pop.dt = time[2];

  const std::string field = base + "/data";
  h5::handle data = open_dataset(src, g.get(), "data", field);
  if (type_class(data.get()) != H5T_FLOAT && type_class(data.get()) != H5T_INTEGER) src.fail(field, "expected numbers");
  const auto dims = shape(src, data.get(), 2, field);
  pop.n_frames = dims[0];
  pop.n_elements = dims[1];
  if (pop.element_ids.size() != pop.n_elements)
    src.fail(field, "has " + std::to_string(pop.n_elements) + " columns but mapping/element_ids has " +
                        std::to_string(pop.element_ids.size()) + " values");
  check_declared(src, field, static_cast<double>(pop.n_frames) * static_cast<double>(pop.n_elements), sizeof(float),
                 data.get());
  pop.data = read_all<float>(src, data.get(), H5T_NATIVE_FLOAT, pop.n_frames * pop.n_elements, field);
  pop.units = read_label(src, data.get(), "units", field).value_or("");
  pop.variable = read_label(src, data.get(), "variable", field).value_or("");
  return pop;
}

}  // namespace

std::vector<spike_population> read_spike_report(const std::string& path) {
  const source src{path};
  h5::handle file = open_input(path);
  h5::handle spikes = open_group(src, file.get(), "spikes", "/spikes");
  std::vector<spike_population> pops;
  // Legacy (pre-population) layout: the arrays sit directly in /spikes.
  if (has_link(spikes.get(), "gids"))
    pops.push_back(read_spikes(src, spikes.get(), "/spikes", "gids", ""));
  else if (has_link(spikes.get(), "node_ids") && has_link(spikes.get(), "timestamps"))
    pops.push_back(read_spikes(src, spikes.get(), "/spikes", "node_ids", ""));
  for (const auto& name : child_names(src, spikes.get(), "/spikes")) {
    if (!is_group(spikes.get(), name)) continue;
    h5::handle g = open_group(src, spikes.get(), name, "/spikes/" + name);
    pops.push_back(read_spikes(src, g.get(), "/spikes/" + name, "node_ids", name));
  }
  return pops;
}

std::vector<frame_population> read_frame_report(const std::string& path) {
  const source src{path};
  h5::handle file = open_input(path);
  h5::handle report = open_group(src, file.get(), "report", "/report");
  std::vector<frame_population> pops;
  for (const auto& name : child_names(src, report.get(), "/report"))
    if (is_group(report.get(), name)) pops.push_back(read_frames(src, report.get(), name));
  return pops;
}

}  // namespace kspike::io
