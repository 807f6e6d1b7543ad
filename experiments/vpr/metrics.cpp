#include "experiments/vpr/metrics.hpp"

#include <algorithm>
#include <limits>
#include <string>

#include "experiments/vpr/numpy_compat.hpp"
#include "sim/core/error.hpp"

namespace kspike::vpr {

namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

void require_nonempty(const matrix& d, const char* what) {
  if (d.empty())
    throw kspike::error(std::string("vpr metrics: ") + what + ": the distance matrix is empty (" +
                        std::to_string(d.rows) + "x" + std::to_string(d.cols) + ")");
}

// np.min / np.max: NaN wins, as in numpy.
double nan_min(double a, double b) { return (a != a || b != b) ? nan : (b < a ? b : a); }
double nan_max(double a, double b) { return (a != a || b != b) ? nan : (b > a ? b : a); }

double column_min(const matrix& d, std::size_t q) {
  double m = d(0, q);
  for (std::size_t r = 1; r < d.rows; ++r) m = nan_min(m, d(r, q));
  return m;
}

double whole_min(const matrix& d) {
  double m = d.values[0];
  for (double x : d.values) m = nan_min(m, x);
  return m;
}

double whole_max(const matrix& d) {
  double m = d.values[0];
  for (double x : d.values) m = nan_max(m, x);
  return m;
}

// One threshold's point; the counts follow get_precision_recall_f1_score.
pr_threshold point_at(double threshold, const std::vector<std::size_t>& best,
                      const std::vector<double>& best_distance) {
  pr_threshold p;
  p.threshold = threshold;
  for (std::size_t q = 0; q < best.size(); ++q) {
    if (best_distance[q] <= threshold) {
      if (best[q] == q)
        ++p.tp;
      else
        ++p.fp;
    } else {
      ++p.fn;  // rejected queries are the only false negatives
    }
  }
  // Divisions as the reference: 0/0 gives NaN, which it keeps.
  p.precision = double(p.tp) / double(p.tp + p.fp);
  p.recall = double(p.tp) / double(p.tp + p.fn);
  p.f1 = (2 * p.precision * p.recall) / (p.precision + p.recall);
  return p;
}

}  // namespace

const std::vector<int>& default_recall_ns() {
  static const std::vector<int> ns{1, 5, 10, 15, 20, 25};
  return ns;
}

std::vector<std::vector<std::size_t>> ranked_rows(const matrix& distance) {
  std::vector<std::vector<std::size_t>> out(distance.cols);
  for (std::size_t q = 0; q < distance.cols; ++q) out[q] = numpy::argsort(distance.column(q));
  return out;
}

std::vector<double> recall_at_n(const matrix& distance, const std::vector<int>& n_values) {
  require_nonempty(distance, "Recall@N");
  for (int n : n_values)
    if (n < 0) throw kspike::error("vpr metrics: Recall@N: N = " + std::to_string(n) + " is negative");
  std::vector<double> correct(n_values.size(), 0.0);
  const auto ranked = ranked_rows(distance);
  for (std::size_t q = 0; q < distance.cols; ++q) {
    for (std::size_t i = 0; i < n_values.size(); ++i) {
      const std::size_t n = std::min<std::size_t>(std::size_t(n_values[i]), ranked[q].size());
      bool hit = false;
      for (std::size_t k = 0; k < n && !hit; ++k) hit = ranked[q][k] == q;
      if (hit) {
        // The reference's early exit: this N and every later one in the list.
        for (std::size_t j = i; j < n_values.size(); ++j) correct[j] += 1;
        break;
      }
    }
  }
  for (double& c : correct) c /= double(distance.cols);
  return correct;
}

