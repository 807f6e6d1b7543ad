// Place-recognition read-out and metrics: hand-computed cases, then every golden case of
// ../shared/data/vpr/golden/readout (spike counts and the reference functions' results).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "experiments/vpr/metrics.hpp"
#include "experiments/vpr/numpy_compat.hpp"
#include "experiments/vpr/readout.hpp"
#include "sim/core/error.hpp"
#include "support/fixtures.hpp"

namespace vpr = kspike::vpr;
namespace fs = std::filesystem;

namespace {

// Golden floats are printed with Python's repr (shortest round trip), so equal doubles read back
// bit for bit; the tolerance only allows for a different summation order in a future change.
constexpr double tolerance = 1e-12;

bool same_value(double got, double want) {
  if (std::isnan(want) || std::isnan(got)) return std::isnan(want) && std::isnan(got);
  return std::fabs(got - want) <= tolerance * std::max(1.0, std::fabs(want));
}

vpr::matrix make(std::size_t rows, std::size_t cols, std::vector<double> values) {
  vpr::matrix m(rows, cols);
  m.values = std::move(values);
  return m;
}

// ---- CSV: one header line, comma separated numbers ("nan" allowed) -------------------------

struct csv {
  std::vector<std::string> header;
  std::vector<std::vector<double>> rows;

  std::size_t col(const std::string& name) const {
    for (std::size_t c = 0; c < header.size(); ++c)
      if (header[c] == name) return c;
    FAIL("no column " << name);
    return 0;
  }
  vpr::matrix as_matrix() const {
    vpr::matrix m(rows.size(), header.size());
    for (std::size_t r = 0; r < rows.size(); ++r)
      for (std::size_t c = 0; c < header.size(); ++c) m(r, c) = rows[r].at(c);
    return m;
  }
};

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  for (std::string cell; std::getline(ss, cell, ',');) out.push_back(cell);
  return out;
}

csv read_csv(const fs::path& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  csv t;
  std::string line;
  std::getline(in, line);
  t.header = split(line);
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::vector<double> row;
    for (const std::string& cell : split(line)) row.push_back(std::strtod(cell.c_str(), nullptr));
    t.rows.push_back(row);
  }
  return t;
}

std::vector<int> read_labels(const fs::path& path) {
  std::vector<int> labels;
  for (const auto& row : read_csv(path).rows) labels.push_back(int(row.at(0)));
  return labels;
}

// ---- JSON: just enough for metrics.json / summary.json -------------------------------------

struct json {
  enum class kind { null, boolean, number, string, array, object } type = kind::null;
  double number = 0;
  bool flag = false;
  std::string text;
  std::vector<json> items;
  std::vector<std::pair<std::string, json>> members;

  bool has(const std::string& key) const {
    for (const auto& m : members)
      if (m.first == key) return true;
    return false;
  }
  const json& operator[](const std::string& key) const {
    for (const auto& m : members)
      if (m.first == key) return m.second;
    FAIL("no JSON key " << key);
    return *this;
  }
  // JSON null stands for NaN in the golden files.
  double num() const { return type == kind::null ? std::numeric_limits<double>::quiet_NaN() : number; }
};

class json_reader {
 public:
  explicit json_reader(std::string s) : s_(std::move(s)) {}
  json parse() {
    json v = value();
    skip();
    REQUIRE(p_ == s_.size());
    return v;
  }

 private:
  std::string s_;
  std::size_t p_ = 0;

  void skip() {
    while (p_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[p_]))) ++p_;
  }
  bool eat(char c) {
    skip();
    if (p_ < s_.size() && s_[p_] == c) return ++p_, true;
    return false;
  }
  bool word(const char* w) {
    const std::string ws(w);
    if (s_.compare(p_, ws.size(), ws) != 0) return false;
    p_ += ws.size();
    return true;
  }
  std::string string_body() {
    std::string out;
    while (p_ < s_.size() && s_[p_] != '"') {
      char c = s_[p_++];
      if (c == '\\') {
        c = s_.at(p_++);
        if (c == 'n') c = '\n';
        else if (c == 't') c = '\t';
        else if (c == 'u') { p_ += 4; c = '?'; }  // no golden key needs \u escapes
      }
      out += c;
    }
    ++p_;
    return out;
  }
  json value() {
    json v;
    skip();
    REQUIRE(p_ < s_.size());
    if (eat('{')) {
      v.type = json::kind::object;
      if (eat('}')) return v;
      do {
        REQUIRE(eat('"'));
        std::string key = string_body();
        REQUIRE(eat(':'));
        v.members.emplace_back(key, value());
      } while (eat(','));
      REQUIRE(eat('}'));
    } else if (eat('[')) {
      v.type = json::kind::array;
      if (eat(']')) return v;
      do v.items.push_back(value());
      while (eat(','));
      REQUIRE(eat(']'));
    } else if (eat('"')) {
      v.type = json::kind::string;
      v.text = string_body();
    } else if (word("null")) {
      v.type = json::kind::null;
    } else if (word("true")) {
      v.type = json::kind::boolean;
      v.flag = true;
    } else if (word("false")) {
      v.type = json::kind::boolean;
    } else {
      v.type = json::kind::number;
      char* end = nullptr;
      v.number = std::strtod(s_.c_str() + p_, &end);
      REQUIRE(end != s_.c_str() + p_);
      p_ = std::size_t(end - s_.c_str());
    }
    return v;
  }
};

