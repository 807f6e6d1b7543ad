#pragma once
// Building an engine: the populations' state, the synapse table and the projections of their
// own kinds on the device, current sources, state recorders and the plastic projections' rules
// and indexes. Member functions of engine_impl, declared in sim/engine_impl.hpp and defined
// here; that file includes this one at its end.
#include "sim/engine_impl.hpp"

namespace kspike {

template <class Exec>
inline void engine_impl<Exec>::build_populations() {
  const auto n = static_cast<std::size_t>(n_);
  std::vector<real_t> own;  // every population's own state variables, array after array
  std::vector<std::uint64_t> thr(n, 0);
  std::vector<double> inv_log_q;  // sources drawn by gaps (empty without)
  std::vector<std::uint64_t> bg_tables;  // background input: every population's inversion table
  for (std::size_t pi = 0; pi < net.populations.size(); ++pi) {
    const population& p = net.populations[pi];
    detail::population_info info;
    info.begin = offsets_[pi];
    info.end = offsets_[pi + 1];
    info.size = static_cast<index_t>(p.size);
    const auto size = static_cast<std::size_t>(info.end - info.begin);  // all instances
    const std::string field = where(net.source, "populations." + p.name);
    try {
      const bool is_neuron = visit_neuron_model(p.model, [&](auto tag, const auto& prm) {
        using M = typename decltype(tag)::type;
        info.coeffs = M::make(prm, net.dt);
        info.variables = neurons::variable_names<M>();
        info.state_offset = own.size();
        own.resize(own.size() + info.variables.size() * size);
        // Every neuron starts at the model's rest, with v drawn from v_init when given.
        typename M::state rest = M::initial(prm);
        for (std::size_t i = 0; i < size; ++i) {
          typename M::state s = rest;
          // Instance k draws with seed + k, as a single run with that seed would.
          const std::uint64_t instance = i / static_cast<std::size_t>(p.size), local = i % static_cast<std::size_t>(p.size);
          if (p.has_v_init)
            s.v = static_cast<real_t>(draw(p.v_init, net.seed + instance,
                                           stream_id(stream::initial_state, static_cast<std::uint32_t>(pi)),
                                           static_cast<std::uint32_t>(local), 0));
          std::size_t at = info.state_offset + i;
          M::variables([&](const char*, real_t M::state::*m, const char*, const char*) {
            own[at] = s.*m;
            at += size;
          });
        }
      });
      if (is_neuron) {
        const auto& bg = p.background;
        const double lambda = static_cast<double>(bg.inputs) * bg.rate * net.dt;  // per neuron and step
        if (bg.inputs > 0 && lambda > 0 && bg.weight != 0) {
          info.bg_chunks = static_cast<int>(std::ceil(lambda / 8));
          info.bg_table = bg_tables.size();
          append_poisson_table(lambda / info.bg_chunks, bg_tables);
          info.bg_terms = static_cast<int>(bg_tables.size() - info.bg_table) - 1;
          info.bg_weight = static_cast<real_t>(bg.weight);
          info.bg_receptor = bg.target == receptor::inhibitory ? 1 : 0;
        }
      } else if (const auto* src = std::get_if<poisson_source>(&p.model)) {
        info.type = detail::population_info::kind::poisson;
        info.gaps = src->draw == poisson_source::sampling::gaps;
        if (info.gaps && inv_log_q.empty()) inv_log_q.assign(n, 0.0);
        for (index_t i = info.begin; i < info.end; ++i) {
          const double r = src->rates.size() == 1 ? src->rates[0] : src->rates.at((i - info.begin) % info.size);
          thr[i] = threshold_of(r * net.dt);
          if (info.gaps) inv_log_q[static_cast<std::size_t>(i)] = inv_log_q_of(r * net.dt);
        }
      } else {
        const auto& arr = std::get<spike_source_array>(p.model);
        info.type = detail::population_info::kind::spike_array;
        info.array_first = info.array_cursor = array_events_.size();
        for (int inst = 0; inst < instances_; ++inst)  // every instance replays the same spikes
          for (std::size_t k = 0; k < arr.times.size(); ++k)
            for (double t : arr.times[k]) {
              array_events_.emplace_back(array_spike_step(t, net.dt), info.begin + inst * info.size + static_cast<index_t>(k));
            }
        // Each population's spikes in step order (stable: by neuron within a step), in a
        // range of their own, so that they fill this population's segment of the spike list.
        std::stable_sort(array_events_.begin() + static_cast<std::ptrdiff_t>(info.array_first), array_events_.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
        // A neuron fires at most once a step: its second spike in a step (adjacent to the
        // first after the stable sort) is dropped, or the step's spike list would hold it
        // twice, past the list's size when many are.
        array_events_.erase(std::unique(array_events_.begin() + static_cast<std::ptrdiff_t>(info.array_first),
                                        array_events_.end()),
                            array_events_.end());
        info.array_end = array_events_.size();
      }
    } catch (const error& e) {
      throw error(field + "." + e.what());
    }
    pops_.push_back(info);
  }
  model_state_ = to_device("model_state", own);
  syn_e_ = alloc<real_t>("syn_e", n);
  syn_i_ = alloc<real_t>("syn_i", n);
  i_ext_ = alloc<real_t>("i_ext", n);
  since_ = to_device("since", std::vector<std::int32_t>(n, neurons::since_never));
  poisson_threshold_ = to_device("poisson_threshold", thr);
  bg_tables_ = to_device("background_tables", bg_tables);
  if (!inv_log_q.empty()) {
    inv_log_q_ = to_device("poisson_inv_log_q", inv_log_q);
    next_spike_ = alloc<std::int64_t>("poisson_next_spike", n);
    draws_ = alloc<std::uint64_t>("poisson_draws", n);
    for (const auto& info : pops_)
      if (info.gaps) redraw_gaps(info);
  }
  spikes_ = alloc<index_t>("spikes", n);
  spike_count_ = alloc<int>("spike_count", 1);
  std::vector<index_t> ids;
  for (const auto& e : array_events_) ids.push_back(e.second);
  array_ids_ = to_device("array_ids", ids);
}

template <class Exec>
inline void engine_impl<Exec>::build_synapses_on_device() {
  if constexpr (host_memory && !detail::is_serial<Exec>()) {
    // One part per thread (at most 64: each row keeps a split offset per part).
    target_ranges_ = std::min(64, std::max(1, static_cast<int>(Exec().concurrency())));
    split_by_target_ = target_ranges_ > 1;
  }
  table_drawing drawing;
  drawing.progress = build_progress_;
  drawing.host_threads = !detail::is_serial<Exec>();
  synapse_table t = build_synapses(net, offsets_, structured_, instances_, target_ranges_, drawing,
                                   table_walk_at_arrival);
  if (split_by_target_)
    row_split_ = to_device("row_split", row_part_splits(t, target_interleave::of(2 * std::int64_t{offsets_.back()}, target_ranges_)));
  synapses = t.size() + t.delayed.size();
  for (const auto& sp : t.structured) {
    kind_projection k;
    k.kind = sp.kind;
    k.receptor = sp.receptor;
    k.pre_population = sp.pre_population;
    k.pre_begin = sp.pre_begin;
    k.n_pre = sp.n_pre;
    k.post_begin = sp.post_begin;
    k.n_post = sp.n_post;
    k.skip_self = sp.skip_self;
    k.cells = sp.cells;
    k.synapses = sp.synapses;
    const auto& pc = sp.procedural;
    k.geometry = {pc.in_c, pc.in_h, pc.in_w, pc.pool, pc.out_c, pc.out_h, pc.out_w, pc.kernel, pc.stride, pc.padding};
    k.weight = to_device("kind_weight", sp.weight);
    k.delay = to_device("kind_delay", sp.delay);
    kinds_.push_back(k);
    synapses += sp.synapses;
  }
  row_ptr_ = to_device("row_ptr", t.row_ptr);
  row_ptr_host_ = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), row_ptr_);
  build_plasticity(t);  // before the table's columns move: it reads the targets
  target_ = keep_on_device("target", t.target, table_storage_.target);
  delay_ = keep_on_device("delay", t.delay, table_storage_.delay);
  weight_ = keep_on_device("weight", t.weight, table_storage_.weight);
  // The walk at arrival keeps the table's events out of the ring: it needs only the slots of
  // the projections of their own kinds (at least one).
  slots_ = t.max_delay;
  if (table_walk_at_arrival) {
    slots_ = 1;
    for (const auto& sp : t.structured)
      for (std::uint16_t d : sp.delay) slots_ = std::max<int>(slots_, d);
    const std::int64_t parts = target_ranges_;
    flight_count_ = alloc<std::int64_t>("flight_count", static_cast<std::size_t>(parts));
    arrivals_ = alloc<fixed_t>("arrivals", 2 * static_cast<std::size_t>(n_));
    const target_interleave il = target_interleave::of(2 * std::int64_t{n_}, parts);
    arrival_part_capacity_ = il.rounds * il.block;  // the most cells a part owns
    arrival_list_ = alloc<index_t>("arrival_list", static_cast<std::size_t>(parts * arrival_part_capacity_));
    arrival_listed_ = alloc<int>("arrival_listed", static_cast<std::size_t>(parts * listed_stride));
  }
  // Fixed-point scale: a power of two (exact in float), so that the largest weight is
  // 2^40. Sums of up to 2^22 such events per slot fit in 63 bits; the absolute
  // resolution is max|w| 2^-40.
  const double wmax = t.max_abs_weight > 0 ? t.max_abs_weight : 1.0;
  max_weight_ = wmax;
  scale_ = std::ldexp(1.0, 40 - std::ilogb(wmax) - 1);
  inv_scale_ = 1.0 / scale_;
  const auto cells = static_cast<std::size_t>(slots_) * 2 * static_cast<std::size_t>(n_);
  ring_ = alloc<fixed_t>("ring", cells);
  dirty_capacity_ = 2 * n_;
  dirty_ = alloc<index_t>("dirty", cells);
  dirty_count_ = alloc<int>("dirty_count", static_cast<std::size_t>(slots_));
  dirty_count_host_ = Kokkos::create_mirror_view(dirty_count_);
  slot_dense_.assign(static_cast<std::size_t>(slots_), 0);
}

