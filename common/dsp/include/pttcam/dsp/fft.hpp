#pragma once
#include <complex>
#include <vector>

namespace pttcam::dsp {

// In-place radix-2 FFT for analysis in tests and benchmarks (allocates; not for the audio path).
// data.size() must be a power of two, else std::invalid_argument. The inverse divides by the
// size, so fft(x, true) after fft(x, false) gives x back.
void fft(std::vector<std::complex<double>>& data, bool inverse);

}  // namespace pttcam::dsp
