#pragma once
// The receiving half of the media engine: datagram -> RTP (RFC 2198 copies split) -> jitter
// buffer -> Opus decoder -> speaker. It does not know which protocol opened the session, logs
// nothing and reads no clock of its own: facts go to the ReceiverObserver, time comes from the
// Clock it was given. io thread only; the speaker device only drains a ring.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "pttcam/audio/endpoint.hpp"
#include "pttcam/codec/decoder.hpp"
#include "pttcam/codec/pcm_codec.hpp"
#include "pttcam/codec/resampler.hpp"
#include "pttcam/jitter/burst_boundaries.hpp"
#include "pttcam/jitter/jitter_buffer.hpp"
#include "pttcam/media/observer.hpp"
#include "pttcam/rtp/packet.hpp"
#include "pttcam/rtp/rtcp.hpp"
#include "pttcam/rtp/red.hpp"
#include "pttcam/rtp/sequence.hpp"
#include "pttcam/timing/clock.hpp"

namespace pttcam::media {

struct ReceiveCounters {
  std::uint64_t datagrams = 0;
  std::uint64_t malformed = 0;  // rejected by the RTP parser (by reason below)
  rtp::ParseCounters by_reason;
  std::uint64_t wrong_payload_type = 0;
  int last_wrong_payload_type = -1;  // what the latest of those carried (the RED block's, inside RED)
  // RTCP on the media port (RFC 5761): never an RTP packet, never played.
  std::uint64_t rtcp_received = 0;
  std::uint64_t rtcp_malformed = 0;
  std::uint64_t bad_opus = 0;             // not a valid Opus packet (no duration)
  std::uint64_t bad_payload = 0;          // a sample-codec payload that is not whole samples
  std::uint64_t bad_red = 0;              // RED whose RFC 2198 block headers do not add up
  std::uint64_t red_copies_unusable = 0;  // copies of another type, size or offset: ignored
  std::uint64_t end_repeats = 0;          // repeats of burst end packets received
  std::uint64_t end_repeats_used = 0;     // ... that stood in for a lost original
  std::uint64_t end_repeats_stale = 0;    // ... with no burst in progress: ignored
  std::uint64_t decode_errors = 0;        // played as silence
  std::uint64_t cuts = 0;                 // bursts cut short by cut()
  // RFC 3550 A.1: sequence jumps beyond MAX_DROPOUT held for confirmation, and those confirmed by
  // the next packet (the sender restarted with the same SSRC): the playout started over.
  std::uint64_t sequence_jumps = 0;
  std::uint64_t resyncs = 0;
  // Packets of another SSRC while one played (two senders at once): never played.
  std::uint64_t other_sender_packets = 0;
  // RFC 3550 A.3 cumulative loss: packets expected from the sequence numbers seen, minus those
  // received (on time or late), over every stream (SSRC) so far.
  std::int64_t rtp_expected = 0;
  std::int64_t rtp_received = 0;
  std::uint64_t dropped() const noexcept { return malformed + wrong_payload_type + bad_opus + bad_red + bad_payload; }
};

class Receiver {
 public:
  struct Options {
    // Adaptive playout delay within [min, max]; a fixed delay when `fixed_delay_ms` is set.
    std::optional<double> fixed_delay_ms;
    double min_delay_ms = 5;
    double max_delay_ms = 500;
    std::uint8_t payload_type = rtp::kOpusPayloadType;     // Opus
    std::uint8_t red_payload_type = rtp::kRedPayloadType;  // RFC 2198 around Opus
    // Sample codecs the sender may use beside Opus (G.711, L16: what a camera's SDP offered),
    // each on its own payload type. Decoded at their clock rate and resampled to 48 kHz by
    // sample count: every decoded sample plays, the packets' timestamps only place the bursts.
    struct PcmPayload {
      std::uint8_t payload_type = 0;
      codec::PcmFormat format;
    };
    std::vector<PcmPayload> pcm_payloads;
  };
  Receiver(std::unique_ptr<audio::Playback> speaker, const Options& options, const timing::Clock& clock,
           ReceiverObserver& observer);
  ~Receiver();

  void start();
  void stop();
  // One datagram that is not a control message. Bad ones are counted and reported, never played.
  // `arrival_us`: when the kernel received it, if known (app::IoLoop::arrival_us()); the RFC 3550
  // reception statistics (jitter) use it, so they measure the network, not this program's loop.
  void on_datagram(std::span<const std::byte> datagram, const Endpoint& from,
                   std::optional<std::int64_t> arrival_us = std::nullopt);
  // Keeps the speaker fed: call at next_due_us() and after each datagram.
  void pump();
  // When pump() next has work (us): the device period after which the speaker's queue falls below
  // its low water, or when a waiting burst may start; kNever when nothing plays or waits.
  std::int64_t next_due_us(std::int64_t now_us) const noexcept;

  // The talk floor. A gated receiver (the camera's speaker) starts a burst only with a permit:
  // packets that arrive before it wait; one permit lets one burst start, however soon its key was
  // released. Ungated (the default), every burst plays.
  void set_gated(bool gated) noexcept { gated_ = gated; }
  // The floor was granted: the next burst may start, and while the floor is held a burst that
  // timed out during an outage may resume.
  void permit_burst() noexcept { permit_ = floor_ = true; }
  // The floor was released: an unused permit still lets the burst it was given for start.
  void release_floor() noexcept { floor_ = false; }
  // The floor was refused or the session ended before the burst started: its waiting packets
  // are dropped, so they can never play later inside another talk or another session.
  void drop_waiting() noexcept;
  // Ends what is playing now and drops what waits; `cause` goes to the observer as it is.
  void cut(std::string_view cause);
  // A new session opened: its first packet starts a new stream, whatever its SSRC, so that the
  // delay learned from an earlier session (or a stranger's audio) does not delay this one. Taken
  // at the first packet that arrives while nothing of the old session plays or waits.
  void new_session() noexcept { new_session_ = true; }
  bool in_burst() const noexcept { return in_burst_; }

