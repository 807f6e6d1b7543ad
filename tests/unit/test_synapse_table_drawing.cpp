// The synapse table is drawn in one of two ways (sim/connectivity.cpp): a projection is either
// expanded once into records that are then sorted by pre neuron, or expanded twice, first
// counting every chunk's synapses per pre neuron and then writing each straight into its
// place, chunks on separate threads. The once path is the plain sequential algorithm; the
// twice path must give exactly its table (targets, delays, weights, plastic rules and
// positions, instance starts) for every connector, any number of chunks (more than a
// projection has units, too), several instances and both row orders, and report the same
// error for a bad draw.
#include <catch2/catch.hpp>

#include <algorithm>
#include <numeric>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "sim/connectivity.hpp"
#include "sim/core/error.hpp"
#include "sim/io/network_config.hpp"

using namespace kspike;

namespace {

// Every connector the table holds, drawn and constant values, a plastic projection with a
// one-step delay (its synapses stay in the table) and one with drawn delays (kept apart).
const char* drawing_network = R"(
dt = "0.1 ms"
seed = 5
[populations.a]
size = 300
model = "lif"
tau = "10 ms"
[populations.b]
size = 170
model = "cuba_lif"
tau_mem = "10 ms"
tau_syn = "2 ms"
r = "1 Ohm"
[projections.total]
pre = "a"
post = "a"
connector = { type = "fixed_total_number", n = 40000, allow_self = false }
weight = { normal = ["0.2 mV", "0.05 mV"], min = "0 mV" }
delay = { normal = ["1.5 ms", "0.75 ms"], min = "0.1 ms" }
[projections.in_degree]
pre = "a"
post = "b"
connector = { type = "fixed_in_degree", n = 30 }
receptor = "inhibitory"
weight = { uniform = ["-2 mA", "-1 mA"] }
delay = { uniform = ["0.1 ms", "3 ms"] }
[projections.probability]
pre = "b"
post = "a"
connector = { type = "fixed_probability", p = 0.3 }
weight = "0.4 mV"
[projections.in_degree_self]
pre = "a"
post = "a"
connector = { type = "fixed_in_degree", n = 12, allow_self = false }
weight = { uniform = ["0 mV", "1 mV"] }
delay = "0.3 ms"
[projections.plastic]
pre = "b"
post = "b"
connector = { type = "fixed_probability", p = 0.4, allow_self = false }
weight = { uniform = ["0 mA", "0.5 mA"] }
[projections.plastic.stdp]
tau_pre = "20 ms"
tau_post = "20 ms"
a_pre = 0.01
a_post = -0.0105
w_min = 0
w_max = 1
[projections.plastic_delayed]
pre = "a"
post = "b"
connector = { type = "fixed_total_number", n = 3000 }
weight = { uniform = ["0 mA", "0.5 mA"] }
delay = { uniform = ["0.1 ms", "2 ms"] }
[projections.plastic_delayed.stdp]
tau_pre = "20 ms"
tau_post = "20 ms"
a_pre = 0.01
a_post = -0.0105
w_min = 0
w_max = 1
[projections.all]
pre = "b"
post = "b"
connector = "all_to_all"
weight = { uniform = ["0 mA", "0.1 mA"] }
[projections.pairs]
pre = "a"
post = "a"
connector = "one_to_one"
weight = "1 mV"
)";

table_drawing drawn(table_drawing::mode how, std::int64_t chunks) {
  table_drawing d;
  d.how = how;
  d.chunks = chunks;
  return d;
}

void require_same(const synapse_table& x, const synapse_table& y) {
  REQUIRE(x.row_ptr == y.row_ptr);
  REQUIRE(x.target == y.target);
  REQUIRE(x.delay == y.delay);
  REQUIRE(x.weight == y.weight);
  REQUIRE(x.rule == y.rule);
  REQUIRE(x.position == y.position);
  REQUIRE(x.instance_start == y.instance_start);
  REQUIRE(x.per_projection == y.per_projection);
  REQUIRE(x.max_delay == y.max_delay);
  REQUIRE(x.delayed.target == y.delayed.target);
  REQUIRE(x.delayed.weight == y.delayed.weight);
}

}  // namespace

TEST_CASE("drawing the table twice, in any number of chunks, gives the table drawn once", "[connectivity]") {
  const network net = io::parse_network(drawing_network, "drawing.toml");
  for (int instances : {1, 3})
    for (std::int64_t by_target : {1, 2}) {  // target parts: rows as drawn, or put in two parts' order
      const auto offsets = population_offsets(net, instances);
      // Every projection in the table (structured = false), so that all connectors are drawn both ways.
      const synapse_table once = build_synapses(net, offsets, false, instances, by_target, drawn(table_drawing::mode::once, 0));
      INFO(instances << " instance(s), target parts: " << by_target);
      REQUIRE(once.size() > 100000);
      REQUIRE(!once.delayed.target.empty());
      REQUIRE(once.position.size() == net.projections.size());
      for (std::int64_t chunks : {1, 2, 7, 64, 1000}) {
        INFO(chunks << " chunk(s)");
        require_same(once, build_synapses(net, offsets, false, instances, by_target, drawn(table_drawing::mode::twice, chunks)));
      }
      require_same(once, build_synapses(net, offsets, false, instances, by_target));  // the default: by size
    }
}

