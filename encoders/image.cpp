#include "encoders/image.hpp"

#include <cctype>
#include <cerrno>
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "sim/core/error.hpp"

// stb_image is used header-only: the implementation is compiled into this translation unit
// with every function `static`, so it cannot clash with Debian's prebuilt libstb.so should
// anything else in a program link that. Only the three formats we need are compiled in.
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNM
#define STBI_NO_STDIO  // we read the bytes ourselves, to tell "cannot open" from "cannot decode"
#include <stb/stb_image.h>

namespace kspike::encoders {
namespace {

[[noreturn]] void fail(const std::string& name, const std::string& what) {
  throw kspike::error((name.empty() ? std::string("<image>") : name) + ": " + what);
}

std::vector<std::uint8_t> read_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto st = fs::status(path, ec);
  if (!fs::exists(st)) fail(path, "no such file");
  if (fs::is_directory(st)) fail(path, "is a directory, not an image");
  if (!fs::is_regular_file(st)) fail(path, "not a regular file (a device or a pipe?)");
  const auto size = fs::file_size(path, ec);
  if (!ec && size > max_image_file_bytes)
    fail(path, "is " + std::to_string(size) + " bytes; image files above " + std::to_string(max_image_file_bytes) + " bytes are refused");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, std::string("cannot open: ") + std::strerror(errno));
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) fail(path, "read error");
  return bytes;
}

// stb's PNM reader (v2.27) does not notice a short payload and hands back uninitialised pixels,
// so a binary PGM/PPM's length is checked against its header first. False for a P5/P6 file
// with a malformed header, a header number of 2^24 or more, 16-bit samples, or too few pixel
// bytes; other formats pass (stb judges those).
bool pnm_payload_complete(const std::uint8_t* p, std::size_t n) {
  const bool is_pnm = n >= 2 && p[0] == 'P' && (p[1] == '5' || p[1] == '6');
  if (!is_pnm) return true;
  std::size_t i = 2;
  long fields[3] = {0, 0, 0};  // width, height, maxval
  for (long& field : fields) {
    for (;;) {  // whitespace and '#' comments may separate the header fields
      while (i < n && std::isspace(p[i])) ++i;
      if (i < n && p[i] == '#') {
        while (i < n && p[i] != '\n' && p[i] != '\r') ++i;
        continue;
      }
      break;
    }
    if (i >= n || !std::isdigit(p[i])) return false;
    while (i < n && std::isdigit(p[i]) && field < (1L << 30)) field = field * 10 + (p[i++] - '0');
    // stb reads each number into an int without an overflow check (undefined behaviour past
    // 2^31, found by fuzz_image): a number of 2^24 or more (no real image has one) is refused.
    if (field >= (1L << 24) || (i < n && std::isdigit(p[i]))) return false;
  }
  // 16-bit samples (maxval above 255): stb 2.27 converts them to 8 bits past the end of its
  // buffer (a heap overflow found by fuzz_image), so only 8-bit PGM/PPM is accepted.
  if (fields[2] < 1 || fields[2] > 255) return false;
  ++i;  // the single whitespace byte that ends the header
  const std::size_t samples = std::size_t(fields[0]) * std::size_t(fields[1]) * (p[1] == '6' ? 3 : 1);
  const std::size_t bytes = samples * (fields[2] > 255 ? 2 : 1);
  return i <= n && n - i >= bytes;
}

// stb_image 2.27 copies a zero-length IDAT chunk with memcpy(NULL, ..., 0) before its first
// data (undefined behaviour, found by fuzz_image). Such a chunk carries nothing, so a PNG that
// has one is passed on without it. Returns an empty vector when nothing needs to change.
std::vector<std::uint8_t> png_without_empty_idat(const std::uint8_t* p, std::size_t n) {
  std::vector<std::uint8_t> out;
  bool found = false;
  std::size_t at = 8;
  while (at + 8 <= n) {  // a chunk's length and type (its CRC may be cut off)
    const std::size_t len = (std::size_t(p[at]) << 24) | (std::size_t(p[at + 1]) << 16) | (std::size_t(p[at + 2]) << 8) | p[at + 3];
    const std::size_t end = len > n - at - 8 ? n : std::min(n, at + 12 + len);  // truncated: up to the end
    if (len == 0 && std::memcmp(p + at + 4, "IDAT", 4) == 0) {
      if (!found) out.assign(p, p + at);
      found = true;
    } else if (found) {
      out.insert(out.end(), p + at, p + end);
    }
    at = end;
  }
  if (found) out.insert(out.end(), p + std::min(at, n), p + n);
  return out;
}

}  // namespace

