#include "experiments/vpr/readout.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <string>

#include "experiments/vpr/numpy_compat.hpp"
#include "sim/core/error.hpp"

namespace kspike::vpr {

namespace {

// A neuron is relevant to a label when more than this share of its training spikes was for it.
constexpr double relevance_ratio = 0.1;
// A relevant neuron's response is divided by its label count when that count is at least this
// share of the number of rows (main branch: >=, against |U|, -1 row included).
constexpr double involvement_share = 0.02;

[[noreturn]] void fail(const std::string& what) { throw kspike::error("vpr readout: " + what); }

std::string shape(const matrix& m) { return std::to_string(m.rows) + "x" + std::to_string(m.cols); }

void require_nonempty(const matrix& m, const char* name) {
  if (m.empty()) fail(std::string(name) + " is empty (" + shape(m) + ")");
}

void require_training(const matrix& counts, const std::vector<int>& labels) {
  require_nonempty(counts, "train_counts");
  if (labels.size() != counts.rows)
    fail("train_labels has " + std::to_string(labels.size()) + " entries but train_counts has " +
         std::to_string(counts.rows) + " rows");
  for (std::size_t t = 0; t < labels.size(); ++t)
    if (labels[t] < 0)
      fail("train label " + std::to_string(labels[t]) + " of presentation " + std::to_string(t) +
           " is negative (place labels are >= 0; -1 means unassigned)");
}

void require_queries(const neuron_assignments& a, const matrix& queries) {
  require_nonempty(queries, "query_counts");
  if (a.neurons() == 0) fail("the assignments cover no neuron");
  if (queries.cols != a.neurons())
    fail("query_counts has " + std::to_string(queries.cols) + " neuron columns but the assignments cover " +
         std::to_string(a.neurons()) + " neurons");
  if (a.kind == assignment_kind::weighted && a.label_counts.size() != a.neurons())
    fail("weighted assignments without per-label counts");
}

std::vector<int> distinct_sorted(const std::vector<int>& v) {
  const std::set<int> s(v.begin(), v.end());
  return std::vector<int>(s.begin(), s.end());
}

// Summed counts of every neuron over the presentations of label j, and how many there were.
std::vector<double> summed_counts(const matrix& counts, const std::vector<int>& labels, int j, std::size_t& n) {
  std::vector<double> sum(counts.cols, 0.0);
  n = 0;
  for (std::size_t t = 0; t < counts.rows; ++t) {
    if (labels[t] != j) continue;
    ++n;
    for (std::size_t i = 0; i < counts.cols; ++i) sum[i] += counts(t, i);
  }
  return sum;
}

bool all_zero(const matrix& m, std::size_t row) {
  for (std::size_t i = 0; i < m.cols; ++i)
    if (m(row, i) != 0) return false;
  return true;
}

bool column_all_zero(const matrix& m, std::size_t col) {
  for (std::size_t r = 0; r < m.rows; ++r)
    if (m(r, col) != 0) return false;
  return true;
}

// C[i][v], or nullptr when neuron i never fired for v.
const double* count_for(const std::vector<std::pair<int, double>>& counts, int v) {
  for (const auto& [label, c] : counts)
    if (label == v) return &c;
  return nullptr;
}

// Python's sum() over the dict values: left to right in ascending label order.
double total_of(const std::vector<std::pair<int, double>>& counts) {
  double total = 0;
  for (const auto& lc : counts) total += lc.second;
  return total;
}

void standard_column(const std::vector<std::vector<std::size_t>>& members,
                     const matrix& queries, std::size_t q, matrix& s) {
  std::vector<double> spikes;
  for (std::size_t r = 0; r < members.size(); ++r) {
    spikes.clear();
    for (std::size_t i : members[r]) spikes.push_back(queries(q, i));
    s(r, q) = numpy::pairwise_sum(spikes.data(), spikes.size()) / double(members[r].size());
  }
}

// Weighted S (docs/vpr.md "Similarity and distance") for one query and one row: f_v * sum of
// rho * x (/ n where regularised).
double weighted_score(const std::vector<relevant_neuron>& relevant, const matrix& queries, std::size_t q) {
  if (relevant.empty()) return 0.0;
  std::vector<double> train, train_fired, x;
  for (const relevant_neuron& n : relevant) {
    const double spikes = queries(q, n.neuron);
    train.push_back(n.label_count);
    if (spikes != 0) train_fired.push_back(n.label_count);
    // Reciprocal then product, in the reference's order, so the last bits agree.
    const double divided = n.regularised ? spikes * (1.0 / double(n.n_labels)) : spikes;
    x.push_back(divided * n.ratio);
  }
  const bool any_train = std::any_of(train.begin(), train.end(), [](double c) { return c != 0; });
  const double fired_share = any_train ? numpy::pairwise_sum(train_fired.data(), train_fired.size()) /
                                             numpy::pairwise_sum(train.data(), train.size())
                                       : 0.0;
  return numpy::pairwise_sum(x.data(), x.size()) * fired_share;
}

double nan_aware_max(const std::vector<double>& v) {
  double m = v.at(0);
  for (double x : v) {
    if (x != x) return x;
    if (x > m) m = x;
  }
  return m;
}

double nan_aware_min(const std::vector<double>& v) {
  double m = v.at(0);
  for (double x : v) {
    if (x != x) return x;
    if (x < m) m = x;
  }
  return m;
}

// The calibration rule's order of preference; true when a beats b.
bool better_trial(const evaluation& a, const evaluation& b) {
  if (a.recall_at_n.front() != b.recall_at_n.front()) return a.recall_at_n.front() > b.recall_at_n.front();
  const double lowest = -std::numeric_limits<double>::infinity();
  const double auc_a = a.square && !std::isnan(a.pr_stats.auc) ? a.pr_stats.auc : lowest;
  const double auc_b = b.square && !std::isnan(b.pr_stats.auc) ? b.pr_stats.auc : lowest;
  return auc_a > auc_b;
}

}  // namespace

neuron_assignments assign_standard(const matrix& train_counts, const std::vector<int>& train_labels) {
  require_training(train_counts, train_labels);
  neuron_assignments a;
  a.kind = assignment_kind::standard;
  a.label.assign(train_counts.cols, unassigned);
  std::vector<double> best_rate(train_counts.cols, 0.0);
  // Labels ascending and a strict > against a best starting at 0: ties go to the smaller label
  // and a neuron that never fired stays unassigned.
  for (int j : distinct_sorted(train_labels)) {
    std::size_t n = 0;
    const std::vector<double> sum = summed_counts(train_counts, train_labels, j, n);
    for (std::size_t i = 0; i < train_counts.cols; ++i) {
      const double rate = sum[i] / double(n);
      if (rate > best_rate[i]) {
        best_rate[i] = rate;
        a.label[i] = j;
      }
    }
  }
  return a;
}

neuron_assignments assign_weighted(const matrix& train_counts, const std::vector<int>& train_labels) {
  require_training(train_counts, train_labels);
  neuron_assignments a;
  a.kind = assignment_kind::weighted;
  a.label.assign(train_counts.cols, unassigned);
  a.label_counts.assign(train_counts.cols, {});
  // The reference resets its running maximum per label, so "rate > max" only means "fired":
  // C keeps the summed (not mean) count of every label the neuron fired for.
  for (int j : distinct_sorted(train_labels)) {
    std::size_t n = 0;
    const std::vector<double> sum = summed_counts(train_counts, train_labels, j, n);
    for (std::size_t i = 0; i < train_counts.cols; ++i)
      if (sum[i] / double(n) > 0) a.label_counts[i].emplace_back(j, sum[i]);
  }
  // Python's max(dict, key=dict.get): the first (smallest) label with the largest count.
  for (std::size_t i = 0; i < train_counts.cols; ++i) {
    double best = 0;
    for (const auto& [label, c] : a.label_counts[i]) {
      if (a.label[i] == unassigned || c > best) {
        best = c;
        a.label[i] = label;
      }
    }
  }
  return a;
}

neuron_assignments assign(assignment_kind kind, const matrix& train_counts, const std::vector<int>& train_labels) {
  return kind == assignment_kind::weighted ? assign_weighted(train_counts, train_labels)
                                           : assign_standard(train_counts, train_labels);
}

std::vector<int> label_rows(const neuron_assignments& a) { return distinct_sorted(a.label); }

std::vector<std::vector<relevant_neuron>> relevant_neurons(const neuron_assignments& a) {
  if (a.kind != assignment_kind::weighted) fail("relevant neurons exist only for weighted assignments");
  if (a.label_counts.size() != a.neurons()) fail("weighted assignments without per-label counts");
  const std::vector<int> rows = label_rows(a);
  const double involvement_limit = involvement_share * double(rows.size());
  std::vector<std::vector<relevant_neuron>> out(rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    for (std::size_t i = 0; i < a.neurons(); ++i) {
      const double* c = count_for(a.label_counts[i], rows[r]);
      if (c == nullptr) continue;
      relevant_neuron n;
      n.neuron = i;
      n.label_count = *c;
      n.total_count = total_of(a.label_counts[i]);
      n.n_labels = a.label_counts[i].size();
      n.ratio = n.label_count / n.total_count;
      n.regularised = double(n.n_labels) >= involvement_limit;
      if (n.ratio > relevance_ratio) out[r].push_back(n);
    }
  }
  return out;
}

matrix similarity(const neuron_assignments& a, const matrix& query_counts) {
  require_queries(a, query_counts);
  const std::vector<int> rows = label_rows(a);
  matrix s(rows.size(), query_counts.rows, 0.0);
  if (a.kind == assignment_kind::weighted) {
    const auto relevant = relevant_neurons(a);
    for (std::size_t q = 0; q < query_counts.rows; ++q) {
      if (all_zero(query_counts, q)) continue;  // the reference returns a zero column at once
      for (std::size_t r = 0; r < rows.size(); ++r) s(r, q) = weighted_score(relevant[r], query_counts, q);
    }
    return s;
  }
  std::vector<std::vector<std::size_t>> members(rows.size());
  for (std::size_t i = 0; i < a.neurons(); ++i) {
    const auto r = std::size_t(std::lower_bound(rows.begin(), rows.end(), a.label[i]) - rows.begin());
    members[r].push_back(i);
  }
  for (std::size_t q = 0; q < query_counts.rows; ++q)
    if (!all_zero(query_counts, q)) standard_column(members, query_counts, q, s);
  return s;
}

matrix probability_similarity(const matrix& similarity) {
  require_nonempty(similarity, "the similarity matrix");
  matrix p(similarity.rows, similarity.cols);
  for (std::size_t q = 0; q < similarity.cols; ++q) {
    std::vector<double> col = similarity.column(q);
    const double lo = nan_aware_min(col);
    const double hi = nan_aware_max(col);
    for (double& x : col) x = (x - lo) / (hi - lo);
    const double sum = numpy::pairwise_sum(col.data(), col.size());
    for (std::size_t r = 0; r < col.size(); ++r) p(r, q) = col[r] / sum;
  }
  return p;
}

matrix distance_from_similarity(const matrix& similarity) {
  require_nonempty(similarity, "the similarity matrix");
  const double top = nan_aware_max(similarity.values);
  matrix d(similarity.rows, similarity.cols);
  for (std::size_t k = 0; k < d.values.size(); ++k) d.values[k] = top - similarity.values[k];
  return d;
}

std::vector<std::vector<int>> ranking(const matrix& similarity, const std::vector<int>& rows) {
  require_nonempty(similarity, "the similarity matrix");
  if (rows.size() != similarity.rows)
    fail("ranking: " + std::to_string(rows.size()) + " row labels for a similarity matrix of " + shape(similarity));
  std::vector<std::vector<int>> out(similarity.cols);
  for (std::size_t q = 0; q < similarity.cols; ++q) {
    std::vector<int>& rank = out[q];
    if (column_all_zero(similarity, q)) {
      // The reference's placeholder, -1, 0, 1, ...: row indices shifted by one, not labels.
      for (std::size_t r = 0; r < rows.size(); ++r) rank.push_back(int(r) - 1);
      continue;
    }
    const std::vector<std::size_t> ascending = numpy::argsort(similarity.column(q));
    for (auto it = ascending.rbegin(); it != ascending.rend(); ++it) rank.push_back(rows[*it]);
  }
  return out;
}

std::vector<int> top_labels(const matrix& similarity, const std::vector<int>& rows) {
  std::vector<int> top;
  for (const auto& rank : ranking(similarity, rows)) top.push_back(rank.front());
  return top;
}

std::size_t count_correct(const std::vector<int>& top, const std::vector<int>& query_labels) {
  if (top.size() != query_labels.size())
    fail(std::to_string(query_labels.size()) + " query labels for " + std::to_string(top.size()) + " queries");
  std::size_t correct = 0;
  for (std::size_t q = 0; q < top.size(); ++q) correct += top[q] == query_labels[q] ? 1 : 0;
  return correct;
}

double accuracy_percent(std::size_t correct, std::size_t total) {
  if (total == 0) fail("accuracy of zero queries");
  return double(correct) / double(total) * 100;
}

std::vector<std::size_t> record_activity(const matrix& record_counts) {
  require_nonempty(record_counts, "record_counts");
  std::vector<std::size_t> k(record_counts.cols, 0);
  for (std::size_t t = 0; t < record_counts.rows; ++t)
    for (std::size_t i = 0; i < record_counts.cols; ++i) k[i] += record_counts(t, i) != 0 ? 1 : 0;
  return k;
}

std::vector<bool> hyperactive(const std::vector<std::size_t>& activity, int threshold) {
  if (threshold < 0) fail("hyperactive threshold " + std::to_string(threshold) + " is negative (0 = off)");
  std::vector<bool> out(activity.size(), false);
  if (threshold == 0) return out;
  for (std::size_t i = 0; i < activity.size(); ++i) out[i] = activity[i] >= std::size_t(threshold);
  return out;
}

matrix mask_hyperactive(const matrix& query_counts, const std::vector<std::size_t>& activity, int threshold) {
  if (threshold != 0 && activity.size() != query_counts.cols)
    fail("record activity covers " + std::to_string(activity.size()) + " neurons but query_counts has " +
         std::to_string(query_counts.cols));
  const std::vector<bool> masked = hyperactive(activity, threshold);
  matrix out = query_counts;
  for (std::size_t i = 0; i < masked.size(); ++i)
    if (masked[i])
      for (std::size_t q = 0; q < out.rows; ++q) out(q, i) = 0;
  return out;
}

const std::vector<int>& hyperactive_candidates() {
  static const std::vector<int> candidates{0, 5, 10, 20, 40, 60, 80, 100, 120, 140, 160, 180, 200};
  return candidates;
}

matrix concat_neurons(const std::vector<matrix>& per_module) {
  if (per_module.empty()) fail("no module responses to merge");
  std::size_t cols = 0;
  for (std::size_t m = 0; m < per_module.size(); ++m) {
    if (per_module[m].rows != per_module.front().rows)
      fail("module " + std::to_string(m) + " has " + std::to_string(per_module[m].rows) + " rows but module 0 has " +
           std::to_string(per_module.front().rows));
    cols += per_module[m].cols;
  }
  matrix out(per_module.front().rows, cols);
  std::size_t offset = 0;
  for (const matrix& part : per_module) {
    for (std::size_t r = 0; r < part.rows; ++r)
      for (std::size_t i = 0; i < part.cols; ++i) out(r, offset + i) = part(r, i);
    offset += part.cols;
  }
  return out;
}

neuron_assignments merge_assignments(const std::vector<neuron_assignments>& per_module) {
  if (per_module.empty()) fail("no module assignments to merge");
  neuron_assignments out;
  out.kind = per_module.front().kind;
  for (std::size_t m = 0; m < per_module.size(); ++m) {
    const neuron_assignments& part = per_module[m];
    if (part.kind != out.kind) fail("module " + std::to_string(m) + " mixes standard and weighted assignments");
    out.label.insert(out.label.end(), part.label.begin(), part.label.end());
    out.label_counts.insert(out.label_counts.end(), part.label_counts.begin(), part.label_counts.end());
  }
  return out;
}

std::vector<std::size_t> shuffle_block(const std::vector<std::size_t>& permutation, std::size_t num_cal_labels,
                                       query_block block) {
  if (num_cal_labels > permutation.size())
    fail(std::to_string(num_cal_labels) + " calibration places but the permutation has only " +
         std::to_string(permutation.size()) + " entries");
  const auto split = permutation.begin() + std::ptrdiff_t(num_cal_labels);
  return block == query_block::calibration ? std::vector<std::size_t>(permutation.begin(), split)
                                           : std::vector<std::size_t>(split, permutation.end());
}

matrix unshuffle(const matrix& similarity, const std::vector<std::size_t>& block) {
  if (similarity.rows != block.size() || similarity.cols != block.size())
    fail("cannot un-shuffle a " + shape(similarity) + " similarity matrix with a " + std::to_string(block.size()) +
         "-entry permutation block (it must be square and of the block's size)");
  const std::vector<std::size_t> order = numpy::argsort(std::vector<double>(block.begin(), block.end()));
  matrix out(similarity.rows, similarity.cols);
  for (std::size_t r = 0; r < out.rows; ++r)
    for (std::size_t c = 0; c < out.cols; ++c) out(r, c) = similarity(order[r], order[c]);
  return out;
}

matrix ensemble_similarity(const std::vector<matrix>& members) {
  if (members.empty()) fail("an ensemble needs at least one member");
  matrix sum(members.front().rows, members.front().cols, 0.0);
  require_nonempty(sum, "ensemble member 0");
  for (std::size_t m = 0; m < members.size(); ++m) {
    if (members[m].rows != sum.rows || members[m].cols != sum.cols)
      fail("ensemble member " + std::to_string(m) + " is " + shape(members[m]) + " but member 0 is " + shape(sum));
    for (std::size_t k = 0; k < sum.values.size(); ++k) sum.values[k] += members[m].values[k];
  }
  return sum;
}

matrix sequence_distance(const matrix& distance, std::size_t length) {
  require_nonempty(distance, "the distance matrix");
  if (length == 0 || length > distance.rows || length > distance.cols)
    fail("sequence length " + std::to_string(length) + " does not fit a " + shape(distance) + " distance matrix");
  matrix out(distance.rows - length + 1, distance.cols - length + 1, 0.0);
  for (std::size_t i = 0; i < out.rows; ++i)
    for (std::size_t j = 0; j < out.cols; ++j)
      for (std::size_t k = 0; k < length; ++k) out(i, j) += distance(i + k, j + k);
  return out;
}

evaluation evaluate(const neuron_assignments& a, const matrix& query_counts, const std::vector<int>& query_labels,
                    const std::vector<std::size_t>& activity, const evaluation_options& options) {
  require_queries(a, query_counts);
  if (query_labels.size() != query_counts.rows)
    fail(std::to_string(query_labels.size()) + " query labels for " + std::to_string(query_counts.rows) + " queries");
  evaluation e;
  const int t = options.hyperactive_threshold;
  e.masked_queries = mask_hyperactive(query_counts, activity, t);
  const std::vector<bool> masked = hyperactive(activity, t);
  e.num_masked = std::size_t(std::count(masked.begin(), masked.end(), true));
  if (std::all_of(e.masked_queries.values.begin(), e.masked_queries.values.end(), [](double x) { return x == 0; }))
    return e;  // the reference prints that every neuron is hyperactive and stops

  e.produced = true;
  e.rows = label_rows(a);
  e.similarity = similarity(a, e.masked_queries);
  if (options.complete_square) {
    std::vector<int> want(query_labels);
    std::sort(want.begin(), want.end());
    want.erase(std::unique(want.begin(), want.end()), want.end());
    if (want != e.rows) {
      matrix full(want.size(), e.similarity.cols, 0.0);
      for (std::size_t r = 0; r < e.rows.size(); ++r) {
        const auto it = std::lower_bound(want.begin(), want.end(), e.rows[r]);
        if (it == want.end() || *it != e.rows[r]) continue;  // unassigned, or a label of no query
        const auto row = std::size_t(it - want.begin());
        for (std::size_t c = 0; c < full.cols; ++c) full(row, c) = e.similarity(r, c);
      }
      e.similarity = std::move(full);
      e.rows = want;
    }
  }
  e.ranking = ranking(e.similarity, e.rows);
  std::vector<int> top;
  for (const auto& rank : e.ranking) top.push_back(rank.front());
  e.num_correct = count_correct(top, query_labels);
  e.accuracy_percent = accuracy_percent(e.num_correct, top.size());
  e.similarity_unshuffled =
      options.shuffle_order.empty() ? e.similarity : unshuffle(e.similarity, options.shuffle_order);
  e.distance = distance_from_similarity(e.similarity_unshuffled);
  e.recall_at_n = recall_at_n(e.distance, options.recall_ns);
  e.ties_at_top = count_tied_best(e.distance);
  e.square = e.distance.rows == e.distance.cols;
  if (e.square) {
    e.pr = precision_recall(e.distance);
    e.pr_stats = summarise(e.pr);
  }
  return e;
}

threshold_choice choose_hyperactive_threshold(const neuron_assignments& a, const matrix& query_counts,
                                              const std::vector<int>& query_labels,
                                              const std::vector<std::size_t>& activity,
                                              const evaluation_options& options, const std::vector<int>& candidates) {
  if (candidates.empty()) fail("no candidate hyperactive thresholds");
  if (options.recall_ns.empty()) fail("calibration needs at least one N of Recall@N");
  threshold_choice choice;
  const threshold_trial* best = nullptr;
  for (int t : candidates) {
    evaluation_options trial_options = options;
    trial_options.hyperactive_threshold = t;
    choice.trials.push_back({t, evaluate(a, query_counts, query_labels, activity, trial_options)});
  }
  for (const threshold_trial& trial : choice.trials)
    if (trial.result.produced && (best == nullptr || better_trial(trial.result, best->result))) best = &trial;
  if (best == nullptr) fail("every candidate hyperactive threshold masks every calibration query");
  choice.threshold = best->threshold;
  return choice;
}

}  // namespace kspike::vpr
