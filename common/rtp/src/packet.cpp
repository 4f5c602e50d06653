#include "pttcam/rtp/packet.hpp"
#include "pttcam/net/byte_order.hpp"

#include <algorithm>
#include <numeric>

namespace pttcam::rtp {

namespace {

constexpr std::size_t kFixedHeaderSize = 12;
constexpr std::size_t kCsrcSize = 4;
constexpr std::size_t kExtensionHeaderSize = 4;
constexpr std::size_t kWordSize = 4;
constexpr std::uint8_t kVersion = 2;
constexpr std::uint8_t kPaddingBit = 0x20;
constexpr std::uint8_t kExtensionBit = 0x10;
constexpr std::uint8_t kMarkerBit = 0x80;
constexpr std::uint8_t kOneByteStopId = 15;  // RFC 8285: stop processing the block here
constexpr std::size_t kCaptureTimeSize = 8;
constexpr std::size_t kBurstFlagsSize = 1;
constexpr std::size_t kBurstStartSize = 4;
constexpr std::size_t kKeyTimeSize = 8;
constexpr std::byte kEndOfBurstBit{0x01};
constexpr std::byte kRepeatBit{0x02};

using net::read_be;
using net::u8;
using net::write_be;

// Walks one-byte elements; only our ids with their exact lengths are taken, everything else
// (other ids, our ids with another length) is ignored so peers can add elements freely.
bool parse_one_byte_elements(std::span<const std::byte> block, RtpExtras& extras) {
  std::size_t at = 0;
  while (at < block.size()) {
    const std::uint8_t id = u8(block, at) >> 4;
    if (id == 0) {  // padding byte
      ++at;
      continue;
    }
    if (id == kOneByteStopId) break;
    const std::size_t length = (u8(block, at) & 0x0f) + 1u;
    if (length > block.size() - at - 1) return false;
    const auto value = block.subspan(at + 1, length);
    if (id == kCaptureTimeExtId && length == kCaptureTimeSize)
      extras.capture_time_us = read_be(value, 0, kCaptureTimeSize);
    else if (id == kBurstFlagsExtId && length == kBurstFlagsSize) {
      extras.end_of_burst = (value[0] & kEndOfBurstBit) != std::byte{0};
      extras.repeat = (value[0] & kRepeatBit) != std::byte{0};
      extras.repeat_distance = extras.repeat ? static_cast<std::uint8_t>(std::to_integer<std::uint8_t>(value[0]) >> 2) : 0;
    }
    else if (id == kBurstStartExtId && length == kBurstStartSize)
      extras.burst_start_ts = static_cast<std::uint32_t>(read_be(value, 0, kBurstStartSize));
    else if (id == kKeyDownExtId && length == kKeyTimeSize)
      extras.key_down_us = read_be(value, 0, kKeyTimeSize);
    else if (id == kKeyUpExtId && length == kKeyTimeSize)
      extras.key_up_us = read_be(value, 0, kKeyTimeSize);
    at += 1 + length;
  }
  return true;
}

std::size_t extension_body_size(const RtpExtras& extras) {
  std::size_t size = 0;
  if (extras.capture_time_us) size += 1 + kCaptureTimeSize;
  if (extras.end_of_burst || extras.repeat) size += 1 + kBurstFlagsSize;
  if (extras.burst_start_ts) size += 1 + kBurstStartSize;
  if (extras.key_down_us) size += 1 + kKeyTimeSize;
  if (extras.key_up_us) size += 1 + kKeyTimeSize;
  return (size + kWordSize - 1) / kWordSize * kWordSize;
}

}  // namespace

const char* to_string(ParseError error) noexcept {
  switch (error) {
    case ParseError::too_short: return "too_short";
    case ParseError::bad_version: return "bad_version";
    case ParseError::csrc_truncated: return "csrc_truncated";
    case ParseError::extension_truncated: return "extension_truncated";
    case ParseError::bad_extension_element: return "bad_extension_element";
    case ParseError::bad_padding: return "bad_padding";
  }
  return "unknown";
}

ParseResult parse(std::span<const std::byte> datagram) noexcept {
  const auto fail = [](ParseError error) { return ParseResult{std::nullopt, error}; };
  if (datagram.size() < kFixedHeaderSize) return fail(ParseError::too_short);
  const std::uint8_t first = u8(datagram, 0);
  if ((first >> 6) != kVersion) return fail(ParseError::bad_version);

  RtpPacket packet;
  packet.csrc_count = first & 0x0f;
  packet.header.marker = (u8(datagram, 1) & kMarkerBit) != 0;
  packet.header.payload_type = u8(datagram, 1) & 0x7f;
  packet.header.sequence = static_cast<std::uint16_t>(read_be(datagram, 2, 2));
  packet.header.timestamp = static_cast<std::uint32_t>(read_be(datagram, 4, 4));
  packet.header.ssrc = static_cast<std::uint32_t>(read_be(datagram, 8, 4));

  std::size_t offset = kFixedHeaderSize + packet.csrc_count * kCsrcSize;
  if (offset > datagram.size()) return fail(ParseError::csrc_truncated);

  if ((first & kExtensionBit) != 0) {
    if (datagram.size() - offset < kExtensionHeaderSize)
      return fail(ParseError::extension_truncated);
    const auto profile = read_be(datagram, offset, 2);
    const std::size_t length = read_be(datagram, offset + 2, 2) * kWordSize;
    offset += kExtensionHeaderSize;
    if (datagram.size() - offset < length) return fail(ParseError::extension_truncated);
    // Other profiles (e.g. RFC 8285 two-byte) carry nothing of ours: skip them as valid.
    if (profile == kOneByteProfile &&
        !parse_one_byte_elements(datagram.subspan(offset, length), packet.extras))
      return fail(ParseError::bad_extension_element);
    offset += length;
  }

  std::size_t end = datagram.size();
  if ((first & kPaddingBit) != 0) {
    // The count byte is itself padding, so it must lie after the headers: count in [1, rest].
    const std::size_t count = offset < end ? u8(datagram, end - 1) : 0;
    if (count == 0 || count > end - offset) return fail(ParseError::bad_padding);
    end -= count;
  }
  packet.payload = datagram.subspan(offset, end - offset);
  return ParseResult{packet, ParseError{}};
}

std::uint64_t ParseCounters::total() const noexcept {
  return std::accumulate(by_error.begin(), by_error.end(), std::uint64_t{0});
}

void ParseCounters::record(ParseError error) noexcept {
  const auto index = static_cast<std::size_t>(error);
  if (index < by_error.size()) ++by_error[index];
}

std::span<const std::byte> RtpWriter::write(const RtpHeader& header, const RtpExtras& extras,
                                            std::span<const std::byte> payload) noexcept {
  if (header.payload_type > 0x7f) return {};
  const std::size_t body = extension_body_size(extras);
  const std::size_t headers = kFixedHeaderSize + (extras.any() ? kExtensionHeaderSize + body : 0);
  if (payload.size() > kMaxDatagram - headers) return {};

  const std::span<std::byte> out(buffer_);
  out[0] = std::byte{kVersion << 6} | (extras.any() ? std::byte{kExtensionBit} : std::byte{0});
  out[1] = static_cast<std::byte>((header.marker ? kMarkerBit : 0) | header.payload_type);
  write_be(out, 2, header.sequence, 2);
  write_be(out, 4, header.timestamp, 4);
  write_be(out, 8, header.ssrc, 4);

  std::size_t at = kFixedHeaderSize;
  if (extras.any()) {
    write_be(out, at, kOneByteProfile, 2);
    write_be(out, at + 2, body / kWordSize, 2);
    at += kExtensionHeaderSize;
    const std::size_t body_end = at + body;
    if (extras.capture_time_us) {
      out[at++] = static_cast<std::byte>(kCaptureTimeExtId << 4 | (kCaptureTimeSize - 1));
      write_be(out, at, *extras.capture_time_us, kCaptureTimeSize);
      at += kCaptureTimeSize;
    }
    if (extras.end_of_burst || extras.repeat) {
      out[at++] = static_cast<std::byte>(kBurstFlagsExtId << 4 | (kBurstFlagsSize - 1));
      const auto distance = extras.repeat ? std::min(extras.repeat_distance, RtpExtras::kMaxRepeatDistance) : 0;
      out[at++] = (extras.end_of_burst ? kEndOfBurstBit : std::byte{0}) | (extras.repeat ? kRepeatBit : std::byte{0}) |
                  static_cast<std::byte>(distance << 2);
    }
    const auto element = [&](std::uint8_t id, std::uint64_t value, std::size_t size) {
      out[at++] = static_cast<std::byte>(id << 4 | (size - 1));
      write_be(out, at, value, size);
      at += size;
    };
    if (extras.burst_start_ts) element(kBurstStartExtId, *extras.burst_start_ts, kBurstStartSize);
    if (extras.key_down_us) element(kKeyDownExtId, *extras.key_down_us, kKeyTimeSize);
    if (extras.key_up_us) element(kKeyUpExtId, *extras.key_up_us, kKeyTimeSize);
    std::fill(out.begin() + static_cast<std::ptrdiff_t>(at),
              out.begin() + static_cast<std::ptrdiff_t>(body_end), std::byte{0});
    at = body_end;
  }
  std::copy(payload.begin(), payload.end(), out.begin() + static_cast<std::ptrdiff_t>(at));
  return out.first(at + payload.size());
}

}  // namespace pttcam::rtp
