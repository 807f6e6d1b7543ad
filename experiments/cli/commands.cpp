#include "experiments/cli/commands.hpp"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <utility>

#include "sim/backend.hpp"
#include "sim/engine.hpp"
#include "sim/core/error.hpp"

#include <iostream>

namespace kspike::cli {

bool parse_arguments(const args& a, boost::program_options::options_description& visible,
                     const std::vector<std::pair<const char*, std::string*>>& positionals,
                     boost::program_options::variables_map& vm) {
  namespace po = boost::program_options;
  visible.add_options()("help,h", "show this help");
  po::options_description hidden;
  po::positional_options_description pos;
  for (const auto& [name, value] : positionals) {
    hidden.add_options()(name, po::value(value));
    pos.add(name, 1);
  }
  po::options_description all;
  all.add(visible).add(hidden);
  po::store(po::command_line_parser(a).options(all).positional(pos).run(), vm);
  // An empty value ("-o ''", often an unset shell variable) is a mistake, never "not given".
  for (const auto& [name, value] : vm) {
    const po::option_description* d = all.find_nothrow(name, false);
    if (value.defaulted() || (d && d->semantic()->max_tokens() == 0)) continue;  // a flag holds no value
    bool empty = false;
    if (const auto* s = boost::any_cast<std::string>(&value.value())) empty = s->empty();
    if (const auto* list = boost::any_cast<std::vector<std::string>>(&value.value()))
      for (const auto& s : *list) empty = empty || s.empty();
    if (empty) {
      bool positional = false;
      for (const auto& p : positionals) positional = positional || name == p.first;
      throw error((positional ? name : "--" + name) + ": an empty value");
    }
  }
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << visible << "\n";
    return false;
  }
  return true;
}

bool parse_arguments(const args& a, boost::program_options::options_description& visible,
                     const char* positional_name, std::string& positional,
                     boost::program_options::variables_map& vm) {
  return parse_arguments(a, visible, {{positional_name, &positional}}, vm);
}

namespace {

void require_threads(int t) {
  if (t < 1) throw error("--threads: must be >= 1 (got " + std::to_string(t) + "); leave it out for OpenMP's default");
}

// The value named `text` among `names` (option `option`), or one line listing the names.
template <class Kind>
Kind named_choice(const std::string& option, const std::string& text, std::initializer_list<std::pair<const char*, Kind>> names) {
  std::string listed;
  std::size_t k = 0;
  for (const auto& [name, value] : names) {
    if (text == name) return value;
    listed += std::string(k == 0 ? "" : k + 1 == names.size() ? " or " : ", ") + name;
    ++k;
  }
  throw error(option + ": must be " + listed + " (got '" + text + "')");
}

}  // namespace

// The notifiers are plain functions: GCC 12 warns (-Wuninitialized, a false positive) when
// Boost.Function copies a lambda that captures nothing.
void add_backend_options(boost::program_options::options_description& opts, std::string& backend, int& threads,
                         const char* threads_note) {
  namespace po = boost::program_options;
  opts.add_options()
      ("backend,b", po::value(&backend)->notifier(&require_backend),
       "auto (the default), serial, openmp or cuda: auto takes the GPU where the build has one and "
       "the work pays for it (networks: from 10^6 neurons + synapses/1000), else OpenMP or Serial")
      ("threads,t", po::value(&threads)->notifier(&require_threads),
       (std::string("threads for the openmp backend (default: OpenMP's)") + threads_note).c_str());
}

void add_step_options(boost::program_options::options_description& opts, engine_options& engine) {
  namespace po = boost::program_options;
  const auto set = [&engine](const std::string& text) {
    using kind = engine_options::step_sync_kind;
    engine.step_sync = named_choice<kind>("--step-sync", text, {{"auto", kind::automatic}, {"every-step", kind::every_step},
                                                                {"deferred", kind::deferred}, {"fused", kind::fused}});
  };
  opts.add_options()(
      "step-sync", po::value<std::string>()->default_value("auto")->notifier(set),
      "steps schedule: every-step: counts come back to the host each step; deferred: they stay on\n"
      "the device; fused: one launch runs a window of steps (docs/architecture.md \"The deferred\n"
      "step\"); auto: on a GPU fused for small networks, deferred for large ones, where the\n"
      "network allows; every-step on a CPU. The same spikes in every mode");
  const auto set_walk = [&engine](const std::string& text) {
    using kind = engine_options::table_walk_kind;
    engine.table_walk = named_choice<kind>("--table-walk", text,
                                           {{"auto", kind::automatic}, {"at-spike", kind::at_spike}, {"at-arrival", kind::at_arrival}});
  };
  opts.add_options()(
      "table-walk", po::value<std::string>()->default_value("auto")->notifier(set_walk),
      "when a spike's synapses in the table are walked: at-spike: the whole row at once, each\n"
      "event into the delay ring's slot of its delay; at-arrival (CPU): each delay's run of the\n"
      "row in the step before it is due, into one buffer that stays in cache; auto: at-arrival\n"
      "on a CPU without plasticity, else at-spike. The same spikes either way");
}

