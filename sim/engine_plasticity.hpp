#pragma once
// STDP on the step schedule: trace decay, the weight updates at pre and post spikes, the
// delayed plastic synapses' arrivals, and reading and setting weights and traces. Member
// functions of engine_impl, declared in sim/engine_impl.hpp and defined here; that file
// includes this one at its end.
#include "sim/engine_impl.hpp"

namespace kspike {

template <class Exec>
template <class Add>
inline std::int64_t engine_impl<Exec>::arrive(const Add& add) {
  const std::int64_t H = history_slots_;
  const auto slot = static_cast<std::size_t>(step % H);
  // This step's spikes of the pre populations into their slot.
  int kept = 0;
  for (std::size_t p : delayed_pre_populations_) {
    const int b = pop_spike_begin_[p], n = pop_spike_end_[p] - b;
    if (n == 0) continue;
    const index_t* from = spikes_.data() + b;
    index_t* to = history_.data() + slot * static_cast<std::size_t>(history_capacity_) + static_cast<std::size_t>(kept);
    detail::launch(exec_, detail::label::spike_history, n, KOKKOS_LAMBDA(int k) { to[k] = from[k]; });
    kept += n;
  }
  history_count_[slot] = kept;
  // Every kept spike of the last H steps, as one flat range: offset o (o = 0: this step) holds
  // the spikes of step - o, which reach their synapses of delay o + 1 now.
  std::int64_t total = 0;
  for (std::int64_t o = 0; o < H; ++o) {
    history_prefix_host_(static_cast<std::size_t>(o)) = total;
    if (o <= step) total += history_count_[static_cast<std::size_t>((step - o) % H)];
  }
  history_prefix_host_(static_cast<std::size_t>(H)) = total;
  if (total == 0) return 0;
  Kokkos::deep_copy(history_prefix_, history_prefix_host_);
  const std::int64_t* prefix = history_prefix_.data();
  // The offset of every kept spike, written per offset, so that the delivery below finds its
  // spike's offset by one load.
  std::int32_t* offset_of = history_offset_.data();
  detail::launch(exec_, detail::label::spike_history, H, KOKKOS_LAMBDA(std::int64_t o) {
    for (std::int64_t k = prefix[o]; k < prefix[o + 1]; ++k) offset_of[k] = static_cast<std::int32_t>(o);
  });
  detail::wait(exec_);
  const std::int32_t* run_at = d_run_at_.data();
  const bool direct = d_run_at_.extent(0) > 0;
  const index_t* history = history_.data();
  const std::int64_t cap = history_capacity_, s = step;
  const std::int64_t *row = d_row_ptr_.data(), *run_ptr = d_run_ptr_.data(), *run_first = d_run_first_.data();
  const std::uint16_t* run_delay = d_run_delay_.data();
  const index_t* target = d_target_.data();
  float* weight = d_weight_.data();
  const std::int16_t* syn_rule = d_rule_.data();
  real_t* trace = d_trace_.data();
  std::int64_t* last = d_last_.data();
  const real_t* table = pre_table_.data();
  const real_t* xpost = x_post_.data();
  const detail::plastic_rule* rules = rules_dev_.data();
  const std::size_t n = static_cast<std::size_t>(n_);
  view<std::int64_t> reached = alloc_events_();
  std::int64_t* events = reached.data();
  detail::launch(exec_, detail::label::arrive, total, KOKKOS_LAMBDA(std::int64_t k) {
    const std::int64_t o = offset_of[k];  // prefix[o] <= k < prefix[o + 1]
    const index_t i = history[((s - o) % H) * cap + (k - prefix[o])];
    std::int64_t a;  // the run of delay o + 1, if the row has one
    if (direct) {
      a = run_at[static_cast<std::size_t>(i) * static_cast<std::size_t>(H) + static_cast<std::size_t>(o)];
      if (a < 0) return;
    } else {
      const auto d = static_cast<std::uint16_t>(o + 1);
      std::int64_t b = run_ptr[i + 1];
      a = run_ptr[i];
      while (a < b) {
        const std::int64_t mid = (a + b) / 2;
        if (run_delay[mid] < d) a = mid + 1; else b = mid;
      }
      if (a == run_ptr[i + 1] || run_delay[a] != d) return;
    }
    const std::int64_t first = run_first[a], end = a + 1 < run_ptr[i + 1] ? run_first[a + 1] : row[i + 1];
    for (std::int64_t j = first; j < end; ++j) {
      const detail::plastic_rule& r = rules[syn_rule[j]];
      add(1, target[j], weight[j]);
      if (r.learning)
        weight[j] = detail::stdp_step(r, weight[j], xpost[static_cast<std::size_t>(syn_rule[j]) * n + static_cast<std::size_t>(target[j] >> 1)]);
      const real_t x = detail::trace_at(r, table, trace[j], last[j], s);
      trace[j] = r.nearest ? r.a_pre : x + r.a_pre;
      last[j] = s;
    }
    detail::fetch_add<Exec>(events, end - first);
  });
  return read_events_();
}

template <class Exec>
inline std::int64_t engine_impl<Exec>::read_events_() {
  std::int64_t count = 0;
  if constexpr (host_memory) {
    detail::wait(exec_);
    count = arrive_events_.data()[0];
  } else {
    Kokkos::deep_copy(Kokkos::View<std::int64_t, Kokkos::HostSpace>(&count), Kokkos::subview(arrive_events_, 0));
  }
  return count;
}

template <class Exec>
inline auto engine_impl<Exec>::alloc_events_() -> view<std::int64_t> {
  if (arrive_events_.extent(0) == 0) arrive_events_ = alloc<std::int64_t>("arrive_events", 1);
  if constexpr (host_memory) {
    arrive_events_.data()[0] = 0;
  } else {
    Kokkos::deep_copy(arrive_events_, 0);
  }
  return arrive_events_;
}

template <class Exec>
inline void engine_impl<Exec>::learn_delayed_post(int n_spikes) {
  const index_t* spikes = spikes_.data();
  const std::int64_t *col_ptr = d_col_ptr_.data(), *col_syn = d_col_syn_.data();
  float* weight = d_weight_.data();
  const std::int16_t* syn_rule = d_rule_.data();
  const real_t* trace = d_trace_.data();
  const std::int64_t* last = d_last_.data();
  const real_t* table = pre_table_.data();
  const detail::plastic_rule* rules = rules_dev_.data();
  const real_t* xpost2 = x_post2_.data();
  const std::size_t n = static_cast<std::size_t>(n_);
  const std::int64_t s = step;
  detail::launch(exec_, detail::label::learn_post, n_spikes, KOKKOS_LAMBDA(int q) {
    const index_t k = spikes[q];
    for (std::int64_t c = col_ptr[k]; c < col_ptr[k + 1]; ++c) {
      const std::int64_t j = col_syn[c];
      const detail::plastic_rule& r = rules[syn_rule[j]];
      if (!r.learning) continue;
      real_t x = detail::trace_at(r, table, trace[j], last[j], s);
      if (r.triplet) x *= xpost2[static_cast<std::size_t>(syn_rule[j]) * n + static_cast<std::size_t>(k)];
      weight[j] = detail::stdp_step(r, weight[j], x);
    }
  });
}

template <class Exec>
inline void engine_impl<Exec>::decay_traces() {
  real_t* xpre = x_pre_.data();
  real_t* xpost = x_post_.data();
  for (std::size_t r = 0; r < rules_.size(); ++r) {
    const detail::plastic_rule k = rules_[r];
    const std::size_t base = r * static_cast<std::size_t>(n_);
    real_t* a = xpre + base;
    real_t* b = xpost + base;
    detail::launch(exec_, detail::label::trace_decay, k.pre_end - k.pre_begin,
        KOKKOS_LAMBDA(std::int64_t i) { a[k.pre_begin + i] *= k.decay_pre; });
    detail::launch(exec_, detail::label::trace_decay, k.post_end - k.post_begin,
        KOKKOS_LAMBDA(std::int64_t i) { b[k.post_begin + i] *= k.decay_post; });
    if (k.triplet) {
      real_t* c = x_post2_.data() + base;
      detail::launch(exec_, detail::label::trace_decay, k.post_end - k.post_begin,
          KOKKOS_LAMBDA(std::int64_t i) { c[k.post_begin + i] *= k.decay_post2; });
    }
  }
}

template <class Exec>
inline void engine_impl<Exec>::learn(int n_spikes) {
  const index_t* spikes = spikes_.data();
  const std::int64_t* row = row_ptr_.data();
  const index_t* target = target_.data();
  float* weight = weight_.data();
  const std::int16_t* syn_rule = syn_rule_.data();
  const detail::plastic_rule* rules = rules_dev_.data();
  const int n_rules = static_cast<int>(rules_.size());
  const std::size_t n = static_cast<std::size_t>(n_);
  real_t* xpre = x_pre_.data();
  real_t* xpost = x_post_.data();
  const std::int64_t* col_ptr = col_ptr_.data();
  const std::int64_t* col_syn = col_syn_.data();
  const index_t* col_pre = col_pre_.data();
  const real_t* xpost2 = x_post2_.data();
  detail::launch(exec_, detail::label::learn_pre, n_spikes, KOKKOS_LAMBDA(int s) {
    const index_t i = spikes[s];
    for (int r = 0; r < n_rules; ++r)
      if (i >= rules[r].pre_begin && i < rules[r].pre_end)
        detail::take_spike(xpre[static_cast<std::size_t>(r) * n + static_cast<std::size_t>(i)], rules[r].nearest, rules[r].a_pre);
    for (std::int64_t j = row[i]; j < row[i + 1]; ++j) {
      const int r = syn_rule[j];
      if (r < 0 || !rules[r].learning) continue;
      const real_t x = xpost[static_cast<std::size_t>(r) * n + static_cast<std::size_t>(target[j] >> 1)];
      weight[j] = detail::stdp_step(rules[r], weight[j], x);
    }
  });
  detail::wait(exec_);
  detail::launch(exec_, detail::label::learn_post, n_spikes, KOKKOS_LAMBDA(int s) {
    const index_t k = spikes[s];
    for (int r = 0; r < n_rules; ++r)
      if (k >= rules[r].post_begin && k < rules[r].post_end)
        detail::take_spike(xpost[static_cast<std::size_t>(r) * n + static_cast<std::size_t>(k)], rules[r].nearest, rules[r].a_post);
    for (std::int64_t c = col_ptr[k]; c < col_ptr[k + 1]; ++c) {
      const std::int64_t j = col_syn[c];
      const int r = syn_rule[j];
      if (!rules[r].learning) continue;
      real_t x = xpre[static_cast<std::size_t>(r) * n + static_cast<std::size_t>(col_pre[c])];
      if (rules[r].triplet) x *= xpost2[static_cast<std::size_t>(r) * n + static_cast<std::size_t>(k)];
      weight[j] = detail::stdp_step(rules[r], weight[j], x);
    }
  });
  if (d_weight_.extent(0) > 0) {
    detail::wait(exec_);
    learn_delayed_post(n_spikes);
  }
  if (any_triplet_) {
    // The second post traces take this step's spikes once every update has read them.
    detail::wait(exec_);
    real_t* x2 = x_post2_.data();
    detail::launch(exec_, detail::label::learn_post, n_spikes, KOKKOS_LAMBDA(int s) {
      const index_t k = spikes[s];
      for (int r = 0; r < n_rules; ++r)
        if (rules[r].triplet && k >= rules[r].post_begin && k < rules[r].post_end)
          detail::take_spike(x2[static_cast<std::size_t>(r) * n + static_cast<std::size_t>(k)], rules[r].nearest, real_t(1));
    });
  }
}

template <class Exec>
inline std::size_t engine_impl<Exec>::rule_of(const std::string& projection) const {
  for (std::size_t r = 0; r < rule_projection_.size(); ++r)
    if (net.projections[rule_projection_[r]].name == projection) return r;
  for (const auto& pr : net.projections)
    if (pr.name == projection) throw error("projection '" + projection + "' is not plastic (no stdp)");
  throw error("unknown projection '" + projection + "'");
}

template <class Exec>
inline void engine_impl<Exec>::set_learning(const std::string& projection, bool on) {
  rules_[rule_of(projection)].learning = on;
  auto host = Kokkos::create_mirror_view(rules_dev_);
  for (std::size_t r = 0; r < rules_.size(); ++r) host(r) = rules_[r];
  Kokkos::deep_copy(rules_dev_, host);
}

template <class Exec>
inline std::pair<std::size_t, std::size_t> engine_impl<Exec>::instance_range(const std::string& projection, int instance) const {
  const std::size_t pi = rule_projection_[rule_of(projection)];
  if (instance < 0) return {0, plastic_position_[pi].size()};
  if (instance >= instances_)
    throw error("instance " + std::to_string(instance) + " of projection '" + projection + "': there are " +
                std::to_string(instances_));
  const auto& start = plastic_instance_start_[pi];
  return {static_cast<std::size_t>(start[static_cast<std::size_t>(instance)]),
          static_cast<std::size_t>(start[static_cast<std::size_t>(instance) + 1])};
}

template <class Exec>
inline std::vector<float> engine_impl<Exec>::weights(const std::string& projection, int instance) const {
  const auto& where_ = plastic_position_[rule_projection_[rule_of(projection)]];
  const auto [first, last] = instance_range(projection, instance);
  auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), weights_of(projection));
  std::vector<float> out(last - first);
  for (std::size_t k = 0; k < out.size(); ++k) out[k] = host(where_[first + k]);
  return out;
}

