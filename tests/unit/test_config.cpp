// TOML network files: a complete file read field by field, quantities and units, the shipped
// networks, and every kind of bad input failing with one line naming the file and the field.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <variant>
#include <vector>

#include "sim/core/error.hpp"
#include "sim/io/network_config.hpp"
#include "sim/io/toml_reader.hpp"
#include "support/fixtures.hpp"
#include "support/paths.hpp"
#include "support/small_network.hpp"

using namespace kspike;
using kspike::io::load_network;
using kspike::io::parse_quantity;

namespace {

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// Populations are deliberately not in alphabetical order: the file's order must survive.
const char* complete_net = R"(# every model, connector, input and recorder
dt = "0.05 ms"
duration = "250 ms"
seed = 7

[populations.zeta]
size = 4
model = "cuba_lif"
tau_mem = "10 ms"
tau_syn = "3 ms"          # both receptors...
tau_syn_i = "6 ms"        # ...then this one overrides the inhibitory one
r = "10 MOhm"
v_leak = "-65 mV"
v_threshold = "-50 mV"
v_reset = "-70 mV"
t_ref = "2 ms"
i_offset = "0.5 nA"
reset = "subtract"
v_init = { normal = ["-60 mV", "2 mV"] }

[populations.alpha]
size = 3
model = "lif"
tau = 0.02                # a bare number is SI (seconds)
v_threshold = "15 mV"
v_init = { uniform = ["0 mV", "10 mV"] }

[populations.mid]
size = 2
model = "adaptive_lif"
tau = "100 ms"
theta_plus = "0.05 mV"
tau_theta = "10 s"
method = "euler"
adapt = false

[populations.integrator]
size = 2
model = "if"
r = 1e9
v_threshold = "1 V"

[populations.noise]
size = 3
model = "poisson"
rates = ["1 Hz", "2 Hz", "1.5 kHz"]

[populations.player]
size = 2
model = "spike_source_array"
spike_times = [["1 ms", "2 ms"], []]

[projections.b_first]
pre = "noise"
post = "zeta"
receptor = "inhibitory"
connector = { type = "fixed_probability", p = 0.25, allow_self = false }
weight = { uniform = ["-2 nA", "-1 nA"] }
delay = { uniform = ["1 ms", "2 ms"] }

[projections.a_second]
pre = "zeta"
post = "zeta"
connector = { type = "fixed_in_degree", n = 3, allow_self = false }
weight = "0.1 nA"

[projections.all]
pre = "alpha"
post = "alpha"
connector = "all_to_all"
weight = { normal = ["1 mV", "0.1 mV"] }
delay = "0.5 ms"

[projections.pairs]
pre = "player"
post = "mid"
connector = { type = "one_to_one" }
weight = 0.3

[projections.listed]
pre = "alpha"
post = "integrator"
connector = { type = "from_list", file = "edges.csv" }

[[currents]]
population = "alpha"
neurons = [0, 2]
times = ["0 ms", "100 ms"]
amplitudes = ["1 nA", "0 nA"]

[[currents]]
name = "bias"
population = "zeta"
amplitude = "20 pA"

[record]
spikes = ["zeta", { population = "alpha" }]

[[record.state]]
population = "mid"
variable = "theta"
neurons = [1]
interval = "1 ms"
)";

const char* complete_edges = R"(pre,post,weight,delay
# a comment line, then a blank one

0,1,0.002,0.001   # trailing comment
2, 0, -0.001, 2e-3
)";

