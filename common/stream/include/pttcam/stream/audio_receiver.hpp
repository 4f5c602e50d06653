#pragma once
#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pttcam/audio/endpoint.hpp"
#include "pttcam/codec/decoder.hpp"
#include "pttcam/measure/event_log.hpp"
#include "pttcam/jitter/jitter_buffer.hpp"
#include "pttcam/rtp/packet.hpp"
#include "pttcam/rtp/sequence.hpp"
#include "pttcam/rtp/red.hpp"
#include "pttcam/stream/burst_analyzer.hpp"

namespace pttcam::stream {

struct ReceiveCounters {
  std::uint64_t datagrams = 0;
  std::uint64_t malformed = 0;  // rejected by the RTP parser (by reason below)
  rtp::ParseCounters by_reason;
  std::uint64_t wrong_payload_type = 0;
  std::uint64_t bad_opus = 0;       // not a valid Opus packet (no duration)
  std::uint64_t bad_red = 0;        // payload type 63 whose RFC 2198 block headers do not add up
  std::uint64_t red_copies_unusable = 0;  // copies of another type, size or offset: ignored
  std::uint64_t end_repeats = 0;       // repeats of burst end packets received
  std::uint64_t end_repeats_used = 0;  // ... that stood in for a lost original
  std::uint64_t decode_errors = 0;  // played as silence
  std::uint64_t cuts = 0;           // bursts cut short by cut()
  // RFC 3550 A.3 cumulative loss: packets expected from the sequence numbers seen, minus those
  // received (on time or late), over every stream (SSRC) so far.
  std::int64_t rtp_expected = 0;
  std::int64_t rtp_received = 0;
};


// RTP/Opus in -> playout (fixed delay, FEC/PLC for gaps) -> speaker. Used by the camera for the
// client's talk bursts and by the client for the camera's microphone. io thread only; the speaker
// device only drains a ring.
class AudioReceiver {
 public:
  struct Options {
    // Adaptive playout delay within [min, max]; a fixed delay when `fixed_delay_ms` is set.
    std::optional<double> fixed_delay_ms;
    double min_delay_ms = 5;
    double max_delay_ms = 500;
    double cutoff_ms = 60;             // concealment runs at least this long are cutoffs
    std::filesystem::path packets_csv;  // per-packet fates (empty: none)
  };
  AudioReceiver(std::unique_ptr<audio::Playback> speaker, const Options& options, measure::EventLog& events,
                std::string log_prefix);
  ~AudioReceiver();

  void start();
  void stop();
  // One datagram that is not a control message. Malformed ones are counted and logged, never played.
  void on_datagram(std::span<const std::byte> datagram, const std::string& from);
  // Keeps the speaker fed: call at next_due_us() and after each datagram.
  void pump();
  // A gated receiver (the camera's speaker) starts a burst only with a permit: the talk floor was
  // granted. Packets that arrive before the grant wait; one permit lets one burst start, however
  // soon its key was released. Ungated (the default), every burst plays.
  void set_gated(bool gated) noexcept { gated_ = gated; }
  // The floor was granted: the next burst may start, and while the floor is held a burst that
  // timed out during an outage may resume.
  void permit_burst() noexcept { permit_ = floor_ = true; }
  // The floor was released: an unused permit still lets the burst it was given for start.
  void release_floor() noexcept { floor_ = false; }
  // The floor was refused or the session ended before the burst started: its waiting packets
  // are dropped, so they can never play later inside another talk or another session.
  void drop_waiting() noexcept;
  // Ends what is playing now and drops what waits (session cap, session end): `cause` is logged.
  void cut(const std::string& cause);
  bool in_burst() const noexcept { return in_burst_; }
  // When pump() next has work, on the steady clock (us): the device period after which the
  // speaker's queue falls below its low water, or when a waiting burst may start; kNever when
  // nothing plays or waits.
  std::int64_t next_due_us(std::int64_t now_us) const noexcept;

  const audio::Playback& speaker() const noexcept { return *speaker_; }
  const ReceiveCounters& counters() const noexcept { return counters_; }
  nlohmann::json summary() const;

 private:
  void log_drop(const char* reason, std::size_t size, const std::string& from);
  void insert_copies(const rtp::RedPayload& red, const rtp::RtpPacket& p, const jitter::IncomingPacket& primary, Micros now);
  void csv_row(std::uint16_t seq, std::uint32_t ts, std::uint32_t ssrc, const char* fate, Micros arrival_us,
               Micros play_us);
  void report_finished_bursts();
  void count_for_loss(std::uint32_t ssrc, std::uint16_t sequence);
  PacketInfo* info_for(std::int64_t sequence);
  PacketInfo& remember(const jitter::IncomingPacket& in, std::optional<std::uint32_t> burst_start_ts, Micros arrival_us);
  bool next_frame();  // false: nothing to play now (idle)
  std::size_t low_water() const noexcept;
  // Something is playing, waiting to play or still queued at the speaker.
  bool busy() const noexcept;
  void write_pcm();
  std::string event(const char* name) const { return prefix_ + name; }

  codec::Decoder decoder_;
  jitter::JitterBuffer playout_;
  measure::EventLog& events_;
  std::string prefix_;
  std::vector<float> pcm_;
  std::size_t pcm_len_ = 0;
  std::size_t pcm_pos_ = 0;
  ReceiveCounters counters_;
  BurstAnalyzer analyzer_;
  // What the sender said about recent packets, by sequence number, for the frames that play them.
  std::array<PacketInfo, 256> infos_{};
  std::uint32_t ssrc_ = 0;
  std::optional<std::uint32_t> loss_ssrc_;
  rtp::SeqUnwrapper loss_unwrapper_;
  std::int64_t loss_base_ = 0;
  std::int64_t loss_max_ = 0;
  std::int64_t stream_expected_base_ = 0;  // expected count of finished streams
  std::ofstream csv_;
  bool in_burst_ = false;
  bool gated_ = false;
  bool permit_ = false;
  bool floor_ = false;
  std::unique_ptr<audio::Playback> speaker_;  // last: its device thread stops first
};

}  // namespace pttcam::stream