template <class Exec>
inline void engine_impl<Exec>::build_inputs() {
  for (std::size_t ci = 0; ci < net.currents.size(); ++ci) {
    const current_source& c = net.currents[ci];
    const auto pi = population_index(c.population);
    std::vector<index_t> ids;  // in every instance
    if (c.neurons.empty())
      for (index_t i = offsets_[pi]; i < offsets_[pi + 1]; ++i) ids.push_back(i);
    else
      for (int inst = 0; inst < instances_; ++inst)
        for (auto k : c.neurons) ids.push_back(offsets_[pi] + inst * pops_[pi].size + static_cast<index_t>(k));
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());  // one neuron, one update
    current_ids_.push_back(to_device("current_ids", ids));
    pops_[pi].has_current = true;
    double previous = 0;
    for (std::size_t k = 0; k < c.times.size(); ++k) {
      current_events_.push_back({std::llround(c.times[k] / net.dt), ci, c.amplitudes[k] - previous});
      previous = c.amplitudes[k];
    }
  }
  std::stable_sort(current_events_.begin(), current_events_.end(),
                   [](const auto& a, const auto& b) { return a.step < b.step; });
}

template <class Exec>
inline void engine_impl<Exec>::build_recorders() {
  for (const auto& r : net.state_recorders) {
    const auto pi = population_index(r.population);
    std::vector<index_t> ids;  // within the population: instance after instance
    if (r.neurons.empty())
      for (index_t i = 0; i < offsets_[pi + 1] - offsets_[pi]; ++i) ids.push_back(i);
    else
      for (int inst = 0; inst < instances_; ++inst)
        for (auto k : r.neurons) ids.push_back(inst * pops_[pi].size + static_cast<index_t>(k));
    state_probe probe;
    probe.ids = to_device("probe_ids", ids);
    probe.values = alloc<real_t>("probe_values", ids.size());
    probe.host = Kokkos::create_mirror_view(probe.values);
    probe.every = std::max<step_t>(1, std::llround(r.interval / net.dt));
    probe.source = variable_data(pi, r.variable);
    probes_.push_back(probe);
  }
}