// The message of the kspike::error that `f` throws ("" if none).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const kspike::error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a complete network file is read field by field", "[config]") {
  kspike_test::temp_dir dir;
  write(dir.file("net.toml"), complete_net);
  write(dir.file("edges.csv"), complete_edges);
  const network net = load_network(dir.file("net.toml"));

  CHECK(net.source == dir.file("net.toml"));
  CHECK(net.dt == 0.05e-3);
  CHECK(net.duration == Approx(0.25));
  CHECK(net.seed == 7);

  SECTION("populations keep the file's order and their parameters, in SI") {
    REQUIRE(net.populations.size() == 6);
    const std::vector<std::string> order{"zeta", "alpha", "mid", "integrator", "noise", "player"};
    for (std::size_t i = 0; i < order.size(); ++i) CHECK(net.populations[i].name == order[i]);
    CHECK(net.populations[0].size == 4);

    const auto& z = std::get<neurons::cuba_lif::params>(net.populations[0].model);
    CHECK(z.tau_mem == Approx(10e-3));
    CHECK(z.tau_syn_e == Approx(3e-3));
    CHECK(z.tau_syn_i == Approx(6e-3));
    CHECK(z.r == Approx(10e6));
    CHECK(z.v_leak == Approx(-65e-3));
    CHECK(z.v_threshold == Approx(-50e-3));
    CHECK(z.v_reset == Approx(-70e-3));
    CHECK(z.t_ref == Approx(2e-3));
    CHECK(z.i_offset == Approx(0.5e-9));
    CHECK(z.reset == neurons::reset_mode::subtract);
    REQUIRE(net.populations[0].has_v_init);
    CHECK(net.populations[0].v_init.type == value_dist::kind::normal);
    CHECK(net.populations[0].v_init.a == Approx(-60e-3));
    CHECK(net.populations[0].v_init.b == Approx(2e-3));

    const auto& a = std::get<neurons::lif::params>(net.populations[1].model);
    CHECK(a.tau == 0.02);
    CHECK(a.v_threshold == Approx(15e-3));
    CHECK(a.r == 1.0);  // default kept
    CHECK(a.reset == neurons::reset_mode::to_v_reset);
    CHECK(net.populations[1].v_init.type == value_dist::kind::uniform);
    CHECK(net.populations[1].v_init.b == Approx(10e-3));

    const auto& m = std::get<neurons::adaptive_lif::params>(net.populations[2].model);
    CHECK(m.tau == Approx(0.1));
    CHECK(m.theta_plus == Approx(0.05e-3));
    CHECK(m.tau_theta == Approx(10.0));
    CHECK(m.method == neurons::integrator::euler);
    CHECK_FALSE(m.adapt);
    CHECK(m.v_leak == neurons::adaptive_lif::params{}.v_leak);
    CHECK_FALSE(net.populations[2].has_v_init);

    CHECK(std::get<neurons::if_neuron::params>(net.populations[3].model).r == 1e9);
    const auto& rates = std::get<poisson_source>(net.populations[4].model).rates;
    REQUIRE(rates.size() == 3);
    CHECK(rates[2] == Approx(1500.0));
    const auto& times = std::get<spike_source_array>(net.populations[5].model).times;
    REQUIRE(times.size() == 2);
    CHECK(times[0] == std::vector<double>{1e-3, 2e-3});
    CHECK(times[1].empty());
  }

  SECTION("projections keep the file's order, connectors and units by post model") {
    REQUIRE(net.projections.size() == 5);
    const projection& b = net.projections[0];
    CHECK(b.name == "b_first");
    CHECK(b.pre == "noise");
    CHECK(b.post == "zeta");
    CHECK(b.target == receptor::inhibitory);
    CHECK(b.conn.type == connector::kind::fixed_probability);
    CHECK(b.conn.p == 0.25);
    CHECK_FALSE(b.conn.allow_self);
    CHECK(b.weight.type == value_dist::kind::uniform);
    CHECK(b.weight.a == Approx(-2e-9));  // amperes: the post model is current-based
    CHECK(b.weight.b == Approx(-1e-9));
    REQUIRE(b.has_delay);
    CHECK(b.delay.a == Approx(1e-3));
    CHECK(b.delay.b == Approx(2e-3));

    const projection& a = net.projections[1];
    CHECK(a.name == "a_second");
    CHECK(a.target == receptor::excitatory);  // the default
    CHECK(a.conn.type == connector::kind::fixed_in_degree);
    CHECK(a.conn.n == 3);
    CHECK_FALSE(a.has_delay);

    const projection& all = net.projections[2];
    CHECK(all.conn.type == connector::kind::all_to_all);
    CHECK(all.conn.allow_self);
    CHECK(all.weight.type == value_dist::kind::normal);
    CHECK(all.weight.a == Approx(1e-3));  // volts: delta synapses
    CHECK(all.delay.a == Approx(0.5e-3));

    const projection& pairs = net.projections[3];
    CHECK(pairs.conn.type == connector::kind::one_to_one);
    CHECK(pairs.weight.a == 0.3);  // relative conductance

    const connector& listed = net.projections[4].conn;
    CHECK(listed.type == connector::kind::from_list);
    CHECK(listed.list_has_weight);
    CHECK(listed.list_has_delay);
    CHECK(listed.list_file == dir.file("edges.csv"));  // relative to the config's folder
    REQUIRE(listed.list.size() == 2);
    CHECK(listed.list[0].pre == 0);
    CHECK(listed.list[0].post == 1);
    CHECK(listed.list[0].weight == 0.002);
    CHECK(listed.list[0].delay == 0.001);
    CHECK(listed.list[1].pre == 2);
    CHECK(listed.list[1].weight == -0.001);
    CHECK(listed.list[1].delay == 2e-3);
  }

  SECTION("currents and recorders") {
    REQUIRE(net.currents.size() == 2);
    CHECK(net.currents[0].population == "alpha");
    CHECK(net.currents[0].neurons == std::vector<std::int64_t>{0, 2});
    CHECK(net.currents[0].times == std::vector<double>{0.0, 0.1});
    CHECK(net.currents[0].amplitudes[0] == Approx(1e-9));
    CHECK(net.currents[1].name == "bias");
    CHECK(net.currents[1].times == std::vector<double>{0.0});
    CHECK(net.currents[1].amplitudes[0] == Approx(20e-12));
    REQUIRE(net.spike_recorders.size() == 2);
    CHECK(net.spike_recorders[0].population == "zeta");
    CHECK(net.spike_recorders[1].population == "alpha");
    REQUIRE(net.state_recorders.size() == 1);
    CHECK(net.state_recorders[0].population == "mid");
    CHECK(net.state_recorders[0].variable == "theta");
    CHECK(net.state_recorders[0].neurons == std::vector<std::int64_t>{1});
    CHECK(net.state_recorders[0].interval == Approx(1e-3));
  }
}

