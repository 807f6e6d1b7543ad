// TOML network files -> kspike::network (schema and units: docs/config.md).
//
// Reading and checking are split: this file turns TOML into the host description, catching
// what only the text can tell (unknown keys, wrong types, units, malformed edge lists);
// kspike::validate() then checks the values, so a network built in code gets the same checks.
// Every error is one line, "FILE: FIELD: what", FIELD a dotted path such as
// populations.exc.tau. Internally the readers throw "FIELD: what" and parse_network() adds
// the file in one place.
#include "sim/io/network_config.hpp"
#include "sim/io/sonata.hpp"
#include "sim/io/text_file.hpp"
#include "sim/io/toml_reader.hpp"

// toml++ 3.3 asserts, instead of reporting an error, on some malformed table headers such as
// "[[[x" (its release builds report "expected bare key starting character"). Its internal
// assertions are switched off so that a debug build of kspike reports the error too rather
// than aborting on a user's typo.
#ifndef TOML_ASSERT
#define TOML_ASSERT(expr) static_cast<void>(0)
#endif
#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <initializer_list>
#include <optional>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>
#include <utility>
#include <vector>

#include "sim/core/error.hpp"

namespace kspike::io {

namespace {

// ---------------------------------------------------------------- small helpers

[[noreturn]] void fail(const std::string& field, const std::string& what) { throw error(field + ": " + what); }

std::string join(const std::string& field, std::string_view key) {
  return field.empty() ? std::string(key) : field + "." + std::string(key);
}

std::string indexed(const std::string& field, std::size_t i) { return field + "[" + std::to_string(i) + "]"; }

// Messages must stay on one line even when a key or a parser message holds a newline.
std::string one_line(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  std::replace(s.begin(), s.end(), '\r', ' ');
  return s;
}

std::string_view trim(std::string_view s) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

std::string list_of(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

// ---------------------------------------------------------------- quantities

struct unit_symbol {
  std::string_view symbol;
  std::string_view dimension;
};
// Base units, matched case-sensitively: "S" (siemens) is not "s" (second).
constexpr unit_symbol base_units[] = {
    {"s", "time"},
    {"V", "voltage"},
    {"A", "current"},
    {"Hz", "rate"},
    {"Ohm", "resistance"},
    {"ohm", "resistance"},
    {"\u03A9", "resistance"} /* Greek capital omega */,
    {"\u2126", "resistance"} /* ohm sign */,
    {"S", "conductance"},
    {"F", "capacitance"},
};

struct si_prefix {
  std::string_view symbol;
  int exponent;
};
constexpr si_prefix prefixes[] = {
    {"p", -12}, {"n", -9}, {"u", -6}, {"\u00B5", -6} /* micro sign */, {"\u03BC", -6} /* Greek mu */, {"m", -3},
    {"k", 3},   {"M", 6},  {"G", 9}};

constexpr std::string_view dimensions[] = {"time",        "voltage",     "current",      "rate", "resistance",
                                           "conductance", "capacitance", "dimensionless"};

std::string a_dimension(std::string_view d) {
  if (d == "dimensionless") return "a plain number";
  return "a " + std::string(d);
}

// For messages: what a value of this dimension looks like.
std::string example_of(std::string_view d) {
  if (d == "time") return "20 ms";
  if (d == "voltage") return "-65 mV";
  if (d == "current") return "1 nA";
  if (d == "rate") return "5 Hz";
  if (d == "resistance") return "10 MOhm";
  if (d == "conductance") return "4 nS";
  if (d == "capacitance") return "281 pF";
  return "0.5";
}

// Finds `unit` as an optional prefix followed by a base unit.
bool lookup_unit(std::string_view unit, std::string_view& dimension, int& exponent) {
  for (const auto& b : base_units)
    if (unit == b.symbol) {
      dimension = b.dimension;
      exponent = 0;
      return true;
    }
  for (const auto& b : base_units) {
    if (unit.size() <= b.symbol.size() || unit.substr(unit.size() - b.symbol.size()) != b.symbol) continue;
    const std::string_view head = unit.substr(0, unit.size() - b.symbol.size());
    for (const auto& p : prefixes)
      if (head == p.symbol) {
        dimension = b.dimension;
        exponent = p.exponent;
        return true;
      }
  }
  return false;
}

// The leading number of a quantity: sign, digits, optional fraction and exponent. Kept as
// text (mantissa) plus a decimal exponent, so that a unit prefix moves the exponent and the
// value is rounded once: "0.1 ms" gives exactly the double nearest 1e-4, as 1e-4 does.
struct number_text {
  std::string mantissa;
  long exponent = 0;
  std::size_t end = 0;  // where the unit starts
};

bool scan_number(std::string_view s, number_text& out) {
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  const auto digits = [&] {
    const std::size_t from = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i - from;
  };
  std::size_t n = digits();
  if (i < s.size() && s[i] == '.') {
    ++i;
    n += digits();
  }
  if (n == 0) return false;
  out.mantissa = std::string(s.substr(s[0] == '+' ? 1 : 0, i - (s[0] == '+' ? 1 : 0)));
  out.exponent = 0;
  // An exponent only if digits follow: a unit never starts with 'e' or 'E'.
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    std::size_t j = i + 1;
    if (j < s.size() && (s[j] == '+' || s[j] == '-')) ++j;
    std::size_t k = j;
    while (k < s.size() && s[k] >= '0' && s[k] <= '9') ++k;
    if (k == j) return false;
    const char* first = s.data() + i + 1 + (s[i + 1] == '+' ? 1 : 0);
    const auto r = std::from_chars(first, s.data() + k, out.exponent);
    if (r.ec != std::errc() || std::labs(out.exponent) > 10000) return false;
    i = k;
  }
  out.end = i;
  return true;
}

// ---------------------------------------------------------------- typed TOML values

std::string kind_of(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    default:
      return "a date or time";
  }
}

const toml::table& table_of(const toml::node& n, const std::string& field) {
  if (const auto* t = n.as_table()) return *t;
  fail(field, "expected a table, got " + kind_of(n));
}

const toml::array& array_of(const toml::node& n, const std::string& field) {
  if (const auto* a = n.as_array()) return *a;
  fail(field, "expected an array, got " + kind_of(n));
}

const toml::node& required(const toml::table& t, std::string_view key, const std::string& field) {
  if (const toml::node* n = t.get(key)) return *n;
  fail(join(field, key), "missing");
}

std::string read_string(const toml::node& n, const std::string& field) {
  if (const auto* s = n.as_string()) return s->get();
  fail(field, "expected a string, got " + kind_of(n));
}

bool read_bool(const toml::node& n, const std::string& field) {
  if (const auto* b = n.as_boolean()) return b->get();
  fail(field, "expected true or false, got " + kind_of(n));
}

// Sizes, seeds, in-degrees and neuron ids: whole numbers >= 0.
std::int64_t read_count(const toml::node& n, const std::string& field) {
  const auto* i = n.as_integer();
  if (!i) fail(field, "expected a non-negative integer, got " + kind_of(n));
  if (i->get() < 0) fail(field, "must be a non-negative integer (got " + std::to_string(i->get()) + ")");
  return i->get();
}

std::vector<std::int64_t> read_counts(const toml::node& n, const std::string& field) {
  std::vector<std::int64_t> out;
  const toml::array& a = array_of(n, field);
  for (std::size_t k = 0; k < a.size(); ++k) out.push_back(read_count(*a.get(k), indexed(field, k)));
  return out;
}

double read_quantity(const toml::node& n, std::string_view dimension, const std::string& field) {
  if (const auto* i = n.as_integer()) return static_cast<double>(i->get());
  if (const auto* f = n.as_floating_point()) {
    if (!std::isfinite(f->get())) fail(field, "must be a finite number");
    return f->get();
  }
  if (const auto* s = n.as_string()) return parse_quantity(s->get(), dimension, field);
  if (dimension == "dimensionless") fail(field, "expected a number, got " + kind_of(n));
  fail(field, "expected " + a_dimension(dimension) + " such as \"" + example_of(dimension) +
                  "\" or a number in SI units, got " + kind_of(n));
}

std::vector<double> read_quantities(const toml::node& n, std::string_view dimension, const std::string& field) {
  std::vector<double> out;
  const toml::array& a = array_of(n, field);
  for (std::size_t k = 0; k < a.size(); ++k) out.push_back(read_quantity(*a.get(k), dimension, indexed(field, k)));
  return out;
}

void check_keys(const toml::table& t, const std::string& field, const std::vector<std::string>& allowed,
                const std::string& what);

// A quantity, or { uniform = [low, high] }, or { normal = [mean, sd] } with optional min and max.
value_dist read_dist(const toml::node& n, std::string_view dimension, const std::string& field) {
  const auto* t = n.as_table();
  if (!t) return value_dist::constant(read_quantity(n, dimension, field));
  const char* expected = "expected a quantity, { uniform = [low, high] } or { normal = [mean, sd] } (optionally with min, max)";
  const toml::node* uniform = t->get("uniform");
  const toml::node* normal = t->get("normal");
  if (!uniform && !normal) {
    if (t->empty()) fail(field, expected);
    for (auto&& [key, value] : *t)
      if (key.str() != "min" && key.str() != "max") fail(join(field, key.str()), "unknown distribution (uniform or normal)");
    fail(field, std::string(expected) + ": min and max bound a normal distribution");
  }
  if (uniform && normal) fail(field, "give one distribution, uniform or normal");
  const std::string key = uniform ? "uniform" : "normal";
  check_keys(*t, field, uniform ? std::vector<std::string>{"uniform"} : std::vector<std::string>{"normal", "min", "max"},
             uniform ? "key of a uniform distribution" : "key of a normal distribution");
  const std::string f = join(field, key);
  const std::vector<double> v = read_quantities(uniform ? *uniform : *normal, dimension, f);
  if (v.size() != 2)
    fail(f, "expected two values, " + std::string(uniform ? "[low, high]" : "[mean, sd]") + ", got " +
                std::to_string(v.size()));
  if (uniform) return value_dist::uniform(v[0], v[1]);
  value_dist d = value_dist::normal(v[0], v[1]);
  if (const toml::node* lo = t->get("min")) d.lo = read_quantity(*lo, dimension, join(field, "min"));
  if (const toml::node* hi = t->get("max")) d.hi = read_quantity(*hi, dimension, join(field, "max"));
  return d;
}

// Keys outside `allowed` are mistakes (a misspelt parameter would otherwise be ignored).
void check_keys(const toml::table& t, const std::string& field, const std::vector<std::string>& allowed,
                const std::string& what) {
  for (auto&& [key, value] : t)
    if (std::find(allowed.begin(), allowed.end(), key.str()) == allowed.end())
      fail(join(field, key.str()), "unknown " + what + " (expected one of: " + list_of(allowed) + ")");
}

// toml++ keeps a table's entries sorted by key; the order of populations and projections
// means something (population order is the neuron order, projection order picks random
// streams), so entries are put back in the order they appear in the file.
std::vector<std::pair<std::string, const toml::node*>> in_file_order(const toml::table& t) {
  std::vector<std::tuple<std::uint32_t, std::uint32_t, std::string, const toml::node*>> entries;
  for (auto&& [key, value] : t)
    entries.emplace_back(key.source().begin.line, key.source().begin.column, std::string(key.str()), &value);
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return std::tie(std::get<0>(a), std::get<1>(a)) < std::tie(std::get<0>(b), std::get<1>(b));
  });
  std::vector<std::pair<std::string, const toml::node*>> out;
  for (auto& e : entries) out.emplace_back(std::move(std::get<2>(e)), std::get<3>(e));
  return out;
}

