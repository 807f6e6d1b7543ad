#pragma once
// The Vogels-Abbott CUBA network of experiments/networks/cuba.toml, built in C++ so the
// benchmarks need neither the file nor a TOML parser (a bare GPU machine has neither, and
// nvcc cannot compile toml++). tests/unit/test_bench_networks.cpp checks that it equals the
// network the shipped file describes, field by field.
#include "sim/network.hpp"

namespace kspike::bench {

network cuba_network();

}  // namespace kspike::bench