TEST_CASE("a list file without weights or delays takes them from the projection", "[config]") {
  kspike_test::temp_dir dir;
  write(dir.file("pairs.csv"), "0,1\n1,0\n");
  const std::string text = std::string(R"(
[populations.a]
size = 2
model = "lif"
[projections.x]
pre = "a"
post = "a"
connector = { type = "from_list", file = ")") +
                           dir.file("pairs.csv") + R"(" }
weight = "1 mV"
delay = "2 ms"
)";
  const network net = io::parse_network(text, "inline.toml");
  const projection& pr = net.projections.at(0);
  CHECK(pr.conn.list.size() == 2);
  CHECK_FALSE(pr.conn.list_has_weight);
  CHECK_FALSE(pr.conn.list_has_delay);
  CHECK(pr.weight.a == Approx(1e-3));
  CHECK(pr.delay.a == Approx(2e-3));
  // Defaults of what the file leaves out.
  CHECK(net.dt == 1e-4);
  CHECK(net.duration == 1.0);
}

TEST_CASE("populations keep the file's order whatever the TOML style", "[config]") {
  const network net = io::parse_network(R"(
[populations]
b.size = 3
b.model = "lif"
a = { size = 1, model = "if" }
[populations.c]
size = 1
model = "lif"
)",
                                        "styles.toml");
  REQUIRE(net.populations.size() == 3);
  CHECK(net.populations[0].name == "b");
  CHECK(net.populations[1].name == "a");
  CHECK(net.populations[2].name == "c");
}

TEST_CASE("a list file may start with a byte-order mark and have no header", "[config]") {
  kspike_test::temp_dir dir;
  write(dir.file("e.csv"),
        "\xEF\xBB\xBF"
        "0,1,0.5\n1,0,0.25\n");
  write(dir.file("net.toml"), R"(
[populations.a]
size = 2
model = "lif"
[projections.x]
pre = "a"
post = "a"
connector = { type = "from_list", file = "e.csv" }
)");
  const network net = load_network(dir.file("net.toml"));
  const connector& c = net.projections.at(0).conn;
  REQUIRE(c.list.size() == 2);
  CHECK(c.list_has_weight);
  CHECK_FALSE(c.list_has_delay);
  CHECK(c.list[0].weight == 0.5);
}

