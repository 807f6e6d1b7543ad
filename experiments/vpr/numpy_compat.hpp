#pragma once
// The three numpy behaviours the reference read-out's results depend on, reproduced so that
// tie order and last bits follow the reference (numpy 1.24) rather than the C++ library:
//  - argsort: numpy's default sort kind ("quicksort", an introsort) is not stable. For up to
//    17 values it is an insertion sort (ties keep index order); for more, median-of-3
//    partitions reorder ties (docs/vpr.md "Predictions and tie-breaking": in a golden case
//    20 rows put row 9 before row 6). Recall@N and the accuracy ranking inherit this order.
//  - pairwise_sum: np.sum over a 1-D float64 array adds in blocks of 8 partial sums, not left
//    to right; used where the reference sums non-integer values (weighted S, AUC).
//  - linspace: the 99 PR thresholds, i * step + start with the last one set to stop.
#include <cstddef>
#include <vector>

namespace kspike::vpr::numpy {

// Indices that sort v ascending, in numpy's default (unstable) order; NaN sorts last.
std::vector<std::size_t> argsort(const std::vector<double>& v);

// np.sum of n contiguous doubles (numpy's pairwise summation).
double pairwise_sum(const double* a, std::size_t n);

// np.linspace(start, stop, num) with endpoint=true.
std::vector<double> linspace(double start, double stop, std::size_t num);

// numpy's ordering of doubles: a < b, with NaN after every number.
inline bool less(double a, double b) { return a < b || (b != b && a == a); }

}  // namespace kspike::vpr::numpy
