#include "sim/connectivity.hpp"

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cmath>
#include <atomic>
#include <exception>
#include <functional>
#include <numeric>
#include <string>
#include <thread>
#include <tuple>
#include <utility>

#include "sim/connector_expansion.hpp"
#include "sim/core/error.hpp"
#include "sim/core/rng.hpp"
#include "sim/memory_budget.hpp"

namespace kspike {

std::vector<index_t> population_offsets(const network& net, int instances) {
  std::vector<index_t> off{0};
  std::int64_t total = 0;
  for (const auto& p : net.populations) {
    total += p.size * std::max(instances, 1);
    if (total >= (std::int64_t{1} << 30))
      throw error(where(net.source, "populations." + p.name + ".size") +
                  ": network too large (more than 2^30 neurons in all)");
    off.push_back(static_cast<index_t>(total));
  }
  return off;
}

constexpr std::uint64_t max_redraws = std::uint64_t{1} << 16;

double draw(const value_dist& d, std::uint64_t seed, std::uint32_t stream, std::uint32_t index,
            std::uint64_t counter) {
  switch (d.type) {
    case value_dist::kind::constant:
      return d.a;
    case value_dist::kind::uniform:
      return d.a + (d.b - d.a) * uniform01(philox4x32(seed, stream, index, counter));
    case value_dist::kind::normal: {
      // Box-Muller from the two halves of one Philox block. A draw outside [lo, hi] is drawn
      // again from the next block of the same counter's upper bits (attempt 0 is the
      // unbounded draw, so bounds that are never hit change nothing).
      for (std::uint64_t attempt = 0; attempt < max_redraws; ++attempt) {
        const philox_block b = philox4x32(seed, stream, index, counter ^ (attempt << 48));
        const double u1 = 1.0 - uniform01(b, 0), u2 = uniform01(b, 1);
        const double x = d.a + d.b * std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
        if (x >= d.lo && x <= d.hi) return x;
      }
      // Unreachable for descriptions that pass validation (network.cpp requires the interval
      // to hold at least 1e-3 of the distribution: 2^16 misses then have probability < e^-65).
      throw error("a truncated normal draw missed [min, max] " + std::to_string(max_redraws) + " times");
    }
  }
  return d.a;
}

namespace {

struct raw_synapse {
  index_t pre, target;
  std::uint16_t delay;
  std::int16_t rule;  // plastic rule (index among the plastic projections), or -1
  float weight;
};

// One instance of one projection whose synapses go into the CSR table. Large ones are drawn
// twice: the first pass only expands the connector, counting each chunk's synapses per pre
// neuron; once every row's length is known, the second pass expands it again, draws weights
// and delays and writes each synapse straight into its place. The chunks (ranges of the
// connector's units, connector_expansion.hpp) run on the host threads; each knows where its
// synapses go in every row and which synapse ordinals (the weight and delay counters) it
// has, so the table is the same for any number of chunks or threads. Small projections and
// lists are drawn once into records (16 bytes per synapse, which a large projection never
// needs: its counts take at most 2).
struct table_job {
  std::size_t projection = 0;
  std::uint64_t seed = 0;
  std::int64_t pre_base = 0, post_base = 0, n_pre = 0, n_post = 0;
  std::int16_t rule = -1;
  std::string field;
  std::int64_t synapses = 0;
  std::vector<std::int64_t> unit_first;   // drawn twice: each chunk's first unit (chunks + 1)
  std::vector<std::int64_t> chunk_first;  // ... and its first synapse ordinal (chunks + 1)
  std::vector<std::int64_t> row_counts;   // [chunk * n_pre + pre]: counts, then places
  std::vector<raw_synapse> raw;           // drawn once: the records
  bool twice() const { return !unit_first.empty(); }
  std::int64_t chunks() const { return static_cast<std::int64_t>(unit_first.size()) - 1; }
};

// The build's progress, in synapses of about how many (expected counts). A synapse drawn once
// counts whole; one drawn twice counts a tenth when counted and nine tenths when placed (the
// first pass takes about a tenth of the time), so that the rate and the time left stay
// about right through both passes. Chunks on any thread add theirs; only the thread that
// called build_synapses reports, so the caller's function needs no locking. When it throws
// (an interrupted command), every chunk not yet started is skipped and the exception leaves
// build_synapses.
class build_progress {
 public:
  build_progress(const std::function<void(std::int64_t, std::int64_t)>& report, std::int64_t total)
      : report_(report), total_(std::max<std::int64_t>(total, 1)), caller_(std::this_thread::get_id()) {}
  void drawn(std::int64_t synapses) { tenths_ += 10 * synapses; }
  void counted(std::int64_t synapses) { tenths_ += synapses; }
  void placed(std::int64_t synapses) { tenths_ += 9 * synapses; }
  void report() {
    if (!report_ || std::this_thread::get_id() != caller_) return;
    try {
      // The counts are expected ones: only finish() says all are done.
      report_(finished_ ? total_ : std::min<std::int64_t>(tenths_ / 10, total_ - 1), total_);
    } catch (...) {
      stopped_ = true;
      throw;
    }
  }
  void finish() {
    finished_ = true;
    report();
  }
  bool stopped() const { return stopped_; }

