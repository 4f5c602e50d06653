#pragma once
// The live-view control protocol (docs/protocol.md). Messages share the media port with RTP and
// are told apart by their first byte (RFC 7983 style): RTP starts with 128..191, ours with 0x50.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

namespace pttcam::control {

inline constexpr std::uint8_t kMagic = 0x50;  // 'P': in RFC 7983's unassigned range 80..127
// Version 2: 64-bit random session ids, and START answered by a RETRY with a cookie before any
// session (version 1 had 32-bit ids counting from 1 and opened a session for any START).
inline constexpr std::uint8_t kVersion = 2;
inline constexpr std::size_t kHeaderSize = 18;
inline constexpr std::size_t kMaxMessage = 512;
inline constexpr std::size_t kMaxIdLength = 64;  // camera ids / serials

enum class MessageType : std::uint8_t {
  live_view_start = 0x01,  // client -> camera
  accept = 0x02,           // camera -> client
  reject = 0x03,           // camera -> client
  session_end = 0x04,      // camera -> client (and client -> camera: client_stopped)
  session_warning = 0x05,  // camera -> client
  talk_request = 0x06,     // client -> camera
  talk_granted = 0x07,     // camera -> client
  talk_denied = 0x08,      // camera -> client
  talk_release = 0x09,     // client -> camera
  keepalive = 0x0a,        // both ways
  retry = 0x0b,            // camera -> client: repeat START with this cookie
};

enum class RejectReason : std::uint8_t { busy = 1, unknown_camera = 2, unsupported_version = 3, booting = 4, pairing_required = 5 };
enum class EndReason : std::uint8_t {
  time_limit = 1,
  client_stopped = 2,
  camera_shutdown = 3,
  keepalive_timeout = 4,
  camera_rebooted = 5,
};
enum class DenyReason : std::uint8_t { no_speaker = 1, speaker_busy = 2, session_ending = 3, no_session = 4 };

// Capability bits carried in ACCEPT.
inline constexpr std::uint8_t kCapSpeaker = 0x01;
inline constexpr std::uint8_t kCapMicrophone = 0x02;

// What the camera hands an unvalidated client in RETRY and gets back in its next START: a MAC over
// the client's address, port and a time slot under a key only the camera process holds. It proves
// the client receives at the address it sends from (no spoofed source) without the camera keeping
// any state for it. On the wire: a length byte (0 or kCookieSize), then the bytes.
inline constexpr std::size_t kCookieSize = 16;
struct Cookie {
  bool present = false;
  std::array<std::byte, kCookieSize> bytes{};
  bool operator==(const Cookie&) const = default;
};

struct LiveViewStart {
  std::string camera_id;  // empty: whichever camera answers
  Cookie cookie;          // absent on the first START; the one from RETRY after it
  bool operator==(const LiveViewStart&) const = default;
};
struct Accept {
  std::uint32_t session_limit_ms = 0;
  std::uint32_t remaining_ms = 0;
  std::uint16_t keepalive_interval_ms = 0;
  std::uint8_t capabilities = 0;
  std::uint32_t boot_id = 0;  // changes at every camera boot: a client sees a power cycle
  std::string model;
  std::string serial;
  bool operator==(const Accept&) const = default;
};
struct Reject {
  RejectReason reason{};
  std::uint8_t camera_version = kVersion;  // what the camera speaks (for unsupported_version)
  bool operator==(const Reject&) const = default;
};
struct SessionEnd {
  EndReason reason{};
  bool operator==(const SessionEnd&) const = default;
};
struct SessionWarning {
  std::uint32_t remaining_ms = 0;
  bool operator==(const SessionWarning&) const = default;
};
struct TalkRequest {
  std::uint32_t burst = 0;  // client's burst counter: a retransmitted request repeats it
  bool operator==(const TalkRequest&) const = default;
};
struct TalkGranted {
  std::uint32_t burst = 0;
  bool operator==(const TalkGranted&) const = default;
};
struct TalkDenied {
  std::uint32_t burst = 0;
  DenyReason reason{};
  bool operator==(const TalkDenied&) const = default;
};
struct TalkRelease {
  std::uint32_t burst = 0;
  bool operator==(const TalkRelease&) const = default;
};
struct Keepalive {
  std::uint32_t remaining_ms = 0;  // camera -> client: time left in the session; client: 0
  bool operator==(const Keepalive&) const = default;
};
struct Retry {
  Cookie cookie;  // always present
  bool operator==(const Retry&) const = default;
};

using Body = std::variant<LiveViewStart, Accept, Reject, SessionEnd, SessionWarning, TalkRequest, TalkGranted,
                          TalkDenied, TalkRelease, Keepalive, Retry>;

struct Message {
  std::uint8_t version = kVersion;
  std::uint64_t session_id = 0;  // 0 before ACCEPT; random (CSPRNG) and never 0 after
  std::uint32_t sequence = 0;    // per sender, +1 per message
  Body body;
  bool operator==(const Message&) const = default;
};

MessageType type_of(const Body& body) noexcept;
const char* to_string(MessageType) noexcept;
const char* to_string(RejectReason) noexcept;
const char* to_string(EndReason) noexcept;
const char* to_string(DenyReason) noexcept;

}  // namespace pttcam::control