template <class Exec>
inline void engine_impl<Exec>::set_weights(const std::string& projection, const std::vector<float>& values, int instance) {
  const auto& all = plastic_position_[rule_projection_[rule_of(projection)]];
  const auto [first, last] = instance_range(projection, instance);
  const std::int64_t* where_ = all.data() + first;
  if (values.size() != last - first)
    throw error("set_weights: projection '" + projection + "' has " + std::to_string(last - first) +
                " synapses, got " + std::to_string(values.size()) + " weights");
  const view<float> target = weights_of(projection);
  auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), target);
  for (std::size_t k = 0; k < values.size(); ++k) {
    // Compared in float: learning clips to float(w_max), which may lie just above w_max.
    if (!std::isfinite(values[k]) || std::abs(values[k]) > static_cast<float>(max_weight_))
      throw error("set_weights: weight " + std::to_string(k) + " of projection '" + projection +
                  "' must be finite and within the magnitude the network was built for (" +
                  std::to_string(max_weight_) + ")");
    host(where_[k]) = values[k];
  }
  Kokkos::deep_copy(target, host);
}

template <class Exec>
inline std::vector<std::string> engine_impl<Exec>::trace_names(const std::string& projection) const {
  const detail::plastic_rule& k = rules_[rule_of(projection)];
  std::vector<std::string> names = k.per_synapse ? std::vector<std::string>{"pre", "pre_age", "post"} : std::vector<std::string>{"pre", "post"};
  if (k.triplet) names.push_back("post2");
  return names;
}

