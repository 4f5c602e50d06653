#include "pttcam/stream/audio_sender.hpp"

#include <algorithm>
#include <limits>
#include <random>
#include <stdexcept>

#include "pttcam/rtp/sequence.hpp"
#include "pttcam/stream/due.hpp"

namespace pttcam::stream {
namespace {

std::uint32_t random_u32() {
  static std::random_device rd;
  return (static_cast<std::uint32_t>(rd()) << 16) ^ static_cast<std::uint32_t>(rd());
}

}  // namespace

AudioSender::AudioSender(std::unique_ptr<audio::Capture> capture, const codec::OpusSettings& opus, SendFn send,
                         measure::EventLog& events)
    : encoder_(codec::Encoder::create(opus)),
      framer_(static_cast<std::size_t>(opus.samples_per_frame())),
      send_(std::move(send)),
      events_(events),
      chunk_(audio::kRingCapacity),
      capture_(std::move(capture)) {
  redundancy_ = opus.redundancy;
  header_.payload_type = rtp::kOpusPayloadType;
  header_.ssrc = random_u32();
  header_.sequence = static_cast<std::uint16_t>(random_u32());
  timestamp_base_ = random_u32();
  next_timestamp_ = timestamp_base_;
  lookahead_us_ = static_cast<std::int64_t>(encoder_.lookahead_samples()) * 1'000'000 / audio::kSampleRate;
}

AudioSender::~AudioSender() {
  if (capture_) capture_->stop();
}

void AudioSender::start() {
  if (capture_ && cold_) {
    capture_->release();  // opened at construction to check it exists; reopened at each press
  } else if (capture_) {
    capture_->start();
    mic_open_ = true;
  }
  start_us_ = timing::monotonic_us();
}

void AudioSender::stop() {
  set_talking(false);
  send_end_repeats(std::numeric_limits<std::int64_t>::max());  // now, while the socket is open
  if (capture_) capture_->stop();
  mic_open_ = false;
}

void AudioSender::send_end_repeats(std::int64_t now_us) {
  while (end_repeats_left_ > 0 && now_us >= next_end_repeat_us_) {
    send_(std::span<const std::byte>(end_repeat_.data(), end_repeat_size_));
    ++stats_.end_repeats;
    --end_repeats_left_;
    next_end_repeat_us_ += kEndRepeatGapUs;
  }
}

void AudioSender::pump() {
  if (end_repeats_left_ > 0) send_end_repeats(timing::monotonic_us());
  if (!capture_) return;
  const std::size_t n = capture_->read(chunk_);
  if (!framer_.talking()) {
    stats_.samples_discarded_idle += n;
    return;
  }
  // The newest sample read is about input_latency old; earlier ones are older by their position.
  const std::int64_t now = timing::monotonic_us();
  const auto first_capture = now - static_cast<std::int64_t>(capture_->input_latency() * 1e6) -
                             static_cast<std::int64_t>(n) * 1'000'000 / audio::kSampleRate;
  framer_.push(std::span<const float>(chunk_.data(), n), first_capture,
               [this](std::span<const float> pcm, const ptt::FrameFlags& f) { send_frame(pcm, f); });
}

std::int64_t AudioSender::next_due_us(std::int64_t now_us) const noexcept {
  const std::int64_t repeat = end_repeats_left_ > 0 ? next_end_repeat_us_ : kNever;
  if (!capture_ || !framer_.talking()) return repeat;
  const std::size_t have = framer_.pending() + capture_->available();
  if (have >= framer_.frame_samples()) return now_us;
  return std::min(repeat, due_after_period(capture_->clock().after_us(framer_.frame_samples() - have), now_us));
}

void AudioSender::set_talking(bool on) {
  if (!capture_ || on == framer_.talking()) return;
  const std::int64_t now = timing::monotonic_us();
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
      events_.write("mic_close", {});
    }
  }
}

std::span<const std::byte> AudioSender::payload_for(std::span<const std::byte> opus, bool first) {
  header_.payload_type = rtp::kOpusPayloadType;
  if (redundancy_ == 0) return opus;
  if (first) copies_count_ = 0;  // a burst never carries the one before it
  std::array<rtp::RedBlock, codec::OpusSettings::kMaxRedundancy> blocks{};
  std::size_t n = 0;
  const std::size_t from = copies_count_ - std::min(copies_count_, static_cast<std::size_t>(redundancy_));
  for (std::size_t i = from; i < copies_count_; ++i) {
    const std::uint32_t back = header_.timestamp - copies_[i].timestamp;
    if (back <= rtp::kRedMaxTimestampOffset)
      blocks[n++] = {rtp::kOpusPayloadType, back, std::span<const std::byte>(copies_[i].data.data(), copies_[i].size)};
  }
  // Room for the RTP header and our extensions: a packet that would not fit goes without copies.
  constexpr std::size_t kHeadroom = 12 + 4 + 36;
  const auto room = std::span<std::byte>(red_buf_.data(), rtp::kMaxDatagram - kHeadroom);
  std::size_t size = rtp::write_red(std::span<const rtp::RedBlock>(blocks.data(), n), opus, rtp::kOpusPayloadType, room);
  if (size == 0) {
    n = 0;
    size = rtp::write_red({}, opus, rtp::kOpusPayloadType, room);
  }
  stats_.redundant_copies += n;
  if (opus.size() <= rtp::kRedMaxBlockBytes) {
    if (copies_count_ == copies_.size()) {
      std::rotate(copies_.begin(), copies_.begin() + 1, copies_.end());
      --copies_count_;
    }
    Copy& c = copies_[copies_count_++];
    std::copy(opus.begin(), opus.end(), c.data.begin());
    c.size = opus.size();
    c.timestamp = header_.timestamp;
  } else {
    copies_count_ = 0;  // a frame too big to copy: later copies would skip it, so none until the next
  }
  if (size == 0) return opus;  // cannot happen for an Opus packet; plain Opus is still playable
  header_.payload_type = rtp::kRedPayloadType;
  return {red_buf_.data(), size};
}

