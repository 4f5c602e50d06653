#include "pttcam/jitter/burst_clock.hpp"

#include <algorithm>

namespace pttcam::jitter {

void BurstClock::reset() noexcept {
  current_.reset();
  previous_.reset();
}

Micros BurstClock::relative(Anchor& a, std::uint32_t timestamp, Micros arrival_us) noexcept {
  const std::int64_t ticks = a.ts.unwrap(timestamp) - a.timestamp;
  return arrival_us - (a.arrival_us + rtp_to_us(ticks));
}

BurstClock::Sample BurstClock::start(std::int64_t seq, std::uint32_t timestamp, bool marker, bool end_of_burst,
                                     Micros arrival_us) noexcept {
  previous_ = std::move(current_);
  Anchor& a = current_.emplace();
  a.id = next_id_++;
  a.first_seq = seq;
  a.newest_seq = seq;
  if (end_of_burst) a.end_seq = seq;
  a.by_marker = marker;
  a.arrival_us = arrival_us;
  a.timestamp = a.ts.unwrap(timestamp);
  return {0, a.id, true, 0};
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
  a.fastest_us = std::min(a.fastest_us, r);
  return Sample{r, a.id, false, r - a.fastest_us};
}

}  // namespace pttcam::jitter
