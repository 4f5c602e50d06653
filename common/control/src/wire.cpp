#include "pttcam/control/wire.hpp"
#include "pttcam/net/byte_order.hpp"

#include <algorithm>
#include <concepts>
#include <numeric>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace pttcam::control {

namespace {

constexpr std::size_t kVersionAt = 1;
constexpr std::size_t kTypeAt = 2;
constexpr std::size_t kFlagsAt = 3;
constexpr std::size_t kSessionIdAt = 4;
constexpr std::size_t kSequenceAt = 12;
constexpr std::size_t kBodyLengthAt = 16;
constexpr std::size_t kVersionProbeSize = 4;  // magic, version, type, flags: the same in every version

using net::read_be;
using net::u8;
using net::write_be;

bool printable(unsigned value) { return value >= 0x20 && value <= 0x7e; }

// Every reason enum is numbered 1..last without gaps.
constexpr auto last(RejectReason) { return RejectReason::pairing_required; }
constexpr auto last(EndReason) { return EndReason::camera_rebooted; }
constexpr auto last(DenyReason) { return DenyReason::no_session; }

template <typename E>
bool defined(E value) {
  const auto raw = static_cast<std::underlying_type_t<E>>(value);
  return raw >= 1 && raw <= static_cast<std::underlying_type_t<E>>(last(E{}));
}

// Reads body fields in order; the first failure sticks and stops all further reads.
class Reader {
 public:
  explicit Reader(std::span<const std::byte> body) : body_(body) {}

  template <std::unsigned_integral U>
  void operator()(U& value) {
    value = static_cast<U>(take(sizeof(U)));
  }
  template <typename E>
  requires std::is_enum_v<E>
  void operator()(E& value) {
    value = static_cast<E>(take(1));
    ok_ = ok_ && defined(value);
  }
  void operator()(std::string& text) {
    const std::size_t length = take(1);
    if (!ok_ || length > kMaxIdLength || length > body_.size() - at_) {
      ok_ = false;
      return;
    }
    const auto bytes = body_.subspan(at_, length);
    if (!std::ranges::all_of(bytes,
                             [](std::byte b) { return printable(std::to_integer<unsigned>(b)); })) {
      ok_ = false;
      return;
    }
    text.assign(reinterpret_cast<const char*>(bytes.data()), length);
    at_ += length;
  }
  void operator()(Cookie& cookie) {
    const std::size_t length = take(1);
    cookie.present = length != 0;
    if (!ok_ || (length != 0 && length != kCookieSize) || length > body_.size() - at_) {
      ok_ = false;
      return;
    }
    std::ranges::copy(body_.subspan(at_, length), cookie.bytes.begin());
    at_ += length;
  }
  // The fields must fill the body exactly: a longer body is not a newer, larger message.
  bool finished() const { return ok_ && at_ == body_.size(); }

 private:
  std::uint64_t take(std::size_t size) {
    if (!ok_ || size > body_.size() - at_) {
      ok_ = false;
      return 0;
    }
    const auto value = read_be(body_, at_, size);
    at_ += size;
    return value;
  }

  std::span<const std::byte> body_;
  std::size_t at_ = 0;
  bool ok_ = true;
};

// Writes body fields in order, refusing anything Reader would reject.
class Writer {
 public:
  Writer(std::span<std::byte> out, std::size_t at) : out_(out), at_(at) {}

  template <std::unsigned_integral U>
  void operator()(U value) {
    put(value, sizeof(U));
  }
  template <typename E>
  requires std::is_enum_v<E>
  void operator()(E value) {
    ok_ = ok_ && defined(value);
    put(static_cast<std::uint8_t>(value), 1);
  }
  void operator()(const std::string& text) {
    ok_ = ok_ && text.size() <= kMaxIdLength && std::ranges::all_of(text, [](char c) {
            return printable(static_cast<unsigned char>(c));
          });
    put(static_cast<std::uint8_t>(text.size()), 1);
    if (!ok_ || text.size() > out_.size() - at_) {
      ok_ = false;
      return;
    }
    std::ranges::transform(text, out_.begin() + static_cast<std::ptrdiff_t>(at_),
                           [](char c) { return static_cast<std::byte>(c); });
    at_ += text.size();
  }
  void operator()(const Cookie& cookie) {
    const std::size_t length = cookie.present ? kCookieSize : 0;
    put(static_cast<std::uint8_t>(length), 1);
    if (!ok_ || length > out_.size() - at_) {
      ok_ = false;
      return;
    }
    std::ranges::copy(std::span(cookie.bytes).first(length), out_.begin() + static_cast<std::ptrdiff_t>(at_));
    at_ += length;
  }
  bool ok() const { return ok_; }
  std::size_t position() const { return at_; }

 private:
  void put(std::uint32_t value, std::size_t size) {
    if (!ok_ || size > out_.size() - at_) {
      ok_ = false;
      return;
    }
    write_be(out_, at_, value, size);
    at_ += size;
  }

