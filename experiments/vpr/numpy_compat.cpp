#include "experiments/vpr/numpy_compat.hpp"

#include <cstddef>
#include <numeric>
#include <utility>

namespace kspike::vpr::numpy {

namespace {

// Ranges of at most this many + 1 elements are insertion-sorted (numpy's SMALL_QUICKSORT).
constexpr std::ptrdiff_t small_range = 16;

// Pairwise summation switches from 8 running sums to halving above this length (PW_BLOCKSIZE).
constexpr std::size_t pairwise_block = 128;

int highest_bit(std::size_t n) {
  int bit = 0;
  while (n >>= 1) ++bit;
  return bit;
}

// Heap sort of idx[0, n) by v, numpy's fallback when partitioning degenerates. The heap is
// 1-based as in numpy so that equal keys end up in the same order.
void heap_sort(const std::vector<double>& v, std::size_t* idx, std::size_t n) {
  auto at = [idx](std::size_t k) -> std::size_t& { return idx[k - 1]; };
  auto sift_down = [&](std::size_t top, std::size_t end, std::size_t item) {
    std::size_t i = top;
    for (std::size_t j = 2 * top; j <= end;) {
      if (j < end && less(v[at(j)], v[at(j + 1)])) ++j;
      if (!less(v[item], v[at(j)])) break;
      at(i) = at(j);
      i = j;
      j += j;
    }
    at(i) = item;
  };
  for (std::size_t l = n / 2; l > 0; --l) sift_down(l, n, at(l));
  for (std::size_t end = n; end > 1;) {
    const std::size_t item = at(end);
    at(end) = at(1);
    --end;
    sift_down(1, end, item);
  }
}

// Stable insertion sort of idx[lo, hi] (inclusive bounds, as numpy's pointers).
void insertion_sort(const std::vector<double>& v, std::vector<std::size_t>& idx, std::ptrdiff_t lo,
                    std::ptrdiff_t hi) {
  for (std::ptrdiff_t i = lo + 1; i <= hi; ++i) {
    const std::size_t item = idx[std::size_t(i)];
    const double key = v[item];
    std::ptrdiff_t j = i;
    while (j > lo && less(key, v[idx[std::size_t(j - 1)]])) {
      idx[std::size_t(j)] = idx[std::size_t(j - 1)];
      --j;
    }
    idx[std::size_t(j)] = item;
  }
}

// One median-of-3 partition of idx[lo, hi]; returns the pivot's final position.
std::ptrdiff_t partition(const std::vector<double>& v, std::vector<std::size_t>& idx, std::ptrdiff_t lo,
                         std::ptrdiff_t hi) {
  auto key = [&](std::ptrdiff_t p) { return v[idx[std::size_t(p)]]; };
  auto swap_at = [&](std::ptrdiff_t a, std::ptrdiff_t b) { std::swap(idx[std::size_t(a)], idx[std::size_t(b)]); };
  const std::ptrdiff_t mid = lo + ((hi - lo) >> 1);
  if (less(key(mid), key(lo))) swap_at(mid, lo);
  if (less(key(hi), key(mid))) swap_at(hi, mid);
  if (less(key(mid), key(lo))) swap_at(mid, lo);
  const double pivot = key(mid);
  std::ptrdiff_t i = lo;
  std::ptrdiff_t j = hi - 1;
  swap_at(mid, j);
  for (;;) {
    do ++i; while (less(key(i), pivot));
    do --j; while (less(pivot, key(j)));
    if (i >= j) break;
    swap_at(i, j);
  }
  swap_at(i, hi - 1);
  return i;
}

}  // namespace

std::vector<std::size_t> argsort(const std::vector<double>& v) {
  std::vector<std::size_t> idx(v.size());
  std::iota(idx.begin(), idx.end(), std::size_t(0));
  if (v.size() < 2) return idx;

  struct pending {
    std::ptrdiff_t lo, hi;
    int depth;
  };
  std::vector<pending> stack;
  std::ptrdiff_t lo = 0;
  std::ptrdiff_t hi = std::ptrdiff_t(v.size()) - 1;
  int depth = 2 * highest_bit(v.size());
  for (;;) {
    if (depth < 0) {
      heap_sort(v, idx.data() + lo, std::size_t(hi - lo + 1));
    } else {
      // Partition until the range is small; the larger side waits on the stack.
      while (hi - lo > small_range) {
        const std::ptrdiff_t p = partition(v, idx, lo, hi);
        if (p - lo < hi - p) {
          stack.push_back({p + 1, hi, --depth});
          hi = p - 1;
        } else {
          stack.push_back({lo, p - 1, --depth});
          lo = p + 1;
        }
      }
      insertion_sort(v, idx, lo, hi);
    }
    if (stack.empty()) break;
    lo = stack.back().lo;
    hi = stack.back().hi;
    depth = stack.back().depth;
    stack.pop_back();
  }
  return idx;
}

double pairwise_sum(const double* a, std::size_t n) {
  if (n < 8) {
    double sum = 0.0;
    for (std::size_t i = 0; i < n; ++i) sum += a[i];
    return sum;
  }
  if (n <= pairwise_block) {
    double r[8];
    for (std::size_t k = 0; k < 8; ++k) r[k] = a[k];
    std::size_t i = 8;
    for (; i < n - n % 8; i += 8)
      for (std::size_t k = 0; k < 8; ++k) r[k] += a[i + k];
    double sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) sum += a[i];
    return sum;
  }
  std::size_t half = n / 2;
  half -= half % 8;
  return pairwise_sum(a, half) + pairwise_sum(a + half, n - half);
}

std::vector<double> linspace(double start, double stop, std::size_t num) {
  std::vector<double> out(num);
  if (num == 0) return out;
  if (num == 1) {
    out[0] = start;
    return out;
  }
  const double divisions = double(num - 1);
  const double delta = stop - start;
  const double step = delta / divisions;
  for (std::size_t i = 0; i < num; ++i) {
    // numpy falls back to (i / div) * delta when the step underflows to 0.
    out[i] = (step == 0.0 ? (double(i) / divisions) * delta : double(i) * step) + start;
  }
  out[num - 1] = stop;
  return out;
}

}  // namespace kspike::vpr::numpy
