#include "pttcam/camera/secure_links.hpp"

#include <algorithm>

namespace pttcam::camera {
namespace {

constexpr std::int64_t kCookieSlotUs = 10'000'000;

// A DTLS record that opens a handshake: content type handshake (22), epoch 0, ClientHello (1).
bool is_client_hello(std::span<const std::byte> d) {
  return d.size() > 13 && d[0] == std::byte{22} && d[3] == std::byte{0} && d[4] == std::byte{0} && d[13] == std::byte{1};
}

}  // namespace

SecureLinks::SecureLinks(std::string camera_id, secure::PskServerLookup lookup, Send send)
    : listener_(std::move(camera_id), std::move(lookup)), send_(std::move(send)) {}

SecureLinks::Link* SecureLinks::find(const net::Udp::endpoint& peer, bool connected) {
  for (auto& l : links_) {
    if (l.peer != peer) continue;
    const bool up = l.dtls->state() == secure::DtlsSrtp::State::connected;
    if (!connected || up) return &l;
  }
  return nullptr;
}

void SecureLinks::flush(Link& link) {
  for (const auto& d : link.dtls->take_outgoing()) send_(d, link.peer);
}

SecureLinks::Heard SecureLinks::on_datagram(std::span<const std::byte> datagram, const net::Udp::endpoint& from,
                                            std::int64_t now_us) {
  Link* link = find(from, false);
  // A fresh ClientHello from an address whose link is up: that client starts over (a new live view,
  // or a restarted process on the same port). Only a cookie-checked one replaces the link.
  const bool start_over = link && link->dtls->state() == secure::DtlsSrtp::State::connected && is_client_hello(datagram);
  if (link && !start_over) {
    link->dtls->on_datagram(datagram);
    flush(*link);
    return hear(*link);
  }
  auto r = listener_.on_datagram(datagram, net::to_bytes(from), now_us / kCookieSlotUs);
  for (const auto& d : r.reply) {
    ++counters_.hello_verify_sent;
    send_(d, from);
  }
  if (!r.accepted) {
    if (r.reply.empty()) ++counters_.records_dropped;  // not a ClientHello, or not one we answer
    return {};
  }
  if (start_over) {
    ++counters_.links_replaced;
    std::erase_if(links_, [&](const Link& l) { return l.peer == from; });
  }
  admit(std::move(r.accepted), from, now_us);
  return hear(links_.back());
}

void SecureLinks::admit(std::unique_ptr<secure::DtlsSrtp> dtls, const net::Udp::endpoint& from, std::int64_t now_us) {
  if (links_.size() >= kMaxLinks) {
    // Make room: the oldest handshake first, else the oldest link.
    auto victim = std::find_if(links_.begin(), links_.end(),
                               [](const Link& l) { return l.dtls->state() != secure::DtlsSrtp::State::connected; });
    if (victim == links_.end())
      victim = std::find_if(links_.begin(), links_.end(), [&](const Link& l) { return !keep_ || l.peer != *keep_; });
    links_.erase(victim);
    ++counters_.links_evicted;
  }
  links_.push_back(Link{from, std::move(dtls), now_us, false});
  flush(links_.back());
}

SecureLinks::Heard SecureLinks::hear(Link& link) {
  Heard heard;
  const auto state = link.dtls->state();
  if (state == secure::DtlsSrtp::State::failed) {
    ++counters_.handshakes_failed;
    heard.failure = link.dtls->failure();
    heard.client_id = link.dtls->peer_identity();
    const auto peer = link.peer;
    std::erase_if(links_, [&](const Link& l) { return l.peer == peer && l.dtls->state() == secure::DtlsSrtp::State::failed; });
    return heard;
  }
  if (state == secure::DtlsSrtp::State::connected && !link.announced) {
    link.announced = true;
    ++counters_.handshakes;
    heard.new_link = true;
    heard.client_id = link.dtls->peer_identity();
  }
  heard.control = link.dtls->take_received();
  if (state == secure::DtlsSrtp::State::closed) {
    const auto peer = link.peer;
    std::erase_if(links_, [&](const Link& l) { return l.peer == peer; });
  }
  return heard;
}

bool SecureLinks::send_control(std::span<const std::byte> message, const net::Udp::endpoint& to) {
  Link* link = find(to, true);
  if (!link || !link->dtls->send(message)) return false;
  flush(*link);
  return true;
}

bool SecureLinks::protect(std::vector<std::byte>& packet, bool rtcp, const net::Udp::endpoint& to) {
  Link* link = find(to, true);
  if (!link) return false;
  return rtcp ? link->dtls->protect_rtcp(packet) : link->dtls->protect_rtp(packet);
}

bool SecureLinks::unprotect(std::vector<std::byte>& packet, bool rtcp, const net::Udp::endpoint& from) {
  Link* link = find(from, true);
  const bool ok = link && (rtcp ? link->dtls->unprotect_rtcp(packet) : link->dtls->unprotect_rtp(packet));
  if (!ok) ++counters_.srtp_rejected;
  return ok;
}

void SecureLinks::close(const net::Udp::endpoint& peer) {
  for (auto& l : links_) {
    if (l.peer != peer) continue;
    l.dtls->close();
    flush(l);
  }
  std::erase_if(links_, [&](const Link& l) { return l.peer == peer; });
}

void SecureLinks::clear() { links_.clear(); }

void SecureLinks::on_timer(std::int64_t now_us) {
  for (auto& l : links_) {
    if (l.dtls->state() != secure::DtlsSrtp::State::handshaking) continue;
    l.dtls->on_timer();
    flush(l);
  }
  const auto stalled = std::erase_if(links_, [&](const Link& l) {
    return l.dtls->state() == secure::DtlsSrtp::State::handshaking && now_us - l.since_us > kHandshakeTimeoutUs;
  });
  counters_.handshakes_failed += stalled;
}

bool SecureLinks::handshaking() const noexcept {
  return std::any_of(links_.begin(), links_.end(),
                     [](const Link& l) { return l.dtls->state() == secure::DtlsSrtp::State::handshaking; });
}

nlohmann::json SecureLinks::summary() const {
  const auto& c = counters_;
  return {{"hello_verify_sent", c.hello_verify_sent}, {"handshakes", c.handshakes},
          {"handshakes_failed", c.handshakes_failed}, {"records_dropped", c.records_dropped},
          {"srtp_rejected", c.srtp_rejected},         {"links_replaced", c.links_replaced},
          {"links_evicted", c.links_evicted}};
}

}  // namespace pttcam::camera