TEST_CASE("a network file may start with a byte-order mark", "[config]") {
  // Some editors on Windows write one; it is not a character of the TOML text.
  const network net = io::parse_network("\xEF\xBB\xBF[populations.a]\nsize = 2\nmodel = \"lif\"\n", "bom.toml");
  REQUIRE(net.populations.size() == 1);
  CHECK(net.populations[0].name == "a");
  // Elsewhere it is still a non-ASCII character outside a string.
  CHECK_THROWS_WITH(io::parse_network("[populations.a]\n\xEF\xBB\xBFsize = 2\nmodel = \"lif\"\n", "bom.toml"),
                    Catch::Contains("bom.toml: line 2"));
}

TEST_CASE("quantities: SI numbers or a number and a unit", "[config][units]") {
  CHECK(parse_quantity("20 ms", "time", "f") == Approx(0.02));
  CHECK(parse_quantity("0.1 ms", "time", "f") == 1e-4);  // rounded once, like the literal
  CHECK(parse_quantity("  -49 mV ", "voltage", "f") == -49e-3);
  CHECK(parse_quantity("+5 Hz", "rate", "f") == 5.0);
  CHECK(parse_quantity("1.5 kHz", "rate", "f") == 1500.0);
  CHECK(parse_quantity("3uA", "current", "f") == 3e-6);
  CHECK(parse_quantity("3 \u00B5A", "current", "f") == 3e-6);
  CHECK(parse_quantity("3 \u03BCA", "current", "f") == 3e-6);
  CHECK(parse_quantity("2 pA", "current", "f") == 2e-12);
  CHECK(parse_quantity("10 MOhm", "resistance", "f") == 1e7);
  CHECK(parse_quantity("10 kohm", "resistance", "f") == 1e4);
  CHECK(parse_quantity("10 G\u03A9", "resistance", "f") == 1e10);
  CHECK(parse_quantity("1 Ohm", "resistance", "f") == 1.0);
  CHECK(parse_quantity("4 nS", "conductance", "f") == 4e-9);
  CHECK(parse_quantity("1 S", "conductance", "f") == 1.0);
  CHECK(parse_quantity("2 s", "time", "f") == 2.0);
  CHECK(parse_quantity("1.5e-3 V", "voltage", "f") == 1.5e-3);
  CHECK(parse_quantity("2E2 ms", "time", "f") == Approx(0.2));
  CHECK(parse_quantity(".5 V", "voltage", "f") == 0.5);
  CHECK(parse_quantity("0.02", "dimensionless", "f") == 0.02);
  CHECK(parse_quantity("20", "time", "f") == 20.0);  // a number without unit is SI

  auto message = [](std::string_view text, std::string_view dim) {
    return error_of([&] { parse_quantity(text, dim, "populations.exc.tau"); });
  };
  for (auto [text, dim, words] : std::vector<std::tuple<const char*, const char*, const char*>>{
           {"20 mV", "time", "is a voltage, expected a time"},
           {"5 Hz", "voltage", "is a rate, expected a voltage"},
           {"20 mx", "time", "unknown unit 'mx'"},
           {"20 m", "time", "unknown unit 'm'"},
           {"20 ms ms", "time", "unknown unit"},
           {"fast", "time", "is not a quantity"},
           {"", "time", "is not a quantity"},
           {"- 5 ms", "time", "is not a quantity"},
           {"1e ms", "time", "is not a quantity"},
           {"inf s", "time", "is not a quantity"},
           {"1e999 s", "time", "out of range"},
           {"5 mV", "dimensionless", "expected a plain number"},
       }) {
    INFO(text << " as " << dim);
    const std::string m = message(text, dim);
    CHECK_THAT(m, Catch::StartsWith("populations.exc.tau: "));
    CHECK_THAT(m, Catch::Contains(words));
  }
  CHECK_THROWS_AS(parse_quantity("1 s", "length", "f"), kspike::internal_error);
}

