#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "pttcam/audio/endpoint.hpp"
#include "pttcam/codec/encoder.hpp"
#include "pttcam/codec/pcm_codec.hpp"
#include "pttcam/codec/resampler.hpp"
#include "pttcam/media/observer.hpp"
#include "pttcam/ptt/burst_framer.hpp"
#include "pttcam/rtp/packet.hpp"
#include "pttcam/rtp/red.hpp"
#include "pttcam/timing/clock.hpp"

namespace pttcam::media {

using SendFn = std::function<void(std::span<const std::byte>)>;

struct SenderStats {
  std::uint64_t bursts = 0;
  std::uint64_t frames_sent = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t encode_errors = 0;
  std::uint64_t redundant_copies = 0;  // earlier frames carried again (RFC 2198)
  std::uint64_t end_repeats = 0;       // burst end packets sent again
  std::uint64_t rtp_packets = 0;         // every RTP packet, repeats included (RTCP SR packet count)
  std::uint64_t rtp_payload_octets = 0;  // their payloads (RTCP SR octet count)
  std::uint64_t samples_discarded_idle = 0;  // captured while not talking: never encoded
  std::uint64_t mic_open_failures = 0;        // cold microphone: key presses whose open failed
  std::uint64_t timestamp_jumps = 0;  // capture stalls inside a burst: the timestamp moved forward
  double talk_seconds = 0;
};

// The sending half of the media engine: microphone -> (only while talking) framer -> Opus ->
// RTP, with RFC 2198 copies when asked -> send(datagram). Used by the client for talk bursts and
// by the camera for its microphone stream. It does not know which protocol opened the session,
// logs nothing and reads no clock of its own (facts go to the observer). io thread only; the
// capture device only fills a ring.
class Sender {
 public:
  // `capture` may be null: a microphone that could not be opened (see ptt-client --input deny).
  Sender(std::unique_ptr<audio::Capture> capture, const codec::OpusSettings& opus, SendFn send,
         const timing::Clock& clock, SenderObserver& observer);
  ~Sender();

  // Before start(): send `format` (G.711 or L16 at its own clock rate, resampled from 48 kHz by
  // sample count) as `payload_type` instead of Opus, as IP cameras take on their backchannel. RTP
  // timestamps then count the codec's clock; no RFC 2198 copies. Throws std::invalid_argument
  // for a format the codec layer refuses.
  void use_pcm(const codec::PcmFormat& format, std::uint8_t payload_type);

  // Cold microphone (before start()): the device is opened at key-down and closed at key-up, as
  // phones that only hold the microphone while talking do, so the press pays for the open.
  void set_cold_microphone(bool cold) noexcept { cold_ = cold; }
  bool cold_microphone() const noexcept { return cold_; }
  // Whether the microphone is running now (always after start() unless cold).
  bool microphone_open() const noexcept { return mic_open_; }

  void start();  // starts the microphone (cold: only notes the time)
  void stop();   // ends a burst in progress and stops the microphone
  bool has_microphone() const noexcept { return capture_ != nullptr; }
  // Key edges. Going up flushes everything captured until now as the burst's last frame.
  void set_talking(bool on);
  bool talking() const noexcept { return framer_.talking(); }
  // Ends the burst without sending its last frame: the sender vanished (power cut).
  void abort_burst() noexcept;
  // Moves captured samples on: discarded while idle, framed, encoded and sent while talking;
  // sends the repeats of a burst's end packet when they are due.
  void pump();
  // When pump() next has work, on the steady clock (us): the capture period that completes a
  // frame while talking, or the next end repeat; kNever when nothing is due.
  std::int64_t next_due_us(std::int64_t now_us) const noexcept;
  // A burst's end packet goes out kEndRepeats more times, kEndRepeatGapUs apart, flagged as
  // repeats: losing it would otherwise leave the receiver concealing until its timeout.
  static constexpr int kEndRepeats = 2;
  static constexpr std::int64_t kEndRepeatGapUs = 5'000;

  std::uint32_t ssrc() const noexcept { return header_.ssrc; }
  // The RTP timestamp that corresponds to `now_us` (the timestamps follow the capture clock from
  // start()), for RTCP sender reports.
  std::uint32_t rtp_timestamp_at(std::int64_t now_us) const noexcept;
  const SenderStats& stats() const noexcept { return stats_; }
  const audio::Capture* capture() const noexcept { return capture_.get(); }

 private:
  void send_frame(std::span<const float> pcm, const ptt::FrameFlags& flags);
  // The frame resampled and encoded into pcm_buf_ (the burst's last one with the resampler's
  // tail); the bytes and the samples at the codec's rate, or nullopt if encoding failed.
  std::optional<std::pair<std::size_t, std::uint32_t>> encode_pcm(std::span<const float> pcm, bool last);
  std::uint32_t to_rtp_units(std::uint64_t samples_48k) const noexcept;
  void send_packet(const rtp::RedPacker::Packed& packed, const ptt::FrameFlags& flags);
  void start_burst_timestamp(std::int64_t capture_us);
  bool follow_capture_time(std::int64_t capture_us, std::size_t frame_samples);  // true: jumped
  void report(const ptt::FrameFlags& flags, std::int64_t capture_us);
  void keep_end_repeat(const rtp::RtpHeader& header, rtp::RtpExtras extras, std::span<const std::byte> payload);
  void send_end_repeats(std::int64_t now_us);
  bool open_cold_microphone();  // false (counted, reported) if the device would not open

  const timing::Clock& clock_;
  SenderObserver& observer_;
  rtp::RedPacker red_;
  // The last end packet, sent again with a sequence number of its own each time.
  rtp::RtpHeader end_repeat_header_;
  rtp::RtpExtras end_repeat_extras_;
  std::array<std::byte, rtp::kMaxDatagram> end_repeat_{};  // its payload
  std::size_t end_repeat_size_ = 0;
  int end_repeats_left_ = 0;
  std::int64_t next_end_repeat_us_ = 0;
  codec::Encoder encoder_;
  // G.711/L16 instead of Opus (use_pcm): the codec, its resampler and buffers, its clock.
  std::optional<codec::PcmEncoder> pcm_encoder_;
  std::optional<codec::Resampler> resampler_;
  std::vector<float> resampled_;
  std::vector<std::byte> pcm_buf_;
  int rtp_rate_ = 48000;
  std::uint8_t pcm_payload_type_ = 0;
  ptt::BurstFramer framer_;
  rtp::RtpWriter writer_;
  SendFn send_;
  std::vector<float> chunk_;
  std::array<std::byte, codec::kMaxPacketBytes> opus_buf_{};
  rtp::RtpHeader header_;
  std::uint32_t timestamp_base_ = 0;
  std::uint32_t next_timestamp_ = 0;  // lowest timestamp the next burst may use
  std::int64_t start_us_ = 0;
  std::int64_t key_down_us_ = 0;
  std::int64_t key_up_us_ = 0;
  std::uint32_t burst_start_ts_ = 0;
  std::int64_t burst_first_capture_us_ = 0;  // capture time of the burst's first frame
  std::int64_t lookahead_us_ = 0;
  std::int64_t pcm_lead_us_ = 0;  // the resampler's output owed before the frame encoding now
  std::uint64_t burst_frames_ = 0;
  bool cold_ = false;
  bool mic_open_ = false;
  SenderStats stats_;
  std::unique_ptr<audio::Capture> capture_;  // last: its device thread stops first
};

}  // namespace pttcam::media