 private:
  const std::function<void(std::int64_t, std::int64_t)>& report_;
  std::int64_t total_;
  std::thread::id caller_;
  std::atomic<std::int64_t> tenths_{0};
  bool finished_ = false;
  std::atomic<bool> stopped_{false};
};

// Runs body(chunk) for chunks 0 .. n - 1, on the host threads or on this one. An exception
// leaves its chunk; the first chunk's (in order) is rethrown, which is the one a sequential
// pass meets first.
template <class Body>
void for_each_chunk(std::int64_t n, bool host_threads, build_progress& progress, Body&& body) {
  std::vector<std::exception_ptr> failed(static_cast<std::size_t>(n));
  auto one = [&](std::int64_t c) {
    if (progress.stopped()) return;
    try {
      body(c);
      progress.report();
    } catch (...) {
      failed[static_cast<std::size_t>(c)] = std::current_exception();
    }
  };
  if (host_threads) {
    Kokkos::parallel_for(
        "kspike::build_chunks",
        Kokkos::RangePolicy<Kokkos::DefaultHostExecutionSpace, Kokkos::Schedule<Kokkos::Dynamic>>(0, n), one);
    Kokkos::fence();
  } else {
    for (std::int64_t c = 0; c < n; ++c) one(c);
  }
  for (auto& e : failed)
    if (e) std::rethrow_exception(e);
}

// How many chunks a projection drawn twice is split into: at least `base` (a few per host
// thread, so that dynamic scheduling evens out rows of different lengths), and about one per
// million synapses, so that a chunk takes a fraction of a second and progress (and an
// interrupt) is seen promptly; at most as many as keep its counts within 2 bytes a synapse.
std::int64_t chunks_for(double expected, std::int64_t n_pre, std::int64_t units, std::int64_t base) {
  const double by_size = std::ceil(expected / double(1 << 20));
  const double memory_cap = std::floor(expected / (4.0 * static_cast<double>(std::max<std::int64_t>(n_pre, 1))));
  const double chunks = std::max(static_cast<double>(base), std::min(by_size, memory_cap));
  return std::max<std::int64_t>(1, std::min<std::int64_t>(static_cast<std::int64_t>(std::min(chunks, 1e9)), units));
}

// Field names are built only when there is an error to report: this runs once per synapse.
std::uint16_t delay_steps(double d, double dt, const std::string& projection_field) {
  const double s = std::nearbyint(d / dt);
  if (!(d > 0) || !(s >= 1))
    throw error(projection_field + ".delay: delay " + std::to_string(d) + " s is shorter than dt");
  if (s > 65535) throw error(projection_field + ".delay: delay " + std::to_string(d) + " s exceeds 65535 steps");
  return static_cast<std::uint16_t>(s);
}

}  // namespace

// A least-significant-digit radix sort over the row's range of keys: a row of a few thousand
// targets among a few hundred thousand cells takes two passes of 11 bits, where a comparison
// sort takes a dozen.
std::vector<std::uint32_t> stable_order(const index_t* key, std::size_t n, int digit) {
  std::vector<std::uint32_t> order(n), spare(n);
  std::iota(order.begin(), order.end(), std::uint32_t{0});
  if (n < 2) return order;
  const auto [lo, hi] = std::minmax_element(key, key + n);
  const auto base = static_cast<std::uint64_t>(*lo);
  const auto range = static_cast<std::uint64_t>(*hi) - base;
  if (digit < 1 || digit > 16) throw error("stable_order: digits of 1 to 16 bits");
  const std::uint64_t mask = (std::uint64_t{1} << digit) - 1;
  std::vector<std::uint32_t> count(std::size_t{1} << digit);
  for (int shift = 0; shift < 64 && (range >> shift) != 0; shift += digit) {
    std::fill(count.begin(), count.end(), 0u);
    for (std::size_t i = 0; i < n; ++i) ++count[((static_cast<std::uint64_t>(key[order[i]]) - base) >> shift) & mask];
    std::uint32_t sum = 0;
    for (auto& c : count) sum += std::exchange(c, sum);
    for (std::size_t i = 0; i < n; ++i)
      spare[count[((static_cast<std::uint64_t>(key[order[i]]) - base) >> shift) & mask]++] = order[i];
    order.swap(spare);
  }
  return order;
}

namespace {

// A step adds at most one event per synapse into the ring cell of its target's receptor, and a
// cell's fixed-point sum holds 2^22 events of the largest weight exactly (engine_build.hpp, the
// scale). More synapses onto one receptor would wrap the sum unseen: refused, naming the
// neuron. Structured projections count their largest fan-in (a dense projection: every pre
// neuron; a convolution: every tap of every input channel and pooled pixel).
void check_fan_in(const synapse_table& t, const network& net, const std::vector<index_t>& offsets, int instances) {
  constexpr std::uint32_t most = std::uint32_t{1} << 22;
  std::int64_t total = t.size() + t.delayed.size();
  for (const auto& sp : t.structured) total += sp.synapses;
  if (total <= static_cast<std::int64_t>(most)) return;  // no cell can have more (most networks)
  std::vector<std::uint32_t> count(2 * static_cast<std::size_t>(offsets.back()), 0);
  const auto add = [&](index_t cell, std::int64_t n) {
    std::uint32_t& c = count[static_cast<std::size_t>(cell)];
    c = static_cast<std::uint32_t>(std::min<std::int64_t>(static_cast<std::int64_t>(c) + n, std::int64_t{most} + 1));
  };
  for (index_t cell : t.target)
    if (count[static_cast<std::size_t>(cell)] <= most) ++count[static_cast<std::size_t>(cell)];
  for (index_t cell : t.delayed.target)
    if (count[static_cast<std::size_t>(cell)] <= most) ++count[static_cast<std::size_t>(cell)];
  for (const auto& sp : t.structured) {
    const auto& g = sp.procedural;
    std::int64_t fan = 1;
    switch (sp.kind) {
      case projection_kind::conv: fan = g.in_c * g.kernel * g.kernel * g.pool * g.pool; break;
      case projection_kind::matrix: fan = g.in_c * g.in_h * g.in_w; break;
      case projection_kind::one_to_one: fan = 1; break;
      default: fan = sp.n_pre;
    }
    for (int k = 0; k < instances; ++k)
      for (index_t j = 0; j < sp.n_post; ++j) add(2 * (sp.post_begin + k * sp.n_post + j) + sp.receptor, fan);
  }
  const auto worst = std::max_element(count.begin(), count.end());
  if (*worst <= most) return;
  const auto cell = static_cast<index_t>(worst - count.begin());
  const index_t id = cell / 2;
  std::size_t p = 0;
  while (p + 1 < net.populations.size() && offsets[p + 1] <= id) ++p;
  const std::int64_t size = std::max<std::int64_t>(net.populations[p].size, 1);
  throw error(where(net.source, "populations." + net.populations[p].name) + ": neuron " +
              std::to_string((id - offsets[p]) % size) + " receives more than 2^22 = " + std::to_string(most) +
              " synapses on its " + (cell % 2 == 0 ? "excitatory" : "inhibitory") +
              " receptor, the most whose inputs one step sums exactly");
}

// Puts each row of the CSR table in the order of `il` (ties in their generation order), so
// that the OpenMP propagation can give every thread its own cells (engine_step.hpp,
// walk_rows_by_target) and a row's synapses for them are one contiguous run. With by_delay,
// each part's synapses in order of delay instead (ties in generation order), so that the
// synapses one spike reaches in one step are one contiguous run (engine_table_walk.hpp,
// walk_arrivals). Sums in the delay ring are exact integers, so no order of events changes a
// spike. The positions of plastic synapses in the table move with them.
void sort_rows_by_target(synapse_table& t, const network& net, const std::vector<std::size_t>& plastic_projection,
                         const target_interleave& il, bool by_delay) {
  const bool plastic = !t.rule.empty();
  std::vector<std::int64_t> moved;  // old position -> new (plastic networks only)
  if (plastic) moved.resize(t.target.size());
  // Rows are independent: the host threads share them (the result does not depend on how).
  const auto rows = static_cast<std::int64_t>(t.row_ptr.size()) - 1;
  Kokkos::parallel_for(
      "kspike::sort_rows", Kokkos::RangePolicy<Kokkos::DefaultHostExecutionSpace, Kokkos::Schedule<Kokkos::Dynamic>>(0, rows),
      [&](std::int64_t pre) {
        const auto first = static_cast<std::size_t>(t.row_ptr[static_cast<std::size_t>(pre)]);
        const auto last = static_cast<std::size_t>(t.row_ptr[static_cast<std::size_t>(pre) + 1]);
        const auto at = [&](std::size_t j) { return static_cast<std::ptrdiff_t>(j); };
        std::vector<index_t> key(last - first);  // of() keeps every rank below 2^31
        for (std::size_t j = first; j < last; ++j)  // a part (< 64) and a delay (< 2^16): below 2^22
          key[j - first] = by_delay ? static_cast<index_t>(il.part(t.target[j]) << 16 | t.delay[j]) : static_cast<index_t>(il.rank(t.target[j]));
        if (std::is_sorted(key.begin(), key.end())) {
          if (plastic)
            for (std::size_t j = first; j < last; ++j) moved[j] = static_cast<std::int64_t>(j);
          return;
        }
        const std::vector<std::uint32_t> order = stable_order(key.data(), key.size());
        const std::vector<index_t> target(t.target.begin() + at(first), t.target.begin() + at(last));
        const std::vector<std::uint16_t> delay(t.delay.begin() + at(first), t.delay.begin() + at(last));
        const std::vector<float> weight(t.weight.begin() + at(first), t.weight.begin() + at(last));
        std::vector<std::int16_t> rule;
        if (plastic) rule.assign(t.rule.begin() + at(first), t.rule.begin() + at(last));
        for (std::size_t k = 0; k < order.size(); ++k) {
          const std::size_t from = order[k], to = first + k;
          t.target[to] = target[from];
          t.delay[to] = delay[from];
          t.weight[to] = weight[from];
          if (plastic) {
            t.rule[to] = rule[from];
            moved[first + from] = static_cast<std::int64_t>(to);
          }
        }
      });
  Kokkos::fence();
  if (!plastic) return;
  for (std::size_t pi : plastic_projection) {
    if (has_per_synapse_traces(net.projections[pi], net.dt)) continue;  // those index the delayed table
    for (auto& at : t.position[pi]) at = moved[static_cast<std::size_t>(at)];
  }
}

}  // namespace

bool has_per_synapse_traces(const projection& pr, double dt) {
  if (!pr.plastic) return false;
  if (pr.conn.type == connector::kind::from_list && pr.conn.list_has_delay) return true;
  if (!pr.has_delay) return false;
  return !(pr.delay.type == value_dist::kind::constant && std::abs(pr.delay.a / dt - 1) < 1e-6);
}

bool can_draw_twice(const network& net, const projection& pr) {
  return !has_per_synapse_traces(pr, net.dt) && pr.conn.type != connector::kind::from_list;
}

bool drawn_twice(const network& net, const projection& pr, std::int64_t chunks) {
  if (!can_draw_twice(net, pr)) return false;
  const int a = net.find_population(pr.pre);
  if (a < 0) return false;
  const auto n_pre = static_cast<double>(net.populations[static_cast<std::size_t>(a)].size);
  return expected_synapses(net, pr) >= 4.0 * static_cast<double>(chunks) * n_pre;
}

projection_kind choose_kind(const network& net, const projection& pr, bool structured) {
  // Procedural projections have no synapses to put anywhere else.
  if (pr.procedural.type == procedural_connection::kind::conv) return projection_kind::conv;
  if (pr.procedural.type == procedural_connection::kind::matrix) return projection_kind::matrix;
  // Plasticity works on the CSR table's rows and columns for now.
  if (!structured || pr.plastic) return projection_kind::sparse;
  if (pr.conn.type == connector::kind::one_to_one) return projection_kind::one_to_one;
  if (pr.conn.type != connector::kind::all_to_all) return projection_kind::sparse;
  const bool without_self = pr.pre == pr.post && !pr.conn.allow_self;
  const bool uniform = pr.weight.type == value_dist::kind::constant &&
                       (!pr.has_delay || pr.delay.type == value_dist::kind::constant);
  (void)net;
  return without_self && uniform ? projection_kind::all_but_self : projection_kind::dense;
}

// The largest |weight| a projection can have, from its description alone (not from what was
// drawn), so that the fixed-point scale, and with it every sum, is the same for every seed:
// instance k of a batch then computes exactly what a single run with its seed computes.
double weight_bound(const projection& pr) {
  double b = 0;
  if (pr.procedural.type != procedural_connection::kind::none) {
    for (float w : pr.procedural.weights) b = std::max(b, std::abs(static_cast<double>(w)));
  } else if (pr.conn.type == connector::kind::from_list && pr.conn.list_has_weight) {
    for (const auto& e : pr.conn.list) b = std::max(b, std::abs(e.weight));
  } else {
    switch (pr.weight.type) {
      case value_dist::kind::constant: b = std::abs(pr.weight.a); break;
      case value_dist::kind::uniform: b = std::max(std::abs(pr.weight.a), std::abs(pr.weight.b)); break;
      // Beyond 8 standard deviations (p ~ 1e-15 per draw) a weight still fits: the scale leaves
      // a factor 2^22 of headroom for sums.
      case value_dist::kind::normal: {
        const double lo = std::max(pr.weight.a - 8 * std::abs(pr.weight.b), pr.weight.lo);
        const double hi = std::min(pr.weight.a + 8 * std::abs(pr.weight.b), pr.weight.hi);
        b = std::max(std::abs(lo), std::abs(hi));
        break;
      }
    }
  }
  if (pr.plastic) b = std::max({b, std::abs(pr.stdp.w_min), std::abs(pr.stdp.w_max)});
  return b;
}

synapse_table build_synapses(const network& net, const std::vector<index_t>& offsets, bool structured, int instances,
                             std::int64_t target_parts, const table_drawing& drawing, bool rows_by_delay) {
  if (instances < 1) throw error("instances: must be >= 1");
  std::vector<raw_synapse> raw_delayed;  // the synapses of delayed plastic projections
  std::vector<table_job> jobs;           // the CSR table's, instance by instance, projection by projection
  synapse_table table;
  table.instances = instances;
  std::int16_t plastic_rules = 0;
  for (const auto& pr : net.projections) {
    if (pr.plastic) {
      if (plastic_rules == 32767) throw error(where(net.source, "projections." + pr.name) + ": too many plastic projections");
      ++plastic_rules;
    }
    table.max_abs_weight = std::max(table.max_abs_weight, weight_bound(pr));
  }
  table.per_projection.assign(net.projections.size(), 0);
  const std::size_t n_total = static_cast<std::size_t>(offsets.back());
  table.row_ptr.assign(n_total + 1, 0);  // first the length of every row, at its pre id + 1
  // Chunks per large projection: at least four per host thread (chunks_for); one without threads.
  const std::int64_t threads = drawing.host_threads ? Kokkos::DefaultHostExecutionSpace().concurrency() : 1;
  const std::int64_t base_chunks = drawing.chunks > 0 ? drawing.chunks : threads > 1 ? 4 * threads : 1;
  const double default_delay = net.dt;  // one step: acts on the next update
  double expected_total = 0;
  for (const auto& pr : net.projections)
    if (pr.procedural.type == procedural_connection::kind::none) expected_total += expected_synapses(net, pr);
  build_progress progress(drawing.progress, static_cast<std::int64_t>(expected_total * instances));

  // Pass one. Instance by instance (each with its own seed), projection by projection: so
  // every plastic projection's synapses are listed instance after instance, each in
  // generation order.
  for (int inst = 0; inst < instances; ++inst) {
  const std::uint64_t seed = net.seed + static_cast<std::uint64_t>(inst);
  std::int16_t rule_counter = 0;
  for (std::size_t pi = 0; pi < net.projections.size(); ++pi) {
    const projection& pr = net.projections[pi];
    const std::int16_t rule = pr.plastic ? rule_counter++ : std::int16_t{-1};
    const std::string field = where(net.source, "projections." + pr.name);
    const int a = net.find_population(pr.pre), b = net.find_population(pr.post);
    if (a < 0 || b < 0) throw error(field + ": unknown population");
    const std::int64_t n_pre = net.populations[a].size, n_post = net.populations[b].size;
    // Instance inst of population p holds global ids offsets[p] + inst * size .. + size - 1.
    const std::int64_t pre_base = offsets[a] + inst * n_pre, post_base = offsets[b] + inst * n_post;
    const auto ui = static_cast<std::uint32_t>(pi);
    const int rec = pr.target == receptor::inhibitory ? 1 : 0;
    const projection_kind kind = choose_kind(net, pr, structured);
    structured_projection* sp = nullptr;
    std::size_t instance_offset = 0;  // where this instance's values start in sp's arrays
    if (kind == projection_kind::conv || kind == projection_kind::matrix) {
      // Computed, not drawn: one kernel or matrix for every instance.
      if (inst == 0) {
        structured_projection p;
        p.kind = kind;
        p.projection = pi;
        p.pre_population = static_cast<std::size_t>(a);
        p.pre_begin = offsets[a];
        p.n_pre = static_cast<index_t>(n_pre);
        p.post_begin = offsets[b];
        p.n_post = static_cast<index_t>(n_post);
        p.procedural = pr.procedural;
        p.weight = pr.procedural.weights;
        p.delay = {1};
        p.procedural.weights.clear();
        table.structured.push_back(std::move(p));
      }
      structured_projection* found = nullptr;
      for (auto& q : table.structured)
        if (q.projection == pi) found = &q;
      structured_projection& p = *found;
      const auto& g = pr.procedural;
      const std::int64_t ph = g.in_h / g.pool, pw = g.in_w / g.pool;
      // Synapses as the dense equivalent would count them: reached (pre, post) pairs.
      if (kind == projection_kind::matrix) {
        p.synapses += g.in_c * ph * pw * g.pool * g.pool * n_post;
      } else {
        std::int64_t reached = 0;  // kernel taps that land inside the output, over the pooled input
        for (std::int64_t y = 0; y < ph; ++y)
          for (std::int64_t x = 0; x < pw; ++x)
            for (std::int64_t ky = 0; ky < g.kernel; ++ky)
              for (std::int64_t kx = 0; kx < g.kernel; ++kx) {
                const std::int64_t oy = y + g.padding - ky, ox = x + g.padding - kx;
                if (oy >= 0 && ox >= 0 && oy % g.stride == 0 && ox % g.stride == 0 && oy / g.stride < g.out_h &&
                    ox / g.stride < g.out_w)
                  ++reached;
              }
        p.synapses += reached * g.pool * g.pool * g.in_c * g.out_c;
      }
      continue;
    }
    if (kind != projection_kind::sparse) {
      if (inst == 0) {
        table.structured.emplace_back();
        sp = &table.structured.back();
        sp->kind = kind;
        sp->projection = pi;
        sp->pre_population = static_cast<std::size_t>(a);
        sp->receptor = rec;
        sp->pre_begin = offsets[a];
        sp->n_pre = static_cast<index_t>(n_pre);
        sp->post_begin = offsets[b];
        sp->n_post = static_cast<index_t>(n_post);
        sp->skip_self = a == b && !pr.conn.allow_self;
        // Same value for every synapse: stored once (all_but_self always; dense when constant).
        sp->cells = kind == projection_kind::one_to_one
                        ? static_cast<std::size_t>(std::min(n_pre, n_post))
                        : static_cast<std::size_t>(n_pre) * static_cast<std::size_t>(n_post);
        const bool one_weight = pr.weight.type == value_dist::kind::constant;
        const bool one_delay = !pr.has_delay || pr.delay.type == value_dist::kind::constant;
        sp->weight.assign(one_weight ? 1 : sp->cells * static_cast<std::size_t>(instances), 0.0f);
        sp->delay.assign(one_delay ? 1 : sp->cells * static_cast<std::size_t>(instances), std::uint16_t{1});
      } else {
        for (auto& s : table.structured)
          if (s.projection == pi) sp = &s;
      }
      instance_offset = static_cast<std::size_t>(inst) * sp->cells;
    }
    const bool delayed = has_per_synapse_traces(pr, net.dt);
    const std::int64_t units = connector_units(pr.conn, n_pre, n_post);
    const double expected = expected_synapses(net, pr);
    const bool twice = kind == projection_kind::sparse && can_draw_twice(net, pr) &&
                       (drawing.how == table_drawing::mode::twice ||
                        (drawing.how == table_drawing::mode::by_size &&
                         drawn_twice(net, pr, std::max<std::int64_t>(1, std::min(base_chunks, units)))));
    const std::int64_t chunks = drawing.chunks > 0 ? std::max<std::int64_t>(1, std::min(drawing.chunks, units))
                                                   : chunks_for(expected, n_pre, units, base_chunks);
    if (twice) {
      table_job job;
      job.projection = pi;
      job.seed = seed;
      job.pre_base = pre_base;
      job.post_base = post_base;
      job.n_pre = n_pre;
      job.n_post = n_post;
      job.rule = rule;
      job.field = field;
      job.unit_first.resize(static_cast<std::size_t>(chunks) + 1);
      // units * c / chunks, rounded down, without the product (it could overflow).
      for (std::int64_t c = 0; c <= chunks; ++c)
        job.unit_first[static_cast<std::size_t>(c)] = units / chunks * c + units % chunks * c / chunks;
      job.chunk_first.assign(static_cast<std::size_t>(chunks) + 1, 0);
      job.row_counts.assign(static_cast<std::size_t>(chunks * n_pre), 0);
      for_each_chunk(chunks, drawing.host_threads, progress, [&](std::int64_t c) {
        std::int64_t* count = job.row_counts.data() + c * n_pre;
        std::int64_t total = 0;
        expand_units(pr.conn, n_pre, n_post, a == b, seed, stream_id(stream::connect, ui),
                     job.unit_first[static_cast<std::size_t>(c)], job.unit_first[static_cast<std::size_t>(c) + 1],
                     [&](std::int64_t i, std::int64_t) {
                       ++count[i];
                       ++total;
                     });
        job.chunk_first[static_cast<std::size_t>(c) + 1] = total;
        progress.counted(total);
      });
      std::partial_sum(job.chunk_first.begin(), job.chunk_first.end(), job.chunk_first.begin());
      job.synapses = job.chunk_first.back();
      for (std::int64_t c = 0; c < chunks; ++c)
        for (std::int64_t i = 0; i < n_pre; ++i)
          table.row_ptr[static_cast<std::size_t>(pre_base + i) + 1] += job.row_counts[static_cast<std::size_t>(c * n_pre + i)];
      table.per_projection[pi] += job.synapses;
      jobs.push_back(std::move(job));
      continue;
    }
    // Drawn once: into the structured projection's arrays, the delayed plastic records or
    // this job's records.
    table_job* job = nullptr;
    if (kind == projection_kind::sparse && !delayed) {
      jobs.emplace_back();
      job = &jobs.back();
      job->projection = pi;
      job->rule = rule;
    }
    std::int64_t k = 0;
    auto add = [&](std::int64_t i, std::int64_t j, double w, double d) {
      const std::uint16_t steps = delay_steps(d, net.dt, field);
      if (sp) {
        const std::size_t at = instance_offset + (sp->kind == projection_kind::one_to_one
                                   ? static_cast<std::size_t>(i)
                                   : static_cast<std::size_t>(i) * static_cast<std::size_t>(n_post) + static_cast<std::size_t>(j));
        sp->weight[sp->weight.size() == 1 ? 0 : at] = static_cast<float>(w);
        sp->delay[sp->delay.size() == 1 ? 0 : at] = steps;
        ++sp->synapses;
        table.max_delay = std::max<int>(table.max_delay, steps);
      } else {
        const raw_synapse s{static_cast<index_t>(pre_base + i), static_cast<index_t>((post_base + j) * 2 + rec), steps, rule,
                            static_cast<float>(w)};
        if (job) {
          job->raw.push_back(s);
          ++table.row_ptr[static_cast<std::size_t>(s.pre) + 1];
        } else {
          raw_delayed.push_back(s);
        }
      }
      if ((++k & ((std::int64_t{1} << 20) - 1)) == 0) {
        progress.drawn(std::int64_t{1} << 20);
        progress.report();
      }
    };
    auto sample = [&](const value_dist& v, stream family) {
      return draw(v, seed, stream_id(family, ui), static_cast<std::uint32_t>(k), static_cast<std::uint64_t>(k) >> 32);
    };
    if (pr.conn.type == connector::kind::from_list) {
      for (const auto& e : pr.conn.list) {
        if (e.pre < 0 || e.pre >= n_pre || e.post < 0 || e.post >= n_post)
          throw error(field + ".connector: list entry " + std::to_string(e.pre) + "," + std::to_string(e.post) +
                      " is out of range");
        const double w = pr.conn.list_has_weight ? e.weight : sample(pr.weight, stream::weight);
        const double d = pr.conn.list_has_delay ? e.delay
                         : pr.has_delay        ? sample(pr.delay, stream::delay)
                                               : default_delay;
        add(e.pre, e.post, w, d);
      }
    } else {
      expand_units(pr.conn, n_pre, n_post, a == b, seed, stream_id(stream::connect, ui), 0, units,
                   [&](std::int64_t i, std::int64_t j) {
                     const double w = sample(pr.weight, stream::weight);
                     const double d = pr.has_delay ? sample(pr.delay, stream::delay) : default_delay;
                     add(i, j, w, d);
                   });
    }
    if (job) job->synapses = k;
    table.per_projection[pi] += k;
    progress.drawn(k & ((std::int64_t{1} << 20) - 1));
    progress.report();
  }
  }

  // Pass two: every synapse into its place. Rows keep projection-then-generation order.
  std::partial_sum(table.row_ptr.begin(), table.row_ptr.end(), table.row_ptr.begin());
  const auto table_size = static_cast<std::size_t>(table.row_ptr.back());
  std::vector<std::int64_t> fill(table.row_ptr.begin(), table.row_ptr.end() - 1);
  table.target.resize(table_size);
  table.delay.resize(table_size);
  table.weight.resize(table_size);
  if (plastic_rules > 0) {
    table.rule.resize(table_size);
    table.position.resize(net.projections.size());
    table.instance_start.resize(net.projections.size());
  }
  std::vector<std::size_t> plastic_projection;  // rule -> projection index
  for (std::size_t pi = 0; pi < net.projections.size(); ++pi)
    if (net.projections[pi].plastic) plastic_projection.push_back(pi);
  for (auto& job : jobs) {
    const projection& pr = net.projections[job.projection];
    std::vector<std::int64_t>* position = job.rule >= 0 ? &table.position[job.projection] : nullptr;
    if (!job.twice()) {
      for (const auto& s : job.raw) {
        const auto at = static_cast<std::size_t>(fill[static_cast<std::size_t>(s.pre)]++);
        table.target[at] = s.target;
        table.delay[at] = s.delay;
        table.weight[at] = s.weight;
        table.max_delay = std::max<int>(table.max_delay, s.delay);
        if (plastic_rules > 0) table.rule[at] = s.rule;
        if (position) position->push_back(static_cast<std::int64_t>(at));
      }
      std::vector<raw_synapse>().swap(job.raw);
      continue;
    }
    // Each chunk's counts become the places of its next synapse in every row.
    const std::int64_t chunks = job.chunks(), n_pre = job.n_pre;
    for (std::int64_t i = 0; i < n_pre; ++i) {
      std::int64_t& next = fill[static_cast<std::size_t>(job.pre_base + i)];
      for (std::int64_t c = 0; c < chunks; ++c) {
        std::int64_t& count = job.row_counts[static_cast<std::size_t>(c * n_pre + i)];
        const std::int64_t here = count;
        count = next;
        next += here;
      }
    }
    const std::size_t position_base = position ? position->size() : 0;
    if (position) position->resize(position_base + static_cast<std::size_t>(job.synapses));
    std::vector<int> chunk_max_delay(static_cast<std::size_t>(chunks), 1);
    const auto ui = static_cast<std::uint32_t>(job.projection);
    const int a = net.find_population(pr.pre), b = net.find_population(pr.post);
    const int rec = pr.target == receptor::inhibitory ? 1 : 0;
    for_each_chunk(chunks, drawing.host_threads, progress, [&](std::int64_t c) {
      std::int64_t* place = job.row_counts.data() + c * n_pre;
      auto k = static_cast<std::uint64_t>(job.chunk_first[static_cast<std::size_t>(c)]);
      int max_delay = 1;
      expand_units(pr.conn, n_pre, job.n_post, a == b, job.seed, stream_id(stream::connect, ui),
                   job.unit_first[static_cast<std::size_t>(c)], job.unit_first[static_cast<std::size_t>(c) + 1],
                   [&](std::int64_t i, std::int64_t j) {
                     const double w = draw(pr.weight, job.seed, stream_id(stream::weight, ui), static_cast<std::uint32_t>(k), k >> 32);
                     const double d = pr.has_delay
                                          ? draw(pr.delay, job.seed, stream_id(stream::delay, ui), static_cast<std::uint32_t>(k), k >> 32)
                                          : default_delay;
                     const std::uint16_t steps = delay_steps(d, net.dt, job.field);
                     const auto at = static_cast<std::size_t>(place[i]++);
                     table.target[at] = static_cast<index_t>((job.post_base + j) * 2 + rec);
                     table.delay[at] = steps;
                     table.weight[at] = static_cast<float>(w);
                     max_delay = std::max<int>(max_delay, steps);
                     if (plastic_rules > 0) table.rule[at] = job.rule;
                     if (position) (*position)[position_base + k] = static_cast<std::int64_t>(at);
                     ++k;
                   });
      chunk_max_delay[static_cast<std::size_t>(c)] = max_delay;
      progress.placed(static_cast<std::int64_t>(k) - job.chunk_first[static_cast<std::size_t>(c)]);
    });
    for (int d : chunk_max_delay) table.max_delay = std::max(table.max_delay, d);
    std::vector<std::int64_t>().swap(job.row_counts);
  }
  // Delayed plastic synapses: grouped by pre neuron, each group sorted by delay (stable: then
  // generation order), positions recorded in generation order.
  if (!raw_delayed.empty()) {
    delayed_plastic_table& d = table.delayed;
    std::vector<std::size_t> order(raw_delayed.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return std::tie(raw_delayed[a].pre, raw_delayed[a].delay) < std::tie(raw_delayed[b].pre, raw_delayed[b].delay);
    });
    d.row_ptr.assign(n_total + 1, 0);
    d.run_ptr.assign(n_total + 1, 0);
    for (const auto& s : raw_delayed) ++d.row_ptr[static_cast<std::size_t>(s.pre) + 1];
    std::partial_sum(d.row_ptr.begin(), d.row_ptr.end(), d.row_ptr.begin());
    std::vector<std::int64_t> at_of(raw_delayed.size());
    for (std::size_t k = 0; k < order.size(); ++k) {
      const raw_synapse& s = raw_delayed[order[k]];
      at_of[order[k]] = static_cast<std::int64_t>(k);
      d.target.push_back(s.target);
      d.delay.push_back(s.delay);
      d.weight.push_back(s.weight);
      d.rule.push_back(s.rule);
      d.max_delay = std::max<int>(d.max_delay, s.delay);
      table.max_delay = std::max<int>(table.max_delay, s.delay);
      if (k == 0 || raw_delayed[order[k - 1]].pre != s.pre || raw_delayed[order[k - 1]].delay != s.delay) {
        d.run_delay.push_back(s.delay);
        d.run_first.push_back(static_cast<std::int64_t>(k));
        ++d.run_ptr[static_cast<std::size_t>(s.pre) + 1];
      }
    }
    std::partial_sum(d.run_ptr.begin(), d.run_ptr.end(), d.run_ptr.begin());
    if (table.position.empty()) {
      table.position.resize(net.projections.size());
      table.instance_start.resize(net.projections.size());
    }
    for (std::size_t k = 0; k < raw_delayed.size(); ++k)
      table.position[plastic_projection[static_cast<std::size_t>(raw_delayed[k].rule)]].push_back(at_of[k]);
  }
  // Where each instance's synapses start among a plastic projection's: the table's were
  // drawn instance after instance by the jobs, the delayed ones are counted from their pre
  // neurons' ids.
  for (std::size_t pi : plastic_projection) {
    std::vector<std::int64_t>& start = table.instance_start[pi];
    start.assign(static_cast<std::size_t>(instances) + 1, 0);
    if (has_per_synapse_traces(net.projections[pi], net.dt)) {
      const projection& pr = net.projections[pi];
      const auto a = static_cast<std::size_t>(net.find_population(pr.pre));
      const std::int64_t size = std::max<std::int64_t>(net.populations[a].size, 1);
      for (const auto& s : raw_delayed)
        if (plastic_projection[static_cast<std::size_t>(s.rule)] == pi)
          ++start[static_cast<std::size_t>((s.pre - offsets[a]) / size) + 1];
    } else {
      std::size_t inst = 0;
      for (const auto& job : jobs)
        if (job.projection == pi) start[++inst] = job.synapses;
    }
    for (std::size_t k = 0; k < static_cast<std::size_t>(instances); ++k) start[k + 1] += start[k];
  }
  check_fan_in(table, net, offsets, instances);
  if (target_parts > 1 || rows_by_delay)
    sort_rows_by_target(table, net, plastic_projection, target_interleave::of(2 * std::int64_t{offsets.back()}, target_parts),
                        rows_by_delay);
  progress.finish();
  return table;
}

