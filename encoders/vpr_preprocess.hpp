#pragma once
// The place-recognition preprocessing of the reference experiment (QVPR/VPRSNN
// tools/data_utils.py processImage), reproduced byte for byte:
//
//   RGB frame -> resize to 28x28 (OpenCV INTER_LINEAR, 8-bit fixed point)
//             -> grey (OpenCV RGB2GRAY, 8-bit fixed point)
//             -> 7x7 patch normalisation (border patches use only the pixels inside the image)
//             -> clip to [-1, 1] -> uint8(255 * (1 + z) / 2), truncated.
//
// docs/vpr.md "Data and preprocessing" lists the rounding choices that make the bytes match
// the reference's golden output files that the tests compare with.
//
// The floating-point steps are written to be evaluated exactly as numpy does them; build with
// -ffp-contract=off (kspike_options does) so that no fused multiply-add changes a last bit
// (on the golden frames the bytes happen not to be that sensitive, but other images could be).
#include <vector>

#include "encoders/image.hpp"

namespace kspike::encoders {

struct vpr_preprocess_params {
  int width = 28;   // output size (cv2.resize dsize)
  int height = 28;
  int patch = 7;    // side of the normalisation patch (the reference's `num_patches`); odd
};

// cv::resize(src, dst, {width, height}) with the default INTER_LINEAR on an 8-bit image of any
// channel count, including OpenCV's fixed-point rounding (see the .cpp for the details).
image_u8 resize_linear(const image_u8& src, int width, int height);

// cv::cvtColor(src, dst, COLOR_RGB2GRAY) on 8-bit RGB (channel 0 = red); an RGBA input's alpha
// is ignored as OpenCV does.
image_u8 rgb_to_grey(const image_u8& rgb);

// The reference's patch_normalise_pad: for every pixel, z = (x - mean) / std over the
// patch x patch window centred on it, the window restricted to the image (NaN padding), std the
// population standard deviation; a flat window (0/0) gives 0; z is clipped to [-1, 1].
// Returns z row-major, width * height values.
std::vector<double> patch_normalise(const image_u8& grey, int patch);

// uint8(255 * (1 + z) / 2) with truncation toward zero, z in [-1, 1].
image_u8 to_uint8_truncated(const std::vector<double>& z, int width, int height);

// The whole chain. `rgb` must have 3 (or 4) channels in R, G, B order, as load_image(path, 3)
// returns; throws kspike::error otherwise.
image_u8 vpr_preprocess(const image_u8& rgb, const vpr_preprocess_params& params = {});

}  // namespace kspike::encoders
