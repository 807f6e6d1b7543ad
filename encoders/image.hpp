#pragma once
// A minimal host image: width x height pixels of `channels` interleaved samples, rows top to
// bottom, no padding between rows. Loading goes through stb_image (PNG, JPEG, PGM/PPM).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace kspike::encoders {

// Limits checked before decoding: the place-recognition frames are a few hundred kilobytes and
// well under a megapixel, so 256 MiB files and 64-megapixel images leave room for any real
// camera while refusing a decompression bomb before it allocates.
constexpr std::uintmax_t max_image_file_bytes = std::uintmax_t(256) << 20;
constexpr std::int64_t max_image_pixels = std::int64_t(64) << 20;


template <class T>
struct basic_image {
  int width = 0;
  int height = 0;
  int channels = 0;
  std::vector<T> data;  // size width * height * channels

  basic_image() = default;
  basic_image(int w, int h, int c, T fill = T{})
      : width(w), height(h), channels(c), data(std::size_t(w) * std::size_t(h) * std::size_t(c), fill) {}

  std::size_t index(int x, int y, int c = 0) const {
    return (std::size_t(y) * std::size_t(width) + std::size_t(x)) * std::size_t(channels) + std::size_t(c);
  }
  T& at(int x, int y, int c = 0) { return data[index(x, y, c)]; }
  const T& at(int x, int y, int c = 0) const { return data[index(x, y, c)]; }
  bool empty() const { return data.empty(); }
};

using image_u8 = basic_image<std::uint8_t>;
using image_f32 = basic_image<float>;

// Decodes a PNG, JPEG or binary/ASCII PGM/PPM file into 8-bit samples. channels = 0 keeps the
// file's own channel count; 1..4 converts the way cv2.imread/stb do (grey is replicated to RGB,
// alpha is dropped without compositing), so channels = 3 matches cv2.imread(path)[:,:,::-1].
// 16-bit files are reduced to their high byte. A missing, unreadable, empty, truncated or
// undecodable file throws kspike::error with one line naming it.
image_u8 load_image(const std::string& path, int channels = 0);

// Same, from bytes already in memory; `name` is only used in error messages.
image_u8 decode_image(const std::uint8_t* bytes, std::size_t size, const std::string& name, int channels = 0);

// Writes a single-channel image as binary PGM (P5, maxval 255): the format of the golden
// preprocessing files, handy for looking at what the preprocessing produced.
void save_pgm(const image_u8& grey, const std::string& path);

// uint8 -> float, sample by sample (no scaling).
image_f32 to_float(const image_u8& img);

}  // namespace kspike::encoders