json read_json(const fs::path& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  return json_reader(ss.str()).parse();
}

// ---- comparisons ---------------------------------------------------------------------------

// "" when equal within tolerance, else where the first difference is.
std::string mismatch(const vpr::matrix& got, const vpr::matrix& want) {
  if (got.rows != want.rows || got.cols != want.cols)
    return "shape " + std::to_string(got.rows) + "x" + std::to_string(got.cols) + " vs " +
           std::to_string(want.rows) + "x" + std::to_string(want.cols);
  for (std::size_t r = 0; r < got.rows; ++r)
    for (std::size_t c = 0; c < got.cols; ++c)
      if (!same_value(got(r, c), want(r, c))) {
        std::ostringstream os;
        os.precision(17);
        os << "at (" << r << "," << c << "): " << got(r, c) << " vs " << want(r, c);
        return os.str();
      }
  return "";
}

std::string mismatch(const std::vector<double>& got, const std::vector<double>& want) {
  return mismatch(make(1, got.size(), got), make(1, want.size(), want));
}

std::vector<double> column_of(const csv& t, const std::string& name) {
  std::vector<double> out;
  const std::size_t c = t.col(name);
  for (const auto& row : t.rows) out.push_back(row.at(c));
  return out;
}

}  // namespace

// ============================================================================================
// Hand-computed cases
// ============================================================================================

TEST_CASE("vpr numpy_compat: argsort order, pairwise sum, linspace", "[vpr][readout]") {
  // Up to 17 values numpy insertion-sorts: ties keep index order.
  CHECK(vpr::numpy::argsort({2, 1, 2, 0, 1}) == std::vector<std::size_t>{3, 1, 4, 0, 2});
  CHECK(vpr::numpy::argsort({}).empty());
  // 18 equal values take one median-of-3 partition (pivot index 8, swapped to 16); the scans
  // stop at every equal key, so indices 1..7 trade places with 15..9, then the pivot returns to
  // 8 and both halves are insertion-sorted unchanged.
  const std::vector<std::size_t> eighteen{0, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 16, 17};
  CHECK(vpr::numpy::argsort(std::vector<double>(18, 0.0)) == eighteen);
  // Distinct keys: any correct sort.
  std::vector<double> v;
  for (int i = 0; i < 100; ++i) v.push_back(double((i * 37) % 101));
  const auto order = vpr::numpy::argsort(v);
  for (std::size_t i = 1; i < order.size(); ++i) CHECK(v[order[i - 1]] < v[order[i]]);
  // NaN sorts last.
  CHECK(vpr::numpy::argsort({std::nan(""), 1.0, 0.0}) == std::vector<std::size_t>{2, 1, 0});

  // 9 values: 8 running sums, then the 9th. 1e16 + 1 rounds to 1e16 (tie to even), so left to
  // right stays at 1e16, while the pairwise blocks give ((1e16+1)+2)+4 = 1e16+6, +1 -> 1e16+8.
  const std::vector<double> big{1e16, 1, 1, 1, 1, 1, 1, 1, 1};
  CHECK(vpr::numpy::pairwise_sum(big.data(), big.size()) == 1e16 + 8);
  const std::vector<double> small{1, 2, 3};
  CHECK(vpr::numpy::pairwise_sum(small.data(), small.size()) == 6);

  CHECK(vpr::numpy::linspace(0, 1, 5) == std::vector<double>{0, 0.25, 0.5, 0.75, 1});
  CHECK(vpr::numpy::linspace(2, 2, 3) == std::vector<double>{2, 2, 2});
}

