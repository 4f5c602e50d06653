#pragma once
// The camera's protected live views (docs/security.md): DTLS-PSK on the shared UDP port, one
// connection per client address. The front door answers a ClientHello without a valid cookie with
// a HelloVerifyRequest and keeps nothing; a cookie-checked ClientHello becomes a handshaking link;
// a link whose handshake proves a paired key carries the client's control messages (decrypted here)
// and keys its SRTP. At most kMaxLinks links exist; the oldest that carries no live view makes room.
// One thread (the camera's io thread).
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pttcam/net/address.hpp"
#include "pttcam/secure/dtls.hpp"

namespace pttcam::camera {

class SecureLinks {
 public:
  static constexpr std::size_t kMaxLinks = 8;
  static constexpr std::int64_t kHandshakeTimeoutUs = 10'000'000;  // a handshake that stalls this long is dropped

  using Send = std::function<void(std::span<const std::byte>, const net::Udp::endpoint&)>;
  struct Counters {
    std::uint64_t hello_verify_sent = 0, handshakes = 0, handshakes_failed = 0, records_dropped = 0,
                  srtp_rejected = 0, links_replaced = 0, links_evicted = 0;
  };
  struct Heard {
    std::vector<std::vector<std::byte>> control;  // the client's control messages, decrypted
    bool new_link = false;  // a handshake completed: a new connection from this address
    std::string client_id;  // who it is (the PSK identity), when new_link
    std::string failure;    // a handshake failed, and why
  };

  SecureLinks(std::string camera_id, secure::PskServerLookup lookup, Send send);

  // A DTLS datagram (first byte 20..63) from `from`.
  Heard on_datagram(std::span<const std::byte> datagram, const net::Udp::endpoint& from, std::int64_t now_us);
  // Encrypts a control message to `to`; false when no connected link goes there.
  bool send_control(std::span<const std::byte> message, const net::Udp::endpoint& to);
  // SRTP/SRTCP with the link's keys, in place; false (nothing to send / drop it) without a link or
  // when the packet fails authentication or replays.
  bool protect(std::vector<std::byte>& packet, bool rtcp, const net::Udp::endpoint& to);
  bool unprotect(std::vector<std::byte>& packet, bool rtcp, const net::Udp::endpoint& from);
  // The live view over this link ended: close_notify, and the link is gone (a new view, a new handshake).
  void close(const net::Udp::endpoint& peer);
  void clear();  // power cycle: every link forgotten, without a word
  // The live view's client: its link is the last one to make room for another.
  void keep(std::optional<net::Udp::endpoint> peer) { keep_ = std::move(peer); }
  // Retransmits handshake flights; drops stalled handshakes.
  void on_timer(std::int64_t now_us);
  bool handshaking() const noexcept;
  const Counters& counters() const noexcept { return counters_; }
  nlohmann::json summary() const;

 private:
  struct Link {
    net::Udp::endpoint peer;
    std::unique_ptr<secure::DtlsSrtp> dtls;
    std::int64_t since_us = 0;
    bool announced = false;  // its handshake completion was reported
  };
  Link* find(const net::Udp::endpoint& peer, bool connected);
  void flush(Link& link);
  void admit(std::unique_ptr<secure::DtlsSrtp> dtls, const net::Udp::endpoint& from, std::int64_t now_us);
  Heard hear(Link& link);

  secure::DtlsListener listener_;
  Send send_;
  std::vector<Link> links_;  // handshaking or connected, at most one per address
  std::optional<net::Udp::endpoint> keep_;
  Counters counters_;
};

}  // namespace pttcam::camera
