#include "pttcam/dsp/markers.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>
#include <stdexcept>

#include "pttcam/dsp/align.hpp"
#include "pttcam/dsp/levels.hpp"

namespace pttcam::dsp {
namespace {

// The marker: a 120 ms linear chirp 1000 -> 4000 Hz under a Hann window, peaking at -6 dBFS.
// Chosen by running candidates through the real codec (default OpusSettings: SILK wideband at
// 24 kbit/s), 61 markers at every phase of the frame grid, 4 chain delays:
// - Slow sweep. SILK cannot follow a fast one: a 20 ms 500 -> 3500 Hz chirp (150 kHz/s) came
//   out with correlations 0.3..0.96; 19 of 244 markers were lost, 2 placed 64 and 256 samples
//   off, the rest spread over 5 samples. At 25 kHz/s (this marker) every marker read >= 0.94,
//   all at the same delay to the sample.
// - 1 kHz and up. Below that SILK's delay differs by up to 3 samples from the rest of the band
//   (measured 2 samples under the lookahead above 1 kHz, 5 under it at 200-800 Hz), so a marker
//   reaching down there lands on either of two samples depending on the noise bed's level;
//   this band gave the same sample for beds from -30 to -80 dBFS.
// - 3 kHz wide around 2.5 kHz: a correlation main lobe of about 48000 / 3000 = 16 samples, so
//   the carrier lobes next to the peak stay clearly lower and a damaged marker rarely slips onto
//   one; the Hann window keeps the range sidelobes low and starts and ends the marker at zero,
//   with no click for the codec to smear. Tuned for SILK wideband: at 12..64 kbit/s (SILK
//   wideband, hybrid) every marker still landed on one sample, but at 10 kbit/s and below Opus
//   switches to narrowband (4 kHz), which cuts the top of the sweep and shifts the delay.
// - 120 ms (six Opus frames): a time-bandwidth product of 360, about 25 dB of correlation gain
//   over white noise, and one zeroed 20 ms frame removes at most 43% of its energy (correlation
//   still >= 0.75), so such a marker is still found exactly.
// - -6 dBFS peak (-13 dBFS RMS, 32 dB over the default bed): headroom for codec overshoot.
constexpr int kMarkerSamples = kMarkerRate * 120 / 1000;
constexpr double kChirpStartHz = 1000.0;
constexpr double kChirpEndHz = 4000.0;
constexpr double kMarkerPeak = 0.5011872336272722;  // -6 dBFS

std::vector<float> make_marker() {
  std::vector<float> out(kMarkerSamples);
  const double duration = static_cast<double>(kMarkerSamples) / kMarkerRate;
  const double sweep = (kChirpEndHz - kChirpStartHz) / duration;  // Hz per second
  for (int i = 0; i < kMarkerSamples; ++i) {
    const double t = static_cast<double>(i) / kMarkerRate;
    const double phase = 2 * std::numbers::pi * (kChirpStartHz * t + 0.5 * sweep * t * t);
    const double window = std::sin(std::numbers::pi * (i + 0.5) / kMarkerSamples);
    out[static_cast<std::size_t>(i)] = static_cast<float>(window * window * std::sin(phase));
  }
  const double scale = kMarkerPeak / peak_abs(out);
  for (auto& x : out) x = static_cast<float>(x * scale);
  return out;
}

// Uniform white noise at rms_dbfs() == dbfs. Built from mt19937's raw output, whose sequence the
// standard fixes, rather than a std:: distribution, whose algorithm it does not: the same seed
// gives the same bed on every platform, so stimulus files can be regenerated anywhere.
std::vector<float> noise_bed(std::size_t n, std::uint32_t seed, double dbfs) {
  const double half_width = std::sqrt(3.0) * std::pow(10.0, dbfs / 20.0);  // uniform: rms = a / sqrt(3)
  std::mt19937 rng(seed);
  std::vector<float> out(n);
  for (auto& x : out) {
    const double unit = (static_cast<double>(rng()) + 0.5) / 4294967296.0;  // (0, 1)
    x = static_cast<float>(half_width * (2.0 * unit - 1.0));
  }
  return out;
}

}  // namespace

MarkerStimulus make_marker_stimulus(double seconds, double first_s, double spacing_s, std::uint32_t seed,
                                    double bed_dbfs) {
  if (!(seconds > 0) || !std::isfinite(seconds))
    throw std::invalid_argument("make_marker_stimulus: seconds must be positive");
  if (!(first_s >= 0) || !std::isfinite(first_s))
    throw std::invalid_argument("make_marker_stimulus: first_s must not be negative");
  if (!(spacing_s * kMarkerRate > kMarkerSamples) || !std::isfinite(spacing_s))
    throw std::invalid_argument("make_marker_stimulus: spacing_s must be longer than the 120 ms marker");
  if (!std::isfinite(bed_dbfs)) throw std::invalid_argument("make_marker_stimulus: bed_dbfs must be finite");

  MarkerStimulus stimulus;
  const auto total = static_cast<long>(std::llround(seconds * kMarkerRate));
  stimulus.samples = noise_bed(static_cast<std::size_t>(total), seed, bed_dbfs);
  stimulus.marker = make_marker();
  for (long k = 0;; ++k) {
    const auto at = static_cast<long>(std::llround((first_s + static_cast<double>(k) * spacing_s) * kMarkerRate));
    if (at + kMarkerSamples > total) break;
    stimulus.marker_at.push_back(at);
    for (int i = 0; i < kMarkerSamples; ++i)
      stimulus.samples[static_cast<std::size_t>(at + i)] += stimulus.marker[static_cast<std::size_t>(i)];
  }
  return stimulus;
}

std::vector<FoundMarker> find_markers(std::span<const float> recording, std::span<const float> marker,
                                      std::span<const long> expected_at, long offset, long min_delay,
                                      long max_delay, double min_correlation) {
  if (marker.empty()) throw std::invalid_argument("find_markers: the marker is empty");
  if (min_delay > max_delay) throw std::invalid_argument("find_markers: min_delay is greater than max_delay");

  const auto n = static_cast<long>(marker.size());
  const auto m = static_cast<long>(recording.size());
  std::vector<FoundMarker> found;
  found.reserve(expected_at.size());
  std::vector<float> negated;
  for (const long p : expected_at) {
    const long lo = p + offset + min_delay;
    const long hi = p + offset + max_delay;
    const Alignment positive = align(marker, recording, lo, hi);

    // align() only looks for the largest correlation, so the most negative one comes from the
    // same search over the negated window (the samples any lag in [lo, hi] can touch).
    const long begin = std::clamp(lo, 0L, m);
    const long end = std::clamp(hi + n, begin, m);
    negated.assign(recording.begin() + begin, recording.begin() + end);
    for (auto& x : negated) x = -x;
    const Alignment inverted = align(marker, negated, lo - begin, hi - begin);

    FoundMarker result{p, -1, positive.correlation};
    if (inverted.correlation > positive.correlation)
      result.correlation = -inverted.correlation;
    else if (positive.correlation >= min_correlation)
      result.found_at = positive.lag;
    found.push_back(result);
  }
  return found;
}

}  // namespace pttcam::dsp
