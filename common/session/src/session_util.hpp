#pragma once
// Private helpers shared by the two session machines.
#include <algorithm>
#include <cstdint>
#include <limits>

#include "pttcam/control/messages.hpp"
#include "pttcam/session/output.hpp"

namespace pttcam::session::detail {

// The message types each side may send; a type arriving from the wrong side is ignored and counted.
inline bool sent_by_client(control::MessageType type) noexcept {
  using T = control::MessageType;
  return type == T::live_view_start || type == T::session_end || type == T::talk_request ||
         type == T::talk_release || type == T::keepalive;
}

inline bool sent_by_camera(control::MessageType type) noexcept {
  using T = control::MessageType;
  return type == T::accept || type == T::reject || type == T::session_end || type == T::session_warning ||
         type == T::talk_granted || type == T::talk_denied || type == T::keepalive || type == T::retry;
}

// Burst numbers count up by one per press and wrap from 0xFFFFFFFF to 0: compare them like
// sequence numbers, never with `<`. True when `a` comes after `b` (less than half the range ahead).
inline bool is_newer_burst(std::uint32_t a, std::uint32_t b) noexcept {
  return a != b && static_cast<std::uint32_t>(a - b) < 0x8000'0000u;
}

// Whole milliseconds, rounded down, clamped to [0, max of To]: what the wire's fields can carry.
template <typename To = std::uint32_t>
To to_ms(Micros us) noexcept {
  const Micros ms = std::clamp<Micros>(us / 1000, 0, std::numeric_limits<To>::max());
  return static_cast<To>(ms);
}

}  // namespace pttcam::session::detail
