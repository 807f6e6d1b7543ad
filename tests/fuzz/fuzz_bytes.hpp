#pragma once
// Decisions drawn from a fuzzer's input, for the structure-aware targets: the input is read
// front to back as small numbers and values; once it is used up every draw returns 0.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace kspike_fuzz {

class bytes {
 public:
  bytes(const std::uint8_t* d, std::size_t n) : d_(d), n_(n) {}
  std::uint8_t byte() { return at_ < n_ ? d_[at_++] : 0; }
  // A number in [0, n).
  unsigned pick(unsigned n) { return n ? byte() % n : 0; }
  bool flip() { return byte() & 1; }
  double real() {
    std::uint64_t u = 0;
    for (int k = 0; k < 8; ++k) u = (u << 8) | byte();
    double v;
    std::memcpy(&v, &u, sizeof v);
    return v;  // any bit pattern: NaN, infinities, subnormals included
  }
  std::string text(std::size_t max) {
    const std::size_t len = pick(static_cast<unsigned>(max + 1));
    std::string s;
    for (std::size_t k = 0; k < len; ++k) s += static_cast<char>(byte());
    return s;
  }

 private:
  const std::uint8_t* d_;
  std::size_t n_, at_ = 0;
};

}  // namespace kspike_fuzz
