#include "fixed_delay_playout.hpp"

#include <algorithm>

namespace pttcam::test {

std::int64_t FixedDelayPlayout::unwrap(std::uint16_t seq) noexcept {
  // Nearest 64-bit value to the last one that has these low 16 bits.
  const auto delta = static_cast<std::int16_t>(static_cast<std::uint16_t>(seq - last_unwrapped_));
  last_unwrapped_ += delta;
  return last_unwrapped_;
}

void FixedDelayPlayout::reset_stream() noexcept {
  for (auto& s : slots_) s.used = false;
  played_up_to_.reset();
  burst_arrival_.reset();
  active_ = false;
  conceal_run_ = 0;
}

void FixedDelayPlayout::flush() noexcept {
  std::optional<std::int64_t> newest = played_up_to_;
  if (active_) newest = std::max(newest.value_or(next_seq_ - 1), next_seq_ - 1);
  for (auto& s : slots_) {
    if (s.used && (!newest || s.seq > *newest)) newest = s.seq;
    s.used = false;
  }
  played_up_to_ = newest;
  burst_arrival_.reset();
  active_ = false;
  conceal_run_ = 0;
}

FixedDelayPlayout::Slot* FixedDelayPlayout::find(std::int64_t seq) noexcept {
  Slot& s = slots_[static_cast<std::size_t>(seq) % kSlots];
  return s.used && s.seq == seq ? &s : nullptr;
}

FixedDelayPlayout::Slot* FixedDelayPlayout::lowest() noexcept {
  Slot* best = nullptr;
  for (auto& s : slots_)
    if (s.used && (!best || s.seq < best->seq)) best = &s;
  return best;
}

InsertResult FixedDelayPlayout::insert(const IncomingPacket& p, Micros arrival_us) noexcept {
  ++counters_.received;
  if (p.payload.size() > kMaxPayload) {
    ++counters_.too_large;
    return InsertResult::too_large;
  }
  if (!have_stream_ || p.ssrc != ssrc_) {
    if (have_stream_) ++counters_.stream_changes;
    reset_stream();
    have_stream_ = true;
    ssrc_ = p.ssrc;
    last_unwrapped_ = p.sequence;
  }
  const std::int64_t seq = unwrap(p.sequence);
  if (played_up_to_ && seq <= *played_up_to_) {
    // Frames concealed with nothing buffered after the one that was due used numbers the sender
    // may not have sent: a new burst numbered on from the lost packet ends this one and plays.
    if (!(p.marker && active_ && conceal_run_ > 0 && seq > conceal_from_)) {
      ++counters_.late;
      return InsertResult::late;
    }
    played_up_to_ = seq - 1;
    next_seq_ = seq;
  }
  Slot& slot = slots_[static_cast<std::size_t>(seq) % kSlots];
  if (slot.used && slot.seq == seq) {
    ++counters_.duplicate;
    return InsertResult::duplicate;
  }
  // A slot still holding an older unplayed packet means the sender ran kSlots ahead of the
  // speaker; the newer packet wins, the older one will be counted lost when its turn comes.
  slot.used = true;
  slot.seq = seq;
  slot.marker = p.marker;
  slot.end_of_burst = p.end_of_burst;
  slot.has_fec = p.has_fec;
  slot.samples = p.samples;
  slot.arrival_us = arrival_us;
  slot.capture_us = p.capture_us;
  slot.size = p.payload.size();
  std::copy(p.payload.begin(), p.payload.end(), slot.data.begin());
  if (!active_ && !burst_arrival_) burst_arrival_ = arrival_us;
  return InsertResult::accepted;
}

PlayoutFrame FixedDelayPlayout::play(Slot& slot) noexcept {
  PlayoutFrame f;
  f.kind = FrameKind::normal;
  f.samples = slot.samples;
  f.payload = std::span<const std::byte>(slot.data.data(), slot.size);
  f.capture_us = slot.capture_us;
  f.sequence = slot.seq;
  f.burst_end = slot.end_of_burst;
  slot.used = false;  // the bytes stay put until the next insert()
  ++counters_.normal;
  last_samples_ = slot.samples;
  conceal_run_ = 0;
  return f;
}

PlayoutFrame FixedDelayPlayout::lose(Micros) noexcept {
  PlayoutFrame f;
  f.samples = last_samples_;
  f.sequence = next_seq_;
  ++counters_.lost;
  Slot* after = find(next_seq_ + 1);
  if (after && after->has_fec && after->samples >= last_samples_) {
    f.kind = FrameKind::fec;
    f.payload = std::span<const std::byte>(after->data.data(), after->size);
    ++counters_.fec_recovered;
  } else {
    f.kind = FrameKind::concealed;
    ++counters_.concealed;
  }
  return f;
}

PlayoutFrame FixedDelayPlayout::next(Micros now_us, int silence_samples) noexcept {
  PlayoutFrame silence;
  silence.samples = silence_samples;
  if (!active_) {
    Slot* first = lowest();
    if (!first || !burst_arrival_ || now_us < *burst_arrival_ + config_.delay_us) return silence;
    active_ = true;
    burst_first_ = true;
    burst_arrival_.reset();
    next_seq_ = first->seq;
    conceal_run_ = 0;
    ++counters_.bursts;
  }

  PlayoutFrame f;
  if (Slot* slot = find(next_seq_)) {
    if (slot->marker && !burst_first_) {
      // A new burst began while this one still waited for its end packet: that packet was lost.
      // End here; the new burst gets its own start delay, measured from its first arrival.
      active_ = false;
      ++counters_.bursts_unterminated;
      burst_arrival_ = slot->arrival_us;
      silence.burst_end = true;
      return silence;
    }
    f = play(*slot);
  } else {
    bool buffered = false;
    for (const auto& s : slots_) buffered = buffered || (s.used && s.seq > next_seq_);
    if (!buffered && conceal_run_ + last_samples_ > config_.max_conceal_samples) {
      active_ = false;
      ++counters_.bursts_unterminated;
      // Only the first frame of the run stood for a packet that was due (most likely the lost
      // end); the numbers after it were guesses, which the sender's next burst will use.
      if (conceal_run_ > 0) played_up_to_ = conceal_from_;
      silence.burst_end = true;
      return silence;
    }
    f = lose(now_us);
    if (!buffered) {
      if (conceal_run_ == 0) conceal_from_ = next_seq_;
      conceal_run_ += f.samples;
    }
  }
  f.burst_start = burst_first_;
  burst_first_ = false;
  played_up_to_ = next_seq_++;
  if (f.burst_end) {
    active_ = false;
    // Packets of the next burst that arrived while this one played did not start its delay
    // (insert() does that only while idle): it runs from the first of them to arrive.
    for (const auto& s : slots_)
      if (s.used && (!burst_arrival_ || s.arrival_us < *burst_arrival_)) burst_arrival_ = s.arrival_us;
  }
  return f;
}

}  // namespace pttcam::test