  const audio::Playback& speaker() const noexcept { return *speaker_; }
  const ReceiveCounters& counters() const noexcept { return counters_; }
  const Options& options() const noexcept { return options_; }
  // The RTCP report block on the stream playing (RFC 3550 A.1/A.3/A.8), once it is valid; also
  // starts the next fraction-lost interval.
  // RFC 3550 reception statistics of the stream playing (what our reports carry); null before one.
  const rtp::ReceptionStatistics* reception() const noexcept { return source_ ? &*source_ : nullptr; }
  std::optional<rtp::ReportBlock> report_block(Micros now_us) {
    return source_ ? source_->report_block(source_ssrc_, now_us) : std::nullopt;
  }
  const jitter::JitterBuffer& jitter_buffer() const noexcept { return playout_; }
  // The payload type of the stream that last arrived (Opus, or one of pcm_payloads); before any,
  // the first sample codec configured, or Opus when there is none.
  std::uint8_t payload_type() const noexcept { return payload_type_; }

 private:
  // A sample codec's decoder and resampler; the one the stream playing uses is pcm_path_.
  struct PcmPath {
    std::uint8_t payload_type;
    codec::PcmDecoder decoder;
    codec::Resampler resampler;
    int factor;  // 48 kHz samples (and RTP ticks) per codec sample
  };
  PcmPath* pcm_path_for(std::uint8_t payload_type) noexcept;
  bool pcm_packet(const rtp::RtpPacket& p, rtp::RtpHeader& scaled, jitter::IncomingPacket& in, std::size_t bytes,
                  const Endpoint& from);
  std::optional<int> decode_pcm(const jitter::PlayoutFrame& frame, std::span<float> out);
  std::size_t pad_burst_start(PcmPath& path, std::span<float> out, std::size_t produced) noexcept;
  std::optional<std::span<const std::byte>> opus_of(const rtp::RtpPacket& p, std::optional<rtp::RedPayload>& red,
                                                    std::size_t bytes, const Endpoint& from);
  void drop(Dropped fact);
  void on_rtcp(std::span<const std::byte> datagram, const Endpoint& from);
  // `header` as on the wire, its timestamp at `clock_hz` (the RTCP statistics are in its units).
  bool admit_source(const rtp::RtpHeader& header, int clock_hz, std::span<const std::byte> datagram,
                    const Endpoint& from, Micros now, Micros arrival);
  void insert_repeat(const rtp::RtpPacket& p, const jitter::IncomingPacket& in, const std::optional<rtp::RedPayload>& red,
                     Micros now);
  void insert_copies(const rtp::RedPayload& red, const rtp::RtpPacket& p, const jitter::IncomingPacket& primary,
                     Micros now);
  void count_for_loss(std::uint32_t ssrc, std::uint16_t sequence);
  PacketInfo* info_for(std::int64_t sequence);
  PacketInfo& remember(const jitter::IncomingPacket& in, std::optional<std::uint32_t> burst_start_ts, Micros arrival_us);
  bool next_frame();  // false: nothing to play now (idle)
  std::optional<int> decode(const jitter::PlayoutFrame& frame, std::span<float> out);
  void wake_speaker();
  Micros heard_at(Micros now) const noexcept;
  std::size_t low_water() const noexcept;
  // Something is playing, waiting to play or still queued at the speaker.
  bool busy() const noexcept;
  bool may_start() const noexcept { return !gated_ || permit_ || floor_; }
  void write_pcm();

  const timing::Clock& clock_;
  ReceiverObserver& observer_;
  Options options_;
  codec::Decoder decoder_;
  std::vector<PcmPath> pcm_paths_;
  PcmPath* pcm_path_ = nullptr;  // null: the stream playing is Opus
  std::vector<float> codec_pcm_;  // a sample codec's packet decoded at its own rate
  std::uint8_t payload_type_ = rtp::kOpusPayloadType;
  std::size_t pcm_lead_samples_ = 0;  // the resampler's output owed before the frame decoding now
  jitter::JitterBuffer playout_;
  std::vector<float> pcm_;
  std::size_t pcm_len_ = 0;
  std::size_t pcm_pos_ = 0;
  ReceiveCounters counters_;
  // What the sender said about recent packets, by sequence number, for the frames that play them.
  std::array<PacketInfo, 256> infos_{};
  std::uint32_t ssrc_ = 0;
  std::optional<std::uint32_t> loss_ssrc_;
  rtp::SeqUnwrapper loss_unwrapper_;
  std::int64_t loss_base_ = 0;
  std::int64_t loss_max_ = 0;
  std::int64_t stream_expected_base_ = 0;  // expected count of finished streams
  jitter::BurstBoundaries boundaries_;     // standard senders' bursts
  // RFC 3550 A.1 validation of the stream playing, and a jump held until confirmed.
  std::optional<rtp::ReceptionStatistics> source_;
  std::uint32_t source_ssrc_ = 0;
  std::array<std::byte, rtp::kMaxDatagram> held_{};
  std::size_t held_size_ = 0;
  Endpoint held_from_;
  std::uint16_t held_sequence_ = 0;
  bool replaying_ = false;
  std::uint64_t other_unreported_ = 0;  // other senders' packets since the last report
  std::optional<Micros> other_reported_us_;
  bool in_burst_ = false;
  bool gated_ = false;
  bool new_session_ = false;
  bool permit_ = false;
  bool floor_ = false;
  std::unique_ptr<audio::Playback> speaker_;  // last: its device thread stops first
};

}  // namespace pttcam::media
