// kspike: command-line entry point. Dispatches to a subcommand; every input error becomes
// one line on stderr and exit status 2.
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>

#include <boost/program_options/errors.hpp>
#include <hdf5.h>

#include "experiments/cli/blas_kernels.hpp"
#include "experiments/cli/commands.hpp"
#include "kspike_build_info.hpp"
#include "experiments/cli/progress.hpp"
#include "sim/core/error.hpp"

namespace {

const char* usage =
    "usage: kspike <command> [options]\n"
    "\n"
    "commands:\n"
    "  run CONFIG   simulate a network described in a TOML file, write spikes to HDF5\n"
    "  stats CONFIG SPIKES.h5  rate, irregularity and synchrony of each population of a run's spikes\n"
    "  info         backends compiled in, threads, Kokkos and HDF5 versions\n"
    "  bench cuba   time the Vogels-Abbott CUBA network (real-time factor, events/s); bench NETWORK.toml:\n"
    "               any network file\n"
    "  bench vpr    time the place-recognition network (ms per training / test image)\n"
    "  bench backends  every workload on every backend compiled in: speed-ups, spikes compared\n"
    "  vpr CONFIG   spiking place recognition (VPRSNN): train, calibrate, test, metrics + plots\n"
    "  vpr ensemble RUN_DIR...  an ensemble of finished vpr runs (summed similarities), its metrics\n"
    "  train        train the Fashion-MNIST reference network (SNN over T steps, or ANN)\n"
    "  eval         test accuracy of a kspike train checkpoint\n"
    "  fold CKPT    fold an MPBN model's batch norm into thresholds, checked spike for spike\n"
    "  bench train  time one training step and one inference batch of that network\n"
    "  convert CKPT convert a trained ANN (ReLU or QCFS) into an IF-neuron SNN; accuracy and energy against T\n"
    "  energy CKPT  count a checkpoint's work on test images; energy per inference by several models\n"
    "  deploy CKPT  run a trained or converted LIF/IF network event-driven on the engine, checked against\n"
    "               the tensor path spike for spike and timed against it\n"
    "\n"
    "'kspike <command> --help' describes each command's options.\n";

// Every command and the function that runs it: main() dispatches through this table, and the
// message for an unknown command lists it.
struct command_entry {
  const char* name;
  int (*run)(const kspike::cli::args&);
};
const command_entry commands[] = {
    {"run", kspike::cli::cmd_run},         {"stats", kspike::cli::cmd_stats},     {"info", kspike::cli::cmd_info},
    {"bench", kspike::cli::cmd_bench},     {"vpr", kspike::cli::cmd_vpr},         {"train", kspike::cli::cmd_train},
    {"eval", kspike::cli::cmd_eval},       {"fold", kspike::cli::cmd_fold},       {"convert", kspike::cli::cmd_convert},
    {"energy", kspike::cli::cmd_energy},   {"deploy", kspike::cli::cmd_deploy},
};

std::string command_names() {
  std::string names;
  for (const auto& c : commands) names += (names.empty() ? "" : ", ") + std::string(c.name);
  return names;
}

}  // namespace

int main(int argc, char** argv) {
  // Before anything starts: OpenBLAS's kernels are chosen when it loads (may run kspike again).
  kspike::cli::use_fitting_blas_kernels(argv);
  // HDF5 1.10 (Debian 12) closes, at exit, every file still in its table, and segfaults on a
  // file whose final flush failed (disk full, file-size limit): the error was reported, then
  // the process crashed. kspike closes every file it writes itself (and removes a failed
  // temporary), so the library's exit-time shutdown has nothing left to do: switch it off.
  // Must come before any other HDF5 call.
  H5dont_atexit();
  using namespace kspike::cli;
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::cout << usage;
    return argc < 2 ? exit_bad_input : exit_ok;
  }
  const std::string command = argv[1];
  const args rest(argv + 2, argv + argc);
  install_interrupt_handlers();
  try {
    for (const auto& c : commands)
      if (command == c.name) return c.run(rest);
    if (command == "--version") {
      std::cout << "kspike " << KSPIKE_VERSION << "\n";
      return exit_ok;
    }
    std::cerr << "kspike: unknown command '" << command << "' (" << command_names() << "; see kspike --help)\n";
    return exit_bad_input;
  } catch (const interrupted& e) {
    std::cerr << "kspike " << command << ": interrupted by signal " << e.signal << " (nothing half-written is left)\n";
    return 128 + e.signal;
  } catch (const kspike::error& e) {
    std::cerr << "kspike " << command << ": error: " << e.what() << "\n";
    return exit_bad_input;
  } catch (const boost::program_options::error& e) {
    std::cerr << "kspike " << command << ": error: " << e.what() << "\n";
    return exit_bad_input;
  } catch (const std::filesystem::filesystem_error& e) {
    // A path the user gave that the system refuses (no permission, a file where a folder
    // should be): the user's to mend, like any bad input. Commands check their outputs before
    // the work; this is what a check cannot foresee (a folder removed meanwhile, a full disk).
    const std::string path = e.path1().empty() ? std::string("a path") : e.path1().string();
    std::cerr << "kspike " << command << ": error: " << path << ": " << e.code().message() << "\n";
    return exit_bad_input;
  } catch (const std::exception& e) {
    std::cerr << "kspike " << command << ": internal error: " << e.what() << "\n";
    return exit_internal;
  }
}
