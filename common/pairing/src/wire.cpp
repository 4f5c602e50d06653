#include "pttcam/pairing/wire.hpp"

#include <algorithm>
#include <optional>

namespace pttcam::pairing {

namespace {

enum class Type : std::uint8_t { hello = 1, ready = 2, locked = 3, busy = 4, request = 5, accept = 6 };

bool is_id_char(std::byte b) noexcept {
  const auto c = std::to_integer<char>(b);
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

std::size_t body_size(Type t) noexcept {
  switch (t) {
    case Type::locked: return 4;
    case Type::request:
    case Type::accept: return kIdSize;
    default: return 0;
  }
}

Decoded bad(DecodeError e) noexcept {
  Decoded d;
  d.status = Decoded::Status::bad;
  d.error = e;
  return d;
}

// The header's fields as far as `bytes` has them: bad as soon as one is wrong.
std::optional<DecodeError> check_header(std::span<const std::byte> bytes) noexcept {
  const auto magic = bytes.first(std::min(bytes.size(), kMagic.size()));
  if (!std::ranges::equal(magic, std::span(kMagic).first(magic.size()))) return DecodeError::bad_magic;
  if (bytes.size() > 4 && std::to_integer<std::uint8_t>(bytes[4]) != kVersion) return DecodeError::bad_version;
  if (bytes.size() > 5) {
    const auto type = std::to_integer<std::uint8_t>(bytes[5]);
    if (type < 1 || type > 6) return DecodeError::unknown_type;
  }
  if (bytes.size() >= kHeaderSize) {
    const std::size_t length = std::to_integer<std::size_t>(bytes[6]) << 8 | std::to_integer<std::size_t>(bytes[7]);
    if (length != body_size(static_cast<Type>(std::to_integer<std::uint8_t>(bytes[5])))) return DecodeError::bad_length;
  }
  return std::nullopt;
}

Message body_of(Type type, std::span<const std::byte> body) {
  const auto text = [&] {
    std::string s(body.size(), '\0');
    std::ranges::transform(body, s.begin(), [](std::byte b) { return std::to_integer<char>(b); });
    return s;
  };
  switch (type) {
    case Type::hello: return Hello{};
    case Type::ready: return Ready{};
    case Type::busy: return Busy{};
    case Type::locked: {
      std::uint32_t s = 0;
      for (const auto b : body) s = s << 8 | std::to_integer<std::uint32_t>(b);
      return Locked{s};
    }
    case Type::request: return Request{text()};
    case Type::accept: break;
  }
  return Accept{text()};
}

}  // namespace

const char* to_string(DecodeError e) noexcept {
  switch (e) {
    case DecodeError::bad_magic: return "not a pairing message";
    case DecodeError::bad_version: return "unknown pairing version";
    case DecodeError::unknown_type: return "unknown message type";
    case DecodeError::bad_length: return "wrong body length";
    case DecodeError::bad_id: return "an id that is not 32 hex characters";
  }
  return "?";
}

Decoded decode(std::span<const std::byte> bytes) noexcept {
  if (const auto e = check_header(bytes)) return bad(*e);
  if (bytes.size() < kHeaderSize) return {};
  const auto type = static_cast<Type>(std::to_integer<std::uint8_t>(bytes[5]));
  const std::size_t size = kHeaderSize + body_size(type);
  if (bytes.size() < size) return {};
  const auto body = bytes.subspan(kHeaderSize, size - kHeaderSize);
  if ((type == Type::request || type == Type::accept) && !std::ranges::all_of(body, is_id_char))
    return bad(DecodeError::bad_id);
  Decoded d;
  d.status = Decoded::Status::complete;
  d.size = size;
  try {
    d.message = body_of(type, body);
  } catch (...) {  // a 32-character string cannot fail to allocate in practice; stay noexcept anyway
    return bad(DecodeError::bad_id);
  }
  return d;
}

std::span<const std::byte> MessageWriter::write(const Message& message) {
  std::size_t at = 0;
  const auto put = [&](std::byte b) { buffer_[at++] = b; };
  for (const auto b : kMagic) put(b);
  put(std::byte{kVersion});
  put(static_cast<std::byte>(message.index() + 1));
  const auto type = static_cast<Type>(message.index() + 1);
  const std::size_t length = body_size(type);
  put(static_cast<std::byte>(length >> 8));
  put(static_cast<std::byte>(length));
  if (const auto* l = std::get_if<Locked>(&message))
    for (int shift = 24; shift >= 0; shift -= 8) put(static_cast<std::byte>(l->seconds >> shift));
  const std::string* id = nullptr;
  if (const auto* r = std::get_if<Request>(&message)) id = &r->client_id;
  if (const auto* a = std::get_if<Accept>(&message)) id = &a->camera_id;
  if (id) {
    // An id of the wrong length would break the framing: pad or cut to kIdSize ('0's never decode
    // as someone else's id by accident; callers pass valid ids).
    for (std::size_t i = 0; i < kIdSize; ++i) put(static_cast<std::byte>(i < id->size() ? (*id)[i] : '0'));
  }
  return std::span<const std::byte>(buffer_.data(), at);
}

}  // namespace pttcam::pairing