template <class Exec>
inline void engine_impl<Exec>::build_plasticity(synapse_table& t) {
  bool any = false;
  for (const auto& pr : net.projections) any = any || pr.plastic;
  if (!any) return;
  std::vector<real_t> pre_tables;  // decay_pre^k of every per-synapse rule
  plastic_position_ = std::move(t.position);
  plastic_instance_start_ = std::move(t.instance_start);
  for (std::size_t pi = 0; pi < net.projections.size(); ++pi) {
    const projection& pr = net.projections[pi];
    if (!pr.plastic) continue;
    const stdp_rule& r = pr.stdp;
    const auto a = population_index(pr.pre), b = population_index(pr.post);
    detail::plastic_rule k;
    k.pre_begin = offsets_[a];
    k.pre_end = offsets_[a + 1];
    k.post_begin = offsets_[b];
    k.post_end = offsets_[b + 1];
    k.decay_pre = static_cast<real_t>(std::exp(-net.dt / r.tau_pre));
    k.decay_post = static_cast<real_t>(std::exp(-net.dt / r.tau_post));
    k.a_pre = static_cast<real_t>(r.a_pre);
    k.a_post = static_cast<real_t>(r.a_post);
    k.w_min = static_cast<real_t>(r.w_min);
    k.w_max = static_cast<real_t>(r.w_max);
    k.inv_range = r.w_max > r.w_min ? static_cast<real_t>(1.0 / (r.w_max - r.w_min)) : real_t(0);
    k.nearest = r.pairs == stdp_rule::pairing::nearest;
    k.multiplicative = r.rule == stdp_rule::update::multiplicative;
    k.learning = r.learning;
    k.triplet = r.tau_post2 > 0;
    k.decay_post2 = k.triplet ? static_cast<real_t>(std::exp(-net.dt / r.tau_post2)) : real_t(0);
    any_triplet_ = any_triplet_ || k.triplet;
    k.per_synapse = has_per_synapse_traces(pr, net.dt);
    if (k.per_synapse) {
      // decay^k in double, rounded once: the same on every backend; ends below 1e-30.
      k.pre_table = static_cast<std::int64_t>(pre_tables.size());
      for (std::int64_t s = 0;; ++s) {
        const double x = std::exp(-static_cast<double>(s) * net.dt / r.tau_pre);
        if (x < 1e-30 || s > (std::int64_t{1} << 24)) break;
        pre_tables.push_back(static_cast<real_t>(x));
      }
      k.pre_table_len = static_cast<std::int64_t>(pre_tables.size()) - k.pre_table;
    }
    rules_.push_back(k);
    rule_projection_.push_back(pi);
  }
  rules_dev_ = to_device("stdp_rules", rules_);
  syn_rule_ = to_device("syn_rule", t.rule);
  x_pre_ = alloc<real_t>("x_pre", rules_.size() * static_cast<std::size_t>(n_));
  x_post_ = alloc<real_t>("x_post", rules_.size() * static_cast<std::size_t>(n_));
  if (any_triplet_) x_post2_ = alloc<real_t>("x_post2", rules_.size() * static_cast<std::size_t>(n_));
  // The plastic synapses by post neuron, each with its pre neuron, for the updates at post spikes.
  const auto& rule = t.rule;
  std::vector<std::int64_t> col_ptr(static_cast<std::size_t>(n_) + 1, 0);
  for (std::size_t j = 0; j < rule.size(); ++j)
    if (rule[j] >= 0) ++col_ptr[static_cast<std::size_t>(t.target[j] >> 1) + 1];
  for (std::size_t i = 0; i < static_cast<std::size_t>(n_); ++i) col_ptr[i + 1] += col_ptr[i];
  std::vector<std::int64_t> fill(col_ptr.begin(), col_ptr.end() - 1), col_syn(static_cast<std::size_t>(col_ptr.back()));
  std::vector<index_t> col_pre(col_syn.size());
  for (index_t i = 0; i < n_; ++i)
    for (std::int64_t j = t.row_ptr[static_cast<std::size_t>(i)]; j < t.row_ptr[static_cast<std::size_t>(i) + 1]; ++j)
      if (rule[static_cast<std::size_t>(j)] >= 0) {
        const auto at = static_cast<std::size_t>(fill[static_cast<std::size_t>(t.target[static_cast<std::size_t>(j)] >> 1)]++);
        col_syn[at] = j;
        col_pre[at] = i;
      }
  col_ptr_ = to_device("col_ptr", col_ptr);
  col_syn_ = to_device("col_syn", col_syn);
  col_pre_ = to_device("col_pre", col_pre);
  build_delayed_plasticity(t.delayed, pre_tables);
}

