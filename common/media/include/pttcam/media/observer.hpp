#pragma once
// What the media engine tells whoever listens: typed facts, reported as they happen on the io
// thread. The engine never logs, counts for a report or writes a file itself; the measurement
// area (common/measure/) turns these facts into event logs, CSV, timelines and summaries.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "pttcam/jitter/types.hpp"
#include "pttcam/net/asio.hpp"
#include "pttcam/rtp/packet.hpp"
#include "pttcam/rtp/rtcp.hpp"

namespace pttcam::media {

using Micros = std::int64_t;
using Endpoint = boost::asio::ip::udp::endpoint;

// What the sender told us about a packet (RTP header extensions), for the frame that plays it.
struct PacketInfo {
  std::int64_t sequence = -1;  // unwrapped
  std::uint32_t timestamp = 0;
  std::optional<std::uint32_t> burst_start_ts;
  std::optional<Micros> key_down_us;
  std::optional<Micros> key_up_us;
  std::optional<Micros> capture_us;
  Micros arrival_us = 0;
};

enum class DropReason { malformed, oversize, wrong_payload_type, bad_red, bad_opus, bad_payload };

// A datagram that will never play.
struct Dropped {
  DropReason reason = DropReason::malformed;
  std::optional<rtp::ParseError> parse_error;  // malformed: what the RTP parser found
  std::optional<const char*> red_error;        // bad_red: what the RFC 2198 parser found
  int payload_type = -1;                       // wrong_payload_type: the one it carried
  std::size_t bytes = 0;
  const Endpoint* from = nullptr;
};

// A packet (its own, not a copy or a repeat) and what the jitter buffer did with it.
struct Arrived {
  const rtp::RtpHeader& header;
  const PacketInfo& info;  // as remembered when accepted; what the packet said otherwise
  jitter::InsertResult result;
  bool burst_start = false;  // it starts a burst: its marker (pttcam), or its timing (other senders)
};

// A frame the jitter buffer decided and the speaker was given (or will be, after its queue).
struct Played {
  const jitter::PlayoutFrame& frame;
  const PacketInfo* info;  // the packet (or copy) this frame's sequence number was remembered from
  std::uint32_t ssrc = 0;  // of the stream playing
  Micros play_us = 0;      // when the frame's first sample will be heard
  Micros now_us = 0;
};

// Which stream (SSRC) the receiver plays, and why: the first one heard, or the one before it
// stopped (its burst ended) and this one came next.
struct StreamChosen {
  std::uint32_t ssrc = 0;
  const Endpoint* from = nullptr;
  const char* reason = "first";  // "first" | "previous_stopped"
  std::optional<std::uint32_t> previous_ssrc;
};

// Another sender's packets while one is playing: not played, counted; reported at most once a
// second (`packets`: how many since the last report).
struct OtherSender {
  std::uint32_t ssrc = 0;
  const Endpoint* from = nullptr;
  std::uint32_t playing_ssrc = 0;
  std::uint64_t packets = 0;
};

class ReceiverObserver {
 public:
  virtual ~ReceiverObserver() = default;
  virtual void on_dropped(const Dropped&) {}
  // An RTCP compound arrived on the media port (RFC 5761): what the far end reports.
  virtual void on_rtcp(const rtp::RtcpCompound& /*rtcp*/, const Endpoint& /*from*/, Micros /*now_us*/) {}
  virtual void on_rtcp_malformed(rtp::RtcpError /*error*/, const Endpoint& /*from*/) {}
  virtual void on_stream_chosen(const StreamChosen&) {}
  virtual void on_other_sender(const OtherSender&) {}
  virtual void on_arrived(const Arrived&) {}
  virtual void on_played(const Played&) {}
  // Nothing to play at `now_us`: time passes.
  virtual void on_idle(Micros /*now_us*/) {}
  // The burst playing was cut short; it is heard until `heard_until_us`.
  virtual void on_cut(std::string_view /*cause*/, Micros /*heard_until_us*/) {}
  // The receiver stopped: whatever is open is final.
  virtual void on_stopped() {}
};

struct BurstSent {
  std::uint32_t ssrc = 0;
  std::uint64_t burst = 0;
  std::uint16_t sequence = 0;
  std::uint32_t timestamp = 0;
  Micros key_down_us = 0;
  Micros capture_us = 0;
  std::uint64_t frames = 0;  // last packet: the burst's frames
};

// The capture device stalled inside a burst (skipped cycles): the frame's capture time was
// `gap_us` beyond where its timestamp said, and the timestamp jumped forward `gap_samples`.
struct CaptureStall {
  std::uint32_t ssrc = 0;
  std::uint64_t burst = 0;
  std::uint16_t sequence = 0;   // the first packet after the gap
  std::uint32_t timestamp = 0;  // its timestamp, the jump included
  std::uint32_t gap_samples = 0;
  Micros gap_us = 0;
  Micros capture_us = 0;
};

class SenderObserver {
 public:
  virtual ~SenderObserver() = default;
  virtual void on_capture_stall(const CaptureStall&) {}
  virtual void on_first_packet(const BurstSent&) {}
  virtual void on_last_packet(const BurstSent&) {}
  // Cold microphone: opened at key-down (taking `open_ms`), or not; closed at key-up.
  virtual void on_mic_open(double /*open_ms*/) {}
  virtual void on_mic_open_failed(std::string_view /*message*/) {}
  virtual void on_mic_close() {}
};

}  // namespace pttcam::media
