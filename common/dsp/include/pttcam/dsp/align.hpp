#pragma once
#include <span>

namespace pttcam::dsp {

struct Alignment {
  long lag = 0;            // reference[i] lines up with signal[i + lag]
  double correlation = 0;  // normalised, in [-1, 1]
};

// Finds the lag in [min_lag, max_lag] that maximises the normalised cross-correlation of
// reference[i] with signal[i + lag]; signal samples outside the signal count as 0. The
// normalisation uses the whole reference's energy and the energy of the signal segment it is
// compared with, so a lag that overlaps only a few samples cannot score a spurious 1.
// Cost is O((n + range) log(n + range)) through the FFT. Ties go to the smallest lag.
// Throws std::invalid_argument if min_lag > max_lag.
Alignment align(std::span<const float> reference, std::span<const float> signal, long min_lag, long max_lag);

}  // namespace pttcam::dsp
