#include "pttcam/jitter/burst_clock.hpp"

#include <algorithm>

namespace pttcam::jitter {

void BurstClock::reset() noexcept {
  current_.reset();
  previous_.reset();
  timeline_ts_ = rtp::TsUnwrapper{};
  floors_size_ = 0;
  floors_next_ = 0;
}

Micros BurstClock::on_timeline(std::uint32_t timestamp, Micros arrival_us) noexcept {
  return arrival_us - rtp_to_us(timeline_ts_.unwrap(timestamp));
}

// The fastest packet of the recent bursts and of the current one.
Micros BurstClock::floor_us() const noexcept {
  Micros f = current_->fastest_on_timeline_us;
  for (std::size_t i = 0; i < floors_size_; ++i) f = std::min(f, floors_[i]);
  return f;
}

Micros BurstClock::relative(Anchor& a, std::uint32_t timestamp, Micros arrival_us) noexcept {
  const std::int64_t ticks = a.ts.unwrap(timestamp) - a.timestamp;
  return arrival_us - (a.arrival_us + rtp_to_us(ticks));
}

BurstClock::Sample BurstClock::start(std::int64_t seq, std::uint32_t timestamp, bool marker, bool end_of_burst,
                                     Micros arrival_us) noexcept {
  const Micros t = on_timeline(timestamp, arrival_us);
  if (current_) {
    floors_[floors_next_] = current_->fastest_on_timeline_us;
    floors_next_ = (floors_next_ + 1) % kFloorBursts;
    floors_size_ = std::min(floors_size_ + 1, kFloorBursts);
  }
  previous_ = std::move(current_);
  // From a value, not emplace(): clang 14 judges Anchor not default-constructible while BurstClock
  // (which declares it with default member initialisers) is still incomplete.
  Anchor& a = current_.emplace(Anchor{});
  a.fastest_on_timeline_us = t;
  if (floors_size_ > 0) {
    const Micros before = *std::min_element(floors_.begin(), floors_.begin() + static_cast<std::ptrdiff_t>(floors_size_));
    if (t - before > kTimelineBreakUs || before - t > kTimelineBreakUs) floors_size_ = floors_next_ = 0;
  }
  a.id = next_id_++;
  a.first_seq = seq;
  a.newest_seq = seq;
  if (end_of_burst) a.end_seq = seq;
  a.by_marker = marker;
  a.arrival_us = arrival_us;
  a.timestamp = a.ts.unwrap(timestamp);
  return {0, a.id, true, 0, t - floor_us()};
}

bool BurstClock::of_previous(std::int64_t seq) const noexcept {
  if (!previous_ || seq >= current_->first_seq) return false;
  if (previous_->end_seq && seq > *previous_->end_seq) return false;
  return current_->by_marker || seq <= previous_->newest_seq;
}

std::optional<BurstClock::Sample> BurstClock::observe(std::int64_t seq, std::uint32_t timestamp, bool marker,
                                                      bool end_of_burst, Micros arrival_us, bool idle) noexcept {
  if (!current_) return start(seq, timestamp, marker, end_of_burst, arrival_us);
  Anchor& cur = *current_;
  const bool newest = seq > cur.newest_seq;
  if (newest && (marker || idle || (cur.end_seq && seq > *cur.end_seq)))
    return start(seq, timestamp, marker, end_of_burst, arrival_us);

  const bool previous = of_previous(seq);
  Anchor& a = previous ? *previous_ : cur;
  const Micros r = relative(a, timestamp, arrival_us);
  if (r > kImplausibleUs || r < -kImplausibleUs) {
    if (!previous && newest) return start(seq, timestamp, marker, end_of_burst, arrival_us);
    return std::nullopt;
  }
  a.newest_seq = std::max(a.newest_seq, seq);
  if (end_of_burst) a.end_seq = seq;
  const Micros t = on_timeline(timestamp, arrival_us);
  // A burst's end packet is sent at key-up, as soon as its partial frame is padded: up to a frame
  // earlier than its timestamp says. It is not evidence of a faster path.
  if (!end_of_burst) {
    a.fastest_us = std::min(a.fastest_us, r);
    a.fastest_on_timeline_us = std::min(a.fastest_on_timeline_us, t);
  }
  const Micros above_fastest = std::max<Micros>(r - a.fastest_us, 0);
  // A late packet of the previous burst is only measured against its own burst: the timeline may
  // have been restarted since.
  const Micros above_floor = previous ? above_fastest : std::max(above_fastest, t - floor_us());
  return Sample{r, a.id, false, above_fastest, above_floor};
}

}  // namespace pttcam::jitter
