// kspike info: what this build can run on.
#include <H5public.h>

#include <boost/program_options.hpp>
#include <cstdio>
#include <initializer_list>
#include <iostream>
#include <string>

#include "experiments/cli/commands.hpp"
#include "kspike_build_info.hpp"
#include "experiments/cli/kokkos_session.hpp"
#include "neurons/registry.hpp"
#include "sim/backend.hpp"

namespace kspike::cli {

namespace {

// Prints a model's parameters as its header declares them: key, dimension, default (SI), meaning.
template <class P>
struct parameter_printer {
  const P defaults{};
  static void row(const char* key, const std::string& kind, const std::string& value, const char* meaning) {
    std::printf("    %-14s %-13s %-18s %s\n", key, kind.c_str(), value.c_str(), meaning);
  }
  void quantity(const char* key, const char* dimension, double P::*m, const char* meaning, double P::* = nullptr) {
    char v[32];
    std::snprintf(v, sizeof v, "%g", defaults.*m);
    row(key, dimension, v, meaning);
  }
  void flag(const char* key, bool P::*m, const char* meaning) { row(key, "true|false", defaults.*m ? "true" : "false", meaning); }
  template <class E>
  void choice(const char* key, E P::*m, std::initializer_list<const char*> names, const char* meaning) {
    std::string all;
    for (const char* n : names) all += (all.empty() ? "" : "|") + std::string(n);
    row(key, all, *(names.begin() + static_cast<int>(defaults.*m)), meaning);
  }
};

void print_models() {
  neurons::for_each_model([](auto tag) {
    using M = typename decltype(tag)::type;
    std::printf("%s: %s\n", M::name, M::summary);
    std::printf("  weights onto it: %s%s; injected currents: %s\n", M::input_dimension,
                M::non_negative_weights ? " (>= 0)" : "", M::uses_current ? "yes" : "no");
    std::printf("  parameters (key, dimension, default in SI units, meaning):\n");
    parameter_printer<typename M::params> printer;
    M::parameters(printer);
    std::printf("  state variables (recordable, with syn_e and syn_i):\n");
    M::variables([](const char* name, auto, const char* unit, const char* meaning) {
      std::printf("    %-14s %-13s %s\n", name, unit, meaning);
    });
  });
}

}  // namespace

int cmd_info(const args& a) {
  namespace po = boost::program_options;
  po::options_description opts("kspike info: backends, threads and library versions\n\noptions");
  opts.add_options()("models", "list the neuron models with their parameters and state variables");
  po::variables_map vm;
  if (!parse_arguments(a, opts, {}, vm)) return exit_ok;  // no arguments beyond the options
  if (vm.count("models")) {
    print_models();
    return exit_ok;
  }
  kokkos_session kokkos(0);
  unsigned maj = 0, min = 0, rel = 0;
  H5get_libversion(&maj, &min, &rel);
  std::cout << "kspike " << KSPIKE_VERSION << "\n";
  std::cout << "backends: ";
  for (const auto& b : compiled_backends()) std::cout << b << " ";
  const std::string large = resolve_backend("auto", true), other = resolve_backend("auto", false);
  std::cout << "\ndefault backend: auto (" << (large == other ? large : large + " for large networks, " + other + " for the others")
            << ")\n";
  for (const auto& b : compiled_backends())
    std::cout << "  " << b << ": concurrency " << backend_concurrency(b) << "\n";
  std::cout << "Kokkos " << kokkos_version() << "\n";
  std::cout << "HDF5 " << maj << "." << min << "." << rel << "\n";
  return exit_ok;
}

}  // namespace kspike::cli
