#include "pttcam/session/start_cookies.hpp"

#include <algorithm>
#include <array>
#include <cstddef>


namespace pttcam::session {

namespace {

// family (1) | address (16, v4 mapped into the first 4) | port (2) | slot (8)
using Input = std::array<std::byte, 27>;

Input cookie_input(const Peer& peer, std::int64_t slot) {
  Input in{};
  const auto endpoint = net::to_bytes(peer);
  std::copy(endpoint.begin(), endpoint.end(), in.begin());
  const auto s = static_cast<std::uint64_t>(slot);
  for (std::size_t i = 0; i < 8; ++i) in[19 + i] = std::byte{static_cast<unsigned char>(s >> (56 - 8 * i))};
  return in;
}

}  // namespace

control::Cookie StartCookies::for_slot(const Peer& peer, std::int64_t slot) const {
  control::Cookie c;
  c.present = true;
  static_assert(control::kCookieSize == secure::ProcessMac::kTagSize);
  c.bytes = mac_.tag(cookie_input(peer, slot));
  return c;
}

control::Cookie StartCookies::issue(const Peer& peer, Micros now) const { return for_slot(peer, now / kSlotUs); }

bool StartCookies::valid(const control::Cookie& cookie, const Peer& peer, Micros now) const {
  if (!cookie.present) return false;
  const std::int64_t slot = now / kSlotUs;
  return mac_.verify(cookie_input(peer, slot), cookie.bytes) || mac_.verify(cookie_input(peer, slot - 1), cookie.bytes);
}

}  // namespace pttcam::session