TEST_CASE("the shipped networks load", "[config]") {
  const std::string folder = kspike_test::source_dir() + "/experiments/networks/";

  SECTION("cuba.toml: Vogels-Abbott as in Brian2") {
    const network net = load_network(folder + "cuba.toml");
    CHECK(net.dt == 1e-4);
    CHECK(net.duration == 1.0);
    REQUIRE(net.populations.size() == 2);
    CHECK(net.populations[0].name == "exc");
    CHECK(net.populations[0].size == 3200);
    CHECK(net.populations[1].name == "inh");
    CHECK(net.populations[1].size == 800);
    for (const auto& pop : net.populations) {
      const auto& p = std::get<neurons::cuba_lif::params>(pop.model);
      CHECK(p.tau_mem == Approx(20e-3));
      CHECK(p.tau_syn_e == Approx(5e-3));
      CHECK(p.tau_syn_i == Approx(10e-3));
      CHECK(p.r == 1.0);
      CHECK(p.v_leak == Approx(-49e-3));
      CHECK(p.v_threshold == Approx(-50e-3));
      CHECK(p.v_reset == Approx(-60e-3));
      CHECK(p.t_ref == Approx(5e-3));
      CHECK(pop.v_init.type == value_dist::kind::uniform);
      CHECK(pop.v_init.a == Approx(-60e-3));
      CHECK(pop.v_init.b == Approx(-50e-3));
    }
    REQUIRE(net.projections.size() == 4);
    for (const auto& pr : net.projections) {
      CHECK(pr.conn.type == connector::kind::fixed_probability);
      CHECK(pr.conn.p == 0.02);
      CHECK(pr.conn.allow_self);
      CHECK_FALSE(pr.has_delay);
      const bool from_exc = pr.pre == "exc";
      CHECK(pr.target == (from_exc ? receptor::excitatory : receptor::inhibitory));
      CHECK(pr.weight.a == Approx(from_exc ? 1.62e-3 : -9e-3));
    }
    REQUIRE(net.spike_recorders.size() == 2);
  }

  SECTION("brunel.toml: model A, synchronous irregular") {
    const network net = load_network(folder + "brunel.toml");
    REQUIRE(net.populations.size() == 3);
    CHECK(net.populations[0].name == "exc");
    CHECK(net.populations[0].size == 10000);
    CHECK(net.populations[1].name == "inh");
    CHECK(net.populations[1].size == 2500);
    CHECK(std::get<poisson_source>(net.populations[2].model).rates == std::vector<double>{20.0});
    const auto& p = std::get<neurons::lif::params>(net.populations[0].model);
    CHECK(p.tau == Approx(20e-3));
    CHECK(p.v_threshold == Approx(20e-3));
    CHECK(p.v_reset == Approx(10e-3));
    CHECK(p.v_leak == 0.0);
    CHECK(p.t_ref == Approx(2e-3));
    REQUIRE(net.projections.size() == 6);
    for (const auto& pr : net.projections) {
      CHECK(pr.conn.type == connector::kind::fixed_in_degree);
      CHECK(pr.conn.n == (pr.pre == "inh" ? 250 : 1000));
      CHECK(pr.weight.a == Approx(pr.pre == "inh" ? -0.5e-3 : 0.1e-3));
      CHECK(pr.delay.a == Approx(1.5e-3));
    }
    REQUIRE(net.spike_recorders.size() == 2);
  }
}

