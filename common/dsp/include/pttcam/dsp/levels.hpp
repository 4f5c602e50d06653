#pragma once
#include <span>

namespace pttcam::dsp {

// Returned by snr_db when the error is exactly zero, and by rms_dbfs for digital silence.
inline constexpr double kMaxSnrDb = 200.0;
inline constexpr double kSilenceDbfs = -200.0;

// 10*log10(sum ref^2 / sum (ref - g*sig)^2) over the common length, with the least-squares
// gain g, so a pure level change does not count as noise. kMaxSnrDb when the error is zero,
// 0 when the reference is silent (nothing to measure). For noise uncorrelated with the
// reference this reads 10*log10(1 + S/N): within 0.5 dB of the true SNR from 10 dB up.
double snr_db(std::span<const float> reference, std::span<const float> aligned);

// RMS relative to a full-scale square wave: a full-scale sine reads -3.01 dBFS.
double rms_dbfs(std::span<const float> samples);

double peak_abs(std::span<const float> samples);

}  // namespace pttcam::dsp
