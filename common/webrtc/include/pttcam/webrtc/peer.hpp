#pragma once
// One WebRTC audio call's transport: ICE (IceAgent), then DTLS-SRTP (DtlsSrtp) on the pair it
// selects, demultiplexed per RFC 7983 (first byte 20..63 DTLS, 128..191 RTP/RTCP; STUN stays in
// libnice). Decrypted RTP and RTCP go to the hooks as plain datagrams; send_rtp() protects and
// sends. Runs on the io thread; libnice's thread only posts datagrams to it.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "pttcam/secure/dtls.hpp"
#include "pttcam/webrtc/ice_agent.hpp"
#include "pttcam/webrtc/offer.hpp"

namespace pttcam::webrtc {

enum class PeerState { connecting, connected, failed, closed };
const char* to_string(PeerState state) noexcept;

struct PeerCounters {
  std::uint64_t rtp_received = 0;
  std::uint64_t rtcp_received = 0;
  std::uint64_t srtp_rejected = 0;  // failed authentication or replayed
  std::uint64_t unknown_dropped = 0;  // neither DTLS nor RTP by its first byte
  std::uint64_t rtp_sent = 0;
  std::uint64_t send_failed = 0;  // before SRTP keys, or no ICE pair
};

class Peer : public std::enable_shared_from_this<Peer> {
 public:
  struct Hooks {
    std::function<void(std::span<const std::byte> rtp)> rtp;
    std::function<void(std::span<const std::byte> rtcp)> rtcp;
    std::function<void(PeerState, const std::string& why)> state;
  };
  // Starts ICE on `address` with the offer's credentials and candidates; throws on failure.
  static std::shared_ptr<Peer> create(boost::asio::io_context& io, std::shared_ptr<const secure::Certificate> certificate,
                                      const std::string& address, const Offer& offer, Hooks hooks);
  ~Peer();

  // The answer's transport parameters (credentials, fingerprint, candidates, port).
  AnswerParams answer_params() const;
  void send_rtp(std::span<const std::byte> rtp);
  void send_rtcp(std::span<const std::byte> rtcp);
  void close();  // no hook runs after this
  PeerState state() const noexcept { return state_; }
  const PeerCounters& counters() const noexcept { return counters_; }

 private:
  Peer(boost::asio::io_context& io, std::shared_ptr<const secure::Certificate> certificate, std::string peer_fingerprint,
       Hooks hooks);
  void start(const std::string& address, const Offer& offer);
  void on_datagram(std::vector<std::byte> datagram);
  void on_ice(IceState state);
  void flush_dtls();
  void tick();
  void set_state(PeerState state, const std::string& why);

  boost::asio::io_context& io_;
  std::shared_ptr<const secure::Certificate> certificate_;
  std::unique_ptr<secure::DtlsSrtp> dtls_;
  Hooks hooks_;
  boost::asio::steady_timer timer_;
  PeerState state_ = PeerState::connecting;
  PeerCounters counters_;
  std::vector<std::byte> scratch_;
  std::unique_ptr<IceAgent> ice_;  // last: its thread stops first
};

}  // namespace pttcam::webrtc
