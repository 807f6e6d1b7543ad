#pragma once
// The learned weights of a network's plastic projections in an HDF5 file, to keep what a run
// learned and to start another run from it:
//   /weights/<projection>   float32 [synapses], in the order the connector generated them
//   /weights/<projection>.k (instead, with engine instances) the weights of instance k
//   /traces/<projection or projection.k>/<trace>  float64, its STDP traces (engine::traces)
// Written under a temporary name and renamed when complete; read back checking that every
// plastic projection is there with its number of synapses and finite values (docs/formats.md).
#include <string>
#include <vector>

#include "sim/engine.hpp"

namespace kspike::io {

// The dataset of a projection's weights: NAME, or NAME.k with instances.
std::string instance_dataset(const std::string& projection, int instance, int instances);
// The plastic projections of the engine's network, in network order.
std::vector<std::string> plastic_projections(const network& net);
// Writes the current weights of every plastic projection to `path` (atomically); messages name
// `shown` when given (the final name of a file written under a provisional one).
void write_weights(const engine& eng, const std::string& path, const std::string& shown = "");
// Sets every plastic projection's weights from `path`; throws kspike::error naming the file and
// the dataset when one is missing, of another size, or not finite.
void read_weights(engine& eng, const std::string& path);

}  // namespace kspike::io
