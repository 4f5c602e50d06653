#pragma once
// A browser's offer picks the payload-type numbers of a call (Opus, RED), and the answer keeps
// them (RFC 3264 §6.1), while the camera's media engine speaks its own fixed numbers. Each call's
// RTP is rewritten at the door, both ways: the packet's payload type and, inside RFC 2198 RED, each
// block's. Pure code on a datagram in place; a packet too short for what its header says is left
// as it is (the receiver drops and counts it).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace pttcam::webrtc {

struct PayloadTypes {
  std::uint8_t opus = 0;
  std::optional<std::uint8_t> red;  // none: RED is not spoken on this side
};

// Rewrites `from`'s numbers to `to`'s in one RTP datagram. False when the packet was not rewritten
// whole (too short, a RED header running past the end).
bool remap_payload_types(std::span<std::byte> rtp, const PayloadTypes& from, const PayloadTypes& to);

}  // namespace pttcam::webrtc