TEST_CASE("vpr metrics on a hand-computed 3x3 example", "[vpr][readout]") {
  // S (rows = places 0..2, columns = queries 0..2)    D = max(S) - S = 3 - S
  //   3 1 0                                             0 2 3
  //   1 2 2                                             2 1 1
  //   0 0 1                                             3 3 2
  // Best rows: q0 -> 0 (D 0, right), q1 -> 1 (D 1, right), q2 -> 1 (D 1, wrong; row 2 has D 2).
  // Recall@1 = 2/3; q2's ranking is rows 1, 2, 0, so Recall@2 = 1.
  // Thresholds i * 3/98: i <= 32 (< 1) accept q0 only: tp 1, fp 0, fn 2 -> P 1, R 1/3 (33 points);
  // i >= 33 accept all: tp 2, fp 1, fn 0 -> P 2/3, R 1 (66 points). With the (P 1, R 0) start:
  // 100 points. AUC = 1/3 * (1 + 1)/2 + 2/3 * (1 + 2/3)/2 = 1/3 + 5/9 = 8/9.
  // R@100P = 1/3; precision at the last threshold 2/3; printed "P@100R" = F1 = 2(2/3)/(5/3) = 0.8.
  const vpr::matrix s = make(3, 3, {3, 1, 0, 1, 2, 2, 0, 0, 1});
  const vpr::matrix d = vpr::distance_from_similarity(s);
  CHECK(mismatch(d, make(3, 3, {0, 2, 3, 2, 1, 1, 3, 3, 2})).empty());
  CHECK(vpr::best_rows(d) == std::vector<std::size_t>{0, 1, 1});
  CHECK(mismatch(vpr::recall_at_n(d, {1, 2}), {2.0 / 3, 1.0}).empty());
  CHECK(vpr::count_tied_best(d) == 0);

  const vpr::pr_curve curve = vpr::precision_recall(d);
  REQUIRE(curve.thresholds.size() == vpr::pr_threshold_count);
  CHECK(curve.thresholds[32].tp == 1);
  CHECK(curve.thresholds[32].fn == 2);
  CHECK(curve.thresholds[33].tp == 2);
  CHECK(curve.thresholds[33].fp == 1);
  CHECK(curve.thresholds[33].fn == 0);
  const vpr::pr_summary sum = vpr::summarise(curve);
  CHECK(sum.num_points == 100);
  CHECK(sum.auc == Approx(8.0 / 9).epsilon(1e-14));
  CHECK(sum.recall_at_100_precision == Approx(1.0 / 3).epsilon(1e-14));
  CHECK(sum.precision_at_100_recall == Approx(2.0 / 3).epsilon(1e-14));
  CHECK(sum.printed_p_at_100_recall == Approx(0.8).epsilon(1e-14));
  CHECK(sum.recall_at_last_threshold == 1.0);

  // Accuracy ranking with labels 0..2: tops 0, 1, 1 -> 2 of 3 correct.
  const auto top = vpr::top_labels(s, {0, 1, 2});
  CHECK(top == std::vector<int>{0, 1, 1});
  CHECK(vpr::count_correct(top, {0, 1, 2}) == 2);
  CHECK(vpr::accuracy_percent(2, 3) == Approx(200.0 / 3));

  // Sequence matching, length 2: sums of D along diagonals.
  CHECK(mismatch(vpr::sequence_distance(d, 2), make(2, 2, {1, 3, 5, 3})).empty());
  // Ensemble: element-wise sum.
  CHECK(mismatch(vpr::ensemble_similarity({s, s}), make(3, 3, {6, 2, 0, 2, 4, 4, 0, 0, 2})).empty());
}

TEST_CASE("vpr PR curve: tp = 0 adds a (0, 0) point and NaN recall when nothing is rejected", "[vpr][readout]") {
  // Every query's best row is wrong: D = [[1, 0], [0, 1]] -> q0 -> row 1, q1 -> row 0, both at 0.
  // All thresholds accept both: tp 0, fp 2, fn 0 -> P 0, R 0/0 = NaN, after an extra (0, 0).
  const vpr::pr_curve c = vpr::precision_recall(make(2, 2, {1, 0, 0, 1}));
  CHECK(c.precision.size() == 1 + 2 * 99);
  CHECK(c.precision[1] == 0);
  CHECK(c.recall[1] == 0);
  CHECK(std::isnan(c.recall[2]));
  const vpr::pr_summary s = vpr::summarise(c);
  CHECK(std::isnan(s.auc));
  CHECK(s.recall_at_100_precision == 0);
  CHECK(std::isnan(s.printed_p_at_100_recall));
}

