// SONATA spike and frame reports: the fixtures other simulators wrote, round trips through our
// writers (with many chunk flushes), reader leniency on files written here with raw HDF5
// calls, the .tmp/.partial life cycle, and one-line errors that name the file.
#include <catch2/catch.hpp>

#include <hdf5.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "sim/core/error.hpp"
#include "sim/io/hdf5_handle.hpp"
#include "sim/io/sonata.hpp"
#include "support/fixtures.hpp"

namespace {

namespace fs = std::filesystem;
namespace h5 = kspike::io::h5;
using kspike::io::frame_report_writer;
using kspike::io::read_frame_report;
using kspike::io::read_spike_report;
using kspike::io::spike_report_writer;

// The message of the kspike::error that `f` throws ("" and a failed check if none).
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const kspike::error& e) {
    return e.what();
  }
  FAIL_CHECK("no kspike::error thrown");
  return "";
}

// ---- raw HDF5, to write files our writer would not, and to look at what it wrote --------

h5::handle open_rw(const std::string& path) { return h5::file(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT)); }
h5::handle open_ro(const std::string& path) { return h5::file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT)); }

h5::handle string_type(std::size_t fixed_size) {
  h5::handle t = h5::datatype(H5Tcopy(H5T_C_S1));
  H5Tset_size(t.get(), fixed_size == 0 ? H5T_VARIABLE : fixed_size);
  H5Tset_strpad(t.get(), H5T_STR_NULLPAD);
  return t;
}

// fixed_size 0: variable length (as BMTK writes); otherwise a NUL-padded fixed-length string.
void raw_string_attribute(hid_t loc, const char* name, const std::string& value, std::size_t fixed_size) {
  h5::handle type = string_type(fixed_size);
  h5::handle space = h5::dataspace(H5Screate(H5S_SCALAR));
  h5::handle attr = h5::attribute(H5Acreate2(loc, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT));
  if (fixed_size == 0) {
    const char* text = value.c_str();
    REQUIRE(H5Awrite(attr.get(), type.get(), &text) >= 0);
  } else {
    std::string padded = value;
    padded.resize(fixed_size, '\0');
    REQUIRE(H5Awrite(attr.get(), type.get(), padded.data()) >= 0);
  }
}

// `sorting` as an enum over int32 with libsonata's values.
void raw_enum_sorting(hid_t loc, int value) {
  h5::handle type = h5::datatype(H5Tenum_create(H5T_NATIVE_INT32));
  const char* names[] = {"none", "by_id", "by_time"};
  for (int v = 0; v < 3; ++v) H5Tenum_insert(type.get(), names[v], &v);
  h5::handle space = h5::dataspace(H5Screate(H5S_SCALAR));
  h5::handle attr = h5::attribute(H5Acreate2(loc, "sorting", type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT));
  REQUIRE(H5Awrite(attr.get(), type.get(), &value) >= 0);
}

