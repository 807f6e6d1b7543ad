// The benchmarks build the CUBA network in C++ (experiments/bench/cuba_network.cpp); the
// network they time must be the one experiments/networks/cuba.toml describes.
#include <catch2/catch.hpp>

#include "experiments/bench/cuba_network.hpp"
#include "sim/io/network_config.hpp"
#include "support/paths.hpp"

using namespace kspike;

TEST_CASE("the built-in CUBA network equals experiments/networks/cuba.toml", "[bench][config]") {
  const network file = io::load_network(kspike_test::source_dir() + "/experiments/networks/cuba.toml");
  const network code = bench::cuba_network();
  CHECK(code.dt == file.dt);
  CHECK(code.duration == file.duration);
  CHECK(code.seed == file.seed);
  REQUIRE(code.populations.size() == file.populations.size());
  for (std::size_t i = 0; i < code.populations.size(); ++i) {
    const auto &a = code.populations[i], &b = file.populations[i];
    CHECK(a.name == b.name);
    CHECK(a.size == b.size);
    CHECK(a.has_v_init == b.has_v_init);
    CHECK(a.v_init.type == b.v_init.type);
    CHECK(a.v_init.a == Approx(b.v_init.a).epsilon(1e-15));
    CHECK(a.v_init.b == Approx(b.v_init.b).epsilon(1e-15));
    const auto& p = std::get<neurons::cuba_lif::params>(a.model);
    const auto& q = std::get<neurons::cuba_lif::params>(b.model);
    for (auto [x, y] : {std::pair{p.tau_mem, q.tau_mem}, {p.tau_syn_e, q.tau_syn_e}, {p.tau_syn_i, q.tau_syn_i},
                        {p.r, q.r}, {p.v_leak, q.v_leak}, {p.v_threshold, q.v_threshold}, {p.v_reset, q.v_reset},
                        {p.t_ref, q.t_ref}, {p.i_offset, q.i_offset}})
      CHECK(x == Approx(y).epsilon(1e-15));
    CHECK(p.reset == q.reset);
  }
  REQUIRE(code.projections.size() == file.projections.size());
  for (std::size_t i = 0; i < code.projections.size(); ++i) {
    const auto &a = code.projections[i], &b = file.projections[i];
    CHECK(a.name == b.name);
    CHECK(a.pre == b.pre);
    CHECK(a.post == b.post);
    CHECK(a.target == b.target);
    CHECK(a.conn.type == b.conn.type);
    CHECK(a.conn.p == b.conn.p);
    CHECK(a.conn.allow_self == b.conn.allow_self);
    CHECK(a.weight.type == b.weight.type);
    CHECK(a.weight.a == Approx(b.weight.a).epsilon(1e-15));
    CHECK(a.has_delay == b.has_delay);
  }
  CHECK(code.currents.empty());
  CHECK(file.currents.empty());
}