target_interleave target_interleave::of(std::int64_t cells, std::int64_t parts) {
  target_interleave il;
  il.parts = std::max<std::int64_t>(1, parts);
  // Blocks of 2048 cells (16 KiB of sums, four pages): smaller ones let a core's prefetcher
  // run into the next block, the other thread's, and the two cores pass its lines back and
  // forth (blocks of 128 cells made Brunel's network a third slower than halves; 2048 made it
  // a quarter faster, and the microcircuit 30 %). A small network takes smaller blocks, at
  // least eight per part, so that its parts still interleave.
  il.block = std::clamp<std::int64_t>((cells + 8 * il.parts - 1) / (8 * il.parts), 64, 2048);
  // Ranks reach about cells + parts * block; where that would pass 2^31 (a billion neurons),
  // each part takes one contiguous range instead (then rank(cell) == cell).
  if (cells + il.parts * il.block >= (std::int64_t{1} << 31)) il.block = std::max<std::int64_t>(1, (cells + il.parts - 1) / il.parts);
  il.rounds = std::max<std::int64_t>(1, (cells + il.block * il.parts - 1) / (il.block * il.parts));
  return il;
}

std::vector<std::uint32_t> row_part_splits(const synapse_table& t, const target_interleave& il) {
  const auto rows = static_cast<std::int64_t>(t.row_ptr.size()) - 1;
  const std::int64_t inner = il.parts - 1;
  std::vector<std::uint32_t> split(static_cast<std::size_t>(std::max<std::int64_t>(rows, 0) * inner));
  for (std::int64_t i = 0; i < rows; ++i) {
    const std::int64_t a = t.row_ptr[static_cast<std::size_t>(i)], b = t.row_ptr[static_cast<std::size_t>(i) + 1];
    if (b - a >= (std::int64_t{1} << 32)) throw error("a neuron has 2^32 synapses or more");
    const auto row = t.target.begin() + static_cast<std::ptrdiff_t>(a), end = t.target.begin() + static_cast<std::ptrdiff_t>(b);
    for (std::int64_t p = 1; p <= inner; ++p) {  // the row is in rank order: a binary search
      const auto at = std::partition_point(row, end, [&](index_t cell) { return il.rank(cell) < il.first(p); });
      split[static_cast<std::size_t>(i * inner + p - 1)] = static_cast<std::uint32_t>(at - row);
    }
  }
  return split;
}

}  // namespace kspike
