#include "pttcam/jitter/playout_decision.hpp"

#include <algorithm>

namespace pttcam::jitter {

void PlayoutDecision::arm(const StoredPacket& anchor, Micros delay_us) noexcept {
  const Micros above_floor = std::max<Micros>(anchor.above_floor_us, 0);
  burst_arrival_ = anchor.arrival_us;
  pending_delay_us_ = std::clamp<Micros>(delay_us - above_floor, std::min(min_wait_us_, delay_us), delay_us);
  pending_offset_us_ = above_floor;
  pending_target_us_ = delay_us;
  anchor_seq_ = anchor.seq;
}

const StoredPacket* PlayoutDecision::due_before_anchor() const noexcept {
  const StoredPacket* first = store_.oldest();
  if (!first || !burst_arrival_ || first->seq >= anchor_seq_) return nullptr;
  return own_due(*first) < *burst_arrival_ + pending_delay_us_ ? first : nullptr;
}

Micros PlayoutDecision::own_due(const StoredPacket& p) const noexcept {
  const Micros wait = std::min(min_wait_us_, pending_target_us_);
  return std::max(p.arrival_us - p.above_floor_us + pending_target_us_, p.arrival_us + wait);
}

std::optional<Micros> PlayoutDecision::start_at_us() const noexcept {
  if (!burst_arrival_) return std::nullopt;
  if (const StoredPacket* older = due_before_anchor()) return own_due(*older);
  return *burst_arrival_ + pending_delay_us_;
}

void PlayoutDecision::admit(std::int64_t seq, bool marker, bool jumped) noexcept {
  const auto floor = store_.floor();
  // A packet after a timestamp jump follows the gap the concealment filled: its own number may
  // have been the first one concealed.
  const bool after_concealed = seq > conceal_from_ || ((jumped || !ends_flagged_) && seq == conceal_from_);
  if (floor && seq <= *floor && (marker || jumped) && active_ && conceal_run_ > 0 && after_concealed) {
    store_.set_floor(seq - 1);
    next_seq_ = seq;
  }
}

void PlayoutDecision::on_stored(const StoredPacket& packet, Micros delay_us) noexcept {
  if (!active_ && !burst_arrival_) arm(packet, delay_us);
}

void PlayoutDecision::reset() noexcept {
  store_.reset();
  burst_arrival_.reset();
  active_ = false;
  conceal_run_ = 0;
  tail_ = {};
}

void PlayoutDecision::flush() noexcept {
  std::optional<std::int64_t> newest = store_.floor();
  if (active_) newest = std::max(newest.value_or(next_seq_ - 1), next_seq_ - 1);
  if (const auto waiting = store_.newest(); waiting && (!newest || *waiting > *newest)) newest = waiting;
  store_.clear();
  store_.set_floor(newest);
  burst_arrival_.reset();
  active_ = false;
  conceal_run_ = 0;
  tail_ = {};
}

PlayoutFrame PlayoutDecision::play(const StoredPacket& p) noexcept {
  PlayoutFrame f;
  f.kind = FrameKind::normal;
  if (p.redundant) {  // its own packet was lost; a later one brought a copy
    f.kind = FrameKind::fec;
    f.redundant = true;
    ++counters_.lost;
    ++counters_.fec_recovered;
    ++counters_.redundancy_recovered;
  }
  f.samples = p.samples;
  f.payload = p.payload();
  if (!p.redundant) f.capture_us = p.capture_us;
  f.sequence = p.seq;
  f.burst_end = p.end_of_burst;
  store_.erase(p.seq);  // the bytes stay put until the next insert
  tail_ = {};
  if (!p.redundant) ++counters_.normal;
  last_samples_ = p.samples;
  last_concealed_ = false;
  conceal_run_ = 0;
  return f;
}

PlayoutFrame PlayoutDecision::lose() noexcept {
  PlayoutFrame f;
  f.samples = last_samples_;
  f.sequence = next_seq_;
  ++counters_.lost;
  const StoredPacket* after = store_.find(next_seq_ + 1);
  if (after && after->has_fec && after->samples >= last_samples_) {
    f.kind = FrameKind::fec;
    f.payload = after->payload();
    ++counters_.fec_recovered;
    last_concealed_ = false;
  } else {
    f.kind = FrameKind::concealed;
    ++counters_.concealed;
    if (!last_concealed_) ++counters_.concealment_events;
    last_concealed_ = true;
  }
  return f;
}

PlayoutFrame PlayoutDecision::end_unterminated(PlayoutFrame silence) noexcept {
  active_ = false;
  silence.burst_end = true;
  if (ends_flagged_) {
    ++counters_.bursts_unterminated;
  } else {
    // Nothing was lost: the sender stopped. What was concealed waiting for it is taken back.
    ++counters_.bursts_stopped;
    counters_.lost -= tail_.lost;
    counters_.concealed -= tail_.concealed;
    counters_.concealment_events -= tail_.events;
    counters_.stretched -= tail_.stretched;
    silence.sender_stopped = true;
    silence.stopped_frames = tail_.frames;
  }
  tail_ = {};
  return silence;
}

void PlayoutDecision::add_to_tail(const FrameCounters& before) noexcept {
  tail_.lost += counters_.lost - before.lost;
  tail_.concealed += counters_.concealed - before.concealed;
  tail_.events += counters_.concealment_events - before.concealment_events;
  tail_.stretched += counters_.stretched - before.stretched;
  ++tail_.frames;
}

PlayoutFrame PlayoutDecision::stretch_frame(Micros frame_us) noexcept {
  if (conceal_run_ == 0) conceal_from_ = next_seq_;
  conceal_run_ += last_samples_;
  stretched_us_ += frame_us;
  ++counters_.stretched;
  PlayoutFrame stretch;
  stretch.kind = FrameKind::concealed;
  stretch.samples = last_samples_;
  stretch.sequence = next_seq_;
  ++counters_.concealed;
  if (!last_concealed_) ++counters_.concealment_events;
  last_concealed_ = true;
  stretch.burst_start = burst_first_;
  burst_first_ = false;
  return stretch;
}

// Idle: the oldest stored packet's burst starts once its delay is up. False: not yet.
bool PlayoutDecision::start_burst(Micros now_us) noexcept {
  const StoredPacket* first = store_.oldest();
  const auto start_at = start_at_us();
  if (!first || !start_at || now_us < *start_at) return false;
  active_ = true;
  burst_first_ = true;
  last_concealed_ = false;
  current_delay_us_ = pending_delay_us_;
  current_offset_us_ = pending_offset_us_;
  if (due_before_anchor()) {  // the older packet's own lateness and wait
    current_offset_us_ = std::max<Micros>(first->above_floor_us, 0);
    current_delay_us_ = own_due(*first) - first->arrival_us;
  }
  stretched_us_ = 0;
  burst_arrival_.reset();
  next_seq_ = first->seq;
  conceal_run_ = 0;
  ++counters_.bursts;
  if (!first->marker) ++counters_.bursts_without_marker;
  return true;
}

PlayoutFrame PlayoutDecision::next(Micros now_us, int silence_samples, Micros delay_us) noexcept {
  PlayoutFrame silence;
  silence.samples = silence_samples;
  if (!active_ && !start_burst(now_us)) return silence;
  // The store gave up on these numbers (it overflowed): skip them rather than conceal them.
  if (const auto floor = store_.floor(); floor && next_seq_ <= *floor) next_seq_ = *floor + 1;

  const Micros frame_us = static_cast<Micros>(last_samples_) * 1'000'000 / 48'000;
  const bool behind = current_offset_us_ + current_delay_us_ + stretched_us_ + frame_us / 2 < grow_to_us_;
  const bool may_stretch = stretched_us_ + frame_us <= max_stretch_us_;
  std::optional<PlayoutFrame> decided;
  if (const StoredPacket* p = store_.find(next_seq_)) {
    if (p->marker && !burst_first_) {
      // A new burst began while this one still waited for its end packet: that packet was lost.
      // The new burst gets its own delay, its clock started by its marker packet's arrival.
      arm(*p, delay_us);
      return end_unterminated(silence);
    }
    // Only a copy came, and packets have lately come later than this burst waits for: the packet
    // itself may still come. Grow by a frame first; the copy stays and plays next if it does not.
    if (p->redundant && behind && may_stretch) {
      tail_ = {};
      return stretch_frame(frame_us);
    }
    decided = play(*p);
  } else if (const auto early = missing(silence, frame_us, behind && may_stretch, may_stretch)) {
    return *early;
  } else {
    decided = conceal_missing();
  }
  return advance(*decided, delay_us);
}

// The packet due is not there. An answer that ends here (the burst ended, or a stretch), or
// nothing: conceal it and go on.
std::optional<PlayoutFrame> PlayoutDecision::missing(const PlayoutFrame& silence, Micros frame_us, bool behind_may_stretch,
                                                     bool may_stretch) noexcept {
  const bool buffered = store_.has_after(next_seq_);
  // A frame longer than the limit (packets of 100 ms and more: a camera client's G.711) may still
  // be concealed once before the burst is given up.
  if (!buffered && conceal_run_ + last_samples_ > std::max(max_conceal_samples_, last_samples_)) {
    // With end flags the first concealed number most likely was the lost end; without, the
    // sender stopped and every concealed number is still its to use.
    if (conceal_run_ > 0) store_.set_floor(ends_flagged_ ? conceal_from_ : conceal_from_ - 1);
    return end_unterminated(silence);
  }
  const bool stalled = !buffered && stretch_on_stall_;
  // Nothing after it has come either (the link stalled: a late packet, not a lost one, as far
  // as anyone can tell yet), or packets have lately come later than this burst waits for.
  // Conceal one frame and keep waiting for this packet, so a stall costs one concealed frame
  // instead of every packet after it arriving late.
  if ((stalled && may_stretch) || behind_may_stretch) {
    const FrameCounters before = counters_;
    PlayoutFrame stretch = stretch_frame(frame_us);
    if (buffered) tail_ = {};
    else add_to_tail(before);
    return stretch;
  }
  return std::nullopt;
}

PlayoutFrame PlayoutDecision::conceal_missing() noexcept {
  const bool buffered = store_.has_after(next_seq_);
  const FrameCounters before = counters_;
  PlayoutFrame f = lose();
  if (buffered) tail_ = {};
  else add_to_tail(before);
  if (!buffered) {
    if (conceal_run_ == 0) conceal_from_ = next_seq_;
    conceal_run_ += f.samples;
  }
  return f;
}

// A frame was played or concealed for next_seq_: move on, and after a burst's end arm the next.
PlayoutFrame PlayoutDecision::advance(PlayoutFrame f, Micros delay_us) noexcept {
  f.burst_start = burst_first_;
  burst_first_ = false;
  store_.set_floor(next_seq_++);
  if (f.burst_end) {
    active_ = false;
    // Packets of the next burst that arrived while this one played did not start its clock
    // (on_stored() does that only while idle): it runs from the first of them to arrive.
    if (const StoredPacket* first = store_.earliest()) arm(*first, delay_us);
  }
  return f;
}

}  // namespace pttcam::jitter