TEST_CASE("the radix order of a row is a stable sort by key, in any digit width", "[connectivity]") {
  std::uint64_t state = 12345;
  auto next = [&] {  // a small LCG: any keys will do
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return state >> 33;
  };
  for (std::uint64_t range : {std::uint64_t{1}, std::uint64_t{7}, std::uint64_t{5000}, std::uint64_t{1} << 30})
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{1000}}) {
      std::vector<index_t> key(n);
      for (auto& k : key) k = static_cast<index_t>(100 + next() % range);
      std::vector<std::uint32_t> expected(n);
      std::iota(expected.begin(), expected.end(), std::uint32_t{0});
      std::stable_sort(expected.begin(), expected.end(), [&](std::uint32_t x, std::uint32_t y) { return key[x] < key[y]; });
      for (int digit : {1, 3, 11, 16}) {
        INFO("range " << range << ", " << n << " keys, " << digit << "-bit digits");
        REQUIRE(stable_order(key.data(), n, digit) == expected);
      }
    }
}

TEST_CASE("target parts: interleaved blocks, each part's cells one range of ranks", "[connectivity]") {
  for (const auto& [cells, parts] : {std::pair<std::int64_t, std::int64_t>{1000, 2}, {1000, 3}, {1280, 5}, {7, 4}, {130, 64}}) {
    INFO(cells << " cells, " << parts << " parts");
    const target_interleave il = target_interleave::of(cells, parts);
    std::vector<std::int64_t> ranks;
    for (std::int64_t c = 0; c < cells; ++c) {
      const std::int64_t r = il.rank(c), owner = (c / il.block) % parts;
      REQUIRE(r >= il.first(owner));
      REQUIRE(r < il.first(owner + 1));
      if (c % il.block != 0) REQUIRE(r == il.rank(c - 1) + 1);  // a block stays together, in order
      ranks.push_back(r);
    }
    std::sort(ranks.begin(), ranks.end());
    CHECK(std::adjacent_find(ranks.begin(), ranks.end()) == ranks.end());  // one rank per cell
    CHECK(il.first(parts) < cells + parts * il.block);
  }
  // Near 2^31 cells the ranks would not fit an index: one contiguous range per part, rank = cell.
  const target_interleave huge = target_interleave::of((std::int64_t{1} << 31) - 10, 4);
  for (std::int64_t c : {std::int64_t{0}, std::int64_t{12345678}, (std::int64_t{1} << 31) - 11}) CHECK(huge.rank(c) == c);
}

TEST_CASE("rows by target: each row stably sorted by its cells' ranks, plastic positions following", "[connectivity]") {
  const network net = io::parse_network(drawing_network, "drawing.toml");
  const auto offsets = population_offsets(net, 2);
  const std::int64_t parts = GENERATE(2, 3);
  const target_interleave il = target_interleave::of(2 * std::int64_t{offsets.back()}, parts);
  REQUIRE(il.rounds > 1);  // the network is large enough for blocks to interleave
  const synapse_table plain = build_synapses(net, offsets, false, 2, 1);
  const synapse_table sorted = build_synapses(net, offsets, false, 2, parts);
  REQUIRE(sorted.row_ptr == plain.row_ptr);
  using synapse = std::tuple<index_t, std::uint16_t, float, std::int16_t>;
  std::vector<std::int64_t> moved(plain.target.size(), -1);  // plain position -> sorted position
  for (std::size_t row = 0; row + 1 < plain.row_ptr.size(); ++row) {
    std::vector<std::pair<synapse, std::size_t>> expected;
    for (auto j = static_cast<std::size_t>(plain.row_ptr[row]); j < static_cast<std::size_t>(plain.row_ptr[row + 1]); ++j)
      expected.push_back({{plain.target[j], plain.delay[j], plain.weight[j], plain.rule[j]}, j});
    std::stable_sort(expected.begin(), expected.end(), [&](const auto& x, const auto& y) {
      return il.rank(std::get<0>(x.first)) < il.rank(std::get<0>(y.first));
    });
    for (std::size_t k = 0; k < expected.size(); ++k) {
      const auto j = static_cast<std::size_t>(sorted.row_ptr[row]) + k;
      REQUIRE(synapse{sorted.target[j], sorted.delay[j], sorted.weight[j], sorted.rule[j]} == expected[k].first);
      moved[expected[k].second] = static_cast<std::int64_t>(j);
    }
  }
  for (std::size_t pi = 0; pi < net.projections.size(); ++pi) {
    if (net.projections[pi].name == "plastic_delayed") {
      CHECK(sorted.position[pi] == plain.position[pi]);  // positions in the delayed table
      continue;
    }
    REQUIRE(sorted.position[pi].size() == plain.position[pi].size());
    for (std::size_t k = 0; k < plain.position[pi].size(); ++k)
      REQUIRE(sorted.position[pi][k] == moved[static_cast<std::size_t>(plain.position[pi][k])]);
  }
  // Each row's split offsets: part p's synapses are exactly those whose cells it owns.
  const std::vector<std::uint32_t> split = row_part_splits(sorted, il);
  REQUIRE(split.size() == (sorted.row_ptr.size() - 1) * static_cast<std::size_t>(parts - 1));
  for (std::size_t row = 0; row + 1 < sorted.row_ptr.size(); ++row)
    for (std::int64_t p = 0; p < parts; ++p) {
      const std::int64_t first = sorted.row_ptr[row], last = sorted.row_ptr[row + 1];
      const std::int64_t a = p == 0 ? first : first + split[row * static_cast<std::size_t>(parts - 1) + static_cast<std::size_t>(p) - 1];
      const std::int64_t b = p == parts - 1 ? last : first + split[row * static_cast<std::size_t>(parts - 1) + static_cast<std::size_t>(p)];
      REQUIRE(a <= b);
      for (std::int64_t j = first; j < last; ++j) {
        const bool owned = (sorted.target[static_cast<std::size_t>(j)] / il.block) % parts == p;
        REQUIRE(owned == (j >= a && j < b));
      }
    }
}