bool AudioSender::open_cold_microphone() {
  // The key-down time stays the press (taken by the caller before this): the open is part of
  // the talk-start latency, which is the point of a cold microphone.
  const std::int64_t before = timing::monotonic_us();
  try {
    capture_->start();
  } catch (const std::exception& e) {
    ++stats_.mic_open_failures;
    events_.write("mic_open_failed", {{"message", e.what()}});
    return false;
  }
  mic_open_ = true;
  events_.write("mic_open", {{"open_ms", static_cast<double>(timing::monotonic_us() - before) / 1000.0}});
  return true;
}

void AudioSender::send_frame(std::span<const float> pcm, const ptt::FrameFlags& f) {
  if (f.first) {
    ++stats_.bursts;
    // The timestamp follows the capture clock across the silent gap (RFC 3550 5.1), and never
    // goes backwards even if the gap was shorter than a frame.
    const auto elapsed = static_cast<std::uint64_t>(std::max<std::int64_t>(0, f.capture_us - start_us_));
    const auto ts = timestamp_base_ + static_cast<std::uint32_t>(elapsed * audio::kSampleRate / 1'000'000);
    header_.timestamp = rtp::is_newer_ts(ts, next_timestamp_) ? ts : next_timestamp_;
    burst_start_ts_ = header_.timestamp;
  }
  if (const auto bytes = encoder_.encode(pcm, opus_buf_)) {
    header_.marker = f.first;
    const auto payload = payload_for(std::span<const std::byte>(opus_buf_.data(), *bytes), f.first);
    rtp::RtpExtras extras;
    // The decoder's output lags the encoder's input by the encoder lookahead, so the first sample
    // the receiver plays from this packet was captured that much before the frame's first sample.
    extras.capture_time_us = static_cast<std::uint64_t>(f.capture_us - lookahead_us_);
    extras.end_of_burst = f.last;
    extras.burst_start_ts = burst_start_ts_;
    if (f.first) extras.key_down_us = static_cast<std::uint64_t>(key_down_us_);
    if (f.last) extras.key_up_us = static_cast<std::uint64_t>(key_up_us_);
    const auto datagram = writer_.write(header_, extras, payload);
    send_(datagram);
    ++stats_.frames_sent;
    stats_.bytes_sent += datagram.size();
    if (f.last) {
      extras.repeat = true;
      const auto again = writer_.write(header_, extras, payload);
      std::copy(again.begin(), again.end(), end_repeat_.begin());
      end_repeat_size_ = again.size();
      end_repeats_left_ = kEndRepeats;
      next_end_repeat_us_ = timing::monotonic_us() + kEndRepeatGapUs;
    }
    if (f.first)
      events_.write("burst_first_packet", {{"ssrc", header_.ssrc},
                                           {"burst", stats_.bursts},
                                           {"seq", header_.sequence},
                                           {"rtp_ts", header_.timestamp},
                                           {"key_down_us", key_down_us_},
                                           {"capture_us", f.capture_us}});
    if (f.last)
      events_.write("burst_last_packet",
                    {{"ssrc", header_.ssrc}, {"burst", stats_.bursts}, {"seq", header_.sequence}, {"frames", burst_frames_ + 1}});
  } else {
    ++stats_.encode_errors;
  }
  ++burst_frames_;
  // Sequence numbers stay continuous across bursts; a failed encode still uses its number so
  // the receiver sees the gap as a loss.
  ++header_.sequence;
  header_.timestamp += static_cast<std::uint32_t>(pcm.size());
  next_timestamp_ = header_.timestamp;
}

nlohmann::json AudioSender::summary() const {
  nlohmann::json s{{"bursts", stats_.bursts},
                   {"frames_sent", stats_.frames_sent},
                   {"bytes_sent", stats_.bytes_sent},
                   {"talk_seconds", stats_.talk_seconds},
                   {"encode_errors", stats_.encode_errors},
                   {"redundant_copies", stats_.redundant_copies},
                   {"end_repeats", stats_.end_repeats},
                   {"samples_discarded_idle", stats_.samples_discarded_idle},
                   {"cold_microphone", cold_},
                   {"mic_open_failures", stats_.mic_open_failures}};
  if (capture_) {
    s["capture_overrun_samples"] = capture_->counters().overrun_samples.load();
    s["capture_device_xruns"] = capture_->counters().device_flags.load();
  }
  return s;
}

}  // namespace pttcam::stream
