#pragma once
// Reader for IDX files, the format of MNIST and Fashion-MNIST: a big-endian header
//   0x00 0x00 <type> <rank>, then `rank` uint32 extents, then the samples in row-major order.
// Only unsigned-byte data (type 0x08) is accepted, which is what both datasets use:
//   images: magic 0x00000803, extents [n, rows, cols];  labels: magic 0x00000801, extent [n].
// Files may be stored gzip-compressed (Debian's dataset-fashion-mnist ships *.gz): compression
// is detected from the content, not the file name, so both forms read the same way.
//
// Every problem (missing file, wrong magic, unexpected extents, truncated or over-long data,
// a label out of range, image and label counts that disagree) throws kspike::error with one
// line naming the file and what is wrong.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace kspike::encoders {

struct idx_images {
  std::int64_t count = 0;
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  std::vector<std::uint8_t> pixels;  // count * rows * cols, image after image, rows top down

  const std::uint8_t* image(std::int64_t i) const { return pixels.data() + i * rows * cols; }
};

// Reads an image file. rows/cols > 0 require those extents (28 x 28 for (Fashion-)MNIST);
// 0 accepts any.
idx_images read_idx_images(const std::string& path, std::int64_t rows = 28, std::int64_t cols = 28);

// Reads a label file. num_classes > 0 requires every label to be < num_classes.
std::vector<std::uint8_t> read_idx_labels(const std::string& path, int num_classes = 10);

struct idx_dataset {
  idx_images images;
  std::vector<std::uint8_t> labels;  // images.count of them
};

// Images and labels together; their counts must agree.
idx_dataset read_idx_dataset(const std::string& images_path, const std::string& labels_path,
                             int num_classes = 10, std::int64_t rows = 28, std::int64_t cols = 28);

// Fashion-MNIST's training images are 47 MB: files (raw or inflated) above 1 GiB are refused,
// a gzip stream as soon as it inflates past the limit (a decompression bomb stops there).
constexpr std::size_t max_idx_bytes = std::size_t(1) << 30;

// The whole content of a file, inflated when it is gzip-compressed; more than max_bytes, raw
// or inflated, is refused. Exposed for tests.
std::vector<std::uint8_t> read_maybe_gzip(const std::string& path, std::size_t max_bytes = max_idx_bytes);

}  // namespace kspike::encoders