image_u8 decode_image(const std::uint8_t* bytes, std::size_t size, const std::string& name, int channels) {
  if (channels < 0 || channels > 4) fail(name, "channels must be 0 (as stored) or 1..4, not " + std::to_string(channels));
  if (size == 0) fail(name, "empty file");
  if (size > std::size_t(INT32_MAX)) fail(name, "file too large");
  // Only the formats kspike documents (PNG, JPEG, binary PGM/PPM) reach stb_image, which also
  // decodes GIF, PSD, HDR, PIC and TGA: less decoder code exposed to a hostile file.
  const bool png = size >= 8 && std::memcmp(bytes, "\x89PNG\r\n\x1a\n", 8) == 0;
  const bool jpeg = size >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF;
  const bool pnm = size >= 2 && bytes[0] == 'P' && (bytes[1] == '5' || bytes[1] == '6');
  if (!png && !jpeg && !pnm) fail(name, "not a PNG, JPEG or binary PGM/PPM file");
  if (!pnm_payload_complete(bytes, size)) fail(name, "truncated, malformed or 16-bit PGM/PPM (only 8-bit, with as many pixel bytes as its header says)");
  const std::vector<std::uint8_t> cleaned = png ? png_without_empty_idat(bytes, size) : std::vector<std::uint8_t>();
  if (!cleaned.empty()) {
    bytes = cleaned.data();
    size = cleaned.size();
  }

  int w = 0, h = 0, stored = 0;
  // The header's size first: a small file can declare a huge image (a decompression bomb).
  if (stbi_info_from_memory(bytes, int(size), &w, &h, &stored) &&
      (w <= 0 || h <= 0 || double(w) * double(h) > double(max_image_pixels)))
    fail(name, "declares a " + std::to_string(w) + "x" + std::to_string(h) + " image; more than " + std::to_string(max_image_pixels) +
                   " pixels are refused");
  std::unique_ptr<stbi_uc, void (*)(void*)> pixels(
      stbi_load_from_memory(bytes, int(size), &w, &h, &stored, channels), stbi_image_free);
  if (!pixels) {
    // stb's reasons are terse ("outofdata", "bad png sig") and sometimes empty.
    const char* why = stbi_failure_reason();
    fail(name, std::string("cannot decode image (stb_image: ") + (why && *why ? why : "truncated or corrupt") + ")");
  }

  image_u8 img;
  img.width = w;
  img.height = h;
  img.channels = channels == 0 ? stored : channels;
  img.data.assign(pixels.get(), pixels.get() + img.index(0, h));
  return img;
}

image_u8 load_image(const std::string& path, int channels) {
  const std::vector<std::uint8_t> bytes = read_file(path);
  return decode_image(bytes.data(), bytes.size(), path, channels);
}

void save_pgm(const image_u8& grey, const std::string& path) {
  if (grey.channels != 1) fail(path, "save_pgm needs a single-channel image, got " + std::to_string(grey.channels) + " channels");
  std::ofstream out(path, std::ios::binary);
  if (!out) fail(path, std::string("cannot write: ") + std::strerror(errno));
  out << "P5\n" << grey.width << ' ' << grey.height << "\n255\n";
  out.write(reinterpret_cast<const char*>(grey.data.data()), std::streamsize(grey.data.size()));
  if (!out) fail(path, "write error");
}

image_f32 to_float(const image_u8& img) {
  image_f32 f(img.width, img.height, img.channels);
  for (std::size_t i = 0; i < img.data.size(); ++i) f.data[i] = float(img.data[i]);
  return f;
}

}  // namespace kspike::encoders
