#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "pttcam/jitter/types.hpp"
#include "pttcam/rtp/sequence.hpp"

namespace pttcam::jitter {

// Maps each packet onto its talk burst's clock: the burst's first packet to arrive is the anchor
// (a playout starts its delay there), and a packet's relative delay is
//
//   arrival - (anchor arrival + (its RTP timestamp - anchor's timestamp) in microseconds),
//
// which is how late it is relative to a playout that started with the anchor. It also reports the
// delay above the fastest packet of the burst so far, which is what the DelayEstimator learns
// from: the next burst's anchor may well be its fastest packet, and a delay learned against slow
// anchors would then be too short (see DelayEstimator).
//
// Timestamps are only compared inside one burst: a sender may jump its timestamp across a pause,
// and a jump must not look like network delay. So each burst gets a fresh anchor, at the first
// packet that
//   - carries the marker and is newer than everything of the current burst,
//   - is newer than the current burst's end packet (the new burst's marker packet was lost),
//   - arrives while nothing plays or waits and its frame was not given up (caller says `idle`),
//   - or would have a relative delay beyond kImplausibleUs while newer than all of its burst
//     (a timestamp jump whose marker packet was lost).
// A packet older than the anchor belongs to the previous burst (a late tail) unless it is newer
// than that burst's end packet, or the anchor had no marker and the previous burst never reached
// that number (then it is a leading packet of this burst that arrived after the anchor).
// Other samples beyond kImplausibleUs are not reported.
//
// Across bursts it keeps a second, session-wide view: a sender whose timestamps follow its capture
// clock through the pauses (RFC 3550 5.1; pttcam's does) puts every burst on one timeline, and
//
//   above_floor = arrival - RTP timestamp in microseconds - the lowest such value of the last
//                 kFloorBursts bursts (this one included)
//
// is how much later than the fastest recent packet a packet came (end packets aside: a sender
// flushes the last, partial frame at key-up, before its time). A burst whose first packet was
// slow can then start playing sooner: its first packet already used up part of the delay. When a
// burst's first packet lands more than kTimelineBreakUs from that floor, the sender jumped its
// timestamps (or the path changed for good): the history is dropped and the new burst starts a
// new timeline, so above_floor falls back to the burst's own view (above_fastest).
// Pure; called from one thread.
class BurstClock {
 public:
  static constexpr Micros kImplausibleUs = 2'000'000;
  static constexpr Micros kTimelineBreakUs = 250'000;
  static constexpr std::size_t kFloorBursts = 8;

  struct Sample {
    Micros relative_delay_us = 0;
    std::uint64_t burst = 0;  // which anchor: consecutive samples with the same value pair up
    bool anchor = false;      // this packet became the anchor of a new burst
    // How much later than the fastest packet of its burst so far (the anchor included) it
    // arrived: its relative delay had that packet been the anchor. Never negative. Samples
    // taken before the burst's fastest packet arrived are not revised.
    Micros above_fastest_us = 0;
    // How much later than the fastest packet of the recent bursts on this timeline (see above).
    // Never negative, never below above_fastest_us.
    Micros above_floor_us = 0;
  };

  std::optional<Sample> observe(std::int64_t seq, std::uint32_t timestamp, bool marker, bool end_of_burst,
                                Micros arrival_us, bool idle) noexcept;
  void reset() noexcept;  // a new stream: nothing before it counts

 private:
  struct Anchor {
    std::uint64_t id = 0;
    std::int64_t first_seq = 0;
    std::int64_t newest_seq = 0;
    std::optional<std::int64_t> end_seq;
    bool by_marker = false;
    Micros arrival_us = 0;
    Micros fastest_us = 0;       // lowest relative delay seen in this burst
    Micros fastest_on_timeline_us = 0;  // ... as arrival - timestamp on the session timeline
    std::int64_t timestamp = 0;  // unwrapped by `ts`
    rtp::TsUnwrapper ts;
  };

  Sample start(std::int64_t seq, std::uint32_t timestamp, bool marker, bool end_of_burst, Micros arrival_us) noexcept;
  bool of_previous(std::int64_t seq) const noexcept;
  static Micros relative(Anchor& a, std::uint32_t timestamp, Micros arrival_us) noexcept;
  Micros on_timeline(std::uint32_t timestamp, Micros arrival_us) noexcept;
  Micros floor_us() const noexcept;

  std::optional<Anchor> current_;
  std::optional<Anchor> previous_;
  std::uint64_t next_id_ = 1;
  rtp::TsUnwrapper timeline_ts_;  // one unwrapper for every burst: the session timeline
  std::array<Micros, kFloorBursts> floors_{};  // fastest_on_timeline_us of the bursts before
  std::size_t floors_size_ = 0;
  std::size_t floors_next_ = 0;
};

}  // namespace pttcam::jitter
