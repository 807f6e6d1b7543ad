#pragma once
// A dense row-major matrix of doubles, the one container of the VPR read-out: spike counts
// (rows = presentations or queries, columns = neurons) and similarity / distance matrices
// (rows = place labels, columns = queries). Counts are kept as doubles because the reference
// keeps them as float64 and every formula divides them.
#include <cstddef>
#include <vector>

namespace kspike::vpr {

struct matrix {
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::vector<double> values;  // row-major, rows * cols entries

  matrix() = default;
  matrix(std::size_t r, std::size_t c, double fill = 0.0) : rows(r), cols(c), values(r * c, fill) {}

  double& operator()(std::size_t r, std::size_t c) { return values[r * cols + c]; }
  double operator()(std::size_t r, std::size_t c) const { return values[r * cols + c]; }

  bool empty() const { return rows == 0 || cols == 0; }

  std::vector<double> column(std::size_t c) const {
    std::vector<double> out(rows);
    for (std::size_t r = 0; r < rows; ++r) out[r] = (*this)(r, c);
    return out;
  }
};

}  // namespace kspike::vpr