TEST_CASE("large projections are drawn twice, small ones and lists once", "[connectivity]") {
  const network net = io::parse_network(drawing_network, "drawing.toml");
  auto find = [&](const std::string& name) -> const projection& {
    for (const auto& pr : net.projections)
      if (pr.name == name) return pr;
    FAIL("no projection " << name);
    return net.projections.front();
  };
  CHECK(drawn_twice(net, find("total"), 8));            // 40,000 synapses from 300 neurons
  CHECK_FALSE(drawn_twice(net, find("total"), 64));     // counts would take more than 2 bytes a synapse
  CHECK(drawn_twice(net, find("probability"), 1));      // 0.3 x 170 x 300 from 170
  CHECK_FALSE(drawn_twice(net, find("plastic_delayed"), 1));  // kept apart from the table
  CHECK(can_draw_twice(net, find("total")));                   // also where too small to be
  CHECK_FALSE(can_draw_twice(net, find("plastic_delayed")));   // even when forced
}

TEST_CASE("a bad delay drawn in a chunk is the error a sequential pass meets first", "[connectivity]") {
  std::string text = drawing_network;
  // Unbounded normal delays around 0.3 ms: some are shorter than the 0.1 ms step.
  const std::string from = "delay = { normal = [\"1.5 ms\", \"0.75 ms\"], min = \"0.1 ms\" }";
  text.replace(text.find(from), from.size(), "delay = { normal = [\"0.3 ms\", \"0.2 ms\"] }");
  const network net = io::parse_network(text, "drawing.toml");
  auto message = [&](table_drawing how) {
    try {
      build_synapses(net, population_offsets(net), false, 1, 1, how);
    } catch (const error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string once = message(drawn(table_drawing::mode::once, 0));
  CHECK(once.find("drawing.toml: projections.total.delay: delay ") == 0);
  CHECK(once.find("is shorter than dt") != std::string::npos);
  for (std::int64_t chunks : {1, 3, 16}) CHECK(message(drawn(table_drawing::mode::twice, chunks)) == once);
}

TEST_CASE("building reports its progress and stops when the report throws", "[connectivity]") {
  // 3 million synapses: several chunks of about a million, and small projections drawn once.
  std::string text = drawing_network;
  const std::string from = "n = 40000, allow_self = false";
  text.replace(text.find(from), from.size(), "n = 3000000, allow_self = false");
  const network net = io::parse_network(text, "drawing.toml");
  std::vector<std::pair<std::int64_t, std::int64_t>> calls;
  table_drawing drawing;
  drawing.progress = [&](std::int64_t done, std::int64_t total) { calls.emplace_back(done, total); };
  const synapse_table t = build_synapses(net, population_offsets(net), false, 1, 1, drawing);
  REQUIRE(calls.size() >= 4);
  for (std::size_t k = 0; k < calls.size(); ++k) {
    CHECK(calls[k].second == calls.front().second);
    CHECK(calls[k].first <= calls[k].second);
    if (k > 0) CHECK(calls[k].first >= calls[k - 1].first);
  }
  CHECK(calls.back().first == calls.back().second);  // finished
  CHECK(std::count_if(calls.begin(), calls.end(), [](const auto& c) { return c.first == c.second; }) == 1);
  // The total is the expected count (fixed_probability's is a mean).
  CHECK(static_cast<double>(calls.front().second) == Approx(static_cast<double>(t.size() + t.delayed.size())).epsilon(0.01));

  struct stop_here {};
  int left = 2;
  drawing.progress = [&](std::int64_t, std::int64_t) {
    if (--left == 0) throw stop_here{};
  };
  CHECK_THROWS_AS(build_synapses(net, population_offsets(net), false, 1, 1, drawing), stop_here);
}
