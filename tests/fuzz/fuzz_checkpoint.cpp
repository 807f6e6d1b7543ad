// libFuzzer target (structure-aware): kspike train checkpoints (sequential_net::spec_in,
// seed_in, load). A valid checkpoint of a small model is made once; each input then damages a
// copy: attributes replaced by other text or numbers (model_toml edited byte by byte), arrays
// replaced by others of any type, rank, shape and values (NaN and infinities included), objects
// removed. Reading must give a network or throw kspike::error.
#include <Kokkos_Core.hpp>
#include <hdf5.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "experiments/classify/model_spec.hpp"
#include "experiments/classify/sequential_net.hpp"
#include "fuzz_hdf5_writer.hpp"
#include "sim/core/error.hpp"

namespace {

const char* small_model = R"([model]
input = [1, 6, 6]
classes = 3
timesteps = 2
[neuron]
kind = "lif"
[[layers]]
type = "conv"
out = 2
kernel = 3
[[layers]]
type = "batchnorm"
[[layers]]
type = "spike"
[[layers]]
type = "flatten"
[[layers]]
type = "linear"
out = 3
[train]
batch = 4
)";

std::string template_path, template_toml;
std::vector<std::string> array_names;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  Kokkos::InitArguments args;
  args.num_threads = 1;
  Kokkos::initialize(args);
  std::atexit([] { Kokkos::finalize(); });
  template_path = "/tmp/kspike-fuzz-ckpt-template-" + std::to_string(::getpid()) + ".h5";
  const auto m = kspike::classify::parse_model_spec(small_model, "small.toml");
  kspike::classify::sequential_net net(m, 1, "serial");
  net.save(template_path, {});
  template_toml = kspike::classify::to_toml(m);
  array_names = net.array_names();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace kspike_fuzz;
  static const std::string path = "/tmp/kspike-fuzz-ckpt-" + std::to_string(::getpid()) + ".h5";
  std::filesystem::copy_file(template_path, path, std::filesystem::copy_options::overwrite_existing);
  bytes in(data, size);
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  if (f < 0) return 0;
  static const char* attributes[] = {"kspike_format", "model_toml", "seed", "epochs_done", "epochs_planned", "optimizer_steps",
                                     "metrics_csv", "timesteps"};
  const unsigned n = 1 + in.pick(4);
  for (unsigned k = 0; k < n; ++k) {
    switch (in.pick(4)) {
      case 0: {  // the model text, edited: a few bytes changed, inserted or cut
        std::string t = template_toml;
        const unsigned edits = 1 + in.pick(6);
        for (unsigned e = 0; e < edits && !t.empty(); ++e) {
          const std::size_t at = (std::size_t(in.byte()) << 8 | in.byte()) % t.size();
          switch (in.pick(3)) {
            case 0: t[at] = static_cast<char>(in.byte()); break;
            case 1: t.insert(at, 1, static_cast<char>(in.byte())); break;
            default: t.erase(at, 1 + in.pick(8));
          }
        }
        if (H5Aexists(f, "model_toml") > 0) H5Adelete(f, "model_toml");
        const hid_t ty = H5Tcopy(H5T_C_S1);
        H5Tset_size(ty, t.size() + 1);
        const hid_t sp = H5Screate(H5S_SCALAR);
        const hid_t a = H5Acreate2(f, "model_toml", ty, sp, H5P_DEFAULT, H5P_DEFAULT);
        if (a >= 0) {
          H5Awrite(a, ty, t.c_str());
          H5Aclose(a);
        }
        H5Sclose(sp);
        H5Tclose(ty);
        break;
      }
      case 1: write_attribute(f, attributes[in.pick(8)], in, {"0", "1", "-1", "18446744073709551616", "kspike-train-2", "nan", "1e9"}); break;
      case 2: {  // an array replaced
        const std::string& name = array_names[in.pick(static_cast<unsigned>(array_names.size()))];
        H5Ldelete(f, name.c_str(), H5P_DEFAULT);
        write_dataset(f, name, in);
        break;
      }
      default: {  // something removed
        if (in.flip()) {
          H5Ldelete(f, array_names[in.pick(static_cast<unsigned>(array_names.size()))].c_str(), H5P_DEFAULT);
        } else {
          H5Adelete(f, attributes[in.pick(8)]);
        }
      }
    }
  }
  H5Fclose(f);
  using kspike::classify::sequential_net;
  try {
    const auto m = sequential_net::spec_in(path);
    (void)sequential_net::seed_in(path);
    // Memory bounds have their own tests; here a model edited into a big one is not built.
    double values = 0;
    for (const auto& L : m.layers) values += double(L.in_size()) * double(L.kind == kspike::classify::layer_kind::linear ? L.out : 1);
    if (values * double(m.timesteps) * double(m.train.batch) > 1e6) return 0;
    sequential_net net(m, sequential_net::seed_in(path), "serial");
    (void)net.load(path);
  } catch (const kspike::error&) {
  }
  return 0;
}
