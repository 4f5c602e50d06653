#pragma once
// Stateless cookies for LIVE_VIEW_START (as DTLS's HelloVerifyRequest and QUIC's Retry): the
// camera answers a START without a valid cookie with a small RETRY carrying
//
//   cookie = HMAC-SHA-256(process key, address family | address | port | time slot)[0..16)
//
// and opens a session only for a START that echoes it, from the same address and port. A
// spoofed source never sees its cookie, so it gets no session and no media; the camera keeps
// nothing per client. A cookie is valid in its time slot and the next one (kSlotUs to 2 kSlotUs).
// Pure apart from the key drawn at construction; one thread (the camera's io thread).
#include "pttcam/control/messages.hpp"
#include "pttcam/secure/mac.hpp"
#include "pttcam/session/output.hpp"

namespace pttcam::session {

class StartCookies {
 public:
  static constexpr Micros kSlotUs = 10'000'000;

  StartCookies() = default;  // a random key for this process
  explicit StartCookies(const secure::ProcessMac& mac) : mac_(mac) {}

  control::Cookie issue(const Peer& peer, Micros now) const;
  bool valid(const control::Cookie& cookie, const Peer& peer, Micros now) const;

 private:
  control::Cookie for_slot(const Peer& peer, std::int64_t slot) const;

  secure::ProcessMac mac_;
};

}  // namespace pttcam::session