template <class Exec>
inline auto engine_impl<Exec>::place_of(const std::string& projection, const std::string& trace, int instance) const -> trace_place {
  const std::size_t r = rule_of(projection);
  const detail::plastic_rule& k = rules_[r];
  const auto names = trace_names(projection);
  if (std::find(names.begin(), names.end(), trace) == names.end()) {
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    throw error("projection '" + projection + "': no trace '" + trace + "' (it has " + list + ")");
  }
  if (k.per_synapse && trace.rfind("pre", 0) == 0) {
    const auto [first, last] = instance_range(projection, instance);
    return {true, first, last};
  }
  const bool pre = trace == "pre";
  const index_t begin = pre ? k.pre_begin : k.post_begin, end = pre ? k.pre_end : k.post_end;
  const index_t size = (end - begin) / instances_;
  if (instance >= instances_)
    throw error("instance " + std::to_string(instance) + " of projection '" + projection + "': there are " + std::to_string(instances_));
  const std::size_t base = r * static_cast<std::size_t>(n_);
  if (instance < 0) return {false, base + static_cast<std::size_t>(begin), base + static_cast<std::size_t>(end)};
  const std::size_t from = base + static_cast<std::size_t>(begin + instance * size);
  return {false, from, from + static_cast<std::size_t>(size)};
}