std::uint64_t parse_seed(const std::string& text) {
  const bool digits = !text.empty() && text.size() <= 20 && text.find_first_not_of("0123456789") == std::string::npos;
  errno = 0;
  const unsigned long long v = digits ? std::strtoull(text.c_str(), nullptr, 10) : 0;
  if (!digits || errno == ERANGE) throw error("--seed: must be a whole number from 0 to 2^64 - 1 (got '" + text + "')");
  return static_cast<std::uint64_t>(v);
}

std::int64_t at_least(std::int64_t value, std::int64_t min, const std::string& option) {
  if (value < min) throw error(option + ": must be >= " + std::to_string(min) + " (got " + std::to_string(value) + ")");
  return value;
}

double non_negative(double value, const std::string& option) {
  if (!(value >= 0) || !std::isfinite(value))
    throw error(option + ": must be a finite number >= 0 (got " + std::to_string(value) + ")");
  return value;
}

void check_output_file(const std::string& path, const std::string& option, const std::vector<std::string>& inputs) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::symlink_status(path, ec);
  if (fs::exists(st)) {
    if (!fs::is_regular_file(st))
      throw error(option + ": '" + path + "' exists and is not a regular file (a folder, link or device): not replacing it");
    for (const auto& in : inputs)
      if (!in.empty() && fs::exists(in, ec) && fs::equivalent(path, in, ec))
        throw error(option + ": '" + path + "' is also an input of this run (" + in + "): not overwriting it");
  }
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty() && !fs::is_directory(parent, ec))
    throw error(option + ": '" + path + "': the folder '" + parent.string() + "' does not exist");
  const std::string folder = parent.empty() ? "." : parent.string();
  if (::access(folder.c_str(), W_OK | X_OK) != 0)
    throw error(option + ": '" + path + "': cannot write in the folder '" + folder + "'");
}

void check_output_folder(const std::string& path, const std::string& option, const std::vector<std::string>& inputs) {
  namespace fs = std::filesystem;
  if (path.empty()) throw error(option + ": an empty path");
  std::error_code ec;
  if (fs::exists(path, ec)) {
    if (!fs::is_directory(path, ec)) throw error(option + ": '" + path + "' exists and is not a folder");
    for (const auto& in : inputs)
      if (!in.empty() && fs::exists(in, ec) && fs::equivalent(path, in, ec))
        throw error(option + ": '" + path + "' is also an input of this command (" + in + "): not writing into it");
    if (::access(path.c_str(), W_OK | X_OK) != 0) throw error(option + ": '" + path + "': cannot write in this folder");
    return;
  }
  // Created when the command writes: its nearest existing ancestor must be a writable folder.
  fs::path above = fs::path(path).parent_path();
  while (!above.empty() && !fs::exists(above, ec)) above = above.parent_path();
  const std::string at = above.empty() ? "." : above.string();
  if (!fs::is_directory(at, ec)) throw error(option + ": '" + path + "': '" + at + "' is not a folder");
  if (::access(at.c_str(), W_OK | X_OK) != 0)
    throw error(option + ": '" + path + "': cannot create it (cannot write in '" + at + "')");
}

void check_distinct_outputs(const std::vector<std::pair<std::string, std::string>>& outputs) {
  namespace fs = std::filesystem;
  const auto canonical = [](const std::string& p) {
    std::error_code ec;
    const fs::path whole = fs::absolute(p, ec);
    const fs::path c = fs::weakly_canonical(whole, ec);
    return ec ? whole.lexically_normal() : c;
  };
  for (std::size_t i = 0; i < outputs.size(); ++i)
    for (std::size_t j = 0; j < i; ++j) {
      const auto& [a_option, a] = outputs[j];
      const auto& [b_option, b] = outputs[i];
      if (a.empty() || b.empty()) continue;
      if (canonical(a) == canonical(b))
        throw error(b_option + ": '" + b + "' is also " + a_option + ": two outputs cannot share a path");
    }
}

}  // namespace kspike::cli