// ---------------------------------------------------------------- neuron models

// Reads the keys a model's parameters() declares (neurons/common.hpp) from a population's
// table, leaving the model's defaults for the others; `allowed` collects them.
template <class P>
struct parameter_reader {
  const toml::table& t;
  const std::string& field;
  P& p;
  std::vector<std::string>& allowed;

  void quantity(const char* key, const char* dimension, double P::*member, const char* /*meaning*/,
                double P::*also = nullptr) {
    allowed.push_back(key);
    if (const toml::node* n = t.get(key)) {
      p.*member = read_quantity(*n, dimension, join(field, key));
      if (also) p.*also = p.*member;
    }
  }
  void flag(const char* key, bool P::*member, const char* /*meaning*/) {
    allowed.push_back(key);
    if (const toml::node* n = t.get(key)) p.*member = read_bool(*n, join(field, key));
  }
  template <class E>
  void choice(const char* key, E P::*member, std::initializer_list<const char*> names, const char* /*meaning*/) {
    allowed.push_back(key);
    const toml::node* n = t.get(key);
    if (!n) return;
    const std::string s = read_string(*n, join(field, key));
    std::string list;
    int k = 0;
    for (const char* name : names) {
      if (s == name) {
        p.*member = static_cast<E>(k);
        return;
      }
      list += (k++ ? " or " : "") + std::string(name);
    }
    fail(join(field, key), "unknown " + std::string(key) + " '" + s + "' (" + list + ")");
  }
};

