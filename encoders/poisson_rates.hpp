#pragma once
// Input encoding of the reference place-recognition experiment (docs/vpr.md "Input rates and
// timing"; QVPR/VPRSNN snn_model.py): each of the 28x28 preprocessed pixels drives one Poisson input neuron at
// pixel / intensity Hz while its image is shown, and at 0 Hz during the rests.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "encoders/image.hpp"

namespace kspike::encoders {

// The reference's `intensity`: a uint8 pixel p fires at p / 4 Hz, so at most 255 / 4 = 63.75 Hz.
// (Diehl & Cook's "raise the intensity and repeat if fewer than 5 spikes" is disabled there.)
inline constexpr double vpr_intensity = 4.0;
inline constexpr double vpr_max_rate_hz = 255.0 / vpr_intensity;

constexpr double pixel_rate_hz(std::uint8_t pixel, double intensity = vpr_intensity) {
  return double(pixel) / intensity;
}

// One rate per sample of `img`, row-major (input neuron i = y * width + x for a grey image).
inline std::vector<double> pixel_rates_hz(const image_u8& img, double intensity = vpr_intensity) {
  std::vector<double> rates(img.data.size());
  for (std::size_t i = 0; i < rates.size(); ++i) rates[i] = pixel_rate_hz(img.data[i], intensity);
  return rates;
}

// Presentation schedule, in ms: one initial rest, then for every image a presentation followed
// by a rest. Network state is never reset between images; it only decays during the rests.
struct vpr_presentation_timing {
  double initial_rest_ms = 500.0;  // once, before the first image, all rates 0
  double present_ms = 350.0;       // image k shown with pixel_rate_hz rates
  double rest_ms = 150.0;          // after every image, all rates 0

  double period_ms() const { return present_ms + rest_ms; }

  // Image k is shown during [onset_ms(k), onset_ms(k) + present_ms).
  double onset_ms(std::size_t k) const { return initial_rest_ms + double(k) * period_ms(); }

  // The reference snapshots the spike counters after the initial rest and then right after
  // each presentation (snn_model.py main loop), so the count it attributes to image k >= 1
  // also covers the rest before it: [onset_ms(k) - rest_ms, onset_ms(k) + present_ms);
  // image 0's count starts at its onset.
  double count_start_ms(std::size_t k) const { return k == 0 ? onset_ms(0) : onset_ms(k) - rest_ms; }
  double count_end_ms(std::size_t k) const { return onset_ms(k) + present_ms; }

  // Simulated time for n images, the rest after the last one included.
  double total_ms(std::size_t n) const { return initial_rest_ms + double(n) * period_ms(); }
};

}  // namespace kspike::encoders
