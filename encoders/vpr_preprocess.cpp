#include "encoders/vpr_preprocess.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "sim/core/error.hpp"

namespace kspike::encoders {
namespace {

// OpenCV resizes 8-bit images in fixed point: interpolation weights are scaled by 2^11 and
// rounded to 16-bit integers, a horizontal pass keeps 32-bit sums (scale 2^11), a vertical pass
// combines two such rows (scale 2^22) and rounds back to 8 bits.
constexpr int coef_bits = 11;
constexpr int coef_scale = 1 << coef_bits;

// One output coordinate of a linear resize along one axis: the two source indices (already
// clamped to the image) and their fixed-point weights.
struct linear_tap {
  int src0 = 0;
  int src1 = 0;
  int w0 = 0;
  int w1 = 0;
};

// saturate_cast<short>(float): cvRound, i.e. round half to even in the default FP mode.
int round_weight(float w) { return int(std::lrint(w)); }

// Source positions of OpenCV's linear resize: half-pixel centres, the position computed in
// double and stored as float (as cv::resize does), split into integer part and fraction.
// clamp_fraction reproduces the horizontal pass, which at the borders pins the fraction to 0
// on the edge pixel; the vertical pass keeps the fraction and only clamps the row indices.
std::vector<linear_tap> linear_taps(int src_size, int dst_size, bool clamp_fraction) {
  const double scale = 1.0 / (double(dst_size) / double(src_size));
  std::vector<linear_tap> taps(static_cast<std::size_t>(dst_size));
  for (int d = 0; d < dst_size; ++d) {
    const float pos = float((d + 0.5) * scale - 0.5);
    int s = int(std::floor(pos));
    float frac = pos - float(s);
    if (clamp_fraction && s < 0) {
      s = 0;
      frac = 0.f;
    }
    if (clamp_fraction && s >= src_size - 1) {
      s = src_size - 1;
      frac = 0.f;
    }
    linear_tap& t = taps[std::size_t(d)];
    t.src0 = std::clamp(s, 0, src_size - 1);
    t.src1 = std::clamp(s + 1, 0, src_size - 1);
    t.w0 = round_weight((1.f - frac) * float(coef_scale));
    t.w1 = round_weight(frac * float(coef_scale));
  }
  return taps;
}

// Horizontal pass of one source row: out[x*cn + c] = in[x0] * w0 + in[x1] * w1 (scale 2^11).
void resize_row(const std::uint8_t* in, int channels, const std::vector<linear_tap>& xtaps, std::vector<int>& out) {
  for (std::size_t dx = 0; dx < xtaps.size(); ++dx) {
    const linear_tap& t = xtaps[dx];
    for (int c = 0; c < channels; ++c) {
      out[dx * std::size_t(channels) + std::size_t(c)] =
          in[t.src0 * channels + c] * t.w0 + in[t.src1 * channels + c] * t.w1;
    }
  }
}

std::uint8_t saturate_u8(int v) { return std::uint8_t(std::clamp(v, 0, 255)); }

// Vertical pass: the arithmetic of OpenCV's SIMD kernel for 8-bit linear resize. Each
// horizontal sum (scale 2^11, up to 255 * 2048) is pre-shifted right by 4 to fit 16 bits, each
// 16x16-bit product keeps only its high 16 bits, and the sum of the two is rounded by
// (s + 2) >> 2. This is not the exact (a*w0 + b*w1 + 2^21) >> 22 of OpenCV's scalar code: the
// two disagree on about 12% of the samples of these frames, and the golden files follow this
// formula on every sample of every row, including the last four of the 84 per row that a
// 128-bit OpenCV build would leave to its scalar loop (858 such samples differ on the 60
// golden frames; all side with this formula).
std::uint8_t vertical_combine(int a, int b, int w0, int w1) {
  const int hi0 = ((a >> 4) * w0) >> 16;
  const int hi1 = ((b >> 4) * w1) >> 16;
  return saturate_u8((hi0 + hi1 + 2) >> 2);
}

}  // namespace

image_u8 resize_linear(const image_u8& src, int width, int height) {
  if (src.width <= 0 || src.height <= 0 || src.channels <= 0 || width <= 0 || height <= 0) {
    throw kspike::error("resize_linear: empty image or size (" + std::to_string(src.width) + "x" +
                        std::to_string(src.height) + " -> " + std::to_string(width) + "x" + std::to_string(height) + ")");
  }
  const int cn = src.channels;
  const std::vector<linear_tap> xtaps = linear_taps(src.width, width, true);
  const std::vector<linear_tap> ytaps = linear_taps(src.height, height, false);
  const std::size_t row_samples = std::size_t(width) * std::size_t(cn);

  image_u8 dst(width, height, cn);
  std::vector<int> row0(row_samples), row1(row_samples);
  const std::size_t src_stride = std::size_t(src.width) * std::size_t(cn);
  for (int dy = 0; dy < height; ++dy) {
    const linear_tap& t = ytaps[std::size_t(dy)];
    resize_row(&src.data[std::size_t(t.src0) * src_stride], cn, xtaps, row0);
    resize_row(&src.data[std::size_t(t.src1) * src_stride], cn, xtaps, row1);
    std::uint8_t* out = &dst.data[std::size_t(dy) * row_samples];
    for (std::size_t i = 0; i < row_samples; ++i) out[i] = vertical_combine(row0[i], row1[i], t.w0, t.w1);
  }
  return dst;
}

image_u8 rgb_to_grey(const image_u8& rgb) {
  if (rgb.channels != 3 && rgb.channels != 4) {
    throw kspike::error("rgb_to_grey: needs an RGB image, got " + std::to_string(rgb.channels) + " channels");
  }
  // OpenCV's 8-bit coefficients: 0.299, 0.587, 0.114 scaled by 2^14 and rounded, with
  // round-half-up on the 14-bit shift.
  constexpr int shift = 14, r_coef = 4899, g_coef = 9617, b_coef = 1868;
  image_u8 grey(rgb.width, rgb.height, 1);
  for (int y = 0; y < rgb.height; ++y) {
    for (int x = 0; x < rgb.width; ++x) {
      const int v = rgb.at(x, y, 0) * r_coef + rgb.at(x, y, 1) * g_coef + rgb.at(x, y, 2) * b_coef;
      grey.at(x, y) = std::uint8_t((v + (1 << (shift - 1))) >> shift);
    }
  }
  return grey;
}

std::vector<double> patch_normalise(const image_u8& grey, int patch) {
  if (grey.channels != 1) throw kspike::error("patch_normalise: needs a grey image, got " + std::to_string(grey.channels) + " channels");
  if (patch < 1 || patch % 2 == 0) throw kspike::error("patch_normalise: patch side must be odd and positive, not " + std::to_string(patch));
  const int half = patch / 2;
  const int w = grey.width, h = grey.height;
  std::vector<double> z(std::size_t(w) * std::size_t(h));
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const int y0 = std::max(0, y - half), y1 = std::min(h - 1, y + half);
      const int x0 = std::max(0, x - half), x1 = std::min(w - 1, x + half);
      // numpy's nanmean/nanstd reduce axis 0 of the (49, pixels) patch matrix one patch element
      // at a time, in row-major order inside the patch; NaN padding adds exact zeros. Summing in
      // that same order keeps the double results (and so the truncated bytes) identical.
      double sum = 0.0;
      for (int yy = y0; yy <= y1; ++yy)
        for (int xx = x0; xx <= x1; ++xx) sum += double(grey.at(xx, yy));
      const double count = double((y1 - y0 + 1) * (x1 - x0 + 1));
      const double mean = sum / count;
      double squares = 0.0;
      for (int yy = y0; yy <= y1; ++yy) {
        for (int xx = x0; xx <= x1; ++xx) {
          const double dev = double(grey.at(xx, yy)) - mean;
          const double sq = dev * dev;  // a separate rounding, as numpy's multiply then sum
          squares += sq;
        }
      }
      const double sd = std::sqrt(squares / count);
      double v = (double(grey.at(x, y)) - mean) / sd;
      if (std::isnan(v)) v = 0.0;  // flat patch: 0/0
      z[std::size_t(y) * std::size_t(w) + std::size_t(x)] = std::clamp(v, -1.0, 1.0);
    }
  }
  return z;
}

image_u8 to_uint8_truncated(const std::vector<double>& z, int width, int height) {
  image_u8 out(width, height, 1);
  for (std::size_t i = 0; i < out.data.size(); ++i) {
    // (255 * (1 + z)) / 2 in that order, as numpy evaluates the reference expression.
    const double scaled = 255.0 * (1.0 + z[i]) / 2.0;
    out.data[i] = std::uint8_t(scaled);  // numpy's float -> uint8 cast truncates toward zero
  }
  return out;
}

image_u8 vpr_preprocess(const image_u8& rgb, const vpr_preprocess_params& params) {
  const image_u8 small = resize_linear(rgb, params.width, params.height);
  const image_u8 grey = rgb_to_grey(small);
  return to_uint8_truncated(patch_normalise(grey, params.patch), grey.width, grey.height);
}

}  // namespace kspike::encoders
