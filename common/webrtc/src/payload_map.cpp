#include "pttcam/webrtc/payload_map.hpp"

namespace pttcam::webrtc {
namespace {

constexpr std::size_t kFixedHeader = 12;

std::size_t u8(std::span<const std::byte> b, std::size_t at) { return std::to_integer<std::size_t>(b[at]); }

// Where an RTP packet's payload starts: after its CSRCs and header extension; nullopt when the
// packet is shorter than that (RFC 3550 §5.1, §5.3.1).
std::optional<std::size_t> payload_offset(std::span<const std::byte> rtp) {
  if (rtp.size() < kFixedHeader) return std::nullopt;
  std::size_t at = kFixedHeader + 4 * (u8(rtp, 0) & 0x0f);
  if (u8(rtp, 0) & 0x10) {
    if (rtp.size() < at + 4) return std::nullopt;
    at += 4 + 4 * ((u8(rtp, at + 2) << 8) | u8(rtp, at + 3));
  }
  if (rtp.size() < at) return std::nullopt;
  return at;
}

// The RED block headers (RFC 2198 §3): 4 bytes each while F is set, then one byte for the primary.
bool remap_red_blocks(std::span<std::byte> rtp, std::size_t at, std::uint8_t from, std::uint8_t to) {
  while (at < rtp.size()) {
    const auto first = u8(rtp, at);
    if ((first & 0x7f) == from) rtp[at] = static_cast<std::byte>((first & 0x80) | to);
    if (!(first & 0x80)) return true;
    at += 4;
  }
  return false;
}

}  // namespace

bool remap_payload_types(std::span<std::byte> rtp, const PayloadTypes& from, const PayloadTypes& to) {
  const auto at = payload_offset(rtp);
  if (!at) return false;
  const auto marker = u8(rtp, 1) & 0x80;
  const auto pt = u8(rtp, 1) & 0x7f;
  if (pt == from.opus) {
    rtp[1] = static_cast<std::byte>(marker | to.opus);
    return true;
  }
  if (!from.red || pt != *from.red || !to.red) return true;  // not ours to rename: the receiver decides
  rtp[1] = static_cast<std::byte>(marker | *to.red);
  return remap_red_blocks(rtp, *at, from.opus, to.opus);
}

}  // namespace pttcam::webrtc
