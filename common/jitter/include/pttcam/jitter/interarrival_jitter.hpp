#pragma once
#include <cstdint>
#include <optional>

#include "pttcam/jitter/types.hpp"

namespace pttcam::jitter {

// The RFC 3550 §6.4.1 interarrival jitter, in microseconds instead of timestamp units:
//   D(i-1, i) = (R_i - R_{i-1}) - (S_i - S_{i-1}),   J += (|D| - J) / 16,
// taken over packets in arrival order. Fed with BurstClock relative delays, D is the difference
// of two consecutive relative delays, since both share one anchor. Pairs are formed only inside
// one talk burst (same anchor): the timestamp gap across a pause need not match the pause.
// Pure; called from one thread.
class InterarrivalJitter {
 public:
  void observe(Micros relative_delay_us, std::uint64_t burst) noexcept;
  double jitter_us() const noexcept { return jitter_us_; }
  void restart() noexcept { last_.reset(); }  // the next packet pairs with nothing (new stream)

 private:
  struct Last {
    std::uint64_t burst = 0;
    Micros relative_delay_us = 0;
  };
  std::optional<Last> last_;
  double jitter_us_ = 0;
};

}  // namespace pttcam::jitter
