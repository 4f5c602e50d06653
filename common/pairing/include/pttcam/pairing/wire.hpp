#pragma once
// The pairing exchange's messages (docs/security.md, "Pairing"). Each is framed the same way:
//
//   "PTPR" (4) | version 1 (1) | type (1) | body length, big-endian (2) | body
//
// hello, ready, locked and busy travel in clear before the TLS-SRP handshake (they say only
// whether the camera takes an attempt now); request and accept travel inside it, one TLS record
// each. One encoding per message: a body of any other length is malformed.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <variant>

namespace pttcam::pairing {

inline constexpr std::array<std::byte, 4> kMagic{std::byte{'P'}, std::byte{'T'}, std::byte{'P'}, std::byte{'R'}};
inline constexpr std::uint8_t kVersion = 1;
inline constexpr std::size_t kHeaderSize = 8;
inline constexpr std::size_t kIdSize = 32;  // ids as 32 lowercase hex characters
inline constexpr std::size_t kMaxMessageSize = kHeaderSize + kIdSize;

struct Hello {};   // client -> camera: a pairing attempt, please
struct Ready {};   // camera -> client: the TLS-SRP handshake may start
struct Locked {    // camera -> client: too many wrong codes; try again in this many seconds
  std::uint32_t seconds = 0;
};
struct Busy {};    // camera -> client: another attempt is under way; try again in a moment
struct Request {   // client -> camera, inside TLS: the id the client will be known by
  std::string client_id;
};
struct Accept {    // camera -> client, inside TLS: the camera's id; both now hold the key
  std::string camera_id;
};
using Message = std::variant<Hello, Ready, Locked, Busy, Request, Accept>;

enum class DecodeError : std::uint8_t { bad_magic, bad_version, unknown_type, bad_length, bad_id };
inline constexpr std::size_t kDecodeErrorCount = 5;
const char* to_string(DecodeError e) noexcept;

struct Decoded {
  enum class Status : std::uint8_t { complete, incomplete, bad };
  Status status = Status::incomplete;
  Message message;
  std::size_t size = 0;  // bytes of the input the message took (complete only)
  DecodeError error = DecodeError::bad_magic;  // bad only
};

// The first message at the start of `bytes`: complete, incomplete (a prefix of one that could
// still be valid) or bad. Checks the header before the body, the body's length before its bytes.
Decoded decode(std::span<const std::byte> bytes) noexcept;

// Encodes into a buffer sized for the largest message; the span is valid until the next write.
class MessageWriter {
 public:
  std::span<const std::byte> write(const Message& message);

 private:
  std::array<std::byte, kMaxMessageSize> buffer_{};
};

}  // namespace pttcam::pairing
