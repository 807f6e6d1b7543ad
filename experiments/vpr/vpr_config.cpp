#include "experiments/vpr/vpr_config.hpp"

#include <cstdio>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "sim/core/error.hpp"
#include "sim/core/plain_name.hpp"
#include "sim/io/text_file.hpp"
#include "sim/io/toml_reader.hpp"

namespace kspike::vpr {

namespace {

// The VPR config's unknown keys point at its reference.
struct reader : io::toml_reader {
  const toml::table* table(const toml::table& root, const std::string& name, const std::set<std::string>& keys) const {
    return io::toml_reader::table(root, name, keys, "see docs/vpr.md, Configuration");
  }
};

}  // namespace

namespace {

// `root` by value: the [quick] overrides are merged into this copy.
vpr_config parse_with(toml::table root, const std::string& text, const std::string& source, bool quick) {
  reader r;
  r.source = source;
  const std::set<std::string> sections{"name", "seed", "data", "network", "training", "places", "evaluation", "quick"};
  for (const auto& [k, v] : root)
    if (!sections.count(std::string(k.str())))
      r.fail(std::string(k.str()), "unknown key (sections: data, network, training, places, evaluation, quick)");
  if (quick) {
    const toml::node* q = root.get("quick");
    if (!q) r.fail("quick", "--quick given but the file has no [quick] table");
    const toml::table* qt = q->as_table();
    if (!qt) r.fail("quick", "must be a table");
    const toml::table copy = *qt;
    for (const auto& [section, node] : copy) {
      const toml::table* st = node.as_table();
      const std::string name(section.str());
      if (!st) r.fail("quick." + name, "must be a table of overrides, e.g. [quick.training]");
      if (!sections.count(name) || name == "quick" || name == "name" || name == "seed")
        r.fail("quick." + name, "unknown section to override (data, network, training, places, evaluation)");
      if (!root.get(name)) root.insert(name, toml::table{});
      toml::table* target = root.get(name)->as_table();
      if (!target) r.fail(name, "must be a table");
      for (const auto& [k, v] : *st) target->insert_or_assign(k, v);
    }
  } else if (const toml::node* q = root.get("quick"); q && !q->is_table()) {
    r.fail("quick", "must be a table");
  }

  vpr_config c;
  c.source = source;
  c.text = text;
  c.name = std::filesystem::path(source).stem().string();
  if (const toml::node* n = root.get("name")) c.name = r.string(*n, "name");
  // It names the default output folder and titles the plots.
  if (const std::string why = plain_name_problem(c.name); !why.empty())
    r.fail("name", "the run's name " + why + (root.get("name") ? "" : " (it is the config file's name unless name is given)"));
  if (const toml::node* n = root.get("seed")) c.seed = r.count(*n, "seed", 0, 0xFFFFFFFFu);

  const auto* data = r.table(root, "data", {"root", "reference", "query", "frames", "skip", "offset"});
  if (!data || !data->get("root")) r.fail("data.root", "missing (the folder holding the traversal folders)");
  r.get(data, "data", "root", [&](const toml::node& n, const std::string& k) {
    c.data_root = r.string(n, k);
    if (c.data_root.empty()) r.fail(k, "is empty (the folder holding the traversal folders)");
  });
  r.get(data, "data", "reference", [&](const toml::node& n, const std::string& k) {
    const toml::array* a = n.as_array();
    if (!a || a->empty()) r.fail(k, "must be a non-empty array of traversal folder names");
    c.reference.clear();
    for (std::size_t i = 0; i < a->size(); ++i) c.reference.push_back(r.string(*a->get(i), k));
  });
  r.get(data, "data", "query", [&](const toml::node& n, const std::string& k) { c.query = r.string(n, k); });
  r.get(data, "data", "frames", [&](const toml::node& n, const std::string& k) { c.frames = r.string(n, k); });
  r.get(data, "data", "skip", [&](const toml::node& n, const std::string& k) { c.skip = r.count(n, k, 1, 1000000); });
  r.get(data, "data", "offset", [&](const toml::node& n, const std::string& k) { c.offset = r.count(n, k, 0, 100000000); });

  const auto* net = r.table(root, "network", {"n_e", "tc_gi_ms", "stdp_sign"});
  r.get(net, "network", "n_e", [&](const toml::node& n, const std::string& k) { c.n_e = r.count(n, k, 1, 4096); });
  r.get(net, "network", "tc_gi_ms", [&](const toml::node& n, const std::string& k) { c.tc_gi_ms = r.number(n, k, 0.1, 1000); });
  r.get(net, "network", "stdp_sign", [&](const toml::node& n, const std::string& k) {
    const std::string s = r.string(n, k);
    if (s != "reference" && s != "diehl_cook") r.fail(k, "must be \"reference\" (+nu_pre) or \"diehl_cook\" (-nu_pre)");
    c.diehl_cook_sign = s == "diehl_cook";
  });

  const auto* tr = r.table(root, "training", {"epochs", "assignment_epochs", "shuffle"});
  r.get(tr, "training", "epochs", [&](const toml::node& n, const std::string& k) { c.epochs = r.count(n, k, 1, 100000); });
  r.get(tr, "training", "assignment_epochs",
        [&](const toml::node& n, const std::string& k) { c.assignment_epochs = r.count(n, k, 1, 100000); });
  r.get(tr, "training", "shuffle", [&](const toml::node& n, const std::string& k) { c.shuffle = r.boolean(n, k); });
  if (c.assignment_epochs > c.epochs) r.fail("training.assignment_epochs", "must not exceed training.epochs");

  const auto* pl = r.table(root, "places", {"per_module", "calibration", "test"});
  r.get(pl, "places", "per_module", [&](const toml::node& n, const std::string& k) { c.places_per_module = r.count(n, k, 1, 1000000); });
  r.get(pl, "places", "calibration", [&](const toml::node& n, const std::string& k) { c.calibration_places = r.count(n, k, 0, 1000000); });
  r.get(pl, "places", "test", [&](const toml::node& n, const std::string& k) { c.test_places = r.count(n, k, 1, 1000000); });
  if (c.calibration_places % c.places_per_module != 0)
    r.fail("places.calibration", "must be a multiple of places.per_module (" + std::to_string(c.places_per_module) + ")");
  if (c.test_places % c.places_per_module != 0)
    r.fail("places.test", "must be a multiple of places.per_module (" + std::to_string(c.places_per_module) + ")");

  const auto* ev = r.table(root, "evaluation", {"assignment", "hyperactive"});
  r.get(ev, "evaluation", "assignment", [&](const toml::node& n, const std::string& k) {
    const std::string s = r.string(n, k);
    if (s != "weighted" && s != "standard") r.fail(k, "must be \"weighted\" or \"standard\"");
    c.weighted = s == "weighted";
  });
  r.get(ev, "evaluation", "hyperactive", [&](const toml::node& n, const std::string& k) {
    if (n.is_integer()) {
      c.hyperactive = hyperactive_mode::fixed;
      c.hyperactive_threshold = static_cast<int>(r.count(n, k, 0, 1000000));
      if (c.hyperactive_threshold == 0) c.hyperactive = hyperactive_mode::off;
      return;
    }
    if (!n.is_string()) r.fail(k, "must be \"off\", \"calibrate\" or a threshold T (an integer)");
    const std::string s = r.string(n, k);
    if (s == "off") c.hyperactive = hyperactive_mode::off;
    else if (s == "calibrate") c.hyperactive = hyperactive_mode::calibrate;
    else r.fail(k, "must be \"off\", \"calibrate\" or a threshold T (an integer)");
  });
  if (c.hyperactive == hyperactive_mode::calibrate && c.calibration_places == 0)
    r.fail("evaluation.hyperactive", "\"calibrate\" needs places.calibration > 0");
  return c;
}

}  // namespace

vpr_config parse_vpr_config(const std::string& text, const std::string& source, bool quick) {
  const toml::table root = io::parse_toml(text, source);
  vpr_config c = parse_with(root, text, source, quick);
  // A mistake in the [quick] overrides must not wait until someone passes --quick.
  if (!quick && root.get("quick")) {
    try {
      (void)parse_with(root, text, source, true);
    } catch (const error& e) {
      throw error(std::string(e.what()) + " (with the [quick] overrides applied; they are checked even without --quick)");
    }
  }
  return c;
}

std::vector<std::pair<std::string, std::string>> training_settings(const vpr_config& c) {
  std::string reference;
  for (const auto& t : c.reference) reference += (reference.empty() ? "" : ",") + t;
  char tc[32];
  std::snprintf(tc, sizeof tc, "%.17g", c.tc_gi_ms);
  return {{"seed", std::to_string(c.seed)},
          {"data.reference", reference},
          {"data.frames", c.frames ? *c.frames : std::string("(default)")},
          {"data.skip", std::to_string(c.skip)},
          {"data.offset", std::to_string(c.offset)},
          {"network.n_e", std::to_string(c.n_e)},
          {"network.tc_gi", tc},
          {"network.stdp_sign", c.diehl_cook_sign ? "diehl_cook" : "reference"},
          {"training.epochs", std::to_string(c.epochs)},
          {"training.assignment_epochs", std::to_string(c.assignment_epochs)},
          {"training.shuffle", c.shuffle ? "true" : "false"},
          {"places.per_module", std::to_string(c.places_per_module)},
          {"places.calibration", std::to_string(c.calibration_places)},
          {"places.test", std::to_string(c.test_places)}};
}

vpr_config read_vpr_config(const std::string& path, bool quick) {
  return parse_vpr_config(io::read_text_file(path), path, quick);
}

}  // namespace kspike::vpr
