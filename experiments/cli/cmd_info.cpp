// kspike info: what this build can run on.
#include <H5public.h>

#include <boost/program_options.hpp>
#include <iostream>

#include "experiments/cli/commands.hpp"
#include "experiments/cli/kokkos_session.hpp"
#include "sim/backend.hpp"

namespace kspike::cli {

int cmd_info(const args& a) {
  namespace po = boost::program_options;
  po::options_description opts("kspike info: backends, threads and library versions\n\noptions");
  opts.add_options()("help,h", "show this help");
  po::variables_map vm;
  po::store(po::command_line_parser(a).options(opts).run(), vm);
  if (vm.count("help")) {
    std::cout << opts << "\n";
    return exit_ok;
  }
  kokkos_session kokkos(0);
  unsigned maj = 0, min = 0, rel = 0;
  H5get_libversion(&maj, &min, &rel);
  std::cout << "kspike " << KSPIKE_VERSION << "\n";
  std::cout << "backends: ";
  for (const auto& b : compiled_backends()) std::cout << b << " ";
  std::cout << "\ndefault backend: " << default_backend() << "\n";
  for (const auto& b : compiled_backends())
    std::cout << "  " << b << ": concurrency " << backend_concurrency(b) << "\n";
  std::cout << "Kokkos " << kokkos_version() << "\n";
  std::cout << "HDF5 " << maj << "." << min << "." << rel << "\n";
  return exit_ok;
}

}  // namespace kspike::cli