template <class Exec>
inline std::vector<double> engine_impl<Exec>::traces(const std::string& projection, const std::string& trace, int instance) const {
  const trace_place at = place_of(projection, trace, instance);
  std::vector<double> out(at.last - at.first);
  if (!at.per_synapse) {
    auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), neuron_traces(trace));
    for (std::size_t q = 0; q < out.size(); ++q) out[q] = host(at.first + q);
    return out;
  }
  const auto& where_ = plastic_position_[rule_projection_[rule_of(projection)]];
  auto value = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), d_trace_);
  auto last = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), d_last_);
  for (std::size_t q = 0; q < out.size(); ++q) {
    const auto j = static_cast<std::size_t>(where_[at.first + q]);
    if (trace == "pre") out[q] = value(j);
    else out[q] = last(j) == detail::no_arrival ? -1.0 : static_cast<double>(step - last(j));
  }
  return out;
}

template <class Exec>
inline void engine_impl<Exec>::set_traces(const std::string& projection, const std::string& trace, const std::vector<double>& values, int instance) {
  const trace_place at = place_of(projection, trace, instance);
  if (values.size() != at.last - at.first)
    throw error("set_traces: trace '" + trace + "' of projection '" + projection + "' has " + std::to_string(at.last - at.first) +
                " values, got " + std::to_string(values.size()));
  const bool age = trace == "pre_age";
  for (std::size_t q = 0; q < values.size(); ++q) {
    const double x = values[q];
    const bool ok = age ? (x == -1.0 || (x >= 0 && x <= 9e15 && x == std::floor(x))) : (std::isfinite(x) && std::abs(x) < 1e30);
    if (!ok)
      throw error("set_traces: value " + std::to_string(q) + " of trace '" + trace + "' of projection '" + projection + "' must be " +
                  (age ? "a whole number of steps >= 0, or -1 (no arrival yet)" : "finite"));
  }
  if (!at.per_synapse) {
    const view<real_t>& target = neuron_traces(trace);
    auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), target);
    for (std::size_t q = 0; q < values.size(); ++q) host(at.first + q) = static_cast<real_t>(values[q]);
    Kokkos::deep_copy(target, host);
    return;
  }
  const auto& where_ = plastic_position_[rule_projection_[rule_of(projection)]];
  if (age) {
    auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), d_last_);
    for (std::size_t q = 0; q < values.size(); ++q)
      host(static_cast<std::size_t>(where_[at.first + q])) = values[q] < 0 ? detail::no_arrival : step - static_cast<std::int64_t>(values[q]);
    Kokkos::deep_copy(d_last_, host);
  } else {
    auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), d_trace_);
    for (std::size_t q = 0; q < values.size(); ++q) host(static_cast<std::size_t>(where_[at.first + q])) = static_cast<real_t>(values[q]);
    Kokkos::deep_copy(d_trace_, host);
  }
}