TEST_CASE("vpr standard and weighted assignments by hand", "[vpr][readout]") {
  // 4 presentations (labels 0, 1, 0, 1) x 4 neurons. Mean counts per label:
  //   neuron 0: 2, 0 -> 0; neuron 1: 1, 1 -> tie -> 0 (smaller label);
  //   neuron 2: never fires -> -1; neuron 3: 0, 2 -> 1.
  const vpr::matrix train = make(4, 4, {2, 1, 0, 0,  //
                                        0, 1, 0, 3,  //
                                        2, 1, 0, 0,  //
                                        0, 1, 0, 1});
  const std::vector<int> labels{0, 1, 0, 1};
  const vpr::neuron_assignments a = vpr::assign_standard(train, labels);
  CHECK(a.label == std::vector<int>{0, 0, -1, 1});
  CHECK(vpr::label_rows(a) == std::vector<int>{-1, 0, 1});
  // Query (4, 2, 5, 6): S(-1) = 5, S(0) = (4 + 2)/2 = 3, S(1) = 6; ranking 1, -1, 0.
  const vpr::matrix q = make(2, 4, {4, 2, 5, 6, 0, 0, 0, 0});
  const vpr::matrix s = vpr::similarity(a, q);
  CHECK(mismatch(s, make(3, 2, {5, 0, 3, 0, 6, 0})).empty());
  const auto rank = vpr::ranking(s, vpr::label_rows(a));
  CHECK(rank[0] == std::vector<int>{1, -1, 0});
  CHECK(rank[1] == std::vector<int>{-1, 0, 1});  // all-zero query: the literal placeholder

  // Weighted, 3 presentations (labels 0, 1, 2) x 2 neurons:
  //   neuron 0 counts 6, 3, 1: C = {0: 6, 1: 3, 2: 1}, total 10, n = 3, top 0;
  //   neuron 1 counts 0, 4, 0: C = {1: 4}, n = 1, top 1.  Rows U = {0, 1}; 0.02 * |U| = 0.04, so
  //   every relevant neuron is divided by n. Relevant to 0: neuron 0 (rho 0.6). Relevant to 1:
  //   neuron 0 (rho 0.3), neuron 1 (rho 1). Label 2 wins no neuron and has no row.
  // Query (3, 0): S(0) = f 6/6 * (3/3 * 0.6) = 0.6;  S(1) = f 3/7 * (3/3 * 0.3 + 0) = 0.9/7.
  // Query (0, 2): S(0) = f 0 * 0 = 0;                 S(1) = f 4/7 * (0 + 2/1 * 1) = 8/7.
  const vpr::matrix wtrain = make(3, 2, {6, 0, 3, 4, 1, 0});
  const vpr::neuron_assignments w = vpr::assign_weighted(wtrain, {0, 1, 2});
  CHECK(w.label == std::vector<int>{0, 1});
  REQUIRE(w.label_counts[0].size() == 3);
  CHECK(w.label_counts[0][2] == std::pair<int, double>{2, 1.0});
  const auto rel = vpr::relevant_neurons(w);
  REQUIRE(rel.size() == 2);
  REQUIRE(rel[0].size() == 1);
  REQUIRE(rel[1].size() == 2);
  CHECK(rel[1][0].ratio == Approx(0.3));
  CHECK(rel[1][1].n_labels == 1);
  CHECK(rel[1][1].regularised);
  const vpr::matrix ws = vpr::similarity(w, make(2, 2, {3, 0, 0, 2}));
  CHECK(ws(0, 0) == Approx(0.6));
  CHECK(ws(1, 0) == Approx(0.9 / 7));
  CHECK(ws(0, 1) == 0);
  CHECK(ws(1, 1) == Approx(8.0 / 7));
  // docs/vpr.md, read-out: column 0 = (0.6, 0.9/7) -> min-max (1, 0) -> P (1, 0).
  const vpr::matrix p = vpr::probability_similarity(ws);
  CHECK(p(0, 0) == 1);
  CHECK(p(1, 0) == 0);

  // Merging two modules: neurons side by side.
  const vpr::neuron_assignments merged = vpr::merge_assignments({w, w});
  CHECK(merged.label == std::vector<int>{0, 1, 0, 1});
  CHECK(merged.label_counts.size() == 4);
  const vpr::matrix both = vpr::concat_neurons({make(1, 2, {1, 2}), make(1, 1, {3})});
  CHECK(both.values == std::vector<double>{1, 2, 3});
}

