#pragma once
// Wire codec of the live-view control protocol (layout in docs/protocol.md). Pure code: no
// sockets; called per datagram on the network thread. Decoding allocates only for strings longer
// than the library's small-string buffer; writing never allocates.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "pttcam/control/messages.hpp"

namespace pttcam::control {

// Header flags (byte 3). Bit 0 is reserved for an authentication tag after the body (pairing and
// encryption come later); version 1 always sends 0 and rejects it. Other bits must be 0.
inline constexpr std::uint8_t kFlagAuthTag = 0x01;

// Control datagrams start with kMagic; RTP/RTCP with 128..191 (RFC 7983), so one byte tells a
// receiver which parser a datagram on the shared port belongs to.
inline bool is_control(std::span<const std::byte> datagram) noexcept {
  return !datagram.empty() && datagram.front() == std::byte{kMagic};
}

// In the order decode() checks them.
enum class DecodeError {
  too_short,            // fewer than kHeaderSize bytes
  bad_magic,            // first byte is not kMagic
  unsupported_version,  // `version` in DecodeResult is valid: answer REJECT
  bad_flags,            // a flag bit this version does not define
  auth_unsupported,     // kFlagAuthTag set: version 1 has no authentication
  unknown_type,
  bad_length,  // datagram size differs from header + body length
  bad_body,    // body fields do not fill the body exactly, bad string or enum value
};
inline constexpr std::size_t kDecodeErrorCount =
    static_cast<std::size_t>(DecodeError::bad_body) + 1;

const char* to_string(DecodeError error) noexcept;

struct DecodeResult {
  std::optional<Message> message;
  DecodeError error{};  // meaningful only when message is empty
  // `version` is filled once magic and version have been read (every version keeps bytes 0..3:
  // magic, version, type, flags); the ids once a whole header of this version has been read.
  std::uint8_t version = 0;
  std::uint64_t session_id = 0;
  std::uint32_t sequence = 0;
  explicit operator bool() const noexcept { return message.has_value(); }
};

// Checks each layer before reading it and never reads outside `datagram`. Accepts exactly what
// MessageWriter produces: any datagram that decodes re-encodes to the same bytes.
DecodeResult decode(std::span<const std::byte> datagram) noexcept;

// Per-error rejection counts, so dropped datagrams show in metrics rather than vanish.
struct DecodeCounters {
  std::array<std::uint64_t, kDecodeErrorCount> by_error{};
  std::uint64_t total() const noexcept;
  void record(DecodeError error) noexcept;
};

// Serialises into a buffer sized once; each write overwrites the last, so the returned view is
// valid until the next write or the writer's destruction.
class MessageWriter {
 public:
  // Writes message.version as given (flags 0). Returns an empty span if a string is longer than
  // kMaxIdLength or has a byte outside 0x20..0x7e, or a reason is not a defined enumerator:
  // nothing is sent that a receiver would reject as bad_body.
  std::span<const std::byte> write(const Message& message) noexcept;

 private:
  std::array<std::byte, kMaxMessage> buffer_{};
};

}  // namespace pttcam::control