TEST_CASE("bad network files: one line naming the file and the field", "[config][errors]") {
  kspike_test::temp_dir dir;
  const std::string path = dir.file("net.toml");
  const std::string base = kspike_test::small_network_toml;
  REQUIRE_NOTHROW(io::parse_network(base, "base.toml"));

  auto replace = [&](const std::string& from, const std::string& to) {
    std::string s = base;
    const auto at = s.find(from);
    REQUIRE(at != std::string::npos);
    return s.replace(at, from.size(), to);
  };
  // Loads `text` from net.toml; the error must name the file and contain every word.
  auto expect_error = [&](const std::string& text, const std::vector<std::string>& words) {
    write(path, text);
    const std::string m = error_of([&] { load_network(path); });
    INFO("message: " << m);
    REQUIRE(!m.empty());
    CHECK(m.find('\n') == std::string::npos);
    CHECK_THAT(m, Catch::StartsWith(path + ": "));
    for (const auto& w : words) CHECK_THAT(m, Catch::Contains(w));
  };

  SECTION("malformed TOML") { expect_error(base + "\n[[[broken\n", {"line 23"}); }
  SECTION("unknown model") {
    expect_error(replace("model = \"lif\"", "model = \"hodgkin\""), {"populations.n.model", "hodgkin"});
  }
  SECTION("unknown parameter") {
    expect_error(replace("tau = \"10 ms\"", "tua = \"10 ms\""), {"populations.n.tua", "unknown"});
  }
  SECTION("parameter the model rejects") {
    expect_error(replace("tau = \"10 ms\"", "tau = \"-10 ms\""), {"populations.n.tau: must be > 0"});
  }
  SECTION("dt = 0") { expect_error(replace("dt = \"0.1 ms\"", "dt = 0"), {"dt: must be"}); }
  SECTION("negative dt as a quantity") {
    expect_error(replace("dt = \"0.1 ms\"", "dt = \"-0.1 ms\""), {"dt: must be"});
  }
  SECTION("negative duration") { expect_error(replace("duration = \"50 ms\"", "duration = \"-1 s\""), {"duration"}); }
  SECTION("delay shorter than dt") {
    expect_error(replace("delay = \"1 ms\"", "delay = \"0.01 ms\""), {"projections.in.delay", "shorter than dt"});
  }
  SECTION("probability outside [0, 1]") { expect_error(replace("p = 0.5", "p = 1.5"), {"projections.in.connector.p"}); }
  SECTION("negative size") { expect_error(replace("size = 5", "size = -5"), {"populations.n.size"}); }
  SECTION("zero size") { expect_error(replace("size = 5", "size = 0"), {"populations.n.size", "> 0"}); }
  SECTION("size not an integer") { expect_error(replace("size = 5", "size = 2.5"), {"populations.n.size", "integer"}); }
  SECTION("missing config file") {
    const std::string missing = dir.file("nowhere.toml");
    const std::string m = error_of([&] { load_network(missing); });
    CHECK(m == missing + ": cannot open: No such file or directory");
  }
  SECTION("unknown receptor") {
    expect_error(replace("receptor = \"excitatory\"", "receptor = \"modulatory\""),
                 {"projections.in.receptor", "modulatory"});
  }
  SECTION("wrong unit dimension") {
    expect_error(replace("weight = \"4 mV\"", "weight = \"4 nA\""),
                 {"projections.in.weight", "is a current, expected a voltage"});
  }
  SECTION("unknown unit") {
    expect_error(replace("tau = \"10 ms\"", "tau = \"10 fortnights\""), {"populations.n.tau", "unknown unit"});
  }
  SECTION("from_list file missing") {
    expect_error(replace("{ type = \"fixed_probability\", p = 0.5 }", "{ type = \"from_list\", file = \"edges.csv\" }"),
                 {"projections.in.connector.file", dir.file("edges.csv"), "cannot open"});
  }
  SECTION("from_list file malformed") {
    write(dir.file("edges.csv"), "pre,post\n0,1\n\n1,x\n");
    expect_error(replace("{ type = \"fixed_probability\", p = 0.5 }", "{ type = \"from_list\", file = \"edges.csv\" }"),
                 {"projections.in.connector.file", dir.file("edges.csv") + ": line 4", "'x'"});
  }
  SECTION("from_list index out of range") {
    write(dir.file("edges.csv"), "0,1\n0,5\n");
    expect_error(replace("{ type = \"fixed_probability\", p = 0.5 }", "{ type = \"from_list\", file = \"edges.csv\" }"),
                 {"projections.in.connector.file", "entry 2", "post 5"});
  }
  SECTION("unknown connector type") {
    expect_error(replace("fixed_probability", "small_world"), {"connector.type", "small_world"});
  }
  SECTION("unknown connector key") {
    expect_error(replace("p = 0.5", "p = 0.5, q = 1"), {"projections.in.connector.q"});
  }
  SECTION("in-degree above the pre population") {
    expect_error(replace("{ type = \"fixed_probability\", p = 0.5 }", "{ type = \"fixed_in_degree\", n = 11 }"),
                 {"projections.in.connector.n", "[0, 10]"});
  }
  SECTION("unknown population") {
    expect_error(replace("pre = \"src\"", "pre = \"nobody\""), {"projections.in.pre", "nobody"});
  }
  SECTION("projection onto a source") {
    expect_error(replace("post = \"n\"", "post = \"src\""), {"projections.in.post", "source"});
  }
  SECTION("unknown top-level key") { expect_error("speed = 3\n" + base, {"speed", "unknown"}); }
  SECTION("uniform low above high") {
    expect_error(replace("weight = \"4 mV\"", "weight = { uniform = [\"4 mV\", \"1 mV\"] }"),
                 {"projections.in.weight", "above"});
  }
  SECTION("negative rate") {
    expect_error(replace("rate = \"100 Hz\"", "rate = \"-1 Hz\""), {"populations.src.rate", ">= 0"});
  }
  SECTION("current times not increasing") {
    expect_error(
        base + "[[currents]]\npopulation = \"n\"\ntimes = [\"5 ms\", \"1 ms\"]\namplitudes = [\"1 nA\", \"0 nA\"]\n",
        {"currents[0].times", "increasing"});
  }
  SECTION("current amplitudes of another length") {
    expect_error(base + "[[currents]]\npopulation = \"n\"\ntimes = [\"0 ms\"]\namplitudes = [\"1 nA\", \"0 nA\"]\n",
                 {"currents[0].amplitudes"});
  }
  SECTION("state recorder on a source") {
    expect_error(base + "[[record.state]]\npopulation = \"src\"\n", {"record.state[0].population", "source"});
  }
  SECTION("unknown state variable") {
    expect_error(base + "[[record.state]]\npopulation = \"n\"\nvariable = \"w\"\n",
                 {"record.state[0].variable", "'w'"});
  }
  SECTION("recorded neuron out of range") {
    expect_error(base + "[[record.state]]\npopulation = \"n\"\nneurons = [0, 5]\n",
                 {"record.state[0].neurons", "neuron 5"});
  }
}

