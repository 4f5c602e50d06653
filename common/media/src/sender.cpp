#include "pttcam/media/sender.hpp"

#include <algorithm>
#include <limits>
#include <random>
#include <stdexcept>

#include "pttcam/media/due.hpp"
#include "pttcam/rtp/sequence.hpp"

namespace pttcam::media {
namespace {

std::uint32_t random_u32() {
  static std::random_device rd;
  return (static_cast<std::uint32_t>(rd()) << 16) ^ static_cast<std::uint32_t>(rd());
}

// Room left in a datagram for the RTP payload after the header and pttcam's extensions.
constexpr std::size_t kPayloadRoom = rtp::kMaxDatagram - (12 + 4 + 36);

}  // namespace

Sender::Sender(std::unique_ptr<audio::Capture> capture, const codec::OpusSettings& opus, SendFn send,
               const timing::Clock& clock, SenderObserver& observer)
    : clock_(clock),
      observer_(observer),
      red_(opus.redundancy, static_cast<std::uint8_t>(opus.payload_type), static_cast<std::uint8_t>(opus.red_payload_type)),
      encoder_(codec::Encoder::create(opus)),
      framer_(static_cast<std::size_t>(opus.samples_per_frame())),
      send_(std::move(send)),
      chunk_(audio::kRingCapacity),
      capture_(std::move(capture)) {
  header_.payload_type = static_cast<std::uint8_t>(opus.payload_type);
  header_.ssrc = random_u32();
  header_.sequence = static_cast<std::uint16_t>(random_u32());
  timestamp_base_ = random_u32();
  next_timestamp_ = timestamp_base_;
  lookahead_us_ = static_cast<std::int64_t>(encoder_.lookahead_samples()) * 1'000'000 / audio::kSampleRate;
}

void Sender::use_pcm(const codec::PcmFormat& format, std::uint8_t payload_type) {
  pcm_encoder_.emplace(codec::PcmEncoder::create(format));
  resampler_.emplace(codec::Resampler::create(audio::kSampleRate, format.clock_rate));
  resampled_.resize(resampler_->max_output(codec::kMaxFrameSamples) + resampler_->max_output(audio::kSampleRate / 10));
  pcm_buf_.resize(resampled_.size() * format.bytes_per_sample());
  rtp_rate_ = format.clock_rate;
  pcm_payload_type_ = payload_type;
  header_.payload_type = payload_type;
  lookahead_us_ = 0;  // no codec delay; the resampler's is counted per packet (encode_pcm)
}

std::uint32_t Sender::to_rtp_units(std::uint64_t samples_48k) const noexcept {
  return static_cast<std::uint32_t>(samples_48k * static_cast<std::uint64_t>(rtp_rate_) / audio::kSampleRate);
}

std::optional<std::pair<std::size_t, std::uint32_t>> Sender::encode_pcm(std::span<const float> pcm, bool last) {
  // The resampler still holds the end of the frames before: this packet starts with those
  // samples, captured that much before this frame's first one.
  pcm_lead_us_ = static_cast<std::int64_t>(resampler_->owed()) * 1'000'000 / rtp_rate_;
  const auto r = resampler_->process(pcm, resampled_);
  std::size_t n = r.produced;
  // The burst ends: the filter's tail goes with the last packet, and the next burst starts afresh.
  if (last) n += resampler_->drain(std::span<float>(resampled_).subspan(n));
  if (n == 0) return std::pair<std::size_t, std::uint32_t>{0, 0};
  const auto bytes = pcm_encoder_->encode(std::span<const float>(resampled_.data(), n), pcm_buf_);
  if (!bytes) return std::nullopt;
  return std::pair<std::size_t, std::uint32_t>{*bytes, static_cast<std::uint32_t>(n)};
}

Sender::~Sender() {
  if (capture_) capture_->stop();
}

void Sender::start() {
  if (capture_ && cold_) {
    capture_->release();  // opened at construction to check it exists; reopened at each press
  } else if (capture_) {
    capture_->start();
    mic_open_ = true;
  }
  start_us_ = clock_.now_us();
}

void Sender::stop() {
  set_talking(false);
  send_end_repeats(std::numeric_limits<std::int64_t>::max());  // now, while the socket is open
  if (capture_) capture_->stop();
  mic_open_ = false;
}

void Sender::send_end_repeats(std::int64_t now_us) {
  while (end_repeats_left_ > 0 && now_us >= next_end_repeat_us_) {
    // RFC 4733 style: same timestamp and payload, the next sequence number, so that standard
    // receivers count neither loss nor duplicates; the distance back to the original tells ours.
    rtp::RtpHeader header = end_repeat_header_;
    header.sequence = header_.sequence;
    const auto distance = static_cast<std::uint16_t>(header_.sequence - end_repeat_header_.sequence);
    if (distance > rtp::RtpExtras::kMaxRepeatDistance) {
      end_repeats_left_ = 0;  // a new burst has gone far past it: the repeat would help nobody
      break;
    }
    rtp::RtpExtras extras = end_repeat_extras_;
    extras.repeat_distance = static_cast<std::uint8_t>(distance);
    const auto datagram = writer_.write(header, extras, std::span<const std::byte>(end_repeat_.data(), end_repeat_size_));
    send_(datagram);
    ++header_.sequence;
    ++stats_.end_repeats;
    ++stats_.rtp_packets;
    stats_.rtp_payload_octets += end_repeat_size_;
    --end_repeats_left_;
    next_end_repeat_us_ += kEndRepeatGapUs;
  }
}

void Sender::pump() {
  if (end_repeats_left_ > 0) send_end_repeats(clock_.now_us());
  if (!capture_) return;
  const std::size_t n = capture_->read(chunk_);
  if (!framer_.talking()) {
    stats_.samples_discarded_idle += n;
    return;
  }
  // The newest sample read is about input_latency old; earlier ones are older by their position.
  const std::int64_t now = clock_.now_us();
  const auto first_capture = now - static_cast<std::int64_t>(capture_->input_latency() * 1e6) -
                             static_cast<std::int64_t>(n) * 1'000'000 / audio::kSampleRate;
  framer_.push(std::span<const float>(chunk_.data(), n), first_capture,
               [this](std::span<const float> pcm, const ptt::FrameFlags& f) { send_frame(pcm, f); });
}

std::int64_t Sender::next_due_us(std::int64_t now_us) const noexcept {
  const std::int64_t repeat = end_repeats_left_ > 0 ? next_end_repeat_us_ : kNever;
  if (!capture_ || !framer_.talking()) return repeat;
  const std::size_t have = framer_.pending() + capture_->available();
  if (have >= framer_.frame_samples()) return now_us;
  return std::min(repeat, due_after_period(capture_->clock().after_us(framer_.frame_samples() - have), now_us));
}

void Sender::set_talking(bool on) {
  if (!capture_ || on == framer_.talking()) return;
  const std::int64_t now = clock_.now_us();
  if (on) {
    if (cold_ && !open_cold_microphone()) return;
    // Whatever the ring holds was captured before the key went down: it is never sent.
    stats_.samples_discarded_idle += capture_->discard();
    key_down_us_ = now;
    burst_frames_ = 0;
    framer_.key_down(now);
  } else {
    key_up_us_ = now;
    pump();  // everything captured up to the release belongs to the burst
    framer_.key_up([this](std::span<const float> pcm, const ptt::FrameFlags& f) { send_frame(pcm, f); });
    stats_.talk_seconds += static_cast<double>(now - key_down_us_) / 1e6;
    if (cold_) {
      capture_->release();
      mic_open_ = false;
      observer_.on_mic_close();
    }
  }
}

void Sender::abort_burst() noexcept {
  // The time talked until now still counts: the user was talking when the burst was cut.
  if (framer_.talking()) stats_.talk_seconds += static_cast<double>(clock_.now_us() - key_down_us_) / 1e6;
  framer_.cancel();
  end_repeats_left_ = 0;
}

bool Sender::open_cold_microphone() {
  // The key-down time stays the press (taken by the caller before this): the open is part of
  // the talk-start latency, which is the point of a cold microphone.
  const std::int64_t before = clock_.now_us();
  try {
    capture_->start();
  } catch (const std::exception& e) {
    ++stats_.mic_open_failures;
    observer_.on_mic_open_failed(e.what());
    return false;
  }
  mic_open_ = true;
  observer_.on_mic_open(static_cast<double>(clock_.now_us() - before) / 1000.0);
  return true;
}

// The timestamp follows the capture clock across the silent gap (RFC 3550 5.1), and never goes
// backwards even if the gap was shorter than a frame.
void Sender::start_burst_timestamp(std::int64_t capture_us) {
  ++stats_.bursts;
  const auto elapsed = static_cast<std::uint64_t>(std::max<std::int64_t>(0, capture_us - start_us_));
  const auto ts = timestamp_base_ + static_cast<std::uint32_t>(elapsed * static_cast<std::uint64_t>(rtp_rate_) / 1'000'000);
  header_.timestamp = rtp::is_newer_ts(ts, next_timestamp_) ? ts : next_timestamp_;
  burst_start_ts_ = header_.timestamp;
  burst_first_capture_us_ = capture_us;
}

// A capture device that skipped cycles (a late driver, USB, Bluetooth) delivered fewer samples
// than the time that passed: the timestamp, counted in samples, would fall behind the sampling
// instants for the rest of the burst, and a receiver would read that as a delay step. RFC 3550
// 5.1: the timestamp reflects the sampling instant, so a gap in sampling is a jump forward.
// A gap under a frame is left alone (period jitter, rounding of the capture times).
bool Sender::follow_capture_time(std::int64_t capture_us, std::size_t frame_samples) {
  const std::int64_t ts_elapsed_us =
      static_cast<std::int64_t>(static_cast<std::uint32_t>(header_.timestamp - burst_start_ts_)) * 1'000'000 /
      rtp_rate_;
  const std::int64_t gap_us = (capture_us - burst_first_capture_us_) - ts_elapsed_us;
  const auto frame_us = static_cast<std::int64_t>(frame_samples) * 1'000'000 / audio::kSampleRate;
  if (gap_us <= frame_us) return false;
  const auto gap_samples = static_cast<std::uint32_t>(gap_us * rtp_rate_ / 1'000'000);
  header_.timestamp += gap_samples;
  ++stats_.timestamp_jumps;
  observer_.on_capture_stall(CaptureStall{header_.ssrc, stats_.bursts, header_.sequence, header_.timestamp,
                                          gap_samples, gap_us, capture_us});
  return true;
}

void Sender::send_frame(std::span<const float> pcm, const ptt::FrameFlags& f) {
  const bool jumped = !f.first && follow_capture_time(f.capture_us, pcm.size());
  if (f.first) start_burst_timestamp(f.capture_us);
  std::uint32_t advance = to_rtp_units(pcm.size());  // RTP timestamp units this frame covers
  std::optional<rtp::RedPacker::Packed> packed;
  if (pcm_encoder_) {
    if (const auto encoded = encode_pcm(pcm, f.last)) {
      const auto& [bytes, samples] = *encoded;
      advance = samples;  // every resampled sample is sent: timestamps count them, not the clock
      packed = rtp::RedPacker::Packed{std::span<const std::byte>(pcm_buf_.data(), bytes), pcm_payload_type_, 0};
    }
  } else if (const auto bytes = encoder_.encode(pcm, opus_buf_)) {
    // No RFC 2198 copies across a jump: a receiver places a copy by its timestamp offset in
    // whole frames, which a jump no longer is.
    packed = red_.pack(std::span<const std::byte>(opus_buf_.data(), *bytes), header_.timestamp, f.first || jumped,
                       kPayloadRoom);
  }
  // A frame the resampler's filter delay swallowed whole (frames of 10 ms and more never are)
  // sends nothing and uses no sequence number.
  if (packed && packed->payload.empty()) return;
  if (packed) {
    send_packet(*packed, f);
  } else {
    ++stats_.encode_errors;
  }
  ++burst_frames_;
  // Sequence numbers stay continuous across bursts; a failed encode still uses its number so
  // the receiver sees the gap as a loss.
  ++header_.sequence;
  header_.timestamp += advance;
  next_timestamp_ = header_.timestamp;
}

void Sender::send_packet(const rtp::RedPacker::Packed& packed, const ptt::FrameFlags& f) {
  header_.marker = f.first;
  header_.payload_type = packed.payload_type;
  stats_.redundant_copies += packed.copies;
  rtp::RtpExtras extras;
  // The decoder's output lags the encoder's input by the encoder lookahead, so the first sample
  // the receiver plays from this packet was captured that much before the frame's first sample.
  // (A sample codec's resampler: likewise, by what it still held of the frames before.)
  extras.capture_time_us = static_cast<std::uint64_t>(f.capture_us - lookahead_us_ - (pcm_encoder_ ? pcm_lead_us_ : 0));
  extras.end_of_burst = f.last;
  extras.burst_start_ts = burst_start_ts_;
  if (f.first) extras.key_down_us = static_cast<std::uint64_t>(key_down_us_);
  if (f.last) extras.key_up_us = static_cast<std::uint64_t>(key_up_us_);
  const auto datagram = writer_.write(header_, extras, packed.payload);
  send_(datagram);
  ++stats_.frames_sent;
  ++stats_.rtp_packets;
  stats_.rtp_payload_octets += packed.payload.size();
  stats_.bytes_sent += datagram.size();
  if (f.last) keep_end_repeat(header_, extras, packed.payload);
  report(f, f.capture_us);
}

// A burst's end packet goes out kEndRepeats more times, flagged as repeats.
void Sender::keep_end_repeat(const rtp::RtpHeader& header, rtp::RtpExtras extras, std::span<const std::byte> payload) {
  extras.repeat = true;
  end_repeat_header_ = header;
  end_repeat_header_.marker = false;  // a repeat starts nothing, for receivers that trust the marker
  end_repeat_extras_ = extras;
  std::copy(payload.begin(), payload.end(), end_repeat_.begin());
  end_repeat_size_ = payload.size();
  end_repeats_left_ = kEndRepeats;
  next_end_repeat_us_ = clock_.now_us() + kEndRepeatGapUs;
}

std::uint32_t Sender::rtp_timestamp_at(std::int64_t now_us) const noexcept {
  const auto elapsed = static_cast<std::uint64_t>(std::max<std::int64_t>(0, now_us - start_us_));
  return timestamp_base_ + static_cast<std::uint32_t>(elapsed * static_cast<std::uint64_t>(rtp_rate_) / 1'000'000);
}

void Sender::report(const ptt::FrameFlags& f, std::int64_t capture_us) {
  if (!f.first && !f.last) return;
  const BurstSent fact{header_.ssrc, stats_.bursts, header_.sequence, header_.timestamp,
                       key_down_us_, capture_us, burst_frames_ + 1};
  if (f.first) observer_.on_first_packet(fact);
  if (f.last) observer_.on_last_packet(fact);
}

}  // namespace pttcam::media
