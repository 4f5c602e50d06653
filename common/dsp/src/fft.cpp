#include "pttcam/dsp/fft.hpp"

#include <bit>
#include <numbers>
#include <stdexcept>
#include <string>
#include <utility>

namespace pttcam::dsp {

void fft(std::vector<std::complex<double>>& data, bool inverse) {
  const std::size_t n = data.size();
  if (!std::has_single_bit(n))
    throw std::invalid_argument("fft size " + std::to_string(n) + " is not a power of two");

  // Bit-reversed reordering lets every butterfly stage below work in place.
  for (std::size_t i = 1, j = 0; i < n; ++i) {
    std::size_t bit = n >> 1;
    for (; (j & bit) != 0; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) std::swap(data[i], data[j]);
  }

  // One table of exact twiddles instead of a running product, whose rounding error grows
  // with the size (alignment runs this on ~10^6 points).
  const double sign = inverse ? 1.0 : -1.0;
  std::vector<std::complex<double>> twiddle(n / 2);
  for (std::size_t k = 0; k < twiddle.size(); ++k)
    twiddle[k] =
        std::polar(1.0, sign * 2.0 * std::numbers::pi * static_cast<double>(k) / static_cast<double>(n));

  for (std::size_t len = 2; len <= n; len <<= 1) {
    const std::size_t half = len / 2;
    const std::size_t stride = n / len;
    for (std::size_t start = 0; start < n; start += len) {
      for (std::size_t k = 0; k < half; ++k) {
        const auto odd = twiddle[k * stride] * data[start + k + half];
        data[start + k + half] = data[start + k] - odd;
        data[start + k] += odd;
      }
    }
  }

  if (inverse) {
    const double scale = 1.0 / static_cast<double>(n);
    for (auto& x : data) x *= scale;
  }
}

}  // namespace pttcam::dsp
