#include "encoders/image.hpp"

#include <cctype>
#include <cerrno>
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
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, std::string("cannot open: ") + std::strerror(errno));
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) fail(path, "read error");
  return bytes;
}

// stb's PNM reader (v2.27) does not notice a short payload and hands back uninitialised pixels,
// so a binary PGM/PPM's length is checked against its header first. False for a P5/P6 file
// with a malformed header or too few pixel bytes; other formats pass (stb judges those).
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
  }
  ++i;  // the single whitespace byte that ends the header
  const std::size_t samples = std::size_t(fields[0]) * std::size_t(fields[1]) * (p[1] == '6' ? 3 : 1);
  const std::size_t bytes = samples * (fields[2] > 255 ? 2 : 1);
  return i <= n && n - i >= bytes;
}

}  // namespace

image_u8 decode_image(const std::uint8_t* bytes, std::size_t size, const std::string& name, int channels) {
  if (channels < 0 || channels > 4) fail(name, "channels must be 0 (as stored) or 1..4, not " + std::to_string(channels));
  if (size == 0) fail(name, "empty file");
  if (size > std::size_t(INT32_MAX)) fail(name, "file too large");
  if (!pnm_payload_complete(bytes, size)) fail(name, "truncated or malformed PGM/PPM (fewer pixel bytes than its header says)");

  int w = 0, h = 0, stored = 0;
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
