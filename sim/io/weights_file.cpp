#include "sim/io/weights_file.hpp"

#include <hdf5.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "sim/core/error.hpp"
#include "sim/io/hdf5_handle.hpp"
#include "sim/io/text_file.hpp"

namespace kspike::io {

std::string instance_dataset(const std::string& projection, int instance, int instances) {
  return instances == 1 ? projection : projection + "." + std::to_string(instance);
}

std::vector<std::string> plastic_projections(const network& net) {
  std::vector<std::string> names;
  for (const auto& pr : net.projections)
    if (pr.plastic) names.push_back(pr.name);
  return names;
}

void write_weights(const engine& eng, const std::string& path, const std::string& shown) {
  const std::string tmp = temporary_for(path);
  const std::string& name = shown.empty() ? path : shown;
  {
    h5::quiet_errors quiet;
    h5::handle f = h5::file(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    if (!f) {
      std::remove(tmp.c_str());
      throw error(name + ": cannot create the file");
    }
    try {
      h5::handle g = h5::group(H5Gcreate2(f.get(), "weights", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
      if (!g) throw error(name + ": cannot create /weights");
      // One dataset per projection, or with instances one per projection and instance, named
      // as the recorder names populations: NAME.k.
      for (const auto& projection : plastic_projections(eng.description()))
        for (int k = 0; k < eng.instances(); ++k) {
          const std::vector<float> w = eng.weights(projection, eng.instances() == 1 ? -1 : k);
          h5::write_array(g.get(), instance_dataset(projection, k, eng.instances()), w,
                          {static_cast<hsize_t>(w.size())}, name);
        }
      g.reset();
      // The traces, so that a run continues learning where it stopped:
      // /traces/<NAME or NAME.k>/<trace> (engine::trace_names), float64.
      h5::handle tg = h5::group(H5Gcreate2(f.get(), "traces", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
      if (!tg) throw error(name + ": cannot create /traces");
      for (const auto& projection : plastic_projections(eng.description()))
        for (int k = 0; k < eng.instances(); ++k) {
          const std::string dataset = instance_dataset(projection, k, eng.instances());
          h5::handle pg = h5::group(H5Gcreate2(tg.get(), dataset.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
          if (!pg) throw error(name + ": cannot create /traces/" + dataset);
          for (const auto& trace : eng.trace_names(projection)) {
            const std::vector<double> x = eng.traces(projection, trace, eng.instances() == 1 ? -1 : k);
            h5::write_array(pg.get(), trace, x, {static_cast<hsize_t>(x.size())}, name);
          }
        }
      tg.reset();
      if (!f.close()) throw error(name + ": writing failed (disk full?)");
    } catch (...) {
      f.reset();
      std::remove(tmp.c_str());
      throw;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    throw error(name + ": cannot rename the finished file into place: " + ec.message());
  }
}

void read_weights(engine& eng, const std::string& path) {
  h5::quiet_errors quiet;
  if (!std::filesystem::is_regular_file(path)) throw error(path + ": not a file");
  h5::handle f = h5::file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!f) throw error(path + ": not an HDF5 file");
  if (H5Lexists(f.get(), "weights", H5P_DEFAULT) <= 0) throw error(path + ": /weights: missing");
  h5::handle g = h5::group(H5Gopen2(f.get(), "weights", H5P_DEFAULT));
  for (const auto& projection : plastic_projections(eng.description()))
    for (int k = 0; k < eng.instances(); ++k) {
      const int instance = eng.instances() == 1 ? -1 : k;
      const std::string name = instance_dataset(projection, k, eng.instances());
      const std::size_t n = eng.weights(projection, instance).size();
      const std::vector<float> w = h5::read_array<float>(g.get(), name, n, path + ": /weights");
      for (float x : w)
        if (!std::isfinite(x)) throw error(path + ": /weights/" + name + ": holds a value that is not finite");
      eng.set_weights(projection, w, instance);
    }
  // Traces, when the file has them (files written before traces were kept have none: the
  // traces then stay as they are).
  if (H5Lexists(f.get(), "traces", H5P_DEFAULT) <= 0) return;
  h5::handle tg = h5::group(H5Gopen2(f.get(), "traces", H5P_DEFAULT));
  if (!tg) throw error(path + ": /traces: not a group");
  for (const auto& projection : plastic_projections(eng.description()))
    for (int k = 0; k < eng.instances(); ++k) {
      const int instance = eng.instances() == 1 ? -1 : k;
      const std::string dataset = instance_dataset(projection, k, eng.instances());
      if (H5Lexists(tg.get(), dataset.c_str(), H5P_DEFAULT) <= 0) throw error(path + ": /traces/" + dataset + ": missing");
      h5::handle pg = h5::group(H5Gopen2(tg.get(), dataset.c_str(), H5P_DEFAULT));
      if (!pg) throw error(path + ": /traces/" + dataset + ": not a group");
      // An empty group: the run that wrote the file kept no traces (the window schedule): they
      // stay as they are.
      H5G_info_t info;
      if (H5Gget_info(pg.get(), &info) < 0) throw error(path + ": /traces/" + dataset + ": unreadable");
      if (info.nlinks == 0) continue;
      for (const auto& trace : eng.trace_names(projection)) {
        const std::size_t n = eng.traces(projection, trace, instance).size();
        const std::vector<double> x = h5::read_array<double>(pg.get(), trace, n, path + ": /traces/" + dataset);
        try {
          eng.set_traces(projection, trace, x, instance);
        } catch (const error& e) {
          throw error(path + ": /traces/" + dataset + "/" + trace + ": " + e.what());
        }
      }
    }
}

}  // namespace kspike::io
