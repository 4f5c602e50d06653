#pragma once
// RFC 2198 redundant audio: an RTP payload that carries, before the current frame (the primary
// block), copies of one or more earlier frames, each with its own payload type and how far back
// it lies in timestamp units. A receiver that lost an earlier packet plays its copy from the next
// one. Pure code: no allocation, never reads or writes outside the spans it is given.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace pttcam::rtp {

// WebRTC offers Opus redundancy as "red/48000/2" on payload type 63; pttcam uses the same number.
inline constexpr std::uint8_t kRedPayloadType = 63;
// Header field limits: 14-bit timestamp offset, 10-bit block length.
inline constexpr std::uint32_t kRedMaxTimestampOffset = (1u << 14) - 1;
inline constexpr std::size_t kRedMaxBlockBytes = (1u << 10) - 1;
// Redundant blocks a packet may carry; a payload with more is refused.
inline constexpr std::size_t kRedMaxBlocks = 4;

struct RedBlock {
  std::uint8_t payload_type = 0;
  std::uint32_t timestamp_offset = 0;  // how far before the packet's RTP timestamp; 0 for the primary
  std::span<const std::byte> data;
};

struct RedPayload {
  std::array<RedBlock, kRedMaxBlocks> redundant{};  // oldest first, as on the wire
  std::size_t redundant_count = 0;
  RedBlock primary;
  std::span<const RedBlock> copies() const noexcept { return {redundant.data(), redundant_count}; }
};

enum class RedError {
  truncated_header,  // the block headers run past the payload (or there is none)
  truncated_block,   // the block lengths add up to more than the payload
  too_many_blocks,   // more than kRedMaxBlocks redundant blocks
};
const char* to_string(RedError error) noexcept;

struct RedParseResult {
  std::optional<RedPayload> payload;
  RedError error{};  // meaningful only when payload is empty
  explicit operator bool() const noexcept { return payload.has_value(); }
};

// Views into `payload`. Checks every header and length before reading what it describes.
RedParseResult parse_red(std::span<const std::byte> payload) noexcept;

// Writes the redundant blocks (oldest first) and the primary into `out`; returns the bytes
// written, or 0 when a block breaks a header limit (offset, length), there are more than
// kRedMaxBlocks copies, or `out` is too small.
std::size_t write_red(std::span<const RedBlock> redundant, std::span<const std::byte> primary,
                      std::uint8_t primary_payload_type, std::span<std::byte> out) noexcept;

// The sender's side: remembers a burst's latest frames and wraps each new one with copies of up to
// `redundancy` of them. A burst never carries the one before it. No allocation after construction.
class RedPacker {
 public:
  static constexpr std::size_t kMaxRedundancy = 2;
  RedPacker(int redundancy, std::uint8_t primary_payload_type, std::uint8_t red_payload_type) noexcept;

  struct Packed {
    std::span<const std::byte> payload;  // valid until the next pack()
    std::uint8_t payload_type = 0;       // the primary's own type when no copies could be carried
    std::size_t copies = 0;
  };
  // `frame` has RTP timestamp `timestamp`; `first` starts a new burst; the payload takes at most
  // `room` bytes (a packet that would not fit goes without copies). With redundancy 0 the frame
  // passes through as it is.
  Packed pack(std::span<const std::byte> frame, std::uint32_t timestamp, bool first, std::size_t room) noexcept;

 private:
  struct Copy {
    std::array<std::byte, kRedMaxBlockBytes> data{};
    std::size_t size = 0;
    std::uint32_t timestamp = 0;
  };
  void remember(std::span<const std::byte> frame, std::uint32_t timestamp) noexcept;

  std::size_t redundancy_;
  std::uint8_t primary_pt_;
  std::uint8_t red_pt_;
  std::array<Copy, kMaxRedundancy> copies_{};  // oldest first
  std::size_t count_ = 0;
  std::array<std::byte, 1500> buffer_{};
};

// The receiver's side: where a copy carried in a packet belongs. A usable copy has the primary's
// payload type and duration and lies a whole number of frames (1..kRedMaxBlocks) back.
struct PlacedCopy {
  std::uint16_t sequence = 0;  // of the packet it stands in for (sequence numbers run per frame)
  std::uint32_t timestamp = 0;
  int frames_back = 0;
};
std::optional<PlacedCopy> place_copy(const RedBlock& copy, std::optional<int> copy_samples, std::uint8_t primary_payload_type,
                                     std::uint16_t primary_sequence, std::uint32_t primary_timestamp,
                                     int primary_samples) noexcept;

}  // namespace pttcam::rtp
