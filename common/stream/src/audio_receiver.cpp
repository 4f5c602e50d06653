#include "pttcam/stream/audio_receiver.hpp"

#include <algorithm>
#include <cmath>

#include "pttcam/codec/opus_settings.hpp"
#include "pttcam/stream/due.hpp"

namespace pttcam::stream {
namespace {

// Packets held without a start time yet: how often to look at them.
constexpr std::int64_t kWaitingRecheckUs = 2'000;

jitter::JitterBuffer::Config jitter_config(const AudioReceiver::Options& o) {
  const auto us = [](double ms) { return static_cast<jitter::Micros>(ms * 1000); };
  jitter::JitterBuffer::Config c;
  c.min_delay_us = us(o.fixed_delay_ms.value_or(o.min_delay_ms));
  c.max_delay_us = us(o.fixed_delay_ms.value_or(o.max_delay_ms));
  // The first burst starts at the least delay and grows while it plays if packets come later:
  // a talk-start as short as the link allows, paid for by a few concealed frames on a jittery one.
  c.initial_delay_us = c.min_delay_us;
  return c;
}

}  // namespace

AudioReceiver::AudioReceiver(std::unique_ptr<audio::Playback> speaker, const Options& options,
                             measure::EventLog& events, std::string log_prefix)
    : decoder_(codec::Decoder::create()),
      playout_(jitter_config(options)),
      events_(events),
      prefix_(std::move(log_prefix)),
      pcm_(codec::kMaxFrameSamples),
      analyzer_(options.cutoff_ms),
      speaker_(std::move(speaker)) {
  if (!options.packets_csv.empty()) {
    csv_.open(options.packets_csv, std::ios::trunc);
    if (!csv_) throw std::runtime_error("cannot write packet log '" + options.packets_csv.string() + "'");
    csv_ << "seq,rtp_ts,ssrc,arrival_us,fate,play_us\n";
  }
}

// fate: played | fec (rebuilt from the next packet) | lost (concealed) | late | duplicate | too_large
void AudioReceiver::csv_row(std::uint16_t seq, std::uint32_t ts, std::uint32_t ssrc, const char* fate,
                            Micros arrival_us, Micros play_us) {
  if (!csv_.is_open()) return;
  csv_ << seq << ',' << ts << ',' << ssrc << ',';
  if (arrival_us) csv_ << arrival_us;
  csv_ << ',' << fate << ',';
  if (play_us) csv_ << play_us;
  csv_ << '\n';
}

void AudioReceiver::count_for_loss(std::uint32_t ssrc, std::uint16_t sequence) {
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
PacketInfo& AudioReceiver::remember(const jitter::IncomingPacket& in, std::optional<std::uint32_t> burst_start_ts,
                                    Micros arrival_us) {
  PacketInfo& info = infos_[in.sequence & 0xff];
  info = PacketInfo{in.sequence, in.timestamp, burst_start_ts, {}, {}, in.capture_us, arrival_us};
  return info;
}

PacketInfo* AudioReceiver::info_for(std::int64_t sequence) {
  PacketInfo& info = infos_[static_cast<std::size_t>(sequence) & 0xff];
  return (info.sequence & 0xffff) == (sequence & 0xffff) ? &info : nullptr;
}

AudioReceiver::~AudioReceiver() {
  if (speaker_) speaker_->stop();
}

void AudioReceiver::start() {
  pump();  // prime with silence so the first periods are not underruns
  speaker_->start();
}

void AudioReceiver::stop() {
  speaker_->stop();
  analyzer_.finish_all();
  report_finished_bursts();
}

void AudioReceiver::log_drop(const char* reason, std::size_t size, const std::string& from) {
  // Each drop is logged up to a cap, so a flood cannot fill the disk.
  constexpr std::uint64_t kMaxLogged = 1000;
  const std::uint64_t dropped = counters_.malformed + counters_.wrong_payload_type + counters_.bad_opus + counters_.bad_red;
  if (dropped <= kMaxLogged) events_.write("packet_dropped", {{"reason", reason}, {"bytes", size}, {"from", from}});
  if (dropped == kMaxLogged) events_.write("packet_dropped_log_capped", {{"after", kMaxLogged}});
}

void AudioReceiver::on_datagram(std::span<const std::byte> datagram, const std::string& from) {
  ++counters_.datagrams;
  const auto parsed = rtp::parse(datagram.first(std::min(datagram.size(), rtp::kMaxDatagram)));
  if (!parsed || datagram.size() > rtp::kMaxDatagram) {
    ++counters_.malformed;
    if (!parsed) counters_.by_reason.record(parsed.error);
    log_drop(parsed ? "oversize" : rtp::to_string(parsed.error), datagram.size(), from);
    return;
  }
  const auto& p = *parsed.packet;
  // RFC 2198: the primary is this packet's own frame; the copies are earlier frames, used below
  // when their own packets are missing.
  std::span<const std::byte> opus = p.payload;
  std::optional<rtp::RedPayload> red;
  if (p.header.payload_type == rtp::kRedPayloadType) {
    const auto parsed_red = rtp::parse_red(p.payload);
    if (!parsed_red) {
      ++counters_.bad_red;
      log_drop(rtp::to_string(parsed_red.error), datagram.size(), from);
      return;
    }
    red = parsed_red.payload;
    if (red->primary.payload_type != rtp::kOpusPayloadType) {
      ++counters_.wrong_payload_type;
      log_drop("wrong_payload_type", datagram.size(), from);
      return;
    }
    opus = red->primary.data;
  } else if (p.header.payload_type != rtp::kOpusPayloadType) {
    ++counters_.wrong_payload_type;
    log_drop("wrong_payload_type", datagram.size(), from);
    return;
  }
  const auto samples = codec::packet_samples(opus);
  if (!samples || *samples <= 0) {
    ++counters_.bad_opus;
    log_drop("bad_opus", datagram.size(), from);
    return;
  }
  jitter::IncomingPacket in;
  in.ssrc = p.header.ssrc;
  in.sequence = p.header.sequence;
  in.timestamp = p.header.timestamp;
  in.marker = p.header.marker;
  in.end_of_burst = p.extras.end_of_burst;
  in.has_fec = codec::packet_has_fec(opus);
  in.samples = *samples;
  if (p.extras.capture_time_us) in.capture_us = static_cast<jitter::Micros>(*p.extras.capture_time_us);
  in.payload = opus;
  const Micros now = timing::monotonic_us();
  if (p.extras.repeat) {
    // A repeat of a burst's end packet: used only if the original never came (then it counts as
    // that packet, received); never timed, and never a duplicate or late.
    ++counters_.end_repeats;
    if (playout_.insert_redundant(in, now) == jitter::InsertResult::accepted) {
      ++counters_.end_repeats_used;
      count_for_loss(p.header.ssrc, p.header.sequence);
      remember(in, p.extras.burst_start_ts, now);
      if (red) insert_copies(*red, p, in, now);
    }
    pump();
    return;
  }
  ssrc_ = p.header.ssrc;
  count_for_loss(p.header.ssrc, p.header.sequence);
  const auto result = playout_.insert(in, now);
  switch (result) {
    case jitter::InsertResult::accepted: {
      PacketInfo& info = remember(in, p.extras.burst_start_ts, now);
      if (p.extras.key_down_us) info.key_down_us = static_cast<Micros>(*p.extras.key_down_us);
      if (p.extras.key_up_us) info.key_up_us = static_cast<Micros>(*p.extras.key_up_us);
      if (p.header.marker)
        events_.write(event("burst_first_packet_received"),
                      {{"seq", p.header.sequence}, {"rtp_ts", p.header.timestamp}, {"arrival_us", now},
                       {"key_down_us", info.key_down_us.value_or(0)}});
      break;
    }
    case jitter::InsertResult::late:
      analyzer_.on_late(p.header.sequence);
      csv_row(p.header.sequence, p.header.timestamp, p.header.ssrc, "late", now, 0);
      break;
    case jitter::InsertResult::duplicate:
      csv_row(p.header.sequence, p.header.timestamp, p.header.ssrc, "duplicate", now, 0);
      break;
    case jitter::InsertResult::too_large:
      csv_row(p.header.sequence, p.header.timestamp, p.header.ssrc, "too_large", now, 0);
      break;
  }
  if (red) insert_copies(*red, p, in, now);
  pump();  // a burst may be due now
}

// The copies of earlier frames in a redundancy packet: each goes in as its frame's stand-in, in
// case that frame's own packet was lost. A copy must be Opus of the primary's duration, a whole
// number of frames back (at most kRedMaxBlocks), else it is counted and ignored.
void AudioReceiver::insert_copies(const rtp::RedPayload& red, const rtp::RtpPacket& p, const jitter::IncomingPacket& primary,
                                  Micros now) {
  for (const auto& block : red.copies()) {
    const auto samples = block.payload_type == rtp::kOpusPayloadType ? codec::packet_samples(block.data) : std::nullopt;
    const auto offset = static_cast<int>(block.timestamp_offset);
    const int back = primary.samples > 0 ? offset / primary.samples : 0;
    if (!samples || *samples != primary.samples || offset % primary.samples != 0 || back < 1 ||
        back > static_cast<int>(rtp::kRedMaxBlocks)) {
      ++counters_.red_copies_unusable;
      continue;
    }
    jitter::IncomingPacket copy = primary;
    copy.sequence = static_cast<std::uint16_t>(p.header.sequence - back);
    copy.timestamp = p.header.timestamp - block.timestamp_offset;
    copy.marker = p.extras.burst_start_ts && *p.extras.burst_start_ts == copy.timestamp;
    copy.end_of_burst = false;
    copy.has_fec = codec::packet_has_fec(block.data);
    if (primary.capture_us) copy.capture_us = *primary.capture_us - static_cast<Micros>(offset) * 1'000'000 / audio::kSampleRate;
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
void AudioReceiver::pump() {
  while (speaker_->queued() < low_water()) {
    if (pcm_pos_ == pcm_len_ && !next_frame()) return;
    write_pcm();
  }
}

// Two periods: the io thread tops the queue up just after the period that took it below that
// (next_due_us()), and if it wakes more than a period late the device still has a whole period
// queued. (1 ms more while the io thread polled every millisecond.)
std::size_t AudioReceiver::low_water() const noexcept { return 2 * speaker_->period_samples(); }

std::int64_t AudioReceiver::next_due_us(std::int64_t now_us) const noexcept {
  if (!busy()) return kNever;
  if (speaker_->idle()) {
    // Nothing plays: a waiting burst starts when its delay is up. Held without a permit (the
    // camera), or not yet armed: the permit or the next packet comes with a datagram, which
    // wakes the io thread anyway; look again every few milliseconds all the same.
    const auto start = playout_.start_at_us();
    return start && (!gated_ || permit_ || floor_) ? std::max(*start, now_us) : now_us + kWaitingRecheckUs;
  }
  const std::size_t queued = speaker_->queued();
  const std::size_t low = low_water();
  if (queued < low) return now_us;
  return due_after_period(speaker_->clock().after_us(queued - low + 1), now_us);
}

bool AudioReceiver::busy() const noexcept {
  return in_burst_ || playout_.in_burst() || playout_.waiting() || pcm_pos_ < pcm_len_ || !speaker_->idle();
}

void AudioReceiver::write_pcm() {
  const std::size_t n = std::min(pcm_len_ - pcm_pos_, speaker_->space());
  speaker_->write(std::span<const float>(pcm_.data() + pcm_pos_, n));
  pcm_pos_ += n;
}

void AudioReceiver::cut(const std::string& cause) {
  if (in_burst_) {
    ++counters_.cuts;
    const Micros now = timing::monotonic_us();
    const Micros heard_until = now + static_cast<Micros>(speaker_->queued()) * 1'000'000 / audio::kSampleRate;
    analyzer_.on_cut(cause, heard_until);
    events_.write(event("burst_cut"), {{"cause", cause}, {"heard_until_us", heard_until}});
    report_finished_bursts();
  }
  in_burst_ = false;
  playout_.flush();
  pcm_pos_ = pcm_len_;
}

void AudioReceiver::report_finished_bursts() {
  for (const auto& b : analyzer_.take_finished()) {
    events_.write(event("burst_summary"), to_json(b));
    // Cuts are reported by whoever cut (the session logs its own cutoff); the rest are ours.
    for (const auto& c : b.cutoffs)
      if (c.cause == "loss" || c.cause == "bandwidth" || c.cause == "late_packets" || c.cause == "head_clipped" ||
          c.cause == "tail_clipped")
        events_.write(event("cutoff"), to_json(c));
  }
}

void AudioReceiver::drop_waiting() noexcept {
  permit_ = floor_ = false;
  if (!playout_.in_burst()) playout_.flush();
}

bool AudioReceiver::next_frame() {
  const std::int64_t now = timing::monotonic_us();
  const int period = static_cast<int>(speaker_->period_samples());
  jitter::PlayoutFrame frame;
  frame.samples = period;
  // Without a permit a new burst is held back (its packets wait) but one playing never stops.
  if (!gated_ || permit_ || floor_ || playout_.in_burst()) frame = playout_.next(now, period);
  if (frame.burst_start) permit_ = false;
  const auto out = std::span<float>(pcm_.data(), static_cast<std::size_t>(frame.samples));
  std::optional<int> got;
  switch (frame.kind) {
    case jitter::FrameKind::silence: std::fill(out.begin(), out.end(), 0.0f); got = frame.samples; break;
    case jitter::FrameKind::normal: got = decoder_.decode(frame.payload, out); break;
    case jitter::FrameKind::fec:
      got = frame.redundant ? decoder_.decode(frame.payload, out) : decoder_.decode_fec(frame.payload, out);
      break;
    case jitter::FrameKind::concealed: got = decoder_.conceal(out); break;
  }
  if (!got || *got != frame.samples) {
    ++counters_.decode_errors;
    std::fill(out.begin(), out.end(), 0.0f);
  }
  pcm_len_ = static_cast<std::size_t>(frame.samples);
  pcm_pos_ = 0;

  if (frame.kind == jitter::FrameKind::silence && !frame.burst_end) {
    analyzer_.on_idle(now);
    report_finished_bursts();
    pcm_pos_ = pcm_len_ = 0;  // nothing to play: what is queued plays out, then the device's silence
    speaker_->set_idle(true);
    return false;
  }
  if (speaker_->idle()) {
    static constexpr std::array<float, 256> kZeros{};
    while (speaker_->queued() < low_water())
      speaker_->write(std::span<const float>(kZeros.data(), std::min(kZeros.size(), low_water() - speaker_->queued())));
    speaker_->set_idle(false);
  }
  // When this frame's first sample will be heard: after what is queued, plus the device's latency.
  const Micros play_us = now + static_cast<Micros>(speaker_->queued()) * 1'000'000 / audio::kSampleRate +
                         static_cast<Micros>(speaker_->output_latency() * 1e6);
  // A frame played from its packet, or from a copy of it (whose burst is known from the carrier).
  PacketInfo* info = frame.kind == jitter::FrameKind::normal || frame.redundant ? info_for(frame.sequence) : nullptr;
  if (frame.burst_start) {
    in_burst_ = true;
    events_.write(event("burst_play_start"),
                  {{"seq", frame.sequence & 0xffff},
                   {"capture_us", frame.capture_us.value_or(0)},
                   {"play_us", play_us},
                   {"talk_start_ms", info && info->key_down_us ? (play_us - *info->key_down_us) / 1000.0 : -1.0}});
  }
  analyzer_.on_frame(frame, info, play_us);
  analyzer_.on_idle(now);
  if (frame.kind != jitter::FrameKind::silence) {
    const auto seq = static_cast<std::uint16_t>(frame.sequence);
    const PacketInfo* known = info_for(frame.sequence);
    const char* fate = frame.kind == jitter::FrameKind::normal ? "played"
                       : frame.redundant                        ? "red"
                       : frame.kind == jitter::FrameKind::fec  ? "fec"
                                                                : "lost";
    csv_row(seq, known ? known->timestamp : 0, ssrc_, fate, known && frame.kind == jitter::FrameKind::normal ? known->arrival_us : 0,
            play_us);
  }
  if (frame.burst_end) {
    in_burst_ = false;
    nlohmann::json fields{{"last_play_us", play_us}, {"terminated", frame.kind != jitter::FrameKind::silence}};
    if (frame.sequence >= 0) fields["seq"] = frame.sequence & 0xffff;  // a timeout ends on silence
    events_.write(event("burst_play_end"), fields);
  }
  report_finished_bursts();
  return true;
}

nlohmann::json AudioReceiver::summary() const {
  const auto& pc = playout_.counters();
  const auto& sc = speaker_->counters();
  std::vector<double> m2e;
  std::vector<double> talk_start;
  nlohmann::json bursts = nlohmann::json::array();
  nlohmann::json cutoffs = nlohmann::json::array();
  for (const auto& b : analyzer_.all()) {
    m2e.insert(m2e.end(), b.mouth_to_ear_ms.begin(), b.mouth_to_ear_ms.end());
    if (b.talk_start_ms) talk_start.push_back(*b.talk_start_ms);
    bursts.push_back(to_json(b));
    for (const auto& c : b.cutoffs) cutoffs.push_back(to_json(c));
  }
  nlohmann::json malformed = nlohmann::json::object();
  for (std::size_t i = 0; i < rtp::kParseErrorCount; ++i)
    if (counters_.by_reason.by_error[i])
      malformed[rtp::to_string(static_cast<rtp::ParseError>(i))] = counters_.by_reason.by_error[i];
  const auto frames = pc.normal + pc.fec_recovered + pc.concealed;
  const auto ms = [](jitter::Micros us) { return static_cast<double>(us) / 1000.0; };
  return {{"datagrams", counters_.datagrams},
          {"malformed", counters_.malformed},
          {"malformed_by_reason", malformed},
          {"wrong_payload_type", counters_.wrong_payload_type},
          {"bad_opus", counters_.bad_opus},
          {"bad_red", counters_.bad_red},
          {"red_copies_unusable", counters_.red_copies_unusable},
          {"red_copies_received", pc.redundant_received - counters_.end_repeats},
          {"end_repeats", counters_.end_repeats},
          {"end_repeats_used", counters_.end_repeats_used},
          {"frames_red", pc.redundancy_recovered},
          {"decode_errors", counters_.decode_errors},
          {"packets", pc.received},
          {"duplicate", pc.duplicate},
          {"rtp_expected", counters_.rtp_expected},
          {"rtp_lost", counters_.rtp_expected - counters_.rtp_received},
          {"late", pc.late},
          {"lost", pc.lost},
          {"frames_normal", pc.normal},
          {"frames_fec", pc.fec_recovered},
          {"frames_concealed", pc.concealed},
          {"frames_stretched", pc.stretched},
          {"concealed_pct", frames ? 100.0 * static_cast<double>(pc.concealed) / static_cast<double>(frames) : 0.0},
          {"concealment_events", pc.concealment_events},
          {"reordered", pc.reordered},
          {"interarrival_jitter_ms", pc.interarrival_jitter_us / 1000.0},
          {"target_delay_ms", ms(playout_.target_delay_us())},
          {"bursts", pc.bursts},
          {"bursts_without_marker", pc.bursts_without_marker},
          {"bursts_unterminated", pc.bursts_unterminated},
          {"bursts_cut", counters_.cuts},
          {"stream_changes", pc.stream_changes},
          {"speaker", speaker_->describe()},
          {"speaker_underrun_samples", sc.underrun_samples.load()},
          {"speaker_device_xruns", sc.device_flags.load()},
          {"mouth_to_ear_ms", {{"p50", percentile(m2e, 50)}, {"p95", percentile(m2e, 95)}, {"p99", percentile(m2e, 99)},
                               {"max", m2e.empty() ? 0.0 : *std::max_element(m2e.begin(), m2e.end())}}},
          {"talk_start_ms", {{"p50", percentile(talk_start, 50)}, {"max", talk_start.empty() ? 0.0 : *std::max_element(talk_start.begin(), talk_start.end())}}},
          {"cutoff_count", cutoffs.size()},
          {"cutoffs", cutoffs},
          {"per_burst", bursts}};
}

}  // namespace pttcam::stream