std::string model_names() {
  std::string names;
  neurons::for_each_model([&](auto tag) { names += std::string(decltype(tag)::type::name) + ", "; });
  return names + "poisson, spike_source_array";
}

poisson_source read_poisson(const toml::table& t, const std::string& field, std::vector<std::string>& allowed) {
  allowed.insert(allowed.end(), {"rate", "rates", "sampling"});
  const toml::node* one = t.get("rate");
  const toml::node* many = t.get("rates");
  if (one && many) fail(join(field, "rates"), "give rate (all neurons) or rates (one per neuron), not both");
  if (!one && !many) fail(join(field, "rate"), "missing (a poisson population needs rate or rates)");
  poisson_source s;
  if (one)
    s.rates = {read_quantity(*one, "rate", join(field, "rate"))};
  else
    s.rates = read_quantities(*many, "rate", join(field, "rates"));
  if (const toml::node* n = t.get("sampling")) {
    const std::string v = read_string(*n, join(field, "sampling"));
    if (v == "steps") s.draw = poisson_source::sampling::steps;
    else if (v == "gaps") s.draw = poisson_source::sampling::gaps;
    else fail(join(field, "sampling"), "unknown sampling '" + v + "' (steps or gaps)");
  }
  return s;
}

std::string resolve(const std::string& folder, const std::string& file);