TEST_CASE("vpr hyperactive masking, un-shuffling and threshold calibration by hand", "[vpr][readout]") {
  // Record: neuron 0 fires for 3 reference images, neuron 1 for 1, neuron 2 for none.
  const vpr::matrix record = make(3, 3, {1, 0, 0, 2, 5, 0, 1, 0, 0});
  const auto k = vpr::record_activity(record);
  CHECK(k == std::vector<std::size_t>{3, 1, 0});
  const vpr::matrix q = make(1, 3, {4, 5, 6});
  CHECK(vpr::mask_hyperactive(q, k, 0).values == std::vector<double>{4, 5, 6});  // T = 0: off
  CHECK(vpr::mask_hyperactive(q, k, 3).values == std::vector<double>{0, 5, 6});  // k >= 3
  CHECK(vpr::mask_hyperactive(q, k, 1).values == std::vector<double>{0, 0, 6});
  CHECK(vpr::hyperactive_candidates().front() == 0);
  CHECK(vpr::hyperactive_candidates().back() == 200);

  // Block (5, 2, 9): argsort = (1, 0, 2); rows and columns both follow it.
  const vpr::matrix s = make(3, 3, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  const vpr::matrix u = vpr::unshuffle(s, {5, 2, 9});
  CHECK(u.values == std::vector<double>{5, 4, 6, 2, 1, 3, 8, 7, 9});
  const std::vector<std::size_t> perm{4, 1, 3, 0, 2};
  CHECK(vpr::shuffle_block(perm, 2, vpr::query_block::calibration) == std::vector<std::size_t>{4, 1});
  CHECK(vpr::shuffle_block(perm, 2, vpr::query_block::test) == std::vector<std::size_t>{3, 0, 2});

  // Calibration: 2 places, 3 neurons. Neuron 0 (place 0) and neuron 1 (place 1) are selective;
  // neuron 2 is assigned to place 1 but fires for both reference images (k = 2) and strongly for
  // query 0, which it drags to place 1: S(1, q0) = (0 + 9)/2 > S(0, q0) = 2. T = 0 gets
  // Recall@1 = 1/2; T = 2 masks neuron 2 only and gets 1; T = 3 masks nothing again; T = 1
  // would mask all three. Pick: T = 2.
  const vpr::matrix train = make(2, 3, {3, 0, 1, 0, 3, 2});
  const vpr::neuron_assignments a = vpr::assign_standard(train, {0, 1});
  CHECK(a.label == std::vector<int>{0, 1, 1});
  const vpr::matrix rec = make(2, 3, {1, 0, 1, 0, 1, 1});
  const vpr::matrix cal = make(2, 3, {2, 0, 9, 0, 2, 1});
  const auto choice = vpr::choose_hyperactive_threshold(a, cal, {0, 1}, vpr::record_activity(rec), {}, {0, 2, 3});
  REQUIRE(choice.trials.size() == 3);
  CHECK(choice.trials[0].result.recall_at_n.front() == 0.5);
  CHECK(choice.trials[1].result.recall_at_n.front() == 1.0);
  CHECK(choice.trials[2].result.recall_at_n.front() == 0.5);
  CHECK(choice.threshold == 2);
  // Masking every neuron leaves no output, as in the reference; that candidate is skipped.
  const auto all_masked = vpr::evaluate(a, cal, {0, 1}, vpr::record_activity(rec), {1, {}, {1}});
  CHECK_FALSE(all_masked.produced);
}

TEST_CASE("vpr read-out rejects bad shapes with kspike::error", "[vpr][readout]") {
  const vpr::matrix train = make(2, 2, {1, 0, 0, 1});
  CHECK_THROWS_AS(vpr::assign_standard(train, {0}), kspike::error);
  CHECK_THROWS_AS(vpr::assign_standard(vpr::matrix(), {}), kspike::error);
  CHECK_THROWS_AS(vpr::assign_weighted(train, {0, -2}), kspike::error);
  const auto a = vpr::assign_standard(train, {0, 1});
  CHECK_THROWS_AS(vpr::similarity(a, make(1, 3, {1, 2, 3})), kspike::error);
  CHECK_THROWS_AS(vpr::precision_recall(make(2, 3, {0, 0, 0, 0, 0, 0})), kspike::error);
  CHECK_THROWS_AS(vpr::recall_at_n(vpr::matrix(), {1}), kspike::error);
  CHECK_THROWS_AS(vpr::unshuffle(make(2, 2, {0, 0, 0, 0}), {1, 2, 3}), kspike::error);
  CHECK_THROWS_AS(vpr::mask_hyperactive(make(1, 2, {1, 1}), {1}, 1), kspike::error);
  CHECK_THROWS_AS(vpr::sequence_distance(make(2, 2, {0, 0, 0, 0}), 3), kspike::error);
  CHECK_THROWS_AS(vpr::ensemble_similarity({make(1, 1, {1}), make(1, 2, {1, 1})}), kspike::error);
  CHECK_THROWS_AS(vpr::area_under_curve({0, 1, 0.5}, {1, 1, 1}), kspike::error);
  CHECK_THROWS_AS(vpr::evaluate(a, make(1, 2, {1, 1}), {0, 1}, {}), kspike::error);
}

// ============================================================================================
// Golden cases
// ============================================================================================

namespace {

struct golden_case {
  fs::path dir;
  vpr::matrix query, record;
  std::vector<int> query_labels;
  std::vector<std::size_t> perm;  // empty when the case has none
  vpr::neuron_assignments standard, weighted;
};

golden_case load_case(const fs::path& dir) {
  golden_case c;
  c.dir = dir;
  const fs::path in = dir / "inputs";
  c.query = read_csv(in / "query_counts.csv").as_matrix();
  c.record = read_csv(in / "record_counts.csv").as_matrix();
  c.query_labels = read_labels(in / "query_labels.csv");
  if (fs::exists(in / "shuffle_perm.csv"))
    for (int p : read_labels(in / "shuffle_perm.csv")) c.perm.push_back(std::size_t(p));
  // One training window, or one per module (case2): assign per module, then merge.
  std::vector<std::string> stems;
  if (fs::exists(in / "train_counts.csv")) {
    stems.push_back("train");
  } else {
    for (const auto& e : fs::directory_iterator(in)) {
      const std::string name = e.path().filename().string();
      const auto at = name.find("_train_counts.csv");
      if (at != std::string::npos) stems.push_back(name.substr(0, at + 6));
    }
    std::sort(stems.begin(), stems.end());
  }
  REQUIRE_FALSE(stems.empty());
  std::vector<vpr::neuron_assignments> standard, weighted;
  for (const std::string& stem : stems) {
    const vpr::matrix counts = read_csv(in / (stem + "_counts.csv")).as_matrix();
    const std::vector<int> labels = read_labels(in / (stem + "_labels.csv"));
    standard.push_back(vpr::assign_standard(counts, labels));
    weighted.push_back(vpr::assign_weighted(counts, labels));
  }
  c.standard = vpr::merge_assignments(standard);
  c.weighted = vpr::merge_assignments(weighted);
  return c;
}

void check_assignments(const golden_case& c) {
  const fs::path ex = c.dir / "expected";
  const csv standard = read_csv(ex / "assign_standard.csv");
  const csv top = read_csv(ex / "assign_weighted_top.csv");
  REQUIRE(standard.rows.size() == c.standard.neurons());
  REQUIRE(top.rows.size() == c.weighted.neurons());
  std::size_t wrong_standard = 0, wrong_top = 0;
  for (std::size_t i = 0; i < standard.rows.size(); ++i) {
    wrong_standard += c.standard.label[std::size_t(standard.rows[i][0])] != int(standard.rows[i][1]) ? 1 : 0;
    wrong_top += c.weighted.label[std::size_t(top.rows[i][0])] != int(top.rows[i][1]) ? 1 : 0;
  }
  CHECK(wrong_standard == 0);
  CHECK(wrong_top == 0);

  // Every (neuron, label, C) in dict order.
  const csv all = read_csv(ex / "assign_weighted_all.csv");
  std::vector<std::vector<double>> ours;
  for (std::size_t i = 0; i < c.weighted.neurons(); ++i)
    for (const auto& [label, count] : c.weighted.label_counts[i]) ours.push_back({double(i), double(label), count});
  CHECK(ours == all.rows);

  const csv rel = read_csv(ex / "weighted_relevant.csv");
  const auto relevant = vpr::relevant_neurons(c.weighted);
  const auto rows = vpr::label_rows(c.weighted);
  std::vector<std::vector<double>> flat;
  for (std::size_t r = 0; r < relevant.size(); ++r)
    for (const auto& n : relevant[r])
      flat.push_back({double(r), double(rows[r]), double(n.neuron), n.label_count, n.total_count, double(n.n_labels),
                      n.ratio, n.regularised ? 1.0 : 0.0});
  REQUIRE(flat.size() == rel.rows.size());
  for (std::size_t k = 0; k < flat.size(); ++k) CHECK(mismatch(flat[k], rel.rows[k]).empty());
}

void check_hyperactive(const golden_case& c) {
  const auto k = vpr::record_activity(c.record);
  for (const auto& e : fs::directory_iterator(c.dir / "expected")) {
    const std::string name = e.path().filename().string();
    if (name.rfind("hyperactive_T", 0) != 0) continue;
    const int t = std::stoi(name.substr(13));
    INFO(name);
    const csv want = read_csv(e.path() / "hyperactive_k.csv");
    const std::vector<bool> masked = vpr::hyperactive(k, t);
    REQUIRE(want.rows.size() == k.size());
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < k.size(); ++i)
      wrong += (double(k[i]) != want.rows[i][1] || (masked[i] ? 1.0 : 0.0) != want.rows[i][2]) ? 1 : 0;
    CHECK(wrong == 0);
    const vpr::matrix q = read_csv(e.path() / "query_counts_masked.csv").as_matrix();
    CHECK(mismatch(vpr::mask_hyperactive(c.query, k, t), q).empty());
  }
}

// pr_curve.csv / pr_thresholds.csv and the "pr" block of metrics.json.
void check_pr(const vpr::pr_curve& curve, const fs::path& dir, const std::string& suffix, const json& stats) {
  const csv points = read_csv(dir / ("pr_curve" + suffix + ".csv"));
  CHECK(mismatch(curve.precision, column_of(points, "precision")).empty());
  CHECK(mismatch(curve.recall, column_of(points, "recall")).empty());
  const csv thresholds = read_csv(dir / ("pr_thresholds" + suffix + ".csv"));
  REQUIRE(thresholds.rows.size() == curve.thresholds.size());
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < curve.thresholds.size(); ++i) {
    const auto& p = curve.thresholds[i];
    const auto& row = thresholds.rows[i];
    wrong += (double(p.tp) != row[1] || double(p.fp) != row[2] || double(p.fn) != row[3] || double(p.tn) != row[4] ||
              !same_value(p.f1, row[5]))
                 ? 1
                 : 0;
  }
  CHECK(wrong == 0);
  const vpr::pr_summary s = vpr::summarise(curve);
  CHECK(double(s.num_points) == stats["num_points"].num());
  CHECK(same_value(s.auc, stats["auc"].num()));
  CHECK(same_value(s.recall_at_100_precision, stats["r_at_100p"].num()));
  CHECK(same_value(s.printed_p_at_100_recall, stats["printed_p_at_100r_is_f1"].num()));
  CHECK(same_value(s.precision_at_100_recall, stats["precision_at_last_threshold"].num()));
  CHECK(same_value(s.recall_at_last_threshold, stats["recall_at_last_threshold"].num()));
}

