#include "pttcam/webrtc/peer.hpp"

#include <boost/asio/post.hpp>

#include <random>

namespace pttcam::webrtc {

using namespace std::chrono_literals;

const char* to_string(PeerState state) noexcept {
  switch (state) {
    case PeerState::connecting: return "connecting";
    case PeerState::connected: return "connected";
    case PeerState::failed: return "failed";
    case PeerState::closed: return "closed";
  }
  return "?";
}

Peer::Peer(boost::asio::io_context& io, std::shared_ptr<const secure::Certificate> certificate, std::string peer_fingerprint,
           Hooks hooks)
    : io_(io), certificate_(certificate), dtls_(secure::DtlsSrtp::webrtc_server(std::move(certificate), std::move(peer_fingerprint))), hooks_(std::move(hooks)),
      timer_(io) {}

std::shared_ptr<Peer> Peer::create(boost::asio::io_context& io, std::shared_ptr<const secure::Certificate> certificate,
                                   const std::string& address, const Offer& offer, Hooks hooks) {
  std::shared_ptr<Peer> p(new Peer(io, std::move(certificate), offer.fingerprint, std::move(hooks)));
  p->start(address, offer);
  return p;
}

Peer::~Peer() = default;

void Peer::start(const std::string& address, const Offer& offer) {
  std::weak_ptr<Peer> weak = weak_from_this();
  ice_ = std::make_unique<IceAgent>(
      address,
      [weak, &io = io_](std::vector<std::byte> d) {
        boost::asio::post(io, [weak, d = std::move(d)]() mutable {
          if (auto p = weak.lock()) p->on_datagram(std::move(d));
        });
      },
      [weak, &io = io_](IceState s) {
        boost::asio::post(io, [weak, s] {
          if (auto p = weak.lock()) p->on_ice(s);
        });
      });
  ice_->set_remote(offer.ice_ufrag, offer.ice_pwd, offer.candidates);
  timer_.expires_after(50ms);
  tick();
}

AnswerParams Peer::answer_params() const {
  AnswerParams a;
  a.ice_ufrag = ice_->ufrag();
  a.ice_pwd = ice_->pwd();
  a.candidates = ice_->local_candidates();
  a.port = ice_->local_port();
  a.fingerprint = certificate_->fingerprint();
  return a;
}

// DTLS retransmissions while the handshake runs.
void Peer::tick() {
  timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    auto p = weak.lock();
    if (ec || !p || p->state_ != PeerState::connecting) return;
    p->dtls_->on_timer();
    p->flush_dtls();
    p->timer_.expires_at(p->timer_.expiry() + 50ms);
    p->tick();
  });
}

void Peer::on_ice(IceState s) {
  if (s == IceState::failed && state_ == PeerState::connecting) set_state(PeerState::failed, "ICE failed");
  // A pair that fails after DTLS is up is the browser gone: the call ends.
  if (s == IceState::failed && state_ == PeerState::connected) set_state(PeerState::failed, "ICE connection lost");
}

void Peer::on_datagram(std::vector<std::byte> d) {
  if (d.empty() || state_ == PeerState::closed || state_ == PeerState::failed) return;
  const auto first = std::to_integer<unsigned>(d[0]);
  if (first >= 20 && first <= 63) {
    dtls_->on_datagram(d);
    flush_dtls();
    if (dtls_->state() == secure::DtlsSrtp::State::connected && state_ == PeerState::connecting)
      set_state(PeerState::connected, "");
    else if (dtls_->state() == secure::DtlsSrtp::State::failed)
      set_state(PeerState::failed, dtls_->failure());
    else if (dtls_->state() == secure::DtlsSrtp::State::closed)
      set_state(PeerState::failed, "the peer closed DTLS");
    return;
  }
  if (first < 128 || first > 191) {
    ++counters_.unknown_dropped;
    return;
  }
  // RFC 5761 §4: payload types 192..223 in the second byte are RTCP.
  const auto second = std::to_integer<unsigned>(d.size() > 1 ? d[1] : std::byte{0});
  const bool rtcp = second >= 192 && second <= 223;
  if (!(rtcp ? dtls_->unprotect_rtcp(d) : dtls_->unprotect_rtp(d))) {
    ++counters_.srtp_rejected;
    return;
  }
  if (rtcp) {
    ++counters_.rtcp_received;
    if (hooks_.rtcp) hooks_.rtcp(d);
  } else {
    ++counters_.rtp_received;
    if (hooks_.rtp) hooks_.rtp(d);
  }
}

void Peer::flush_dtls() {
  for (const auto& d : dtls_->take_outgoing()) ice_->send(d);
}

void Peer::send_rtp(std::span<const std::byte> rtp) {
  if (state_ != PeerState::connected) return;
  scratch_.assign(rtp.begin(), rtp.end());
  if (!dtls_->protect_rtp(scratch_) || !ice_->send(scratch_)) {
    ++counters_.send_failed;
    return;
  }
  ++counters_.rtp_sent;
}

void Peer::send_rtcp(std::span<const std::byte> rtcp) {
  if (state_ != PeerState::connected) return;
  scratch_.assign(rtcp.begin(), rtcp.end());
  if (!dtls_->protect_rtcp(scratch_) || !ice_->send(scratch_)) ++counters_.send_failed;
}

void Peer::close() {
  if (state_ == PeerState::closed) return;
  state_ = PeerState::closed;
  timer_.cancel();
  hooks_ = {};
}

void Peer::set_state(PeerState s, const std::string& why) {
  state_ = s;
  if (hooks_.state) hooks_.state(s, why);
}

}  // namespace pttcam::webrtc
