#pragma once
// Latencies of a whole run in fixed memory: 0.1 ms bins up to 2 s (and the largest seen beyond),
// so a soak's summary costs the same after a minute as after a day. A percentile is the middle of
// its bin: within 0.05 ms of the exact value below 2 s; above 2 s it is the largest value seen.
// Negative values count in the first bin.
#include <array>
#include <cstdint>

namespace pttcam::measure {

class LatencyHistogram {
 public:
  static constexpr double kBinMs = 0.1;
  static constexpr std::size_t kBins = 20'000;  // up to 2 s; more goes in the last bin

  void add(double ms) noexcept;
  void clear() noexcept;
  std::uint64_t count() const noexcept { return count_; }
  // The p-th percentile (0-100) to the bin's resolution (its middle); 0 when empty. The last bin
  // answers with the largest value seen.
  double percentile(double p) const noexcept;
  double max() const noexcept { return count_ ? max_ : 0.0; }

 private:
  std::array<std::uint32_t, kBins> bins_{};
  std::uint64_t count_ = 0;
  double max_ = 0;
};

}  // namespace pttcam::measure
