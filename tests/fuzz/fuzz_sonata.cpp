// libFuzzer target (structure-aware): SONATA spike and frame reports (sim/io/sonata), as other
// simulators write them. The input decides which groups, datasets and attributes exist and
// their types, shapes and values; the readers must return data or throw kspike::error.
#include <hdf5.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_hdf5_writer.hpp"
#include "sim/core/error.hpp"
#include "sim/io/hdf5_handle.hpp"
#include "sim/io/sonata.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // HDF5's error stack print is noise here
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace kspike_fuzz;
  static const std::string path = "/tmp/kspike-fuzz-sonata-" + std::to_string(::getpid()) + ".h5";
  bytes in(data, size);
  const hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (f < 0) return 0;
  static const char* spike_names[] = {"spikes/exc/node_ids", "spikes/exc/timestamps", "spikes/inh/node_ids", "spikes/inh/timestamps",
                                      "spikes/gids", "spikes/timestamps", "spikes/exc", "spikes"};
  static const char* frame_names[] = {"report/v/data", "report/v/mapping/node_ids", "report/v/mapping/index_pointers",
                                      "report/v/mapping/element_ids", "report/v/mapping/time", "report/v/mapping", "report/w/data"};
  const unsigned n = in.pick(9);
  for (unsigned k = 0; k < n; ++k) {
    if (in.flip())
      write_dataset(f, spike_names[in.pick(8)], in);
    else
      write_dataset(f, frame_names[in.pick(7)], in);
  }
  // Attributes where the readers look for them.
  for (const char* where : {"spikes/exc", "spikes/exc/node_ids", "spikes", "report/v/data", "report/v"}) {
    if (!in.flip()) continue;
    const hid_t o = H5Oopen(f, where, H5P_DEFAULT);
    if (o < 0) continue;
    write_attribute(o, in.flip() ? "sorting" : "units", in, {"by_id", "by_time", "none", "ms", "s", "mV"});
    H5Oclose(o);
  }
  H5Fclose(f);
  try {
    (void)kspike::io::read_spike_report(path);
  } catch (const kspike::error&) {
  }
  try {
    (void)kspike::io::read_frame_report(path);
  } catch (const kspike::error&) {
  }
  return 0;
}