// Spike times from a SONATA spike report written by any simulator: population `name` of the
// file (or its only one), node ids as neuron indices, timestamps in the file's units (ms unless
// the `units` attribute says "s").
spike_source_array read_spike_file(const std::string& path, const std::string& population, const std::string& field) {
  std::vector<io::spike_population> pops;
  try {
    pops = io::read_spike_report(path);
  } catch (const error& e) {
    fail(join(field, "spike_file"), e.what());
  }
  const io::spike_population* chosen = nullptr;
  std::string names;
  for (const auto& p : pops) {
    names += (names.empty() ? "" : ", ") + (p.name.empty() ? std::string("(legacy /spikes/gids)") : p.name);
    if ((population.empty() && pops.size() == 1) || p.name == population) chosen = &p;
  }
  if (!chosen)
    fail(join(field, population.empty() ? "spike_file" : "spike_population"),
         path + " holds " + (pops.empty() ? std::string("no spike population") : "the populations " + names) +
             (population.empty() ? ": name one with spike_population" : ", not '" + population + "'"));
  double scale = 1e-3;
  if (chosen->units == "s") scale = 1.0;
  else if (!chosen->units.empty() && chosen->units != "ms")
    fail(join(field, "spike_file"), path + ": timestamps in unknown units '" + chosen->units + "' (ms or s)");
  spike_source_array s;
  for (std::size_t k = 0; k < chosen->node_ids.size(); ++k) {
    const double t = chosen->timestamps[k] * scale;
    if (!std::isfinite(t) || t < 0)
      fail(join(field, "spike_file"), path + ": spike " + std::to_string(k) + " has time " + short_number(t) + " s (times must be finite and >= 0)");
    const std::uint64_t id = chosen->node_ids[k];
    if (id >= (std::uint64_t{1} << 30)) fail(join(field, "spike_file"), path + ": node id " + std::to_string(id) + " is too large");
    if (id >= s.times.size()) s.times.resize(static_cast<std::size_t>(id) + 1);
    s.times[static_cast<std::size_t>(id)].push_back(t);
  }
  s.file = path;
  return s;
}

spike_source_array read_spike_array(const toml::table& t, const std::string& field, std::vector<std::string>& allowed,
                                    const std::string& folder) {
  allowed.insert(allowed.end(), {"spike_times", "spike_file", "spike_population"});
  if (const toml::node* file = t.get("spike_file")) {
    if (t.get("spike_times")) fail(join(field, "spike_times"), "give spike_times or spike_file, not both");
    std::string population;
    if (const toml::node* n = t.get("spike_population")) population = read_string(*n, join(field, "spike_population"));
    return read_spike_file(resolve(folder, read_string(*file, join(field, "spike_file"))), population, field);
  }
  if (t.get("spike_population")) fail(join(field, "spike_population"), "only with spike_file");
  const std::string f = join(field, "spike_times");
  const toml::array& lists = array_of(required(t, "spike_times", field), f);
  spike_source_array s;
  for (std::size_t k = 0; k < lists.size(); ++k)
    s.times.push_back(read_quantities(*lists.get(k), "time", indexed(f, k)));
  return s;
}

// The model's parameters; `allowed` collects the keys the model understands.
neuron_model read_model(const std::string& model, const toml::table& t, const std::string& field,
                        std::vector<std::string>& allowed, const std::string& folder) {
  std::optional<neuron_model> found;
  neurons::for_each_model([&](auto tag) {
    using M = typename decltype(tag)::type;
    if (found || model != M::name) return;
    typename M::params p;
    parameter_reader<typename M::params> reader{t, field, p, allowed};
    M::parameters(reader);
    found = p;
  });
  if (found) return *found;
  if (model == "poisson") return read_poisson(t, field, allowed);
  if (model == "spike_source_array") return read_spike_array(t, field, allowed, folder);
  fail(join(field, "model"), "unknown model '" + model + "' (" + model_names() + ")");
}

bool is_source(const neuron_model& m) {
  return std::holds_alternative<poisson_source>(m) || std::holds_alternative<spike_source_array>(m);
}

// Synaptic weights are in the unit of the post model's synaptic variable (neurons/common.hpp).
std::string_view weight_dimension(const neuron_model& m) {
  std::string_view d = "voltage";
  visit_neuron_model(m, [&](auto tag, const auto&) { d = decltype(tag)::type::input_dimension; });
  return d;
}

// receptor = "excitatory" | "inhibitory" (projections and background input).
receptor read_receptor(const toml::node& n, const std::string& field) {
  const std::string s = read_string(n, field);
  if (s == "excitatory") return receptor::excitatory;
  if (s == "inhibitory") return receptor::inhibitory;
  fail(field, "unknown receptor '" + s + "' (excitatory or inhibitory)");
}