template <class T>
h5::handle raw_dataset(hid_t loc, const char* name, hid_t file_type, hid_t mem_type, const std::vector<T>& values) {
  const hsize_t n = values.size();
  h5::handle space = h5::dataspace(H5Screate_simple(1, &n, nullptr));
  h5::handle d =
      h5::dataset(H5Dcreate2(loc, name, file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  REQUIRE(d.valid());
  REQUIRE(H5Dwrite(d.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) >= 0);
  return d;
}

h5::handle raw_spike_group(hid_t file, const std::string& pop) {
  h5::handle spikes = h5::group(H5Gcreate2(file, "spikes", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  return h5::group(H5Gcreate2(spikes.get(), pop.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
}

h5::handle new_file(const std::string& path) {
  h5::handle f = h5::file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  REQUIRE(f.valid());
  return f;
}

std::uint64_t read_u64_attribute(hid_t loc, const char* name) {
  h5::handle attr = h5::attribute(H5Aopen(loc, name, H5P_DEFAULT));
  REQUIRE(attr.valid());
  std::uint64_t v = 0;
  REQUIRE(H5Aread(attr.get(), H5T_NATIVE_UINT64, &v) >= 0);
  return v;
}

std::size_t file_size(const std::string& path) { return static_cast<std::size_t>(fs::file_size(path)); }

const char* nine_cells = "fixtures/sonata/examples_9_cells_output_spikes.h5";
const char* five_cells = "fixtures/sonata/examples_5_cells_iclamp_output_spikes.h5";
const char* intfire = "fixtures/sonata/examples_300_intfire_inputs_tw_spikes.h5";

}  // namespace

// ---- fixtures from AllenInstitute/sonata (BMTK: string `sorting`) -------------------------

TEST_CASE("sonata reader: 9_cells fixture", "[sonata][fixtures]") {
  if (!kspike_test::have_shared(nine_cells)) return;
  const auto pops = read_spike_report(kspike_test::shared_data(nine_cells));
  REQUIRE(pops.size() == 1);
  const auto& p = pops[0];
  CHECK(p.name == "cortex");
  CHECK(p.sorting == "by_time");
  CHECK(p.units == "ms");
  REQUIRE(p.timestamps.size() == 78);
  REQUIRE(p.node_ids.size() == 78);
  CHECK(p.timestamps.front() == Approx(130.3));
  CHECK(p.timestamps.back() == Approx(2936.0));
  CHECK(p.node_ids.front() == 4);
  CHECK(p.node_ids[1] == 5);
  CHECK(p.node_ids.back() == 0);
  CHECK(std::is_sorted(p.timestamps.begin(), p.timestamps.end()));
  CHECK(*std::max_element(p.node_ids.begin(), p.node_ids.end()) == 8);
}

TEST_CASE("sonata reader: 5_cells_iclamp fixture", "[sonata][fixtures]") {
  if (!kspike_test::have_shared(five_cells)) return;
  const auto pops = read_spike_report(kspike_test::shared_data(five_cells));
  REQUIRE(pops.size() == 1);
  const auto& p = pops[0];
  CHECK(p.name == "biophysical");
  CHECK(p.sorting == "by_time");
  CHECK(p.units == "ms");
  REQUIRE(p.timestamps.size() == 124);
  REQUIRE(p.node_ids.size() == 124);
  CHECK(p.timestamps.front() == Approx(533.0));
  CHECK(p.timestamps.back() == Approx(2999.6));
  CHECK(p.node_ids.front() == 2);
  CHECK(p.node_ids.back() == 0);
  CHECK(*std::max_element(p.node_ids.begin(), p.node_ids.end()) == 4);
}

TEST_CASE("sonata reader: legacy gids layout (300_intfire tw_spikes)", "[sonata][fixtures]") {
  if (!kspike_test::have_shared(intfire)) return;
  const auto pops = read_spike_report(kspike_test::shared_data(intfire));
  REQUIRE(pops.size() == 1);
  const auto& p = pops[0];
  CHECK(p.name.empty());
  CHECK(p.sorting == "by_gid");
  CHECK(p.units == "ms");
  REQUIRE(p.timestamps.size() == 295);
  REQUIRE(p.node_ids.size() == 295);
  CHECK(p.node_ids.front() == 0);
  CHECK(p.node_ids.back() == 29);
  CHECK(p.timestamps.front() == Approx(129.128));
  CHECK(p.timestamps.back() == Approx(2979.77));
  CHECK(std::is_sorted(p.node_ids.begin(), p.node_ids.end()));
}

// ---- spike writer ------------------------------------------------------------------------

TEST_CASE("spike writer round trip over many chunk flushes", "[sonata][writer]") {
  kspike_test::temp_dir dir;
  const std::string path = dir.file("spikes.h5");
  // Names out of alphabetical order: the file must keep the order they were given in.
  const std::vector<std::pair<std::string, std::uint64_t>> populations = {{"zeta", 50}, {"alpha", 20}};
  std::vector<std::vector<std::uint64_t>> ids(2);
  std::vector<std::vector<double>> times(2);
  {
    spike_report_writer w(path, populations, 7);
    CHECK(w.path() == path);
    CHECK(fs::exists(path + ".tmp"));
    CHECK(!fs::exists(path));
    // 1000 spikes in batches of 0..24, so batches straddle, fill and overfill the buffer.
    std::uint64_t state = 12345;
    auto next = [&state] { return state = state * 6364136223846793005ULL + 1442695040888963407ULL; };
    std::vector<double> clock = {0.0, 0.0};
    std::size_t total = 0;
    while (total < 1000) {
      const std::size_t pop = (next() >> 33) % 2;
      const std::size_t n = std::min<std::size_t>((next() >> 33) % 25, 1000 - total);
      std::vector<std::uint64_t> batch_ids;
      std::vector<double> batch_times;
      for (std::size_t i = 0; i < n; ++i) {
        clock[pop] += static_cast<double>((next() >> 33) % 4) * 0.1;  // ties included
        batch_ids.push_back((next() >> 33) % populations[pop].second);
        batch_times.push_back(clock[pop]);
      }
      w.append(pop, batch_ids.data(), batch_times.data(), n);
      ids[pop].insert(ids[pop].end(), batch_ids.begin(), batch_ids.end());
      times[pop].insert(times[pop].end(), batch_times.begin(), batch_times.end());
      total += n;
      // Memory stays bounded by the chunk, however many spikes went through.
      CHECK(w.buffer_bytes() <= 2 * 7 * (sizeof(std::uint64_t) + sizeof(double)));
    }
    CHECK(w.spikes_written() == 1000);
    REQUIRE(ids[0].size() > 7 * 10);
    REQUIRE(ids[1].size() > 7 * 10);
    w.commit();
  }
  CHECK(fs::exists(path));
  CHECK(!fs::exists(path + ".tmp"));
  CHECK(!fs::exists(path + ".partial"));

  const auto pops = read_spike_report(path);
  REQUIRE(pops.size() == 2);
  for (std::size_t p = 0; p < 2; ++p) {
    INFO("population " << populations[p].first);
    CHECK(pops[p].name == populations[p].first);
    CHECK(pops[p].sorting == "by_time");
    CHECK(pops[p].units == "ms");
    CHECK(pops[p].node_ids == ids[p]);
    CHECK(pops[p].timestamps == times[p]);
  }

  // What a strict SONATA reader (libsonata) looks at.
  h5::handle f = open_ro(path);
  REQUIRE(f.valid());
  CHECK(read_u64_attribute(f.get(), "magic") == 0x0A7A);
  CHECK(read_u64_attribute(f.get(), "kspike_complete") == 1);
  {
    h5::handle attr = h5::attribute(H5Aopen(f.get(), "version", H5P_DEFAULT));
    h5::handle type = h5::datatype(H5Aget_type(attr.get()));
    CHECK(H5Tequal(type.get(), H5T_STD_U32LE) > 0);
    std::uint32_t version[2] = {9, 9};
    REQUIRE(H5Aread(attr.get(), H5T_NATIVE_UINT32, version) >= 0);
    CHECK(version[0] == 0);
    CHECK(version[1] == 1);
  }
  h5::handle group = h5::group(H5Gopen2(f.get(), "/spikes/zeta", H5P_DEFAULT));
  REQUIRE(group.valid());
  {
    h5::handle attr = h5::attribute(H5Aopen(group.get(), "sorting", H5P_DEFAULT));
    h5::handle type = h5::datatype(H5Aget_type(attr.get()));
    REQUIRE(H5Tget_class(type.get()) == H5T_ENUM);
    h5::handle base = h5::datatype(H5Tget_super(type.get()));
    CHECK(H5Tequal(base.get(), H5T_STD_U8LE) > 0);
    CHECK(H5Tget_nmembers(type.get()) == 3);
    const std::pair<const char*, std::uint8_t> members[] = {{"none", 0}, {"by_id", 1}, {"by_time", 2}};
    for (const auto& [name, expected] : members) {
      std::uint8_t v = 255;
      CHECK(H5Tenum_valueof(type.get(), name, &v) >= 0);
      CHECK(v == expected);
    }
    std::uint8_t stored = 0;
    REQUIRE(H5Aread(attr.get(), H5T_NATIVE_UINT8, &stored) >= 0);
    CHECK(stored == 2);
  }
  for (const char* name : {"node_ids", "timestamps"}) {
    INFO(name);
    h5::handle d = h5::dataset(H5Dopen2(group.get(), name, H5P_DEFAULT));
    h5::handle type = h5::datatype(H5Dget_type(d.get()));
    CHECK(H5Tequal(type.get(), std::string(name) == "node_ids" ? H5T_STD_U64LE : H5T_IEEE_F64LE) > 0);
    h5::handle dcpl = h5::plist(H5Dget_create_plist(d.get()));
    CHECK(H5Pget_layout(dcpl.get()) == H5D_CHUNKED);
    h5::handle space = h5::dataspace(H5Dget_space(d.get()));
    hsize_t dims = 0, max_dims = 0;
    REQUIRE(H5Sget_simple_extent_dims(space.get(), &dims, &max_dims) == 1);
    CHECK(dims == ids[0].size());
    CHECK(max_dims == H5S_UNLIMITED);
  }
}

TEST_CASE("spike writer: a population without spikes and an empty batch", "[sonata][writer]") {
  kspike_test::temp_dir dir;
  const std::string path = dir.file("quiet.h5");
  {
    spike_report_writer w(path, {{"silent", 10}, {"busy", 3}}, 4);
    const std::uint64_t id = 2;
    const double t = 1.5;
    w.append(1, &id, &t, 1);
    w.append(1, nullptr, nullptr, 0);
    w.commit();
  }
  const auto pops = read_spike_report(path);
  REQUIRE(pops.size() == 2);
  CHECK(pops[0].name == "silent");
  CHECK(pops[0].node_ids.empty());
  CHECK(pops[0].timestamps.empty());
  CHECK(pops[1].node_ids == std::vector<std::uint64_t>{2});
  CHECK(pops[1].timestamps == std::vector<double>{1.5});
}

TEST_CASE("spike writer: close_partial keeps what was recorded as <path>.partial", "[sonata][writer]") {
  kspike_test::temp_dir dir;
  const std::string path = dir.file("run.h5");
  std::vector<std::uint64_t> ids;
  std::vector<double> times;
  for (std::uint64_t i = 0; i < 12; ++i) {  // one full chunk of 5 and a bit, plus a buffered tail
    ids.push_back(i % 3);
    times.push_back(0.25 * static_cast<double>(i));
  }
  {
    spike_report_writer w(path, {{"n", 3}}, 5);
    w.append(0, ids.data(), times.data(), ids.size());
    CHECK(w.close_partial() == path + ".partial");
    CHECK(w.close_partial() == path + ".partial");  // a second SIGINT path call is harmless
  }
  CHECK(!fs::exists(path));
  CHECK(!fs::exists(path + ".tmp"));
  REQUIRE(fs::exists(path + ".partial"));
  const auto pops = read_spike_report(path + ".partial");
  REQUIRE(pops.size() == 1);
  CHECK(pops[0].node_ids == ids);
  CHECK(pops[0].timestamps == times);
  h5::handle f = open_ro(path + ".partial");
  REQUIRE(f.valid());
  CHECK(read_u64_attribute(f.get(), "kspike_complete") == 0);
}

TEST_CASE("writers destroyed without commit leave no file", "[sonata][writer]") {
  kspike_test::temp_dir dir;
  const std::string spikes = dir.file("gone.h5"), frames = dir.file("gone_v.h5");
  {
    spike_report_writer w(spikes, {{"a", 2}}, 2);
    const std::uint64_t ids[] = {0, 1, 1};
    const double times[] = {0.1, 0.2, 0.3};
    w.append(0, ids, times, 3);
    frame_report_writer fw(frames, "v", "mV", 0.0, 0.1, {{"a", {0, 1}}}, 2);
    const float values[] = {1.0f, 2.0f};
    for (int i = 0; i < 3; ++i) fw.append_frame(0, values);
    CHECK(fs::exists(spikes + ".tmp"));
    CHECK(fs::exists(frames + ".tmp"));
  }
  CHECK(fs::is_empty(dir.path));
}

TEST_CASE("writers: an output directory that does not exist is a one-line kspike::error", "[sonata][errors]") {
  kspike_test::temp_dir dir;
  const std::string path = dir.file("no/such/dir/out.h5");
  const std::string spike_msg = error_of([&] { spike_report_writer w(path, {{"a", 1}}); });
  CHECK_THAT(spike_msg, Catch::Contains(path));
  CHECK(spike_msg.find('\n') == std::string::npos);
  const std::string frame_msg = error_of([&] { frame_report_writer w(path, "v", "mV", 0, 1, {{"a", {0}}}); });
  CHECK_THAT(frame_msg, Catch::Contains(path));
  CHECK(!fs::exists(dir.file("no")));
}

// ---- reader leniency -----------------------------------------------------------------------

TEST_CASE("spike reader: string sorting, any integer ids, float32 times", "[sonata][reader]") {
  kspike_test::temp_dir dir;
  const std::string path = dir.file("bmtk_like.h5");
  const std::vector<std::int32_t> ids = {3, 1, 2, 1};
  const std::vector<float> times = {0.5f, 1.25f, 2.0f, 2.0f};
  SECTION("fixed-length string on the group, int32 ids") {
    {
      h5::handle f = new_file(path);
      h5::handle g = raw_spike_group(f.get(), "pop");
      raw_string_attribute(g.get(), "sorting", "by_time", 16);
      raw_dataset(g.get(), "node_ids", H5T_STD_I32BE, H5T_NATIVE_INT32, ids);
      h5::handle ts = raw_dataset(g.get(), "timestamps", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, times);
      raw_string_attribute(ts.get(), "units", "ms", 2);
    }
    const auto pops = read_spike_report(path);
    REQUIRE(pops.size() == 1);
    CHECK(pops[0].name == "pop");
    CHECK(pops[0].sorting == "by_time");
    CHECK(pops[0].units == "ms");
    CHECK(pops[0].node_ids == std::vector<std::uint64_t>{3, 1, 2, 1});
    CHECK(pops[0].timestamps == std::vector<double>{0.5, 1.25, 2.0, 2.0});
  }
  SECTION("variable-length string on node_ids, uint16 ids, no units") {
    {
      h5::handle f = new_file(path);
      h5::handle g = raw_spike_group(f.get(), "pop");
      const std::vector<std::uint16_t> small_ids(ids.begin(), ids.end());
      h5::handle d = raw_dataset(g.get(), "node_ids", H5T_STD_U16LE, H5T_NATIVE_UINT16, small_ids);
      raw_string_attribute(d.get(), "sorting", "by_id", 0);
      raw_dataset(g.get(), "timestamps", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, times);
    }
    const auto pops = read_spike_report(path);
    REQUIRE(pops.size() == 1);
    CHECK(pops[0].sorting == "by_id");
    CHECK(pops[0].units.empty());
    CHECK(pops[0].node_ids == std::vector<std::uint64_t>{3, 1, 2, 1});
  }
  SECTION("int32-based enum on node_ids") {
    {
      h5::handle f = new_file(path);
      h5::handle g = raw_spike_group(f.get(), "pop");
      h5::handle d = raw_dataset(g.get(), "node_ids", H5T_STD_I64LE, H5T_NATIVE_INT32, ids);
      raw_enum_sorting(d.get(), 0);
      raw_dataset(g.get(), "timestamps", H5T_IEEE_F64LE, H5T_NATIVE_FLOAT, times);
    }
    const auto pops = read_spike_report(path);
    REQUIRE(pops.size() == 1);
    CHECK(pops[0].sorting == "none");
    CHECK(pops[0].timestamps == std::vector<double>{0.5, 1.25, 2.0, 2.0});
  }
  SECTION("no sorting attribute at all") {
    {
      h5::handle f = new_file(path);
      h5::handle g = raw_spike_group(f.get(), "pop");
      raw_dataset(g.get(), "node_ids", H5T_STD_U64LE, H5T_NATIVE_INT32, ids);
      raw_dataset(g.get(), "timestamps", H5T_IEEE_F64LE, H5T_NATIVE_FLOAT, times);
    }
    const auto pops = read_spike_report(path);
    REQUIRE(pops.size() == 1);
    CHECK(pops[0].sorting.empty());
  }
}

TEST_CASE("spike reader: bad files are one-line errors naming file and dataset", "[sonata][errors]") {
  kspike_test::temp_dir dir;
  const std::string path = dir.file("bad.h5");
  const std::vector<std::uint64_t> ids = {0, 1, 2};
  const std::vector<double> times = {0.1, 0.2};

  SECTION("missing file") { CHECK_THAT(error_of([&] { read_spike_report(path); }), Catch::Contains(path)); }
  SECTION("not HDF5") {
    std::ofstream(path) << "node_id,time_ms\n0,0.1\n";
    CHECK_THAT(error_of([&] { read_spike_report(path); }), Catch::Contains(path));
  }
  SECTION("no /spikes group") {
    new_file(path);
    const std::string msg = error_of([&] { read_spike_report(path); });
    CHECK_THAT(msg, Catch::Contains(path) && Catch::Contains("/spikes"));
  }
  SECTION("missing node_ids") {
    {
      h5::handle f = new_file(path);
      h5::handle g = raw_spike_group(f.get(), "p");
      raw_dataset(g.get(), "timestamps", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, times);
    }
    const std::string msg = error_of([&] { read_spike_report(path); });
    CHECK_THAT(msg, Catch::Contains(path) && Catch::Contains("/spikes/p/node_ids"));
  }
  SECTION("lengths differ") {
    {
      h5::handle f = new_file(path);
      h5::handle g = raw_spike_group(f.get(), "p");
      raw_dataset(g.get(), "timestamps", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, times);
      raw_dataset(g.get(), "node_ids", H5T_STD_U64LE, H5T_NATIVE_UINT64, ids);
    }
    const std::string msg = error_of([&] { read_spike_report(path); });
    CHECK_THAT(msg, Catch::Contains(path) && Catch::Contains("/spikes/p/node_ids"));
    CHECK(msg.find('\n') == std::string::npos);
  }
  SECTION("string node ids") {
    {
      h5::handle f = new_file(path);
      h5::handle g = raw_spike_group(f.get(), "p");
      raw_dataset(g.get(), "timestamps", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, times);
      h5::handle type = string_type(4);
      const std::vector<char> text(8, 'x');
      const hsize_t n = 2;
      h5::handle space = h5::dataspace(H5Screate_simple(1, &n, nullptr));
      h5::handle d = h5::dataset(
          H5Dcreate2(g.get(), "node_ids", type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
      H5Dwrite(d.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, text.data());
    }
    CHECK_THAT(error_of([&] { read_spike_report(path); }), Catch::Contains("/spikes/p/node_ids"));
  }
  // A few kilobytes declaring billions of values in chunks never written (they read as the
  // fill value): refused before anything is allocated, not read into tens of gigabytes.
  SECTION("declared sizes far beyond what the file stores") {
    const hsize_t n = GENERATE(hsize_t{1} << 31, hsize_t{1} << 40);
    {
      h5::handle f = new_file(path);
      h5::handle g = raw_spike_group(f.get(), "p");
      const hsize_t chunk = 1024, most = H5S_UNLIMITED;
      h5::handle plist = h5::plist(H5Pcreate(H5P_DATASET_CREATE));
      REQUIRE(H5Pset_chunk(plist.get(), 1, &chunk) >= 0);
      h5::handle space = h5::dataspace(H5Screate_simple(1, &n, &most));
      for (const char* name : {"timestamps", "node_ids"})
        REQUIRE(h5::dataset(H5Dcreate2(g.get(), name, name[0] == 't' ? H5T_IEEE_F64LE : H5T_STD_U64LE, space.get(),
                                       H5P_DEFAULT, plist.get(), H5P_DEFAULT)).valid());
    }
    REQUIRE(file_size(path) < 100000);
    const std::string msg = error_of([&] { read_spike_report(path); });
    CHECK_THAT(msg, Catch::Contains(path) && Catch::Contains("/spikes/p/timestamps") && Catch::Contains("declares"));
    CHECK(msg.find('\n') == std::string::npos);
  }
}

TEST_CASE("writers: a link or a stale file where the temporary goes is replaced, never written through",
          "[sonata][writer]") {
  kspike_test::temp_dir dir;
  const std::string path = dir.file("run.h5"), precious = dir.file("precious.txt");
  std::ofstream(precious) << "keep";
  fs::create_symlink(precious, path + ".tmp");
  {
    spike_report_writer w(path, {{"a", 2}}, 2);
    const std::uint64_t ids[] = {0, 1};
    const double times[] = {0.1, 0.2};
    w.append(0, ids, times, 2);
    w.commit();
  }
  std::ifstream kept_file(precious);
  std::string kept;
  kept_file >> kept;
  CHECK(kept == "keep");
  CHECK(fs::is_regular_file(fs::symlink_status(path)));
  CHECK(!fs::exists(fs::symlink_status(path + ".tmp")));
  CHECK(read_spike_report(path)[0].node_ids == std::vector<std::uint64_t>{0, 1});
  // A folder there is not removed: the writer refuses, naming it.
  fs::create_directories(path + ".tmp");
  CHECK_THAT(error_of([&] { spike_report_writer w(path, {{"a", 2}}); }), Catch::Contains(path + ".tmp"));
  CHECK(fs::is_directory(path + ".tmp"));
}

TEST_CASE("spike reader: a truncated file is a kspike::error naming it", "[sonata][errors]") {
  kspike_test::temp_dir dir;
  const std::string path = dir.file("truncated.h5");
  if (kspike_test::have_shared(nine_cells)) {
    fs::copy_file(kspike_test::shared_data(nine_cells), path);
  } else {  // the same check on a file of our own
    const std::vector<std::uint64_t> ids(200, 1);
    const std::vector<double> times(200, 1.0);
    spike_report_writer w(path, {{"p", 2}}, 64);
    w.append(0, ids.data(), times.data(), ids.size());
    w.commit();
  }
  fs::permissions(path, fs::perms::owner_write, fs::perm_options::add);
  fs::resize_file(path, file_size(path) / 2);
  const std::string msg = error_of([&] { read_spike_report(path); });
  CHECK_THAT(msg, Catch::Contains(path));
  CHECK(msg.find('\n') == std::string::npos);
}

// ---- frame reports ---------------------------------------------------------------------------

TEST_CASE("frame writer round trip", "[sonata][frames]") {
  kspike_test::temp_dir dir;
  const std::string path = dir.file("run_exc_v.h5");
  const std::vector<std::uint64_t> ids_a = {4, 0, 7}, ids_b = {1, 2};
  const std::size_t frames_a = 11, frames_b = 3;  // 2 full chunks of 4 and a tail; a tail only
  auto value = [](std::size_t pop, std::size_t frame, std::size_t node) {
    return static_cast<float>(pop) * 1000.0f + static_cast<float>(frame) + 0.125f * static_cast<float>(node);
  };
  {
    frame_report_writer w(path, "v", "mV", 0.5, 0.25, {{"exc", ids_a}, {"inh", ids_b}}, 4);
    CHECK(w.path() == path);
    for (std::size_t f = 0; f < frames_a; ++f) {
      std::vector<float> row;
      for (std::size_t i = 0; i < ids_a.size(); ++i) row.push_back(value(0, f, i));
      w.append_frame(0, row.data());
      if (f < frames_b) {
        const std::vector<float> row_b = {value(1, f, 0), value(1, f, 1)};
        w.append_frame(1, row_b.data());
      }
    }
    w.commit();
  }
  CHECK(!fs::exists(path + ".tmp"));
  const auto pops = read_frame_report(path);
  REQUIRE(pops.size() == 2);
  const auto& a = pops[0];
  CHECK(a.name == "exc");
  CHECK(a.node_ids == ids_a);
  CHECK(a.index_pointers == std::vector<std::uint64_t>{0, 1, 2, 3});
  CHECK(a.element_ids == std::vector<std::uint32_t>{0, 0, 0});
  CHECK(a.units == "mV");
  CHECK(a.variable == "v");
  CHECK(a.t_start == 0.5);
  CHECK(a.dt == 0.25);
  CHECK(a.t_stop == Approx(0.5 + 11 * 0.25));
  REQUIRE(a.n_frames == frames_a);
  REQUIRE(a.n_elements == 3);
  REQUIRE(a.data.size() == frames_a * 3);
  for (std::size_t f = 0; f < frames_a; ++f)
    for (std::size_t i = 0; i < 3; ++i) CHECK(a.data[f * 3 + i] == value(0, f, i));
  const auto& b = pops[1];
  CHECK(b.name == "inh");
  CHECK(b.n_frames == frames_b);
  CHECK(b.t_stop == Approx(0.5 + 3 * 0.25));
  CHECK(b.data == std::vector<float>{value(1, 0, 0), value(1, 0, 1), value(1, 1, 0), value(1, 1, 1), value(1, 2, 0),
                                     value(1, 2, 1)});

  h5::handle f = open_ro(path);
  REQUIRE(f.valid());
  CHECK(read_u64_attribute(f.get(), "magic") == 0x0A7A);
  CHECK(read_u64_attribute(f.get(), "kspike_complete") == 1);
  h5::handle d = h5::dataset(H5Dopen2(f.get(), "/report/exc/data", H5P_DEFAULT));
  h5::handle type = h5::datatype(H5Dget_type(d.get()));
  CHECK(H5Tequal(type.get(), H5T_IEEE_F32LE) > 0);
  h5::handle space = h5::dataspace(H5Dget_space(d.get()));
  hsize_t dims[2] = {}, max_dims[2] = {};
  REQUIRE(H5Sget_simple_extent_dims(space.get(), dims, max_dims) == 2);
  CHECK(max_dims[0] == H5S_UNLIMITED);
  CHECK(max_dims[1] == 3);
}

TEST_CASE("frame reader tolerates missing units and variable", "[sonata][frames]") {
  kspike_test::temp_dir dir;
  const std::string path = dir.file("bare.h5");
  {
    frame_report_writer w(path, "v", "mV", 0.0, 1.0, {{"p", {0, 1}}});
    const float row[] = {1.0f, -1.0f};
    w.append_frame(0, row);
    w.commit();
  }
  {
    h5::handle f = open_rw(path);
    h5::handle d = h5::dataset(H5Dopen2(f.get(), "/report/p/data", H5P_DEFAULT));
    REQUIRE(H5Adelete(d.get(), "units") >= 0);
    REQUIRE(H5Adelete(d.get(), "variable") >= 0);
  }
  const auto pops = read_frame_report(path);
  REQUIRE(pops.size() == 1);
  CHECK(pops[0].units.empty());
  CHECK(pops[0].variable.empty());
  CHECK(pops[0].data == std::vector<float>{1.0f, -1.0f});
}

TEST_CASE("frame writer: close_partial keeps the frames so far", "[sonata][frames]") {
  kspike_test::temp_dir dir;
  const std::string path = dir.file("cut.h5");
  {
    frame_report_writer w(path, "syn_e", "model", 0.1, 0.1, {{"p", {5}}}, 3);
    for (int i = 0; i < 5; ++i) {
      const float v = static_cast<float>(i);
      w.append_frame(0, &v);
    }
    CHECK(w.close_partial() == path + ".partial");
  }
  CHECK(!fs::exists(path));
  CHECK(!fs::exists(path + ".tmp"));
  const auto pops = read_frame_report(path + ".partial");
  REQUIRE(pops.size() == 1);
  CHECK(pops[0].data == std::vector<float>{0, 1, 2, 3, 4});
  CHECK(pops[0].t_stop == Approx(0.1 + 5 * 0.1));
  CHECK(pops[0].variable == "syn_e");
}
