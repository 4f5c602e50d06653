#include "pttcam/measure/latency_histogram.hpp"

#include <algorithm>
#include <cmath>

namespace pttcam::measure {

void LatencyHistogram::add(double ms) noexcept {
  const double bin = std::floor(std::max(ms, 0.0) / kBinMs);
  ++bins_[static_cast<std::size_t>(std::min(bin, static_cast<double>(kBins - 1)))];
  max_ = count_ ? std::max(max_, ms) : ms;
  ++count_;
}

void LatencyHistogram::clear() noexcept {
  bins_.fill(0);
  count_ = 0;
  max_ = 0;
}

double LatencyHistogram::percentile(double p) const noexcept {
  if (count_ == 0) return 0.0;
  // The same rank as percentile() over a sorted list: round(p/100 * (n-1)), counted from 0.
  const auto rank = static_cast<std::uint64_t>(std::lround(p / 100.0 * static_cast<double>(count_ - 1)));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBins; ++i) {
    seen += bins_[i];
    if (seen > rank) return i + 1 == kBins ? max_ : (static_cast<double>(i) + 0.5) * kBinMs;
  }
  return max_;
}

}  // namespace pttcam::measure