// background = { inputs = K, rate = "8 Hz", weight = "87.8 pA", receptor = "excitatory" }:
// K independent Poisson sources per neuron (docs/config.md).
population::background_input read_background(const toml::node& node, const neuron_model& m, const std::string& field) {
  const toml::table& t = table_of(node, field);
  check_keys(t, field, {"inputs", "rate", "weight", "receptor"}, "key of a background input");
  population::background_input b;
  b.inputs = read_count(required(t, "inputs", field), join(field, "inputs"));
  b.rate = read_quantity(required(t, "rate", field), "rate", join(field, "rate"));
  b.weight = read_quantity(required(t, "weight", field), weight_dimension(m), join(field, "weight"));
  if (const toml::node* r = t.get("receptor")) b.target = read_receptor(*r, join(field, "receptor"));
  return b;
}

population read_population(const std::string& name, const toml::node& node, const std::string& folder) {
  const std::string field = "populations." + name;
  const toml::table& t = table_of(node, field);
  population pop;
  pop.name = name;
  const std::string model = read_string(required(t, "model", field), join(field, "model"));
  std::vector<std::string> allowed{"size", "model"};
  pop.model = read_model(model, t, field, allowed, folder);
  if (!is_source(pop.model)) {
    allowed.push_back("v_init");
    if (const toml::node* n = t.get("v_init")) {
      pop.v_init = read_dist(*n, "voltage", join(field, "v_init"));
      pop.has_v_init = true;
    }
    allowed.push_back("background");
    if (const toml::node* n = t.get("background")) pop.background = read_background(*n, pop.model, join(field, "background"));
  }
  check_keys(t, field, allowed, "parameter of model " + model);
  pop.size = read_count(required(t, "size", field), join(field, "size"));
  if (auto* s = std::get_if<spike_source_array>(&pop.model); s && !s->file.empty()) {
    // A file names the neurons that spiked: the population may have silent ones beyond them.
    if (s->times.size() > static_cast<std::size_t>(std::max<std::int64_t>(pop.size, 0)))
      fail(join(field, "size"), std::to_string(pop.size) + " neurons, but " + s->file + " has node id " +
                                    std::to_string(s->times.size() - 1));
    s->times.resize(static_cast<std::size_t>(std::max<std::int64_t>(pop.size, 0)));
  }
  return pop;
}

// ---------------------------------------------------------------- connectors

std::string resolve(const std::string& folder, const std::string& file) {
  const std::filesystem::path p(file);
  if (p.is_absolute() || folder.empty()) return p.string();
  return (std::filesystem::path(folder) / p).string();
}

bool parse_int(std::string_view s, std::int64_t& out) {
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool parse_double(std::string_view s, double& out) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && std::isfinite(out);
}

std::vector<std::string_view> split_csv(std::string_view line) {
  std::vector<std::string_view> cells;
  for (;;) {
    const auto comma = line.find(',');
    cells.push_back(trim(line.substr(0, comma)));
    if (comma == std::string_view::npos) return cells;
    line.remove_prefix(comma + 1);
  }
}