std::vector<std::size_t> best_rows(const matrix& distance) {
  require_nonempty(distance, "best rows");
  std::vector<std::size_t> best(distance.cols, 0);
  for (std::size_t q = 0; q < distance.cols; ++q) {
    for (std::size_t r = 1; r < distance.rows; ++r) {
      const double cur = distance(best[q], q);
      if (cur != cur) break;  // np.argmin stops at the first NaN
      const double x = distance(r, q);
      if (x < cur || x != x) best[q] = r;
    }
  }
  return best;
}

std::size_t count_tied_best(const matrix& distance) {
  require_nonempty(distance, "tied best");
  std::size_t tied = 0;
  for (std::size_t q = 0; q < distance.cols; ++q) {
    const double m = column_min(distance, q);
    std::size_t at_min = 0;
    for (std::size_t r = 0; r < distance.rows; ++r) at_min += distance(r, q) == m ? 1 : 0;
    tied += at_min > 1 ? 1 : 0;
  }
  return tied;
}

pr_curve precision_recall(const matrix& distance) {
  require_nonempty(distance, "precision-recall");
  if (distance.rows != distance.cols)
    throw kspike::error("vpr metrics: precision-recall needs a square distance matrix, got " +
                        std::to_string(distance.rows) + "x" + std::to_string(distance.cols) +
                        " (some place owns no neuron)");
  const auto best = best_rows(distance);
  std::vector<double> best_distance(distance.cols);
  for (std::size_t q = 0; q < distance.cols; ++q) best_distance[q] = column_min(distance, q);

  pr_curve curve;
  curve.precision.push_back(1.0);
  curve.recall.push_back(0.0);
  for (double t : numpy::linspace(whole_min(distance), whole_max(distance), pr_threshold_count)) {
    const pr_threshold p = point_at(t, best, best_distance);
    if (p.tp == 0) {
      curve.precision.push_back(0.0);
      curve.recall.push_back(0.0);
    }
    curve.precision.push_back(p.precision);
    curve.recall.push_back(p.recall);
    curve.thresholds.push_back(p);
  }
  return curve;
}

double area_under_curve(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size())
    throw kspike::error("vpr metrics: AUC: x has " + std::to_string(x.size()) + " points but y has " +
                        std::to_string(y.size()));
  if (x.size() < 2) throw kspike::error("vpr metrics: AUC needs at least 2 points, got " + std::to_string(x.size()));
  bool any_down = false, all_down = true;
  for (std::size_t i = 1; i < x.size(); ++i) {
    const double dx = x[i] - x[i - 1];
    any_down = any_down || dx < 0;
    all_down = all_down && dx <= 0;
  }
  if (any_down && !all_down) throw kspike::error("vpr metrics: AUC: x is neither increasing nor decreasing");
  const double direction = any_down ? -1.0 : 1.0;
  std::vector<double> traps(x.size() - 1);
  for (std::size_t i = 0; i + 1 < x.size(); ++i) traps[i] = (x[i + 1] - x[i]) * (y[i + 1] + y[i]) / 2.0;
  return direction * numpy::pairwise_sum(traps.data(), traps.size());
}

pr_summary summarise(const pr_curve& curve) {
  if (curve.thresholds.empty() || curve.precision.size() != curve.recall.size())
    throw kspike::error("vpr metrics: summarise: the PR curve is empty or inconsistent");
  pr_summary s;
  s.num_points = curve.precision.size();
  s.auc = area_under_curve(curve.recall, curve.precision);
  // The (P=1, R=0) start point always qualifies, so R@100P is at least 0; np.max keeps NaN.
  double best = 0.0;
  for (std::size_t i = 0; i < curve.precision.size(); ++i)
    if (curve.precision[i] >= 1.0) best = nan_max(best, curve.recall[i]);
  s.recall_at_100_precision = best;
  s.precision_at_100_recall = curve.thresholds.back().precision;
  s.printed_p_at_100_recall = curve.thresholds.back().f1;
  s.recall_at_last_threshold = curve.thresholds.back().recall;
  return s;
}

}  // namespace kspike::vpr