template <class Exec>
inline void engine_impl<Exec>::normalise_weights(const std::string& projection, double column_sum) {
  if (!(column_sum > 0) || !std::isfinite(column_sum))
    throw error("normalise_weights: the column sum must be a finite number > 0");
  const int r = static_cast<int>(rule_of(projection));
  const detail::plastic_rule k = rules_[static_cast<std::size_t>(r)];
  float* weight = k.per_synapse ? d_weight_.data() : weight_.data();
  const std::int16_t* syn_rule = k.per_synapse ? d_rule_.data() : syn_rule_.data();
  const std::int64_t* col_ptr = k.per_synapse ? d_col_ptr_.data() : col_ptr_.data();
  const std::int64_t* col_syn = k.per_synapse ? d_col_syn_.data() : col_syn_.data();
  const float w_limit = static_cast<float>(max_weight_);
  detail::launch(exec_, detail::label::normalise, k.post_end - k.post_begin, KOKKOS_LAMBDA(std::int64_t q) {
    const index_t post = k.post_begin + static_cast<index_t>(q);
    double sum = 0;
    for (std::int64_t c = col_ptr[post]; c < col_ptr[post + 1]; ++c)
      if (syn_rule[col_syn[c]] == r) sum += weight[col_syn[c]];
    if (sum <= 0) return;
    const double factor = column_sum / sum;
    for (std::int64_t c = col_ptr[post]; c < col_ptr[post + 1]; ++c)
      if (syn_rule[col_syn[c]] == r) {
        const float w = static_cast<float>(weight[col_syn[c]] * factor);
        weight[col_syn[c]] = w < w_limit ? w : w_limit;  // the fixed-point input was sized for this
      }
  });
  detail::wait(exec_);
}

}  // namespace kspike
