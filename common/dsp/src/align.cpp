#include "pttcam/dsp/align.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <complex>
#include <stdexcept>
#include <vector>

#include "pttcam/dsp/fft.hpp"

namespace pttcam::dsp {
namespace {

// Segments whose energy is this far below the window's total are treated as silent: there the
// FFT's rounding error, divided by a tiny norm, would otherwise win the search.
constexpr double kSilentSegment = 1e-10;

}  // namespace

Alignment align(std::span<const float> reference, std::span<const float> signal, long min_lag, long max_lag) {
  if (min_lag > max_lag) throw std::invalid_argument("align: min_lag is greater than max_lag");
  const auto n = static_cast<long>(reference.size());
  const auto m = static_cast<long>(signal.size());
  // Only lags where reference and signal overlap can correlate at all.
  const long lo = std::max(min_lag, 1 - n);
  const long hi = std::min(max_lag, m - 1);
  if (n == 0 || lo > hi) return {min_lag, 0.0};

  // window[j] = signal[j + lo], so lag lo + k compares reference[i] with window[i + k]. With the
  // transform at least as long as the window, the circular correlation never wraps.
  const long lags = hi - lo + 1;
  const auto window_len = static_cast<std::size_t>(n + lags - 1);
  const std::size_t size = std::bit_ceil(window_len);
  std::vector<std::complex<double>> ref(size);
  std::vector<std::complex<double>> win(size);
  std::vector<double> prefix_energy(window_len + 1, 0.0);
  for (long i = 0; i < n; ++i) ref[static_cast<std::size_t>(i)] = reference[static_cast<std::size_t>(i)];
  for (std::size_t j = 0; j < window_len; ++j) {
    const long s = static_cast<long>(j) + lo;
    const double x = (s >= 0 && s < m) ? signal[static_cast<std::size_t>(s)] : 0.0f;
    win[j] = x;
    prefix_energy[j + 1] = prefix_energy[j] + x * x;
  }

  fft(ref, false);
  fft(win, false);
  for (std::size_t k = 0; k < size; ++k) win[k] *= std::conj(ref[k]);
  fft(win, true);

  double ref_energy = 0;
  for (const float x : reference) ref_energy += double{x} * x;
  const double floor = kSilentSegment * prefix_energy.back();
  Alignment best{min_lag, -2.0};
  for (long k = 0; k < lags; ++k) {
    const auto start = static_cast<std::size_t>(k);
    const double seg_energy = prefix_energy[start + static_cast<std::size_t>(n)] - prefix_energy[start];
    double corr = 0;
    if (ref_energy > 0 && seg_energy > floor && seg_energy > 0)
      corr = std::clamp(win[start].real() / std::sqrt(ref_energy * seg_energy), -1.0, 1.0);
    if (corr > best.correlation) best = {lo + k, corr};
  }
  return best;
}

}  // namespace pttcam::dsp
