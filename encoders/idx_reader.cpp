#include "encoders/idx_reader.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>

#include "sim/core/error.hpp"

namespace kspike::encoders {

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw kspike::error(path + ": " + what);
}

std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | std::uint32_t(p[3]);
}

std::string hex32(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", unsigned(v));
  return buf;
}

// Checks header and size of an IDX byte buffer of unsigned bytes with the given rank, and
// returns its extents. The data start at 4 + 4 * rank.
std::vector<std::int64_t> parse_header(const std::vector<std::uint8_t>& bytes, const std::string& path, int rank,
                                       const char* kind) {
  const std::uint32_t want_magic = 0x00000800u | std::uint32_t(rank);
  const std::size_t header = 4 + 4 * std::size_t(rank);
  if (bytes.size() < 4)
    fail(path, "IDX " + std::string(kind) + " file too short for its magic number (" + std::to_string(bytes.size()) +
                   " bytes)");
  const std::uint32_t magic = be32(bytes.data());
  if (magic != want_magic)
    fail(path, "bad magic number " + hex32(magic) + ", expected " + hex32(want_magic) + " (IDX " + kind +
                   ": unsigned bytes, rank " + std::to_string(rank) + ")");
  if (bytes.size() < header)
    fail(path, "truncated IDX header: " + std::to_string(bytes.size()) + " bytes, the header alone needs " +
                   std::to_string(header));
  std::vector<std::int64_t> dims(static_cast<std::size_t>(rank));
  // Extents are uint32 each, so their product fits easily in unsigned 128 bits but not
  // 64: stop as soon as the product exceeds what a vector could hold.
  std::uint64_t total = 1;
  for (int d = 0; d < rank; ++d) {
    dims[std::size_t(d)] = be32(bytes.data() + 4 + 4 * d);
    const std::uint64_t e = std::uint64_t(dims[std::size_t(d)]);
    if (e != 0 && total > (std::uint64_t(1) << 40) / e) fail(path, "IDX extents are implausibly large");
    total *= e;
  }
  const std::uint64_t have = bytes.size() - header;
  if (have < total)
    fail(path, "truncated: the header promises " + std::to_string(total) + " data bytes, the file holds " +
                   std::to_string(have));
  if (have > total)
    fail(path, std::to_string(have - total) + " bytes beyond the " + std::to_string(total) +
                   " data bytes the header declares");
  return dims;
}

}  // namespace