  std::span<std::byte> out_;
  std::size_t at_;
  bool ok_ = true;
};

// The one field list per body, shared by Reader (mutable body) and Writer (const body), so the
// two directions cannot drift apart. Order is wire order.
template <typename Io, typename B>
void fields(Io& io, B& b) {
  using T = std::remove_const_t<B>;
  if constexpr (std::is_same_v<T, LiveViewStart>) {
    io(b.camera_id);
    io(b.cookie);
  } else if constexpr (std::is_same_v<T, Retry>) {
    io(b.cookie);
  } else if constexpr (std::is_same_v<T, Accept>) {
    io(b.session_limit_ms);
    io(b.remaining_ms);
    io(b.keepalive_interval_ms);
    io(b.capabilities);
    io(b.boot_id);
    io(b.model);
    io(b.serial);
  } else if constexpr (std::is_same_v<T, Reject>) {
    io(b.reason);
    io(b.camera_version);
  } else if constexpr (std::is_same_v<T, SessionEnd>) {
    io(b.reason);
  } else if constexpr (std::is_same_v<T, SessionWarning> || std::is_same_v<T, Keepalive>) {
    io(b.remaining_ms);
  } else if constexpr (std::is_same_v<T, TalkDenied>) {
    io(b.burst);
    io(b.reason);
  } else {
    static_assert(std::is_same_v<T, TalkRequest> || std::is_same_v<T, TalkGranted> ||
                  std::is_same_v<T, TalkRelease>);
    io(b.burst);
  }
}

// Emplaces the alternative at `index` (type - 1, see messages.cpp) and reads its fields.
template <std::size_t... I>
void read_body(std::size_t index, Reader& reader, Body& body, std::index_sequence<I...>) {
  (void)((index == I ? (fields(reader, body.emplace<I>()), true) : false) || ...);
}

}  // namespace

const char* to_string(DecodeError error) noexcept {
  switch (error) {
    case DecodeError::too_short: return "too_short";
    case DecodeError::bad_magic: return "bad_magic";
    case DecodeError::unsupported_version: return "unsupported_version";
    case DecodeError::bad_flags: return "bad_flags";
    case DecodeError::auth_unsupported: return "auth_unsupported";
    case DecodeError::unknown_type: return "unknown_type";
    case DecodeError::bad_length: return "bad_length";
    case DecodeError::bad_body: return "bad_body";
  }
  return "unknown";
}

DecodeResult decode(std::span<const std::byte> datagram) noexcept {
  DecodeResult result;
  const auto fail = [&result](DecodeError error) {
    result.error = error;
    return result;
  };
  if (datagram.size() < kVersionProbeSize) return fail(DecodeError::too_short);
  if (u8(datagram, 0) != kMagic) return fail(DecodeError::bad_magic);
  result.version = u8(datagram, kVersionAt);
  if (result.version != kVersion) return fail(DecodeError::unsupported_version);
  if (datagram.size() < kHeaderSize) return fail(DecodeError::too_short);
  result.session_id = read_be(datagram, kSessionIdAt, 8);
  result.sequence = static_cast<std::uint32_t>(read_be(datagram, kSequenceAt, 4));

  const std::uint8_t flags = u8(datagram, kFlagsAt);
  if ((flags & ~kFlagAuthTag) != 0) return fail(DecodeError::bad_flags);
  if ((flags & kFlagAuthTag) != 0) return fail(DecodeError::auth_unsupported);
  const std::uint8_t type = u8(datagram, kTypeAt);
  if (type == 0 || type > std::variant_size_v<Body>) return fail(DecodeError::unknown_type);
  if (read_be(datagram, kBodyLengthAt, 2) != datagram.size() - kHeaderSize)
    return fail(DecodeError::bad_length);

  Message message{.version = result.version,
                  .session_id = result.session_id,
                  .sequence = result.sequence,
                  .body = {}};
  Reader reader(datagram.subspan(kHeaderSize));
  read_body(type - 1u, reader, message.body, std::make_index_sequence<std::variant_size_v<Body>>{});
  if (!reader.finished()) return fail(DecodeError::bad_body);
  result.message = std::move(message);
  return result;
}

std::uint64_t DecodeCounters::total() const noexcept {
  return std::accumulate(by_error.begin(), by_error.end(), std::uint64_t{0});
}

void DecodeCounters::record(DecodeError error) noexcept {
  const auto index = static_cast<std::size_t>(error);
  if (index < by_error.size()) ++by_error[index];
}

std::span<const std::byte> MessageWriter::write(const Message& message) noexcept {
  if (message.body.valueless_by_exception()) return {};
  const std::span<std::byte> out(buffer_);
  out[0] = std::byte{kMagic};
  out[kVersionAt] = std::byte{message.version};
  out[kTypeAt] = static_cast<std::byte>(type_of(message.body));
  out[kFlagsAt] = std::byte{0};
  write_be(out, kSessionIdAt, message.session_id, 8);
  write_be(out, kSequenceAt, message.sequence, 4);

  Writer writer(out, kHeaderSize);
  std::visit([&writer](const auto& body) { fields(writer, body); }, message.body);
  if (!writer.ok()) return {};
  write_be(out, kBodyLengthAt, static_cast<std::uint32_t>(writer.position() - kHeaderSize), 2);
  return out.first(writer.position());
}

}  // namespace pttcam::control
