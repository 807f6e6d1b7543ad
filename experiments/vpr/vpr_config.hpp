#pragma once
// The place-recognition experiment's configuration (`kspike vpr CONFIG.toml`), read from TOML.
// Every key is listed in docs/vpr.md "Configuration"; an unknown key, a wrong type or an
// out-of-range value is an error naming the file and the key. A `[quick]` table holds
// overrides (same keys, dotted: "training.epochs = 3") applied by --quick.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace kspike::vpr {

enum class hyperactive_mode { off, calibrate, fixed };

struct vpr_config {
  std::string source;  // the file read, for messages
  std::string text;    // its contents (stored in the checkpoint)
  std::string name;    // experiment name (default: the file's stem)

  // [data]
  std::string data_root;                        // folder with the traversal folders
  std::vector<std::string> reference{"summer"}; // training traversals (presented in this order)
  std::string query = "winter";
  std::optional<std::string> frames;            // frame list (default: root/frames.txt if present)
  std::size_t skip = 1;
  std::size_t offset = 0;

  // [network]
  std::size_t n_e = 400;
  double tc_gi_ms = 2.0;
  bool diehl_cook_sign = false;  // stdp_sign = "reference" (+) or "diehl_cook" (-)

  // [training]
  std::size_t epochs = 60;
  std::size_t assignment_epochs = 3;  // the assignment window: the last this-many epochs
  bool shuffle = false;               // permute places (labels stay in order), as VPRSNN --shuffled

  // [places]
  std::size_t places_per_module = 100;
  std::size_t calibration_places = 0;
  std::size_t test_places = 100;

  // [evaluation]
  bool weighted = true;
  hyperactive_mode hyperactive = hyperactive_mode::off;
  int hyperactive_threshold = 0;  // for fixed

  std::uint64_t seed = 0;

  std::size_t total_places() const { return calibration_places + test_places; }
  std::size_t modules() const { return total_places() / places_per_module; }
  std::size_t calibration_modules() const { return calibration_places / places_per_module; }
};

// The settings that decide what training learns, as (key, value) text pairs in a fixed order:
// a checkpoint stores them, and resuming with different ones is refused (naming the key).
// The data folder and the evaluation settings are not among them: a checkpoint can be moved,
// and evaluated again under other read-out rules.
std::vector<std::pair<std::string, std::string>> training_settings(const vpr_config& c);

// Reads and checks a configuration; `quick` applies its [quick] table. Throws kspike::error
// ("FILE: key: what").
vpr_config read_vpr_config(const std::string& path, bool quick = false);
vpr_config parse_vpr_config(const std::string& text, const std::string& source, bool quick = false);

}  // namespace kspike::vpr