std::vector<std::uint8_t> read_maybe_gzip(const std::string& path, std::size_t max_bytes) {
  {
    namespace fs = std::filesystem;
    std::error_code ec;
    const auto st = fs::status(path, ec);
    if (fs::exists(st) && !fs::is_regular_file(st)) fail(path, "not a regular file (a folder, a device or a pipe?)");
    const auto size = fs::file_size(path, ec);
    if (!ec && size > max_bytes) fail(path, "is " + std::to_string(size) + " bytes; more than " + std::to_string(max_bytes) + " are refused");
  }
  // Read the raw bytes first: an ifstream tells "missing" apart from "corrupt gzip" clearly.
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, std::string("cannot open: ") + std::strerror(errno));
  std::vector<std::uint8_t> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) fail(path, "read error");
  if (raw.size() < 2 || raw[0] != 0x1f || raw[1] != 0x8b) return raw;

  // gzip: inflate from memory. 16 + MAX_WBITS makes zlib expect the gzip wrapper.
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) fail(path, "zlib could not start inflating");
  std::vector<std::uint8_t> out;
  std::uint8_t chunk[1 << 16];
  zs.next_in = raw.data();
  int rc = Z_OK;
  std::size_t consumed = 0;  // inflate's avail_in is uInt: feed at most 1 GiB at a time
  bool declared = false;     // an IDX header has set the length
  do {
    if (zs.avail_in == 0 && consumed < raw.size()) {
      const std::size_t n = std::min<std::size_t>(raw.size() - consumed, std::size_t(1) << 30);
      zs.next_in = raw.data() + consumed;
      zs.avail_in = static_cast<uInt>(n);
      consumed += n;
    }
    zs.next_out = chunk;
    zs.avail_out = sizeof chunk;
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
      const std::string msg = zs.msg ? zs.msg : "error " + std::to_string(rc);
      inflateEnd(&zs);
      fail(path, "corrupt gzip data: " + msg);
    }
    out.insert(out.end(), chunk, chunk + (sizeof chunk - zs.avail_out));
    // An IDX header says how long the data is: a stream that inflates past that (plus one byte,
    // so the reader can still report "over-long data") is stopped there, a header that declares
    // more than max_bytes at once.
    if (!declared && out.size() >= 4 && out[0] == 0 && out[1] == 0 && out[2] == 0x08 && out[3] >= 1 && out[3] <= 4 &&
        out.size() >= 4 + 4 * std::size_t(out[3])) {
      double total = 4 + 4 * double(out[3]);
      double product = 1;
      for (std::size_t d = 0; d < out[3]; ++d)
        product *= double((std::uint32_t(out[4 + 4 * d]) << 24) | (std::uint32_t(out[5 + 4 * d]) << 16) |
                          (std::uint32_t(out[6 + 4 * d]) << 8) | std::uint32_t(out[7 + 4 * d]));
      total += product;
      declared = true;
      if (total > double(max_bytes)) {
        inflateEnd(&zs);
        fail(path, "its header declares " + std::to_string(total) + " bytes; more than " +
                       std::to_string(max_bytes) + " are refused");
      }
      max_bytes = static_cast<std::size_t>(total) + 1;
    }
    if (out.size() > max_bytes) {
      inflateEnd(&zs);
      fail(path, "inflates to more than " + std::to_string(max_bytes) + " bytes (from " + std::to_string(raw.size()) +
                     "), more than its header declares or the limit: refused as a decompression bomb");
    }
    // Z_BUF_ERROR with no input left and no output produced: the stream ended early.
    if (rc == Z_BUF_ERROR && zs.avail_in == 0 && consumed == raw.size() && zs.avail_out == sizeof chunk) break;
  } while (rc != Z_STREAM_END);
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) fail(path, "truncated gzip stream (" + std::to_string(out.size()) + " bytes inflated)");
  return out;
}

idx_images read_idx_images(const std::string& path, std::int64_t rows, std::int64_t cols) {
  std::vector<std::uint8_t> bytes = read_maybe_gzip(path);
  const auto dims = parse_header(bytes, path, 3, "images");
  if ((rows > 0 && dims[1] != rows) || (cols > 0 && dims[2] != cols))
    fail(path, "images are " + std::to_string(dims[1]) + "x" + std::to_string(dims[2]) + ", expected " +
                   (rows > 0 ? std::to_string(rows) : std::string("*")) + "x" +
                   (cols > 0 ? std::to_string(cols) : std::string("*")));
  idx_images img;
  img.count = dims[0];
  img.rows = dims[1];
  img.cols = dims[2];
  // Drop the 16-byte header in place rather than copying ~47 MB of the training set.
  bytes.erase(bytes.begin(), bytes.begin() + 16);
  img.pixels = std::move(bytes);
  return img;
}

std::vector<std::uint8_t> read_idx_labels(const std::string& path, int num_classes) {
  std::vector<std::uint8_t> bytes = read_maybe_gzip(path);
  parse_header(bytes, path, 1, "labels");
  bytes.erase(bytes.begin(), bytes.begin() + 8);
  if (num_classes > 0)
    for (std::size_t i = 0; i < bytes.size(); ++i)
      if (bytes[i] >= num_classes)
        fail(path, "label " + std::to_string(i) + " is " + std::to_string(bytes[i]) + ", expected < " +
                       std::to_string(num_classes));
  return bytes;
}

idx_dataset read_idx_dataset(const std::string& images_path, const std::string& labels_path, int num_classes,
                             std::int64_t rows, std::int64_t cols) {
  idx_dataset ds;
  ds.images = read_idx_images(images_path, rows, cols);
  ds.labels = read_idx_labels(labels_path, num_classes);
  if (std::int64_t(ds.labels.size()) != ds.images.count)
    fail(labels_path, std::to_string(ds.labels.size()) + " labels for " + std::to_string(ds.images.count) +
                          " images in " + images_path);
  return ds;
}

}  // namespace kspike::encoders
