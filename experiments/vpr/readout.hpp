#pragma once
// Read-out of the place-recognition experiment on spike-count matrices: neuronal assignments
// (standard Diehl & Cook and the RA-L weighted variant), similarity and distance matrices,
// top-1 predictions, hyperactive-neuron masking, module merging, ensembles and sequence
// matching. The semantics are those of the reference code
// (QVPR/VPRSNN, branch main), quirks included; docs/vpr.md "Read-out and metrics" lists them.
//
// Shapes: counts have one row per presentation (or query, or reference image) and one column
// per excitatory neuron; S and D have one row per label of label_rows() and one column per query.
#include <cstddef>
#include <utility>
#include <vector>

#include "experiments/vpr/matrix.hpp"
#include "experiments/vpr/metrics.hpp"

namespace kspike::vpr {

// The label of a neuron that never fired in the assignment window.
inline constexpr int unassigned = -1;

enum class assignment_kind { standard, weighted };

// What each neuron learnt. Place labels are >= 0.
struct neuron_assignments {
  assignment_kind kind = assignment_kind::standard;
  // Standard: the label with the largest mean count. Weighted: the label with the largest summed
  // count. Ties go to the smaller label; unassigned for a neuron that never fired.
  std::vector<int> label;
  // Weighted only: for every label j the neuron fired for, C[i][j] = its summed count over the
  // window's presentations of j, ascending j. Empty for standard assignments.
  std::vector<std::vector<std::pair<int, double>>> label_counts;

