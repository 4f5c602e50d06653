#pragma once
// RTP (RFC 3550) with RFC 8285 one-byte header extensions, as pttcam sends and receives it.
// Pure code: no sockets, no allocation; safe to call per packet on the network thread.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace pttcam::rtp {

inline constexpr std::uint8_t kOpusPayloadType = 111;
// Ethernet MTU: larger datagrams would fragment, and Opus frames never need more.
inline constexpr std::size_t kMaxDatagram = 1500;

// One-byte header extension elements (profile 0xBEDE).
inline constexpr std::uint16_t kOneByteProfile = 0xBEDE;
// 8 bytes big-endian: sender's monotonic clock in microseconds at capture of the first sample,
// so the receiver can measure mouth-to-ear latency without trusting RTP timestamp origins.
inline constexpr std::uint8_t kCaptureTimeExtId = 1;
// 1 byte, bit 0: last packet of a talk burst, so playout can drain instead of waiting for loss;
// bit 1: this is a repeat of that packet (sent twice more a few ms later, as RFC 4733 does for
// the end of an event), to be used only if the original was lost; bits 2-7: how many sequence
// numbers before this repeat the original went out (each repeat has a number of its own, so
// standard tools count no loss and no duplicate; 0 from senders that reused the original's).
inline constexpr std::uint8_t kBurstFlagsExtId = 2;
// 4 bytes: RTP timestamp of the burst's first packet, on every packet of the burst, so a receiver
// that lost the head of a burst knows how much of it is missing.
inline constexpr std::uint8_t kBurstStartExtId = 3;
// 8 bytes each: sender's monotonic clock at key-down (first packet) and key-up (last packet):
// talk-start latency and tail are measured from the press, not from the first captured sample.
inline constexpr std::uint8_t kKeyDownExtId = 4;
inline constexpr std::uint8_t kKeyUpExtId = 5;

struct RtpHeader {
  bool marker = false;
  std::uint8_t payload_type = kOpusPayloadType;
  std::uint16_t sequence = 0;
  std::uint32_t timestamp = 0;
  std::uint32_t ssrc = 0;
  bool operator==(const RtpHeader&) const = default;
};

struct RtpExtras {
  std::optional<std::uint64_t> capture_time_us;
  bool end_of_burst = false;
  bool repeat = false;  // a repeat of the burst's end packet (burst flags bit 1)
  std::uint8_t repeat_distance = 0;  // repeats: the original's sequence number is this much lower (0-63)
  static constexpr std::uint8_t kMaxRepeatDistance = 63;
  std::optional<std::uint32_t> burst_start_ts;
  std::optional<std::uint64_t> key_down_us;
  std::optional<std::uint64_t> key_up_us;
  bool operator==(const RtpExtras&) const = default;
  bool any() const noexcept {
    return capture_time_us || end_of_burst || repeat || burst_start_ts || key_down_us || key_up_us;
  }
};

struct RtpPacket {
  RtpHeader header;
  std::uint8_t csrc_count = 0;
  RtpExtras extras;
  std::span<const std::byte> payload;  // views the parsed datagram, padding excluded
};

enum class ParseError {
  too_short,
  bad_version,
  csrc_truncated,
  extension_truncated,
  bad_extension_element,
  bad_padding,
};
inline constexpr std::size_t kParseErrorCount =
    static_cast<std::size_t>(ParseError::bad_padding) + 1;

const char* to_string(ParseError error) noexcept;

struct ParseResult {
  std::optional<RtpPacket> packet;
  ParseError error{};  // meaningful only when packet is empty
  explicit operator bool() const noexcept { return packet.has_value(); }
};

// Checks each layer before reading it; never reads outside `datagram`. An empty payload is not
// an error: whether that is acceptable is the receiver's decision.
ParseResult parse(std::span<const std::byte> datagram) noexcept;

// Per-error rejection counts, so dropped packets are visible in metrics rather than silent.
struct ParseCounters {
  std::array<std::uint64_t, kParseErrorCount> by_error{};
  std::uint64_t total() const noexcept;
  void record(ParseError error) noexcept;
};

// Serialises into a buffer sized once to the largest datagram; each write overwrites the last,
// so the returned view is valid until the next write or the writer's destruction.
class RtpWriter {
 public:
  // Returns the datagram, or an empty span if it would exceed kMaxDatagram or payload_type does
  // not fit its 7 bits. No CSRCs, no padding; the extension block only when extras.any().
  // `payload` must not view this writer's own buffer (it is overwritten while copying).
  std::span<const std::byte> write(const RtpHeader& header, const RtpExtras& extras,
                                   std::span<const std::byte> payload) noexcept;

 private:
  std::array<std::byte, kMaxDatagram> buffer_{};
};

}  // namespace pttcam::rtp
