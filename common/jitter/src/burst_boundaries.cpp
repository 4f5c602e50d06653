#include "pttcam/jitter/burst_boundaries.hpp"

namespace pttcam::jitter {

void BurstBoundaries::reset() noexcept {
  newest_.reset();
  seq_ = rtp::SeqUnwrapper{};
  ts_ = rtp::TsUnwrapper{};
}

bool BurstBoundaries::starts_burst(std::uint16_t sequence, std::uint32_t timestamp, int samples,
                                   Micros arrival_us) noexcept {
  const std::int64_t seq = seq_.unwrap(sequence);
  const std::int64_t ts = ts_.unwrap(timestamp);
  if (!newest_) {
    newest_ = Newest{seq, ts, samples, arrival_us};
    return true;
  }
  if (seq <= newest_->seq) return false;
  const std::int64_t expected_ts = newest_->timestamp + (seq - newest_->seq) * newest_->samples;
  const bool paused = ts - expected_ts > newest_->samples / 2;
  const Micros late = (arrival_us - newest_->arrival_us) - rtp_to_us(ts - newest_->timestamp);
  const bool stopped = late > kArrivalGapUs;
  newest_ = Newest{seq, ts, samples, arrival_us};
  return paused || stopped;
}

}  // namespace pttcam::jitter