// An explicit synapse list: "pre,post[,weight[,delay]]" per line, weights in the post
// model's SI unit, delays in seconds; '#' starts a comment; the first line may be a header.
// Every line has the same columns: a file gives weights (or delays) for all synapses or none.
void read_edge_list(const std::string& path, const std::string& field, connector& c) {
  // Lists can be long (a line per synapse), but not endless: /dev/zero or a FIFO is refused.
  try {
    check_input_file(path, std::size_t{4} << 30);
  } catch (const error& e) {
    fail(field, e.what());
  }
  std::ifstream in(path);
  if (!in) fail(field, path + ": cannot open");
  std::size_t columns = 0;
  bool first = true;
  std::string text;
  for (std::size_t line_no = 1; std::getline(in, text); ++line_no) {
    std::string_view line = text;
    // A spreadsheet's byte-order mark would make the first line look like a header.
    if (line_no == 1 && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);
    line = trim(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    const auto cells = split_csv(line);
    // Built only on failure: a list can have millions of lines.
    const auto at = [&] { return path + ": line " + std::to_string(line_no) + ": "; };
    std::int64_t probe = 0;
    if (first && !parse_int(cells[0], probe)) {  // a header such as "pre,post,weight"
      first = false;
      continue;
    }
    first = false;
    if (cells.size() < 2 || cells.size() > 4)
      fail(field, at() + "expected pre,post[,weight[,delay]], got " + std::to_string(cells.size()) + " fields");
    if (columns != 0 && cells.size() != columns)
      fail(field, at() + std::to_string(cells.size()) + " fields where earlier lines have " + std::to_string(columns));
    columns = cells.size();
    connector::entry e;
    if (!parse_int(cells[0], e.pre) || e.pre < 0)
      fail(field, at() + "pre '" + std::string(cells[0]) + "' is not a neuron index");
    if (!parse_int(cells[1], e.post) || e.post < 0)
      fail(field, at() + "post '" + std::string(cells[1]) + "' is not a neuron index");
    if (columns > 2 && !parse_double(cells[2], e.weight))
      fail(field, at() + "weight '" + std::string(cells[2]) + "' is not a number");
    if (columns > 3 && !parse_double(cells[3], e.delay))
      fail(field, at() + "delay '" + std::string(cells[3]) + "' is not a number (seconds)");
    c.list.push_back(e);
  }
  if (in.bad()) fail(field, path + ": read error");
  c.list_has_weight = columns > 2;
  c.list_has_delay = columns > 3;
  c.list_file = path;
}

struct connector_kind {
  const char* name;
  connector::kind type;
  std::vector<std::string> keys;  // besides "type"
};

const std::vector<connector_kind>& connector_kinds() {
  static const std::vector<connector_kind> kinds = {
      {"all_to_all", connector::kind::all_to_all, {"allow_self"}},
      {"one_to_one", connector::kind::one_to_one, {}},
      {"fixed_probability", connector::kind::fixed_probability, {"p", "allow_self"}},
      {"fixed_in_degree", connector::kind::fixed_in_degree, {"n", "allow_self"}},
      {"fixed_total_number", connector::kind::fixed_total_number, {"n", "allow_self"}},
      {"from_list", connector::kind::from_list, {"file"}},
  };
  return kinds;
}

const connector_kind& find_connector_kind(const std::string& name, const std::string& field) {
  std::vector<std::string> names;
  for (const auto& k : connector_kinds()) {
    if (name == k.name) return k;
    names.push_back(k.name);
  }
  fail(field, "unknown connector type '" + name + "' (" + list_of(names) + ")");
}

// connector = "all_to_all" | { type = "...", ... }; `folder` anchors a relative list file.
connector read_connector(const toml::node& n, const std::string& field, const std::string& folder) {
  connector c;
  if (n.is_string()) {
    const connector_kind& k = find_connector_kind(read_string(n, field), field);
    if (!k.keys.empty() && k.type != connector::kind::all_to_all)
      fail(field, std::string(k.name) + " needs parameters: write { type = \"" + k.name + "\", ... }");
    c.type = k.type;
    return c;
  }
  const toml::table& t = table_of(n, field);
  const connector_kind& k =
      find_connector_kind(read_string(required(t, "type", field), join(field, "type")), join(field, "type"));
  std::vector<std::string> allowed{"type"};
  allowed.insert(allowed.end(), k.keys.begin(), k.keys.end());
  check_keys(t, field, allowed, std::string("key of connector ") + k.name);
  c.type = k.type;
  if (const toml::node* a = t.get("allow_self")) c.allow_self = read_bool(*a, join(field, "allow_self"));
  switch (k.type) {
    case connector::kind::fixed_probability:
      c.p = read_quantity(required(t, "p", field), "dimensionless", join(field, "p"));
      break;
    case connector::kind::fixed_in_degree:
    case connector::kind::fixed_total_number:
      c.n = read_count(required(t, "n", field), join(field, "n"));
      break;
    case connector::kind::from_list: {
      const std::string f = join(field, "file");
      read_edge_list(resolve(folder, read_string(required(t, "file", field), f)), f, c);
      break;
    }
    default:
      break;
  }
  return c;
}

// ---------------------------------------------------------------- projections

// [projections.NAME.stdp]: the rule's parameters (docs/config.md); amplitudes and bounds in
// the weight's unit.
stdp_rule read_stdp(const toml::node& node, std::string_view weight_unit, const std::string& field) {
  const toml::table& t = table_of(node, field);
  check_keys(t, field, {"tau_pre", "tau_post", "tau_post2", "a_pre", "a_post", "w_min", "w_max", "pairing", "update", "learning"},
             "key of an stdp rule");
  stdp_rule r;
  if (const toml::node* n = t.get("tau_pre")) r.tau_pre = read_quantity(*n, "time", join(field, "tau_pre"));
  if (const toml::node* n = t.get("tau_post")) r.tau_post = read_quantity(*n, "time", join(field, "tau_post"));
  if (const toml::node* n = t.get("tau_post2")) r.tau_post2 = read_quantity(*n, "time", join(field, "tau_post2"));
  r.a_pre = read_quantity(required(t, "a_pre", field), weight_unit, join(field, "a_pre"));
  r.a_post = read_quantity(required(t, "a_post", field), weight_unit, join(field, "a_post"));
  if (const toml::node* n = t.get("w_min")) r.w_min = read_quantity(*n, weight_unit, join(field, "w_min"));
  r.w_max = read_quantity(required(t, "w_max", field), weight_unit, join(field, "w_max"));
  if (const toml::node* n = t.get("pairing")) {
    const std::string s = read_string(*n, join(field, "pairing"));
    if (s == "all") r.pairs = stdp_rule::pairing::all_pairs;
    else if (s == "nearest") r.pairs = stdp_rule::pairing::nearest;
    else fail(join(field, "pairing"), "unknown pairing '" + s + "' (all or nearest)");
  }
  if (const toml::node* n = t.get("update")) {
    const std::string s = read_string(*n, join(field, "update"));
    if (s == "additive") r.rule = stdp_rule::update::additive;
    else if (s == "multiplicative") r.rule = stdp_rule::update::multiplicative;
    else fail(join(field, "update"), "unknown update '" + s + "' (additive or multiplicative)");
  }
  if (const toml::node* n = t.get("learning")) r.learning = read_bool(*n, join(field, "learning"));
  return r;
}

const population& population_named(const network& net, const std::string& name, const std::string& field) {
  const int i = net.find_population(name);
  if (i < 0) fail(field, "unknown population '" + name + "'");
  return net.populations[static_cast<std::size_t>(i)];
}

projection read_projection(const std::string& name, const toml::node& node, const network& net,
                           const std::string& folder) {
  const std::string field = "projections." + name;
  const toml::table& t = table_of(node, field);
  check_keys(t, field, {"pre", "post", "receptor", "connector", "weight", "delay", "stdp"}, "key of a projection");
  projection pr;
  pr.name = name;
  pr.pre = read_string(required(t, "pre", field), join(field, "pre"));
  pr.post = read_string(required(t, "post", field), join(field, "post"));
  population_named(net, pr.pre, join(field, "pre"));
  const population& post = population_named(net, pr.post, join(field, "post"));
  if (is_source(post.model))
    fail(join(field, "post"), "population '" + pr.post + "' is a spike source and receives no synapses");
  if (const toml::node* r = t.get("receptor")) pr.target = read_receptor(*r, join(field, "receptor"));
  pr.conn = read_connector(required(t, "connector", field), join(field, "connector"), folder);
  // A list file with a weight (delay) column gives every synapse its own: a second source
  // of the same value would be ambiguous.
  const toml::node* weight = t.get("weight");
  if (pr.conn.list_has_weight) {
    if (weight) fail(join(field, "weight"), "the list file " + pr.conn.list_file + " already gives weights");
  } else {
    pr.weight = read_dist(required(t, "weight", field), weight_dimension(post.model), join(field, "weight"));
  }
  if (const toml::node* d = t.get("delay")) {
    if (pr.conn.list_has_delay)
      fail(join(field, "delay"), "the list file " + pr.conn.list_file + " already gives delays");
    pr.delay = read_dist(*d, "time", join(field, "delay"));
    pr.has_delay = true;
  }
  if (const toml::node* s = t.get("stdp")) {
    pr.plastic = true;
    pr.stdp = read_stdp(*s, weight_dimension(post.model), join(field, "stdp"));
  }
  return pr;
}

// ---------------------------------------------------------------- inputs and recorders

current_source read_current(const toml::node& node, const std::string& field) {
  const toml::table& t = table_of(node, field);
  check_keys(t, field, {"name", "population", "neurons", "times", "amplitudes", "amplitude"}, "key of a current");
  current_source c;
  c.name = field;
  if (const toml::node* n = t.get("name")) c.name = read_string(*n, join(field, "name"));
  c.population = read_string(required(t, "population", field), join(field, "population"));
  if (const toml::node* n = t.get("neurons")) c.neurons = read_counts(*n, join(field, "neurons"));
  if (const toml::node* a = t.get("amplitude")) {
    if (t.get("times") || t.get("amplitudes"))
      fail(join(field, "amplitude"), "give amplitude (a constant current) or times and amplitudes, not both");
    c.times = {0.0};
    c.amplitudes = {read_quantity(*a, "current", join(field, "amplitude"))};
    return c;
  }
  c.times = read_quantities(required(t, "times", field), "time", join(field, "times"));
  c.amplitudes = read_quantities(required(t, "amplitudes", field), "current", join(field, "amplitudes"));
  return c;
}

// An entry of record.spikes: a table { population = "..." } or just the name.
spike_recorder read_spike_recorder(const toml::node& node, const std::string& field) {
  if (node.is_string()) return {read_string(node, field)};
  const toml::table& t = table_of(node, field);
  check_keys(t, field, {"population"}, "key of a spike recorder");
  return {read_string(required(t, "population", field), join(field, "population"))};
}

state_recorder read_state_recorder(const toml::node& node, const std::string& field) {
  const toml::table& t = table_of(node, field);
  check_keys(t, field, {"population", "variable", "neurons", "interval"}, "key of a state recorder");
  state_recorder r;
  r.population = read_string(required(t, "population", field), join(field, "population"));
  if (const toml::node* n = t.get("variable")) r.variable = read_string(*n, join(field, "variable"));
  if (const toml::node* n = t.get("neurons")) r.neurons = read_counts(*n, join(field, "neurons"));
  if (const toml::node* n = t.get("interval")) r.interval = read_quantity(*n, "time", join(field, "interval"));
  return r;
}

void read_record(const toml::node& node, network& net) {
  const toml::table& t = table_of(node, "record");
  check_keys(t, "record", {"spikes", "state"}, "kind of recorder");
  if (const toml::node* s = t.get("spikes")) {
    const toml::array& a = array_of(*s, "record.spikes");
    for (std::size_t k = 0; k < a.size(); ++k)
      net.spike_recorders.push_back(read_spike_recorder(*a.get(k), indexed("record.spikes", k)));
  }
  if (const toml::node* s = t.get("state")) {
    const toml::array& a = array_of(*s, "record.state");
    for (std::size_t k = 0; k < a.size(); ++k)
      net.state_recorders.push_back(read_state_recorder(*a.get(k), indexed("record.state", k)));
  }
}

// ---------------------------------------------------------------- the file

network read_network(const toml::table& root, const std::string& source, const std::string& folder) {
  check_keys(root, "", {"dt", "duration", "seed", "populations", "projections", "currents", "record"}, "top-level key");
  network net;
  net.source = source;
  if (const toml::node* n = root.get("dt")) net.dt = read_quantity(*n, "time", "dt");
  if (const toml::node* n = root.get("duration")) net.duration = read_quantity(*n, "time", "duration");
  if (const toml::node* n = root.get("seed")) net.seed = static_cast<std::uint64_t>(read_count(*n, "seed"));
  const toml::table& pops = table_of(required(root, "populations", ""), "populations");
  for (const auto& [name, node] : in_file_order(pops)) net.populations.push_back(read_population(name, *node, folder));
  if (const toml::node* n = root.get("projections"))
    for (const auto& [name, node] : in_file_order(table_of(*n, "projections")))
      net.projections.push_back(read_projection(name, *node, net, folder));
  if (const toml::node* n = root.get("currents")) {
    const toml::array& a = array_of(*n, "currents");
    for (std::size_t k = 0; k < a.size(); ++k) net.currents.push_back(read_current(*a.get(k), indexed("currents", k)));
  }
  if (const toml::node* n = root.get("record")) read_record(*n, net);
  return net;
}

}  // namespace

