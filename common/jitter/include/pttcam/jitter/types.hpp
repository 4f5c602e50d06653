#pragma once
// What the jitter buffer and its callers exchange: the packet the receiver hands in, the insert
// result, and the frame the speaker gets.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace pttcam::jitter {


using Micros = std::int64_t;

// What the receiver knows of one RTP/Opus packet before it is stored. The caller has already
// parsed the RTP header and asked the codec for the packet's duration and whether it carries FEC.
struct IncomingPacket {
  std::uint32_t ssrc = 0;
  std::uint16_t sequence = 0;
  std::uint32_t timestamp = 0;
  bool marker = false;        // first packet of a talk burst
  bool end_of_burst = false;  // last packet of a talk burst
  // The sender flags its bursts' ends (pttcam's extension). A standard sender does not: its
  // stream just stops, and a burst that runs out is the sender stopping, not a lost end.
  bool ends_flagged = true;
  bool has_fec = false;       // carries in-band FEC for the packet before it
  int samples = 0;            // duration at 48 kHz
  std::optional<Micros> capture_us;
  std::span<const std::byte> payload;
};

enum class InsertResult { accepted, duplicate, late, too_large };

enum class FrameKind { silence, normal, fec, concealed };
const char* to_string(FrameKind) noexcept;

// One decision of the playout: what the speaker plays next, and for how many samples.
struct PlayoutFrame {
  FrameKind kind = FrameKind::silence;
  int samples = 0;
  // normal: the packet to decode; fec: the *next* packet, whose FEC rebuilds this frame.
  // Valid until the next insert().
  std::span<const std::byte> payload;
  std::optional<Micros> capture_us;  // normal frames: when the sender captured its first sample
  std::int64_t sequence = -1;        // unwrapped sequence number of the frame (-1 for silence)
  bool burst_start = false;
  bool burst_end = false;  // this frame ends the burst (end flag seen, or it timed out)
  // burst_end by timeout on a stream without end flags: the sender stopped (or paused). The last
  // `stopped_frames` frames concealed before it waited for packets that were never sent: they
  // are not counted as lost or concealed.
  bool sender_stopped = false;
  int stopped_frames = 0;
  // fec only: `payload` is a whole copy of this frame from a later packet (RFC 2198
  // redundancy), to decode as a normal packet rather than for its in-band FEC.
  bool redundant = false;
};


// Opus over RTP always uses a 48 kHz timestamp clock (RFC 7587), whatever the audio bandwidth.
inline constexpr std::int64_t kRtpClockHz = 48'000;

// Beyond this many microseconds (about 146,000 years) a duration is saturated: a sender may advance
// its timestamp by 2^31 - 1 every packet and stay "newer", so an unwrapped tick count grows without
// bound, and callers still add or subtract one more time to the result.
inline constexpr Micros kMaxDurationUs = Micros{1} << 62;

// RTP timestamp units to microseconds (truncated toward zero), saturated at +-kMaxDurationUs.
// Whole seconds and the rest are scaled apart, so no intermediate product overflows.
constexpr Micros rtp_to_us(std::int64_t ticks) noexcept {
  const std::int64_t seconds = ticks / kRtpClockHz;
  constexpr std::int64_t kMaxSeconds = kMaxDurationUs / 1'000'000;
  if (seconds >= kMaxSeconds) return kMaxDurationUs;
  if (seconds <= -kMaxSeconds) return -kMaxDurationUs;
  return seconds * 1'000'000 + ticks % kRtpClockHz * 1'000'000 / kRtpClockHz;
}

}  // namespace pttcam::jitter