void check_top1(const vpr::evaluation& e, const csv& top1) {
  const auto ranked = vpr::ranked_rows(e.distance);
  const auto best = vpr::best_rows(e.distance);
  REQUIRE(top1.rows.size() == e.distance.cols);
  for (std::size_t q = 0; q < top1.rows.size(); ++q) {
    INFO("query " << q);
    const auto& row = top1.rows[q];
    CHECK(double(e.ranking[q].front()) == row[top1.col("ranking0_label")]);
    CHECK(double(ranked[q].front()) == row[top1.col("argsortD_row0")]);
    CHECK(double(best[q]) == row[top1.col("argminD_row")]);
    CHECK(same_value(e.distance(best[q], q), row[top1.col("minD")]));
    std::size_t at_min = 0;
    for (std::size_t r = 0; r < e.distance.rows; ++r) at_min += e.distance(r, q) == e.distance(best[q], q) ? 1 : 0;
    CHECK(double(at_min) == row[top1.col("n_rows_at_max")]);
  }
}

void check_evaluation(const golden_case& c, const std::string& name, const json& m) {
  INFO(c.dir.filename().string() << " / " << name);
  const fs::path dir = c.dir / "expected" / name;
  const bool weighted = m["assignment"].text == "weighted";
  const vpr::neuron_assignments& a = weighted ? c.weighted : c.standard;
  vpr::evaluation_options options;
  options.hyperactive_threshold = int(m["T"].num());
  if (m.has("perm_mode") && m["perm_mode"].type == json::kind::array) {
    const auto block =
        m["perm_mode"].items[0].text == "calibrate" ? vpr::query_block::calibration : vpr::query_block::test;
    options.shuffle_order = vpr::shuffle_block(c.perm, std::size_t(m["perm_mode"].items[1].num()), block);
  }
  const vpr::evaluation e = vpr::evaluate(a, c.query, c.query_labels, vpr::record_activity(c.record), options);
  REQUIRE(e.produced);

  const csv rows = read_csv(dir / "unique_labels.csv");
  std::vector<int> want_rows;
  for (const auto& r : rows.rows) want_rows.push_back(int(r[1]));
  CHECK(e.rows == want_rows);

  if (m.has("reference_raises")) {
    // The reference raises IndexError on the unassigned row; ours scores it 0 and goes on.
    REQUIRE(e.rows.front() == vpr::unassigned);
    for (std::size_t q = 0; q < e.similarity.cols; ++q) CHECK(e.similarity(0, q) == 0);
    return;
  }

  if (m.has("num_masked")) CHECK(double(e.num_masked) == m["num_masked"].num());
  CHECK(mismatch(e.similarity, read_csv(dir / "S.csv").as_matrix()).empty());
  const vpr::matrix ranking = read_csv(dir / "ranking.csv").as_matrix();
  std::size_t wrong_rank = 0;
  for (std::size_t q = 0; q < ranking.cols; ++q)
    for (std::size_t r = 0; r < ranking.rows; ++r) wrong_rank += double(e.ranking[q][r]) != ranking(r, q) ? 1 : 0;
  CHECK(wrong_rank == 0);
  if (fs::exists(dir / "S_unshuffled.csv"))
    CHECK(mismatch(e.similarity_unshuffled, read_csv(dir / "S_unshuffled.csv").as_matrix()).empty());
  CHECK(mismatch(e.distance, read_csv(dir / "D.csv").as_matrix()).empty());
  check_top1(e, read_csv(dir / "top1.csv"));

  CHECK(same_value(e.accuracy_percent, m["accuracy_percent"].num()));
  CHECK(double(e.num_correct) == m["num_correct"].num());
  const auto& ns = vpr::default_recall_ns();
  for (std::size_t i = 0; i < ns.size(); ++i) {
    INFO("Recall@" << ns[i]);
    CHECK(same_value(e.recall_at_n[i], m["recall_at_n"][std::to_string(ns[i])].num()));
  }
  CHECK(double(e.rows.size()) == m["num_labels_rows"].num());
  CHECK(e.square == m["square"].flag);
  CHECK(double(e.ties_at_top) == m["ties_at_top"].num());
  if (e.square) check_pr(e.pr, dir, "", m["pr"]);
  CHECK(e.square == fs::exists(dir / "pr_curve.csv"));

  if (m.has("pr_Pi")) {
    // The probability variant of the per-module evaluation (docs/vpr.md, read-out).
    const vpr::matrix p = vpr::probability_similarity(e.similarity);
    CHECK(mismatch(p, read_csv(dir / "P_i.csv").as_matrix()).empty());
    const vpr::matrix dp = vpr::distance_from_similarity(p);
    CHECK(mismatch(dp, read_csv(dir / "D_Pi.csv").as_matrix()).empty());
    check_pr(vpr::precision_recall(dp), dir, "_Pi", m["pr_Pi"]);
  }
}

}  // namespace

