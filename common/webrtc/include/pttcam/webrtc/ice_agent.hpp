#pragma once
// ICE (RFC 8445) through libnice, as the controlled agent of one component (RTP and RTCP
// multiplexed, DTLS on the same 5-tuple): host candidates on one given address, the peer's
// candidates from its SDP, and peer-reflexive ones learnt from its checks.
//
// Threads: libnice runs a GLib main loop on a thread this class owns; `on_receive` and
// `on_state` are called on THAT thread and must only hand their arguments over (e.g. post them
// to the io loop). send() may be called from any thread (libnice locks the agent).
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace pttcam::webrtc {

enum class IceState { checking, connected, failed };

class IceAgent {
 public:
  using Receive = std::function<void(std::vector<std::byte>)>;
  using StateChange = std::function<void(IceState)>;
  // Gathers host candidates on `address` (numeric); throws with libnice's refusal.
  IceAgent(const std::string& address, Receive on_receive, StateChange on_state);
  ~IceAgent();  // stops the GLib thread: no callback runs after it returns
  IceAgent(const IceAgent&) = delete;
  IceAgent& operator=(const IceAgent&) = delete;

  const std::string& ufrag() const noexcept { return ufrag_; }
  const std::string& pwd() const noexcept { return pwd_; }
  // "candidate:..." lines for the SDP, and the first one's port.
  const std::vector<std::string>& local_candidates() const noexcept { return candidates_; }
  unsigned short local_port() const noexcept { return port_; }

  // The peer's credentials and its "candidate:..." lines (unparseable ones are skipped; mDNS
  // names are not resolved). Returns how many candidates were taken.
  int set_remote(const std::string& ufrag, const std::string& pwd, const std::vector<std::string>& candidates);
  // One datagram on the selected pair; false when ICE has none yet.
  bool send(std::span<const std::byte> datagram);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  std::string ufrag_;
  std::string pwd_;
  std::vector<std::string> candidates_;
  unsigned short port_ = 9;
};

}  // namespace pttcam::webrtc
