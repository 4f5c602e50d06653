#pragma once
#include <cstdint>
#include <optional>

#include "pttcam/jitter/types.hpp"
#include "pttcam/rtp/sequence.hpp"

namespace pttcam::jitter {

// Where a standard sender's talk bursts begin, from its timestamps and arrival times rather than
// its marker bit. RFC 3551 4.1 lets a sender set the marker on every packet (ffmpeg does), or on
// none; trusting it would split a continuous stream into one-packet bursts. A packet newer than
// every one before starts a burst when
//   - it is the stream's first, or
//   - its timestamp lies beyond where the newest packet's frames, continued over the sequence
//     numbers in between, would put it by more than half a frame (the sender paused: silence
//     suppression, DTX, a new talk spurt), or
//   - it arrived kArrivalGapUs later than the timestamps account for (a sender that stopped
//     without moving its timestamps on).
// A packet that continues the stream never does, whatever its marker says; older packets
// (reordered, duplicated) never do. pttcam's own sender marks its bursts exactly and flags their
// ends: its packets do not go through here. Pure; called from one thread.
class BurstBoundaries {
 public:
  // Longer than a burst's concealment limit (100 ms): a shorter stall is the network's.
  static constexpr Micros kArrivalGapUs = 150'000;

  bool starts_burst(std::uint16_t sequence, std::uint32_t timestamp, int samples, Micros arrival_us) noexcept;
  void reset() noexcept;  // a new stream

 private:
  struct Newest {
    std::int64_t seq = 0;
    std::int64_t timestamp = 0;
    int samples = 0;
    Micros arrival_us = 0;
  };
  std::optional<Newest> newest_;
  rtp::SeqUnwrapper seq_;
  rtp::TsUnwrapper ts_;
};

}  // namespace pttcam::jitter
