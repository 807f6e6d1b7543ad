// The neuron-model registry: every model declares itself completely, network files read its
// parameters from that declaration, recorders and state access find its variables by name,
// `kspike info --models` prints it, and docs/config.md documents every model and key.
#include <catch2/catch.hpp>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "neurons/registry.hpp"
#include "sim/core/error.hpp"
#include "sim/engine.hpp"
#include "sim/io/network_config.hpp"
#include "support/backends.hpp"
#include "support/cli_runner.hpp"
#include "support/memory_sink.hpp"
#include "support/paths.hpp"

using namespace kspike;

namespace {

// Collects a model's parameter keys.
template <class P>
struct key_collector {
  std::vector<std::string> keys;
  void quantity(const char* k, const char*, double P::*, const char*, double P::* = nullptr) { keys.emplace_back(k); }
  void flag(const char* k, bool P::*, const char*) { keys.emplace_back(k); }
  template <class E>
  void choice(const char* k, E P::*, std::initializer_list<const char*>, const char*) { keys.emplace_back(k); }
};

template <class M>
std::vector<std::string> keys_of() {
  key_collector<typename M::params> c;
  M::parameters(c);
  return c.keys;
}

std::string docs_section(const std::string& model) {
  std::ifstream in(kspike_test::source_dir() + "/docs/config.md");
  std::stringstream all;
  all << in.rdbuf();
  const std::string text = all.str(), head = "### `" + model + "`";
  const auto at = text.find(head);
  if (at == std::string::npos) return "";
  return text.substr(at, text.find("\n### ", at + head.size()) - at);
}

}  // namespace

TEST_CASE("every registered model declares unique keys and variables, v among them, and is documented", "[models]") {
  std::set<std::string> names;
  neurons::for_each_model([&](auto tag) {
    using M = typename decltype(tag)::type;
    INFO("model " << M::name);
    CHECK(names.insert(M::name).second);
    const auto keys = keys_of<M>();
    CHECK(std::set<std::string>(keys.begin(), keys.end()).size() == keys.size());
    const auto vars = neurons::variable_names<M>();
    CHECK(std::set<std::string>(vars.begin(), vars.end()).size() == vars.size());
    CHECK(vars.at(0) == "v");
    for (const auto& v : vars) CHECK((v != "syn_e" && v != "syn_i" && v != "since"));  // the engine's own
    // The defaults pass the model's own checks.
    CHECK_NOTHROW(M::make(typename M::params{}, 1e-4));
    const std::string section = docs_section(M::name);
    REQUIRE_FALSE(section.empty());
    for (const auto& k : keys) {
      INFO("key " << k);
      CHECK(section.find("`" + k + "`") != std::string::npos);
    }
  });
  CHECK(names.count("adex") == 1);
}

TEST_CASE("network files read adex parameters with units and check them through the model", "[models][config]") {
  const network net = io::parse_network(R"(
dt = "0.1 ms"
duration = "10 ms"
[populations.cells]
size = 2
model = "adex"
c_m = "200 pF"
g_leak = "10 nS"
a = "2 nS"
b = "0.1 nA"
tau_w = "100 ms"
v_peak = "0 mV"
[record]
spikes = ["cells"]
[[record.state]]
population = "cells"
variable = "w"
)",
                                        "adex.toml");
  const auto& p = std::get<neurons::adex::params>(net.populations.at(0).model);
  CHECK(p.c_m == Approx(200e-12));
  CHECK(p.g_leak == Approx(10e-9));
  CHECK(p.a == Approx(2e-9));
  CHECK(p.b == Approx(0.1e-9));
  CHECK(p.tau_w == Approx(0.1));
  CHECK(p.v_peak == 0);
  CHECK(p.delta_t == neurons::adex::params{}.delta_t);  // not given: the header's default
  auto bad = [](const std::string& body) {
    try {
      network n = io::parse_network("[populations.cells]\nsize = 1\nmodel = \"adex\"\n" + body, "bad.toml");
      validate(n);
    } catch (const error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(bad("c_m = \"2 nS\"\n") == "bad.toml: populations.cells.c_m: '2 nS' is a conductance, expected a capacitance");
  CHECK(bad("tau_w = \"-1 ms\"\n") == "bad.toml: populations.cells.tau_w: must be > 0 (got -0.001000)");
  CHECK(bad("theta_plus = 1\n").find("bad.toml: populations.cells.theta_plus: unknown parameter of model adex") == 0);
  CHECK(bad("[[record.state]]\npopulation = \"cells\"\nvariable = \"theta\"\n") ==
        "bad.toml: record.state[0].variable: unknown variable 'theta' of model adex (v, w, syn_e or syn_i)");
}

TEMPLATE_LIST_TEST_CASE("the engine reads and writes a model's own state variables by name", "[models][engine]",
                        kspike_test::backends) {
  network net;
  net.dt = 1e-4;
  population a;
  a.name = "a";
  a.size = 3;
  a.model = neurons::adex::params{};
  population b;
  b.name = "b";
  b.size = 2;
  neurons::adaptive_lif::params alif;
  alif.theta_init = 2e-3;
  b.model = alif;
  net.populations = {a, b};
  engine eng(net, kspike_test::on<TestType>());
  CHECK(eng.state("a", "v") == std::vector<float>(3, static_cast<float>(-70.6e-3)));
  CHECK(eng.state("a", "w") == std::vector<float>(3, 0.0f));
  CHECK(eng.state("b", "theta") == std::vector<float>(2, 2e-3f));
  eng.set_state("a", "w", {1e-10f, 2e-10f, 3e-10f});
  CHECK(eng.state("a", "w") == std::vector<float>{1e-10f, 2e-10f, 3e-10f});
  CHECK(eng.state("a", "v") == std::vector<float>(3, static_cast<float>(-70.6e-3)));  // its neighbour array untouched
  CHECK_THROWS_WITH(eng.state("a", "theta"), "unknown state variable 'theta' of population 'a' (v, w, syn_e, syn_i)");
  // A negative w (a hyperpolarising current lifted) depolarises: the model reads the array written.
  eng.set_state("a", "w", {-2e-9f, 0.0f, 0.0f});
  eng.run(1e-3);
  const auto v = eng.state("a", "v");
  CHECK(v[0] > v[1]);
  CHECK(v[1] == v[2]);
}

TEST_CASE("kspike info --models lists every model with its parameters and variables", "[models][cli]") {
  kspike_test::temp_dir dir;
  const auto r = kspike_test::run_kspike("info --models", dir);
  REQUIRE(r.status == 0);
  neurons::for_each_model([&](auto tag) {
    using M = typename decltype(tag)::type;
    CHECK(r.out.find(std::string(M::name) + ": " + M::summary) != std::string::npos);
    for (const auto& k : keys_of<M>()) CHECK(r.out.find("    " + k + " ") != std::string::npos);
  });
  CHECK(r.out.find("    w              A             adaptation current") != std::string::npos);
}
