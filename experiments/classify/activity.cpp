#include "experiments/classify/activity.hpp"

#include "sim/core/error.hpp"

namespace kspike::classify {

namespace {

void add_to(std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) throw internal_error("network_activity: per-step counts of different lengths");
  for (std::size_t i = 0; i < a.size(); ++i) a[i] += b[i];
}

}  // namespace

void network_activity::add(const network_activity& o) {
  if (layers.empty()) {
    *this = o;
    return;
  }
  if (o.layers.size() != layers.size() || o.T != T) throw internal_error("network_activity: adding counts of another network");
  images += o.images;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    layer_activity& a = layers[i];
    const layer_activity& b = o.layers[i];
    add_to(a.input_events, b.input_events);
    add_to(a.synaptic_events, b.synaptic_events);
    add_to(a.effective_pairs, b.effective_pairs);
    add_to(a.output_events, b.output_events);
    add_to(a.touched, b.touched);
    a.ternary_input = a.ternary_input && b.ternary_input;
  }
}

std::vector<double> conv_fanout(std::int64_t c_in, std::int64_t h, std::int64_t w, std::int64_t c_out, std::int64_t k,
                                std::int64_t stride, std::int64_t pad, const float* weights) {
  const std::int64_t oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
  std::vector<double> out(static_cast<std::size_t>(c_in * h * w), 0.0);
  for (std::int64_t c = 0; c < c_in; ++c)
    for (std::int64_t y = 0; y < h; ++y)
      for (std::int64_t x = 0; x < w; ++x) {
        double n = 0;
        // Output (oy, ox) reads input row oy·s − pad + ky: this input is its tap ky = y + pad − oy·s.
        for (std::int64_t oy = 0; oy < oh; ++oy) {
          const std::int64_t ky = y + pad - oy * stride;
          if (ky < 0 || ky >= k) continue;
          for (std::int64_t ox = 0; ox < ow; ++ox) {
            const std::int64_t kx = x + pad - ox * stride;
            if (kx < 0 || kx >= k) continue;
            if (!weights) {
              n += double(c_out);
              continue;
            }
            for (std::int64_t o = 0; o < c_out; ++o) n += weights[((o * c_in + c) * k + ky) * k + kx] != 0.0f;
          }
        }
        out[static_cast<std::size_t>((c * h + y) * w + x)] = n;
      }
  return out;
}

std::vector<double> linear_fanout(std::int64_t in, std::int64_t out, const float* weights) {
  std::vector<double> t(static_cast<std::size_t>(in), double(out));
  if (weights)
    for (std::int64_t j = 0; j < in; ++j) {
      double n = 0;
      for (std::int64_t o = 0; o < out; ++o) n += weights[o * in + j] != 0.0f;
      t[static_cast<std::size_t>(j)] = n;
    }
  return t;
}

std::vector<double> through_pool(const std::vector<double>& after, std::int64_t c, std::int64_t h, std::int64_t w, std::int64_t size) {
  const std::int64_t ph = h / size, pw = w / size;
  if (static_cast<std::int64_t>(after.size()) != c * ph * pw) throw internal_error("through_pool: table size does not match the pooled shape");
  std::vector<double> out(static_cast<std::size_t>(c * h * w), 0.0);
  for (std::int64_t ch = 0; ch < c; ++ch)
    for (std::int64_t y = 0; y < h; ++y)
      for (std::int64_t x = 0; x < w; ++x) {
        const std::int64_t py = y / size, px = x / size;
        if (py < ph && px < pw) out[static_cast<std::size_t>((ch * h + y) * w + x)] = after[static_cast<std::size_t>((ch * ph + py) * pw + px)];
      }
  return out;
}

}  // namespace kspike::classify