template <class Exec>
inline void engine_impl<Exec>::build_delayed_plasticity(const delayed_plastic_table& d, const std::vector<real_t>& pre_tables) {
  if (d.size() == 0) return;
  pre_table_ = to_device("stdp_pre_decay", pre_tables);
  d_row_ptr_ = to_device("delayed_row_ptr", d.row_ptr);
  d_target_ = to_device("delayed_target", d.target);
  d_weight_ = to_device("delayed_weight", d.weight);
  d_rule_ = to_device("delayed_rule", d.rule);
  d_run_ptr_ = to_device("delayed_run_ptr", d.run_ptr);
  d_run_delay_ = to_device("delayed_run_delay", d.run_delay);
  d_run_first_ = to_device("delayed_run_first", d.run_first);
  d_trace_ = alloc<real_t>("delayed_trace", d.target.size());
  d_last_ = to_device("delayed_last", std::vector<std::int64_t>(d.target.size(), detail::no_arrival));
  std::vector<std::int64_t> col_ptr(static_cast<std::size_t>(n_) + 1, 0);
  for (index_t c : d.target) ++col_ptr[static_cast<std::size_t>(c >> 1) + 1];
  for (std::size_t i = 0; i < static_cast<std::size_t>(n_); ++i) col_ptr[i + 1] += col_ptr[i];
  std::vector<std::int64_t> fill(col_ptr.begin(), col_ptr.end() - 1), col_syn(d.target.size());
  for (std::size_t j = 0; j < d.target.size(); ++j) col_syn[static_cast<std::size_t>(fill[static_cast<std::size_t>(d.target[j] >> 1)]++)] = static_cast<std::int64_t>(j);
  d_col_ptr_ = to_device("delayed_col_ptr", col_ptr);
  d_col_syn_ = to_device("delayed_col_syn", col_syn);
  // The populations whose spikes arrive later at delayed plastic synapses, and room for a
  // step's spikes of all of them in each of max-delay history slots.
  std::vector<char> is_pre(pops_.size(), 0);
  for (std::size_t r = 0; r < rules_.size(); ++r)
    if (rules_[r].per_synapse) is_pre[population_index(net.projections[rule_projection_[r]].pre)] = 1;
  std::int64_t capacity = 0;
  for (std::size_t p = 0; p < pops_.size(); ++p)
    if (is_pre[p]) {
      delayed_pre_populations_.push_back(p);
      capacity += pops_[p].end - pops_[p].begin;
    }
  history_slots_ = d.max_delay;
  history_capacity_ = capacity;
  history_ = alloc<index_t>("spike_history", static_cast<std::size_t>(history_slots_ * capacity));
  history_count_.assign(static_cast<std::size_t>(history_slots_), 0);
  history_prefix_ = alloc<std::int64_t>("spike_history_prefix", static_cast<std::size_t>(history_slots_) + 1);
  history_prefix_host_ = Kokkos::create_mirror_view(history_prefix_);
  history_offset_ = alloc<std::int32_t>("spike_history_offset", static_cast<std::size_t>(history_slots_ * capacity));
  // Each row's run of each delay found by one load, not a search, where the table of
  // (neuron, delay) -> run is no larger than the synapses' targets (dense delays, as the
  // place-recognition input's); else a binary search over the row's runs.
  const auto cells = static_cast<std::size_t>(n_) * static_cast<std::size_t>(d.max_delay);
  if (cells <= d.target.size() + (std::size_t{1} << 16) && d.run_delay.size() < (std::size_t{1} << 31)) {
    std::vector<std::int32_t> at(cells, -1);
    for (std::size_t i = 0; i < static_cast<std::size_t>(n_); ++i)
      for (std::int64_t r = d.run_ptr[i]; r < d.run_ptr[i + 1]; ++r)
        at[i * static_cast<std::size_t>(d.max_delay) + d.run_delay[static_cast<std::size_t>(r)] - 1u] = static_cast<std::int32_t>(r);
    d_run_at_ = to_device("delayed_run_at", at);
  }
}

}  // namespace kspike