// toml++ 3.x asserts (Debug: abort; Clang Release: undefined behaviour) on table headers that do
// not start with a key; kspike refuses them first (sim/io/toml_reader.hpp).
TEST_CASE("malformed table headers are one-line errors in every build, arrays over lines are not headers",
          "[config][toml]") {
  for (const char* text : {"[[[1]]]", "[[[a]]]\nx = 1", "dt = 1\n[=", "[.a]", "[[=", "[[[]]", "# c\n  [ [ ]"}) {
    INFO(text);
    CHECK_THROWS_WITH(io::parse_network(text, "bad.toml"), Catch::StartsWith("bad.toml: line ") &&
                                                               Catch::Contains("malformed table header"));
  }
  CHECK(io::malformed_table_header("x = [\n[[1], [2]],\n  [[3]]\n]\n[a]\ns = \"[[[\" # [[[\n[[b]]\n") == 0);
  CHECK(io::malformed_table_header("s = '''\n[[[\n'''\n[\"quoted key\"]\n") == 0);
  CHECK(io::malformed_table_header("a = 1\n\n[[[x]]]\n") == 3);
  // A network whose spike times span lines, each line opening with a bracket, still reads.
  const network net = io::parse_network(R"(dt = "0.1 ms"
[populations.s]
size = 2
model = "spike_source_array"
spike_times = [
  ["1 ms", "2 ms"],
  []
]
)", "ok.toml");
  CHECK(std::get<spike_source_array>(net.populations[0].model).times[0].size() == 2);
}

TEST_CASE("non-ASCII characters where toml++ skips whitespace are refused before it sees them", "[config]") {
  // toml++ 3.3 reaches undefined behaviour classifying such a character (found by fuzz_network_toml).
  auto message = [](const std::string& text) {
    try {
      (void)kspike::io::parse_network(text, "f.toml");
    } catch (const kspike::error& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  CHECK(message("\xce\xa9" "dt = \"0.1 ms\"\n").find("f.toml: line 1: a non-ASCII character") == 0);
  CHECK(message("dt = \"0.1 ms\"\n  \xc2\xa0 duration = 1\n").find("f.toml: line 2: a non-ASCII") == 0);
  CHECK(message("dt = \"\"\"a \\\n\n   \xce\xa9\"\"\"\n").find("f.toml: line 3: a non-ASCII") == 0);
  // Inside strings and comments non-ASCII text is fine (the network is refused for other reasons).
  CHECK(message("# \xce\xa9 comment\ndt = \"0.1 \xc2\xb5s\"\n").find("non-ASCII") == std::string::npos);
}

TEST_CASE("every network file in experiments/networks loads and passes validation", "[config]") {
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(kspike_test::source_dir() + "/experiments/networks")) {
    if (e.path().extension() != ".toml") continue;
    INFO(e.path().string());
    CHECK_NOTHROW(validate(load_network(e.path().string())));
    ++files;
  }
  CHECK(files >= 6);
}
