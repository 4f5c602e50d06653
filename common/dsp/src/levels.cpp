#include "pttcam/dsp/levels.hpp"

#include <algorithm>
#include <cmath>

namespace pttcam::dsp {

double snr_db(std::span<const float> reference, std::span<const float> aligned) {
  const std::size_t n = std::min(reference.size(), aligned.size());
  double ref_energy = 0;
  double cross = 0;
  double sig_energy = 0;
  for (std::size_t i = 0; i < n; ++i) {
    ref_energy += double{reference[i]} * reference[i];
    cross += double{reference[i]} * aligned[i];
    sig_energy += double{aligned[i]} * aligned[i];
  }
  const double gain = sig_energy > 0 ? cross / sig_energy : 0.0;
  double error = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double e = reference[i] - gain * aligned[i];
    error += e * e;
  }
  if (error <= 0) return ref_energy > 0 ? kMaxSnrDb : 0.0;
  return std::min(kMaxSnrDb, 10.0 * std::log10(ref_energy / error));
}

double rms_dbfs(std::span<const float> samples) {
  double energy = 0;
  for (const float x : samples) energy += double{x} * x;
  if (energy <= 0) return kSilenceDbfs;
  return std::max(kSilenceDbfs, 10.0 * std::log10(energy / static_cast<double>(samples.size())));
}

double peak_abs(std::span<const float> samples) {
  float peak = 0;
  for (const float x : samples) peak = std::max(peak, std::abs(x));
  return peak;
}

}  // namespace pttcam::dsp
