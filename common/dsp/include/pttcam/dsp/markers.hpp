#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace pttcam::dsp {

// Sample rate of the stimulus and of the recordings searched (pttcam runs at 48 kHz throughout).
inline constexpr int kMarkerRate = 48000;

// The latency benchmark's ground truth: played into the push-to-talk client, recorded from the
// camera's speaker, and each marker found again with find_markers(). Analysis code, not for the
// audio path: both functions allocate, and throw std::invalid_argument on bad arguments.
struct MarkerStimulus {
  std::vector<float> samples;   // the whole stimulus at kMarkerRate
  std::vector<long> marker_at;  // index in `samples` of the first sample of each marker
  std::vector<float> marker;    // the marker alone, the reference find_markers() searches for
};

// `seconds` of a steady white-noise bed at bed_dbfs RMS (levels.hpp scale; seeded, so the same
// seed gives the same samples) with a marker added every spacing_s from first_s on, as long as the
// whole marker fits. Marker k starts at round((first_s + k * spacing_s) * 48000), so positions do
// not drift. Throws if seconds <= 0, first_s < 0, or spacing_s is not longer than the marker.
MarkerStimulus make_marker_stimulus(double seconds, double first_s, double spacing_s, std::uint32_t seed = 1,
                                    double bed_dbfs = -45);

struct FoundMarker {
  long expected_at = 0;      // the position given, in the stimulus' sample index
  long found_at = -1;        // recording index of the marker's first sample, -1 when not found
  double correlation = 0.0;  // normalised correlation of the peak (see find_markers)
};

// For each expected position p, finds the recording index in [p + offset + min_delay,
// p + offset + max_delay] where `marker` matches best (align.hpp's normalised cross-correlation,
// so a gain change does not matter). The correlation is evaluated at every sample, so the peak is
// the nearest sample to the true one: a parabola through it and its neighbours always peaks
// within half a sample of it, and sub-sample interpolation would not change the rounded answer.
// Not found (found_at = -1) when:
// - the best correlation is below min_correlation (marker missing, damaged or drowned), or
// - a negative correlation is stronger than the best positive one: the marker is there with its
//   polarity inverted (somewhere in the playback chain), and the positive peak is then a
//   sidelobe half a carrier period off. `correlation` then holds that negative value, so the
//   caller can tell an inverted chain from a missing marker.
// min_correlation: intact markers read >= 0.92 after Opus at 24 kbit/s with noise at 10 dB SNR.
// For recordings that may contain packet loss use 0.7: a marker damaged by concealment can peak
// between 0.5 and 0.7 a few (rarely ~170) samples off; above 0.7 it has stayed within a sample.
// Windows must not reach a neighbouring marker: keep max_delay - min_delay + marker.size() below
// the marker spacing. Throws if marker is empty or min_delay > max_delay.
std::vector<FoundMarker> find_markers(std::span<const float> recording, std::span<const float> marker,
                                      std::span<const long> expected_at, long offset, long min_delay,
                                      long max_delay, double min_correlation = 0.5);

}  // namespace pttcam::dsp
