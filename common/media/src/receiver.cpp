#include "pttcam/media/receiver.hpp"

#include <algorithm>
#include <cmath>

#include "pttcam/codec/opus_settings.hpp"
#include "pttcam/media/due.hpp"

namespace pttcam::media {
namespace {

// Packets held without a start time yet: how often to look at them.
constexpr std::int64_t kWaitingRecheckUs = 2'000;

jitter::JitterBuffer::Config jitter_config(const Receiver::Options& o) {
  const auto us = [](double ms) { return static_cast<jitter::Micros>(ms * 1000); };
  jitter::JitterBuffer::Config c;
  c.min_delay_us = us(o.fixed_delay_ms.value_or(o.min_delay_ms));
  c.max_delay_us = us(o.fixed_delay_ms.value_or(o.max_delay_ms));
  // The first burst starts at the least delay and grows while it plays if packets come later:
  // a talk-start as short as the link allows, paid for by a few concealed frames on a jittery one.
  c.initial_delay_us = c.min_delay_us;
  return c;
}

// Room for one frame: the longest Opus packet, or the largest G.711 payload at 8 kHz resampled
// to 48 kHz plus the resampler's tail at a burst's end.
constexpr std::size_t kPcmBufferSamples = jitter::JitterBuffer::kMaxPayload * 6 + 4096;

// A sender's time from an RTP header extension (microseconds on its monotonic clock) as a signed
// count, or absent when it is out of range: the wire's 64 bits are hostile, and a value of 2^63 or
// more would turn negative and overflow the subtractions that measure latency.
std::optional<Micros> wire_time_us(std::optional<std::uint64_t> t) noexcept {
  if (!t || *t > static_cast<std::uint64_t>(jitter::kMaxDurationUs)) return std::nullopt;
  return static_cast<Micros>(*t);
}

Micros samples_us(std::size_t samples) noexcept {
  return static_cast<Micros>(samples) * 1'000'000 / audio::kSampleRate;
}

}  // namespace

Receiver::Receiver(std::unique_ptr<audio::Playback> speaker, const Options& options, const timing::Clock& clock,
                   ReceiverObserver& observer)
    : clock_(clock),
      observer_(observer),
      options_(options),
      decoder_(codec::Decoder::create()),
      codec_pcm_(jitter::JitterBuffer::kMaxPayload),
      playout_(jitter_config(options)),
      pcm_(std::max<std::size_t>(codec::kMaxFrameSamples, kPcmBufferSamples)),
      speaker_(std::move(speaker)) {
  payload_type_ = options.pcm_payloads.empty() ? options.payload_type : options.pcm_payloads.front().payload_type;
  pcm_paths_.reserve(options.pcm_payloads.size());  // pcm_path_ points into it: never reallocates
  for (const auto& payload : options.pcm_payloads) {
    auto decoder = codec::PcmDecoder::create(payload.format);  // throws for a rate it cannot play
    pcm_paths_.push_back({payload.payload_type, std::move(decoder),
                          codec::Resampler::create(payload.format.clock_rate, audio::kSampleRate),
                          audio::kSampleRate / payload.format.clock_rate});
  }
}

Receiver::~Receiver() {
  if (speaker_) speaker_->stop();
}

void Receiver::start() {
  pump();  // prime with silence so the first periods are not underruns
  speaker_->start();
}

void Receiver::stop() {
  speaker_->stop();
  observer_.on_stopped();
}

void Receiver::count_for_loss(std::uint32_t ssrc, std::uint16_t sequence) {
  if (loss_ssrc_ != ssrc) {
    stream_expected_base_ = counters_.rtp_expected;
    loss_ssrc_ = ssrc;
    loss_unwrapper_ = rtp::SeqUnwrapper{};
    loss_base_ = loss_max_ = loss_unwrapper_.unwrap(sequence);
  }
  const std::int64_t seq = loss_unwrapper_.unwrap(sequence);
  loss_max_ = std::max(loss_max_, seq);
  loss_base_ = std::min(loss_base_, seq);
  counters_.rtp_expected = stream_expected_base_ + (loss_max_ - loss_base_ + 1);
  ++counters_.rtp_received;
}

// What the timeline needs of a packet (or of a copy standing in for one) once its frame plays.
PacketInfo& Receiver::remember(const jitter::IncomingPacket& in, std::optional<std::uint32_t> burst_start_ts,
                               Micros arrival_us) {
  PacketInfo& info = infos_[in.sequence & 0xff];
  info = PacketInfo{in.sequence, in.timestamp, burst_start_ts, {}, {}, in.capture_us, arrival_us};
  return info;
}

PacketInfo* Receiver::info_for(std::int64_t sequence) {
  PacketInfo& info = infos_[static_cast<std::size_t>(sequence) & 0xff];
  return (info.sequence & 0xffff) == (sequence & 0xffff) ? &info : nullptr;
}

void Receiver::drop(Dropped fact) {
  switch (fact.reason) {
    case DropReason::malformed:
    case DropReason::oversize: ++counters_.malformed; break;
    case DropReason::wrong_payload_type:
      ++counters_.wrong_payload_type;
      counters_.last_wrong_payload_type = fact.payload_type;
      break;
    case DropReason::bad_red: ++counters_.bad_red; break;
    case DropReason::bad_opus: ++counters_.bad_opus; break;
    case DropReason::bad_payload: ++counters_.bad_payload; break;
  }
  if (fact.parse_error) counters_.by_reason.record(*fact.parse_error);
  observer_.on_dropped(fact);
}

// RFC 3550 A.1 for the stream playing: a jump of MAX_DROPOUT or more is held until the next
// packet confirms it (the sender restarted with new sequence and timestamp bases, same SSRC);
// then the playout starts over as for a new stream, with the held packet first. A jump that is
// never confirmed was a stray packet: it stays dropped. False: the packet is held, not played.
bool Receiver::admit_source(const rtp::RtpHeader& h, int clock_hz, std::span<const std::byte> datagram,
                            const Endpoint& from, Micros now, Micros arrival) {
  if (replaying_) return true;
  if (new_session_ && !(in_burst_ || playout_.in_burst() || playout_.waiting())) {
    new_session_ = false;
    source_.reset();  // the next stream is chosen afresh ("first")
    playout_.forget_stream();
    loss_ssrc_.reset();
  }
  if (source_ && source_ssrc_ != h.ssrc) {
    // Two senders at once: the one playing keeps the speaker until its burst has ended.
    if (in_burst_ || playout_.in_burst() || playout_.waiting()) {
      ++counters_.other_sender_packets;
      ++other_unreported_;
      if (!other_reported_us_ || now - *other_reported_us_ >= 1'000'000) {
        observer_.on_other_sender({h.ssrc, &from, source_ssrc_, other_unreported_});
        other_reported_us_ = now;
        other_unreported_ = 0;
      }
      return false;
    }
  }
  if (!source_ || source_ssrc_ != h.ssrc) {
    StreamChosen chosen{h.ssrc, &from, source_ ? "previous_stopped" : "first", {}};
    if (source_) chosen.previous_ssrc = source_ssrc_;
    source_.emplace(static_cast<std::uint32_t>(clock_hz), 1);
    source_ssrc_ = h.ssrc;
    held_size_ = 0;
    other_unreported_ = 0;
    other_reported_us_.reset();
    boundaries_.reset();  // a new stream: its numbers and timestamps relate nothing to the last one's
    observer_.on_stream_chosen(chosen);
  }
  const auto restarts = source_->restarts();
  if (!source_->on_packet(h.sequence, h.timestamp, arrival, h.marker)) {
    ++counters_.sequence_jumps;
    held_size_ = std::min(datagram.size(), held_.size());
    std::copy_n(datagram.begin(), held_size_, held_.begin());
    held_from_ = from;
    held_sequence_ = h.sequence;
    return false;
  }
  if (source_->restarts() != restarts) {
    ++counters_.resyncs;
    if (in_burst_) cut("sender_restarted");
    playout_.restart_stream();
    boundaries_.reset();
    loss_ssrc_.reset();  // loss is counted afresh from the new base
    if (held_size_ > 0 && static_cast<std::uint16_t>(held_sequence_ + 1) == h.sequence) {
      replaying_ = true;
      --counters_.datagrams;  // counted when it arrived
      on_datagram(std::span<const std::byte>(held_.data(), held_size_), held_from_);
      replaying_ = false;
    }
    held_size_ = 0;
  }
  return true;
}

// RTCP multiplexed on the media port (RFC 5761): the far end's reports, for the observer.
void Receiver::on_rtcp(std::span<const std::byte> datagram, const Endpoint& from) {
  const auto parsed = rtp::parse_rtcp(datagram);
  if (!parsed) {
    ++counters_.rtcp_malformed;
    observer_.on_rtcp_malformed(parsed.error, from);
    return;
  }
  ++counters_.rtcp_received;
  const Micros now = clock_.now_us();
  // A sender report from the stream playing: our next report block tells it when (LSR/DLSR).
  for (const auto& r : parsed.compound->all_reports())
    if (r.sender && source_ && r.ssrc == source_ssrc_) source_->on_sender_report(r.sender->ntp_timestamp, now);
  observer_.on_rtcp(*parsed.compound, from, now);
}

// The Opus frame a packet carries: its payload, or with RFC 2198 the primary block (`red` then
// holds the copies). nullopt: dropped.
std::optional<std::span<const std::byte>> Receiver::opus_of(const rtp::RtpPacket& p, std::optional<rtp::RedPayload>& red,
                                                            std::size_t bytes, const Endpoint& from) {
  std::span<const std::byte> opus = p.payload;
  if (p.header.payload_type == options_.red_payload_type) {
    const auto parsed = rtp::parse_red(p.payload);
    if (!parsed) {
      drop({DropReason::bad_red, {}, rtp::to_string(parsed.error), -1, bytes, &from});
      return std::nullopt;
    }
    red = parsed.payload;
    if (red->primary.payload_type != options_.payload_type) {
      drop({DropReason::wrong_payload_type, {}, {}, red->primary.payload_type, bytes, &from});
      return std::nullopt;
    }
    opus = red->primary.data;
  } else if (p.header.payload_type != options_.payload_type) {
    drop({DropReason::wrong_payload_type, {}, {}, p.header.payload_type, bytes, &from});
    return std::nullopt;
  }
  const auto samples = codec::packet_samples(opus);
  if (!samples || *samples <= 0) {
    drop({DropReason::bad_opus, {}, {}, -1, bytes, &from});
    return std::nullopt;
  }
  return opus;
}

Receiver::PcmPath* Receiver::pcm_path_for(std::uint8_t payload_type) noexcept {
  if (payload_type == options_.red_payload_type) return nullptr;
  for (auto& path : pcm_paths_)
    if (path.payload_type == payload_type) return &path;
  return nullptr;
}

// A G.711/L16 packet: its timestamp and duration in 48 kHz ticks, as the jitter buffer counts.
// False: dropped (not whole samples, or longer than a frame can hold).
bool Receiver::pcm_packet(const rtp::RtpPacket& p, rtp::RtpHeader& scaled, jitter::IncomingPacket& in,
                          std::size_t bytes, const Endpoint& from) {
  const PcmPath& path = *pcm_path_for(p.header.payload_type);
  const std::size_t samples = path.decoder.samples_in(p.payload.size());
  if (samples == 0 || samples * path.decoder.format().bytes_per_sample() != p.payload.size() ||
      samples > codec_pcm_.size()) {
    drop({DropReason::bad_payload, {}, {}, p.header.payload_type, bytes, &from});
    return false;
  }
  scaled.timestamp = p.header.timestamp * static_cast<std::uint32_t>(path.factor);  // wraps with it
  in.samples = static_cast<int>(samples) * path.factor;
  in.payload = p.payload;
  return true;
}

void Receiver::on_datagram(std::span<const std::byte> datagram, const Endpoint& from,
                           std::optional<std::int64_t> arrival_us) {
  ++counters_.datagrams;
  if (rtp::is_rtcp(datagram)) {
    on_rtcp(datagram, from);
    return;
  }
  const auto parsed = rtp::parse(datagram.first(std::min(datagram.size(), rtp::kMaxDatagram)));
  if (!parsed || datagram.size() > rtp::kMaxDatagram) {
    drop({parsed ? DropReason::oversize : DropReason::malformed, parsed ? std::nullopt : std::optional(parsed.error), {},
          -1, datagram.size(), &from});
    return;
  }
  const auto& p = *parsed.packet;
  std::optional<rtp::RedPayload> red;
  jitter::IncomingPacket in;
  rtp::RtpHeader header = p.header;  // its timestamp in 48 kHz ticks from here on
  PcmPath* const pcm = pcm_path_for(p.header.payload_type);
  if (pcm) {
    if (!pcm_packet(p, header, in, datagram.size(), from)) return;
  } else {
    const auto opus = opus_of(p, red, datagram.size(), from);
    if (!opus) return;
    in.has_fec = codec::packet_has_fec(*opus);
    in.samples = *codec::packet_samples(*opus);
    in.payload = *opus;
  }
  in.ssrc = header.ssrc;
  in.sequence = header.sequence;
  in.timestamp = header.timestamp;
  in.marker = header.marker;
  in.end_of_burst = p.extras.end_of_burst;
  in.capture_us = wire_time_us(p.extras.capture_time_us);
  const Micros now = clock_.now_us();
  // RTCP reports the interarrival jitter in the stream's own timestamp units (RFC 3550 A.8).
  const int clock_hz = pcm ? pcm->decoder.format().clock_rate : static_cast<int>(jitter::kRtpClockHz);
  if (!admit_source(p.header, clock_hz, datagram, from, now, std::min(now, arrival_us.value_or(now)))) return;
  pcm_path_ = pcm;
  payload_type_ = p.header.payload_type;
  // pttcam's sender names each burst (burst start timestamp on every packet) and flags its end;
  // a standard sender's bursts are found from its timestamps and arrival gaps instead.
  in.ends_flagged = p.extras.burst_start_ts.has_value();
  if (!in.ends_flagged && !p.extras.repeat)
    in.marker = boundaries_.starts_burst(header.sequence, header.timestamp, in.samples, now);
  if (p.extras.repeat) {
    // Each repeat has a sequence number of its own; the distance leads back to the original's.
    in.sequence = static_cast<std::uint16_t>(p.header.sequence - p.extras.repeat_distance);
    if (p.extras.repeat_distance > 0) count_for_loss(p.header.ssrc, p.header.sequence);
    insert_repeat(p, in, red, now);
    return;
  }
  ssrc_ = p.header.ssrc;
  count_for_loss(p.header.ssrc, p.header.sequence);
  const auto result = playout_.insert(in, now);
  PacketInfo said{in.sequence, in.timestamp, p.extras.burst_start_ts, {}, {}, in.capture_us, now};
  PacketInfo& info = result == jitter::InsertResult::accepted ? remember(in, p.extras.burst_start_ts, now) : said;
  if (const auto t = wire_time_us(p.extras.key_down_us)) info.key_down_us = t;
  if (const auto t = wire_time_us(p.extras.key_up_us)) info.key_up_us = t;
  observer_.on_arrived({header, info, result, in.marker});
  if (red) insert_copies(*red, p, in, now);
  pump();  // a burst may be due now
}

// A repeat of a burst's end packet: used only if the original never came (then it counts as
// that packet, received); never timed, and never a duplicate or late.
void Receiver::insert_repeat(const rtp::RtpPacket& p, const jitter::IncomingPacket& in,
                             const std::optional<rtp::RedPayload>& red, Micros now) {
  ++counters_.end_repeats;
  // A repeat only stands in for the end of a burst in progress: alone it never starts one (the
  // repeats of a burst that already ended, arriving after a session changed, must not play).
  if (!playout_.in_burst() && !playout_.waiting()) {
    ++counters_.end_repeats_stale;
    pump();
    return;
  }
  if (playout_.insert_redundant(in, now) == jitter::InsertResult::accepted) {
    ++counters_.end_repeats_used;
    // A repeat that reused the original's number (older pttcam senders) stands for it on the wire.
    if (p.extras.repeat_distance == 0) count_for_loss(p.header.ssrc, p.header.sequence);
    remember(in, p.extras.burst_start_ts, now);
    if (red) insert_copies(*red, p, in, now);
  }
  pump();
}

// The copies of earlier frames in a redundancy packet: each goes in as its frame's stand-in, in
// case that frame's own packet was lost; one that cannot be placed is counted and ignored.
void Receiver::insert_copies(const rtp::RedPayload& red, const rtp::RtpPacket& p, const jitter::IncomingPacket& primary,
                             Micros now) {
  for (const auto& block : red.copies()) {
    const auto placed = rtp::place_copy(block, codec::packet_samples(block.data), options_.payload_type,
                                        p.header.sequence, p.header.timestamp, primary.samples);
    if (!placed) {
      ++counters_.red_copies_unusable;
      continue;
    }
    jitter::IncomingPacket copy = primary;
    copy.sequence = placed->sequence;
    copy.timestamp = placed->timestamp;
    copy.marker = p.extras.burst_start_ts && *p.extras.burst_start_ts == copy.timestamp;
    copy.end_of_burst = false;
    copy.has_fec = codec::packet_has_fec(block.data);
    if (primary.capture_us) copy.capture_us = *primary.capture_us - samples_us(block.timestamp_offset);
    copy.payload = block.data;
    if (playout_.insert_redundant(copy, now) == jitter::InsertResult::accepted)
      remember(copy, p.extras.burst_start_ts, now);
  }
}

// Keeps about two device periods queued: enough that the device never runs dry between pumps,
// little enough that the queue adds only a few milliseconds to the latency.
// While nothing plays, nothing is queued: the device plays silence on its own (not counted as an
// underrun), and a burst that becomes due is put behind the same ~2 periods of silence a busy
// queue would have, so its timing does not depend on what came before.
void Receiver::pump() {
  while (speaker_->queued() < low_water()) {
    if (pcm_pos_ == pcm_len_ && !next_frame()) return;
    write_pcm();
  }
}

// Two periods: the io thread tops the queue up just after the period that took it below that
// (next_due_us()), and if it wakes more than a period late the device still has a whole period
// queued.
std::size_t Receiver::low_water() const noexcept { return 2 * speaker_->period_samples(); }

std::int64_t Receiver::next_due_us(std::int64_t now_us) const noexcept {
  if (!busy()) return kNever;
  if (speaker_->idle()) {
    // Nothing plays: a waiting burst starts when its delay is up. Held without a permit (the
    // camera), or not yet armed: the permit or the next packet comes with a datagram, which
    // wakes the io thread anyway; look again every few milliseconds all the same.
    const auto start = playout_.start_at_us();
    return start && may_start() ? std::max(*start, now_us) : now_us + kWaitingRecheckUs;
  }
  const std::size_t queued = speaker_->queued();
  const std::size_t low = low_water();
  if (queued < low) return now_us;
  return due_after_period(speaker_->clock().after_us(queued - low + 1), now_us);
}

bool Receiver::busy() const noexcept {
  return in_burst_ || playout_.in_burst() || playout_.waiting() || pcm_pos_ < pcm_len_ || !speaker_->idle();
}

void Receiver::write_pcm() {
  const std::size_t n = std::min(pcm_len_ - pcm_pos_, speaker_->space());
  speaker_->write(std::span<const float>(pcm_.data() + pcm_pos_, n));
  pcm_pos_ += n;
}

// When a sample queued now will be heard: after what is queued.
Micros Receiver::heard_at(Micros now) const noexcept { return now + samples_us(speaker_->queued()); }

void Receiver::cut(std::string_view cause) {
  if (in_burst_) {
    ++counters_.cuts;
    observer_.on_cut(cause, heard_at(clock_.now_us()));
  }
  in_burst_ = false;
  playout_.flush();
  pcm_pos_ = pcm_len_;
  if (pcm_path_) pcm_path_->resampler.reset();
}

void Receiver::drop_waiting() noexcept {
  permit_ = floor_ = false;
  if (!playout_.in_burst()) playout_.flush();
}

// A G.711/L16 frame: decoded, and resampled by sample count, so the count written may differ from
// frame.samples by the resampler's delay (a burst's first frame) and its tail (the last one, which
// drains it). Concealment plays silence for the missing duration.
std::optional<int> Receiver::decode_pcm(const jitter::PlayoutFrame& frame, std::span<float> out) {
  PcmPath& path = *pcm_path_;
  if (frame.burst_start) path.resampler.reset();
  // The resampler still holds the end of the frames before: this frame's first sample comes out
  // after them.
  pcm_lead_samples_ = path.resampler.owed();
  std::size_t n = std::min(codec_pcm_.size(), static_cast<std::size_t>(frame.samples / path.factor));
  if (frame.kind == jitter::FrameKind::normal || frame.kind == jitter::FrameKind::fec) {
    const auto got = path.decoder.decode(frame.payload, codec_pcm_);
    if (!got) return std::nullopt;
    n = static_cast<std::size_t>(*got);
  } else {
    std::fill_n(codec_pcm_.begin(), n, 0.0f);
  }
  const auto done = path.resampler.process(std::span<const float>(codec_pcm_.data(), n), out);
  std::size_t written = done.produced;
  if (frame.burst_start) written = pad_burst_start(path, out, written);
  if (frame.burst_end) written += path.resampler.drain(out.subspan(written));
  return static_cast<int>(written);
}

// A burst's first frame comes out of the resampler short by its filter delay (it holds that much
// back). The playout counts whole frames: played short, every later frame would be asked for
// that much earlier than its packet's slot, and packets a few ms behind it would be late (the
// adaptive delay's few ms after a stall were all gone). So the burst starts with that much
// silence, and from then on each frame is heard the filter's delay after its slot.
std::size_t Receiver::pad_burst_start(PcmPath& path, std::span<float> out, std::size_t produced) noexcept {
  const std::size_t pad = std::min(path.resampler.owed(), out.size() - produced);
  std::copy_backward(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(produced),
                     out.begin() + static_cast<std::ptrdiff_t>(produced + pad));
  std::fill_n(out.begin(), pad, 0.0f);
  pcm_lead_samples_ = pad;
  return produced + pad;
}

std::optional<int> Receiver::decode(const jitter::PlayoutFrame& frame, std::span<float> buffer) {
  if (pcm_path_ && frame.kind != jitter::FrameKind::silence) return decode_pcm(frame, buffer);
  const auto out = buffer.first(std::min(buffer.size(), static_cast<std::size_t>(frame.samples)));
  switch (frame.kind) {
    case jitter::FrameKind::silence: std::fill(out.begin(), out.end(), 0.0f); return frame.samples;
    case jitter::FrameKind::normal: return decoder_.decode(frame.payload, out);
    case jitter::FrameKind::fec:
      return frame.redundant ? decoder_.decode(frame.payload, out) : decoder_.decode_fec(frame.payload, out);
    case jitter::FrameKind::concealed: return decoder_.conceal(out);
  }
  return std::nullopt;
}

// The speaker was idle and a burst starts: put it behind the same silence a busy queue holds.
void Receiver::wake_speaker() {
  static constexpr std::array<float, 256> kZeros{};
  while (speaker_->queued() < low_water())
    speaker_->write(std::span<const float>(kZeros.data(), std::min(kZeros.size(), low_water() - speaker_->queued())));
  speaker_->set_idle(false);
}

bool Receiver::next_frame() {
  const Micros now = clock_.now_us();
  const int period = static_cast<int>(speaker_->period_samples());
  jitter::PlayoutFrame frame;
  frame.samples = period;
  // Without a permit a new burst is held back (its packets wait) but one playing never stops.
  if (may_start() || playout_.in_burst()) frame = playout_.next(now, period);
  if (frame.burst_start) permit_ = false;
  const auto got = decode(frame, pcm_);
  // A sample codec plays every sample it decoded, however many the resampler gave for the frame.
  const bool by_count = pcm_path_ && frame.kind != jitter::FrameKind::silence;
  pcm_len_ = static_cast<std::size_t>(frame.samples);
  if (!got || (!by_count && *got != frame.samples)) {
    ++counters_.decode_errors;
    std::fill_n(pcm_.begin(), pcm_len_, 0.0f);
  } else if (by_count) {
    pcm_len_ = static_cast<std::size_t>(*got);
  }
  pcm_pos_ = 0;
  const std::size_t lead = by_count ? pcm_lead_samples_ : 0;
  if (frame.kind == jitter::FrameKind::silence && !frame.burst_end) {
    observer_.on_idle(now);
    pcm_pos_ = pcm_len_ = 0;  // nothing to play: what is queued plays out, then the device's silence
    speaker_->set_idle(true);
    return false;
  }
  if (speaker_->idle()) wake_speaker();
  // When this frame's first sample will be heard: after what is queued (and, for a sample codec,
  // the resampler's delay), plus the device's latency.
  const Micros play_us = heard_at(now) + samples_us(lead) + static_cast<Micros>(speaker_->output_latency() * 1e6);
  if (frame.burst_start) in_burst_ = true;
  if (frame.burst_end) in_burst_ = false;
  observer_.on_played({frame, frame.sequence >= 0 ? info_for(frame.sequence) : nullptr, ssrc_, play_us, now});
  return true;
}

}  // namespace pttcam::media
