#include "pttcam/jitter/jitter_buffer.hpp"

#include <algorithm>

namespace pttcam::jitter {

JitterBuffer::JitterBuffer(Config config) noexcept
    : decision_(store_, config.max_conceal_samples),
      estimator_({config.min_delay_us, config.max_delay_us, config.late_target, config.initial_delay_us}),
      max_delay_us_(config.max_delay_us) {
  stretch_enabled_ = config.max_delay_us > config.min_delay_us;  // a fixed delay never grows
  decision_.set_min_wait(estimator_.config().min_delay_us);
}

void JitterBuffer::restart_stream() noexcept {
  if (ssrc_) new_stream(*ssrc_);
}

void JitterBuffer::forget_stream() noexcept { ssrc_.reset(); }

// Nothing learned from another stream shapes this one: a stranger's (or the previous session's)
// slow or jittery audio must not raise the delay, or the FEC headroom, of the next talker.
void JitterBuffer::new_stream(std::uint32_t ssrc) noexcept {
  if (ssrc_) ++counters_.stream_changes;
  ssrc_ = ssrc;
  decision_.reset();
  clock_.reset();
  jitter_.restart();
  seq_ = rtp::SeqUnwrapper{};
  newest_seq_.reset();
  estimator_ = DelayEstimator(estimator_.config());
  loss_rate_ = loss_rate_at_last_packet_ = 0;
  recovery_depth_ = 0;
  above_floor_us_ = 0;
}

void JitterBuffer::observe_timing(std::int64_t seq, const IncomingPacket& p, Micros arrival_us, bool idle) noexcept {
  const auto sample = clock_.observe(seq, p.timestamp, p.marker, p.end_of_burst, arrival_us, idle);
  if (!sample) return;
  estimator_.observe(sample->above_floor_us, p.samples);
  // A fixed delay waits the same after every burst's first packet, however late it came.
  if (stretch_enabled_) above_floor_us_ = sample->above_floor_us;
  jitter_.observe(sample->relative_delay_us, sample->burst);
  counters_.interarrival_jitter_us = jitter_.jitter_us();
}

InsertResult JitterBuffer::insert(const IncomingPacket& p, Micros arrival_us) noexcept {
  ++counters_.received;
  above_floor_us_ = 0;
  if (p.payload.size() > kMaxPayload) {
    ++counters_.too_large;
    return InsertResult::too_large;
  }
  if (!ssrc_ || p.ssrc != *ssrc_) new_stream(p.ssrc);
  const std::int64_t seq = seq_.unwrap(p.sequence);
  const bool idle = !decision_.in_burst() && store_.empty();
  decision_.set_ends_flagged(p.ends_flagged);
  // The next number, its timestamp more than a frame beyond the last one's end: the sender's
  // capture stalled and its timestamp jumped over the samples never taken (RFC 3550 5.1). What
  // the playout concealed meanwhile was that gap, not lost packets: the packet is taken back if
  // the concealment already used its number, and the gap buys no loss headroom.
  const bool jumped = p.ends_flagged && !p.marker && newest_seq_ && seq == *newest_seq_ + 1 &&
                      static_cast<std::int32_t>(p.timestamp - newest_ts_) > 2 * newest_samples_;
  if (jumped) {
    ++counters_.timestamp_jumps;
    loss_rate_ = loss_rate_at_last_packet_;
  }
  decision_.admit(seq, p.marker, jumped);
  last_timestamp_ = p.timestamp;
  // The packet itself, after a copy of it that a later packet brought: it replaces the copy.
  if (const StoredPacket* waiting = store_.find(seq); waiting && waiting->redundant) store_.erase(seq);
  // Timing first (the store keeps how late the packet was), unless it is a duplicate.
  if (!store_.find(seq)) observe_timing(seq, p, arrival_us, idle && !(store_.floor() && seq <= *store_.floor()));
  auto result = store_.insert(seq, p, arrival_us, above_floor_us_);
  if (result == PacketStore::Result::full || result == PacketStore::Result::too_old) {
    // The sender is kSlots ahead of the speaker: the newest kSlots numbers are kept.
    const std::int64_t newest = std::max(seq, store_.newest().value_or(seq));
    counters_.overflow += store_.give_up_through(newest - static_cast<std::int64_t>(kSlots));
    result = store_.insert(seq, p, arrival_us, above_floor_us_);
  }

  switch (result) {
    case PacketStore::Result::stored:
      if (newest_seq_ && seq < *newest_seq_) ++counters_.reordered;
      if (!newest_seq_ || seq > *newest_seq_) {
        newest_seq_ = seq;
        newest_ts_ = p.timestamp;
        newest_samples_ = p.samples;
      }
      if (p.has_fec) recovery_depth_ = std::max(recovery_depth_, 1);
      frame_us_ = static_cast<Micros>(p.samples) * 1'000'000 / 48'000;
      decision_.on_stored(*store_.find(seq), target_delay_us());
      return InsertResult::accepted;
    case PacketStore::Result::duplicate: ++counters_.duplicate; return InsertResult::duplicate;
    case PacketStore::Result::too_large: ++counters_.too_large; return InsertResult::too_large;
    case PacketStore::Result::too_late:
    case PacketStore::Result::too_old:
    case PacketStore::Result::full: break;  // after give_up_through() only too_late is left
  }
  ++counters_.late;
  // Its frame was counted as missing, but the packet was not lost: lateness is the estimator's
  // business, and must not buy FEC headroom.
  loss_rate_ = std::max(0.0, loss_rate_ - kLossAlpha);
  return InsertResult::late;
}

InsertResult JitterBuffer::insert_redundant(const IncomingPacket& copy, Micros arrival_us) noexcept {
  ++counters_.redundant_received;
  if (!ssrc_ || copy.ssrc != *ssrc_ || copy.payload.size() > kMaxPayload) return InsertResult::duplicate;
  if (copy.samples > 0 && !copy.end_of_burst) {  // how far back copies reach (not an end repeat)
    const auto back = static_cast<std::uint32_t>(last_timestamp_ - copy.timestamp) / static_cast<std::uint32_t>(copy.samples);
    recovery_depth_ = std::max(recovery_depth_, static_cast<int>(std::min<std::uint32_t>(back, 2)));
  }
  const std::int64_t seq = seq_.unwrap(copy.sequence);
  if (store_.find(seq) || (store_.floor() && seq <= *store_.floor())) return InsertResult::duplicate;
  decision_.admit(seq, copy.marker);
  // On the timeline it is as late as the packet that carried it, plus how much older it is.
  const Micros above_floor =
      stretch_enabled_ ? above_floor_us_ + rtp_to_us(static_cast<std::uint32_t>(last_timestamp_ - copy.timestamp)) : 0;
  // A copy never pushes waiting packets out (full, too_old): it is simply not needed then.
  if (store_.insert(seq, copy, arrival_us, above_floor, true) != PacketStore::Result::stored) return InsertResult::duplicate;
  ++counters_.redundant_stored;
  decision_.on_stored(*store_.find(seq), target_delay_us());
  return InsertResult::accepted;
}

PlayoutFrame JitterBuffer::next(Micros now_us, int silence_samples) noexcept {
  // An adaptive buffer may grow inside a burst, up to kMaxStretchUs a burst:
  //  - to the target, when that grew after the burst started (packets came later, or frames went
  //    missing and their FEC or copies need the headroom): a frame whose packet and copies are
  //    all missing is concealed while the buffer keeps waiting for them, a frame it would have
  //    concealed anyway;
  //  - when a calm link stalls (a hiccup that delays every later packet). Not while frames are
  //    going missing (the packet that is not there is most likely lost: waiting would only add
  //    delay), nor on a jittery link, whose target is already at least a frame: there a packet
  //    later than the target is the tail the target accepts, and waiting for it would keep the
  //    rest of the burst that much later.
  const bool calm = loss_rate_ < kFecHeadroomLossRate && estimator_.target_us() < frame_us_;
  decision_.set_stretch(stretch_enabled_ ? kMaxStretchUs : 0, calm, target_delay_us());
  const auto stretched_before = decision_.counters().stretched;
  const PlayoutFrame f = decision_.next(now_us, silence_samples, target_delay_us());
  static_cast<FrameCounters&>(counters_) = decision_.counters();
  // A stretch frame waits for a packet that is still expected: not a missing one.
  if (f.kind != FrameKind::silence && counters_.stretched == stretched_before) {
    const double missing = f.kind == FrameKind::normal ? 0.0 : 1.0;
    loss_rate_ += kLossAlpha * (missing - loss_rate_);
  }
  // Frames concealed while waiting for a sender that stopped were not missing: as of the last
  // packet played, nothing after it was.
  if (f.kind == FrameKind::normal || f.redundant) loss_rate_at_last_packet_ = loss_rate_;
  if (f.sender_stopped) loss_rate_ = loss_rate_at_last_packet_;
  return f;
}

// In-band FEC or an RFC 2198 copy of a lost frame travels in a later packet, which must already be
// here when the lost frame is due: while frames go missing (and the sender sends either), one
// frame of delay is added to what the jitter alone would need; two when more than
// kDeepHeadroomLossRate go missing and copies come two frames back (then two packets in a row
// must be lost for a frame to be concealed). The depth is re-chosen at each burst start.
Micros JitterBuffer::target_delay_us() const noexcept {
  // The margin covers when frames are asked for: in batches, as the speaker's ring drains.
  constexpr Micros kMarginUs = 5'000;
  int frames = 0;
  if (recovery_depth_ > 0 && loss_rate_ > kFecHeadroomLossRate) frames = 1;
  if (recovery_depth_ > 1 && loss_rate_ > kDeepHeadroomLossRate) frames = 2;
  return std::min(estimator_.target_us() + (frames > 0 ? frames * frame_us_ + kMarginUs : 0), max_delay_us_);
}

void JitterBuffer::flush() noexcept { decision_.flush(); }

}  // namespace pttcam::jitter