  std::size_t neurons() const { return label.size(); }
};

// docs/vpr.md "Assignments", standard. train_counts: presentations x neurons; train_labels: one
// label per presentation.
neuron_assignments assign_standard(const matrix& train_counts, const std::vector<int>& train_labels);
// docs/vpr.md "Assignments", weighted.
neuron_assignments assign_weighted(const matrix& train_counts, const std::vector<int>& train_labels);
neuron_assignments assign(assignment_kind kind, const matrix& train_counts, const std::vector<int>& train_labels);

// The labels of the rows of S: the distinct assigned labels, ascending. They may include
// unassigned (-1) and may miss places that won no neuron (S is then not square).
std::vector<int> label_rows(const neuron_assignments& a);

// A neuron relevant to a label v (docs/vpr.md "Assignments", relevant neurons).
struct relevant_neuron {
  std::size_t neuron = 0;
  double label_count = 0;   // C[i][v]
  double total_count = 0;   // sum over j of C[i][j], every label the neuron fired for
  std::size_t n_labels = 0; // number of labels the neuron fired for
  double ratio = 0;         // label_count / total_count, > 0.1 to be relevant
  bool regularised = false; // n_labels >= 0.02 * |rows|: its response is divided by n_labels
};

// Per row of label_rows(a), its relevant neurons in ascending neuron order. The unassigned row
// has none.
std::vector<std::vector<relevant_neuron>> relevant_neurons(const neuron_assignments& a);

// S (rows = label_rows(a), one column per query of query_counts). Standard: mean count of the
// neurons assigned to the row's label. Weighted: docs/vpr.md "Similarity and distance". An
// all-zero query gives a zero column. The weighted unassigned row is 0 (the reference raises IndexError there).
matrix similarity(const neuron_assignments& a, const matrix& query_counts);

// Probability variant: per column, min-max normalised S divided by its sum (NaN for a constant
// column).
matrix probability_similarity(const matrix& similarity);

// D = max over the whole of S - S.
matrix distance_from_similarity(const matrix& similarity);

// The reference's accuracy ranking of every query (get_recognized_number_ranking): the row
// labels by decreasing S, numpy's argsort(S)[::-1] (for <= 17 rows ties put the larger row
// first). A column of zeros ranks literally -1, 0, 1, ..., |rows| - 2, whatever the labels.
std::vector<std::vector<int>> ranking(const matrix& similarity, const std::vector<int>& rows);

// The first label of every ranking: the prediction the reference's accuracy counts.
std::vector<int> top_labels(const matrix& similarity, const std::vector<int>& rows);

// Number of queries whose top label equals their label; accuracy in percent as the reference
// computes it (correct / total * 100).
std::size_t count_correct(const std::vector<int>& top, const std::vector<int>& query_labels);
double accuracy_percent(std::size_t correct, std::size_t total);

// Hyperactive neurons (docs/vpr.md). k_i = number of reference images (rows of record_counts)
// for which neuron i fired.
std::vector<std::size_t> record_activity(const matrix& record_counts);
// Neurons with k_i >= T; none when T = 0 (off).
std::vector<bool> hyperactive(const std::vector<std::size_t>& activity, int threshold);
// query_counts with the columns of hyperactive neurons set to 0.
matrix mask_hyperactive(const matrix& query_counts, const std::vector<std::size_t>& activity, int threshold);
// The reference's candidate thresholds (0 = off).
const std::vector<int>& hyperactive_candidates();

// Merging modules: module responses side by side (same rows), neuron indices offset per module.
matrix concat_neurons(const std::vector<matrix>& per_module);
neuron_assignments merge_assignments(const std::vector<neuron_assignments>& per_module);

// Shuffled query order. The run presents places in the order of a permutation whose first
// num_cal_labels entries are the calibration queries and the rest the test queries.
enum class query_block { calibration, test };
std::vector<std::size_t> shuffle_block(const std::vector<std::size_t>& permutation, std::size_t num_cal_labels,
                                       query_block block);
// get_unshuffled_results: with o = argsort(block), S'[r][c] = S[o[r]][o[c]] (rows AND columns).
// Needs a square S of the block's size.
matrix unshuffle(const matrix& similarity, const std::vector<std::size_t>& block);

// Ensemble similarity: the element-wise sum of the members' (un-shuffled) S, in order.
matrix ensemble_similarity(const std::vector<matrix>& members);
// Sequence matching: out[i][j] = sum over k < length of D[i+k][j+k] (valid 2-D convolution with
// an identity kernel), (rows - length + 1) x (cols - length + 1). In double; the reference
// computes it in float32.
matrix sequence_distance(const matrix& distance, std::size_t length);

// The reference's evaluation of one configuration (modular_snn_config_evaluation.process):
// mask -> S -> accuracy on the query order given -> un-shuffle -> D -> Recall@N -> PR if square.
struct evaluation_options {
  int hyperactive_threshold = 0;          // T; 0 = off
  std::vector<std::size_t> shuffle_order; // shuffle_block() of the queries; empty: already in place order
  std::vector<int> recall_ns = default_recall_ns();
  // Not the reference's behaviour (off by default): when some query label won no neuron, or
  // the unassigned row is present, rebuild S with exactly one row per query label (ascending;
  // zero rows for labels without neurons, the unassigned row dropped), so that S is square and
  // every metric, un-shuffling and the PR curve are defined. The reference skips PR there and
  // cannot un-shuffle. kspike vpr turns it on (docs/vpr.md).
  bool complete_square = false;
};

struct evaluation {
  bool produced = false;     // false when masking zeroed every query (the reference stops there)
  std::size_t num_masked = 0;
  matrix masked_queries;
  std::vector<int> rows;     // label of each row of S
  matrix similarity;         // queries in the given order
  std::vector<std::vector<int>> ranking;
  std::size_t num_correct = 0;
  double accuracy_percent = 0;
  matrix similarity_unshuffled;  // = similarity when there is no shuffle order
  matrix distance;               // from similarity_unshuffled
  std::vector<double> recall_at_n;
  std::size_t ties_at_top = 0;   // queries whose best distance is shared by several rows
  bool square = false;
  pr_curve pr;                   // only when square
  pr_summary pr_stats;
};

// activity: record_activity() of the same neurons; may be empty when T = 0.
evaluation evaluate(const neuron_assignments& a, const matrix& query_counts, const std::vector<int>& query_labels,
                    const std::vector<std::size_t>& activity, const evaluation_options& options = {});

// Calibration of T. Evaluates every candidate T on the calibration queries and picks the best:
// highest Recall@N for the first N of options.recall_ns, then highest AUC (none or NaN lowest),
// then the earlier candidate. Candidates that mask every query are skipped. The reference
// prints these numbers and leaves the pick to a person; this is our explicit rule.
struct threshold_trial {
  int threshold = 0;
  evaluation result;
};
struct threshold_choice {
  int threshold = 0;
  std::vector<threshold_trial> trials;
};
threshold_choice choose_hyperactive_threshold(const neuron_assignments& a, const matrix& query_counts,
                                              const std::vector<int>& query_labels,
                                              const std::vector<std::size_t>& activity,
                                              const evaluation_options& options = {},
                                              const std::vector<int>& candidates = hyperactive_candidates());

}  // namespace kspike::vpr