TEST_CASE("vpr read-out matches the reference on the golden spike counts", "[vpr][readout][golden]") {
  if (!kspike_test::have_shared("vpr/golden/readout/summary.json")) return;
  const fs::path root = kspike_test::shared_data("vpr/golden/readout");
  const json summary = read_json(root / "summary.json");
  std::size_t evaluations = 0;
  for (const auto& [case_name, entries] : summary.members) {
    INFO(case_name);
    const golden_case c = load_case(root / case_name);
    check_assignments(c);
    check_hyperactive(c);
    for (const auto& [name, m] : entries.members) {
      if (m.type != json::kind::object || !m.has("assignment")) continue;  // notes such as tie lists
      check_evaluation(c, name, m);
      ++evaluations;
    }
  }
  CHECK(evaluations == 28);
}

TEST_CASE("vpr hyperactive threshold calibration on the golden calibration module", "[vpr][readout][golden]") {
  if (!kspike_test::have_shared("vpr/golden/readout/summary.json")) return;
  const golden_case c = load_case(kspike_test::shared_data("vpr/golden/readout/case1_module0"));
  vpr::evaluation_options options;
  options.shuffle_order = vpr::shuffle_block(c.perm, 10, vpr::query_block::calibration);
  const auto k = vpr::record_activity(c.record);
  // Reference: T = 0 gives Recall@1 0.5 (standard), T = 20 gives 0.8, so T = 20 wins.
  const auto choice = vpr::choose_hyperactive_threshold(c.standard, c.query, c.query_labels, k, options, {0, 20});
  CHECK(choice.threshold == 20);
  CHECK(choice.trials[0].result.recall_at_n.front() == Approx(0.5));
  CHECK(choice.trials[1].result.recall_at_n.front() == Approx(0.8));
  // Over the whole candidate list the winner is at least as good as T = 20. The 30 record images
  // cap k at 30, so T >= 40 masks nothing.
  const auto full = vpr::choose_hyperactive_threshold(c.standard, c.query, c.query_labels, k, options);
  REQUIRE(full.trials.size() == vpr::hyperactive_candidates().size());
  double best = 0;
  for (const auto& t : full.trials)
    if (t.result.produced) best = std::max(best, t.result.recall_at_n.front());
  CHECK(best >= 0.8);
  for (const auto& t : full.trials)
    if (t.threshold == full.threshold) CHECK(t.result.recall_at_n.front() == best);
  for (const auto& t : full.trials)
    if (t.threshold >= 40) CHECK(t.result.num_masked == 0);
}