double parse_quantity(std::string_view text, std::string_view expected_dimension, const std::string& field) {
  if (std::find(std::begin(dimensions), std::end(dimensions), expected_dimension) == std::end(dimensions))
    throw internal_error("parse_quantity: unknown dimension '" + std::string(expected_dimension) + "'");
  const std::string_view s = trim(text);
  const std::string quoted = "'" + std::string(text) + "'";
  number_text num;
  if (!scan_number(s, num))
    fail(field, quoted + " is not a quantity (expected a number and a unit, such as \"" +
                    example_of(expected_dimension) + "\")");
  const std::string_view unit = trim(s.substr(num.end));
  long exponent = num.exponent;
  if (!unit.empty()) {
    if (expected_dimension == "dimensionless") fail(field, "expected a plain number, got " + quoted);
    std::string_view dimension;
    int prefix = 0;
    if (!lookup_unit(unit, dimension, prefix))
      fail(field, "unknown unit '" + std::string(unit) + "' in " + quoted +
                      " (s, V, A, Hz, Ohm, S, F, each with an optional prefix p, n, u, m, k, M, G)");
    if (dimension != expected_dimension)
      fail(field, quoted + " is " + a_dimension(dimension) + ", expected " + a_dimension(expected_dimension));
    exponent += prefix;
  }
  const std::string si = num.mantissa + "e" + std::to_string(exponent);
  double value = 0;
  const auto r = std::from_chars(si.data(), si.data() + si.size(), value);
  if (r.ec != std::errc() || !std::isfinite(value)) fail(field, quoted + " is out of range");
  return value;
}

network parse_network(std::string_view toml_text, const std::string& source) {
  network net;
  toml::table root;
  try {
    root = parse_toml(std::string(toml_text), source);  // "SOURCE: line N: what", the one TOML layer
  } catch (const error& e) {
    throw error(one_line(e.what()));
  }
  try {
    const std::string folder = std::filesystem::path(source).parent_path().string();
    net = read_network(root, source, folder);
  } catch (const error& e) {
    throw error(one_line(where(source, "") + ": " + e.what()));
  }
  try {
    validate(net);  // names the file itself
  } catch (const error& e) {
    throw error(one_line(e.what()));
  }
  return net;
}

network load_network(const std::string& path) {
  std::string text;
  try {
    text = read_text_file(path);
  } catch (const error& e) {
    throw error(one_line(e.what()));
  }
  return parse_network(text, path);
}

}  // namespace kspike::io
