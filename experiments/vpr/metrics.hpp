#pragma once
// Place-recognition metrics with the exact semantics of the reference code
// (QVPR/VPRSNN non_modular_snn/snn_model_evaluation.py), quirks included; docs/vpr.md
// "Read-out and metrics" lists them. Every function takes a distance matrix D (rows =
// reference places, columns = queries, smaller = closer) whose ground truth is the diagonal:
// query q is place q.
#include <cstddef>
#include <vector>

#include "experiments/vpr/matrix.hpp"

namespace kspike::vpr {

// The N of Recall@N the reference reports.
const std::vector<int>& default_recall_ns();

// Rows of each query column of D, closest first, in numpy's argsort order (ties unstable
// above 17 rows, as the reference's argsort(D, axis=0)).
std::vector<std::vector<std::size_t>> ranked_rows(const matrix& distance);

// Recall@N for every N of n_values: the fraction of queries q whose row q is among the first N
// rows of ranked_rows(D)[q]. As the reference, N is tried in the given order and the first hit
// counts for that N and every later one, so n_values should ascend. Divides by the number of
// queries (columns); a query whose row does not exist (more queries than rows) never counts.
std::vector<double> recall_at_n(const matrix& distance, const std::vector<int>& n_values = default_recall_ns());

// Per query: the closest row (np.argmin: the smallest row on ties, the first NaN if any).
std::vector<std::size_t> best_rows(const matrix& distance);

// Number of queries whose smallest distance is shared by more than one row.
std::size_t count_tied_best(const matrix& distance);

// The reference's PR curve needs this many thresholds between min(D) and max(D).
inline constexpr std::size_t pr_threshold_count = 99;

// The counts behind one PR point.
struct pr_threshold {
  double threshold = 0;
  std::size_t tp = 0, fp = 0, fn = 0, tn = 0;
  double precision = 0, recall = 0, f1 = 0;
};

// The reference's curve: precision[0] = 1, recall[0] = 0, then per threshold one point, with
// an extra (0, 0) point before it whenever tp = 0 (so between 100 and 199 points).
struct pr_curve {
  std::vector<double> precision;
  std::vector<double> recall;
  std::vector<pr_threshold> thresholds;  // 99 entries, ascending threshold
};

// Requires a square, non-empty D. Query q is accepted at threshold t when min D[:, q] <= t;
// tp = accepted and argmin row == q, fp = accepted and wrong, fn = NOT accepted (a wrong but
// accepted query is no fn), tn = 0; thresholds np.linspace(min D, max D, 99).
pr_curve precision_recall(const matrix& distance);

// sklearn.metrics.auc(x, y): trapezoids (np.trapz, pairwise-summed); x must be monotone
// (NaN passes the check and makes the result NaN). Throws kspike::error otherwise.
double area_under_curve(const std::vector<double>& x, const std::vector<double>& y);

// The reference's summary numbers of one PR curve.
struct pr_summary {
  std::size_t num_points = 0;
  double auc = 0;                          // area_under_curve(recall, precision)
  double recall_at_100_precision = 0;      // max recall over points with precision >= 1
  double precision_at_100_recall = 0;      // precision at the last threshold (= top-1 accuracy)
  double printed_p_at_100_recall = 0;      // what the reference prints as "P@100R": f1 there
  double recall_at_last_threshold = 0;     // 1, or NaN when no query is correct
};
pr_summary summarise(const pr_curve& curve);

}  // namespace kspike::vpr
