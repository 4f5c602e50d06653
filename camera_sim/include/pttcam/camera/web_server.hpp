#pragma once
// The camera's web face (docs/web.md): an HTTP server on the camera's io loop that serves the
// app page and WHIP-style WebRTC signalling (RFC 9725): POST /whip with an SDP offer answers
// 201 Created with the SDP answer and the call's resource in Location; DELETE on the resource
// ends the call. The talk floor is asked for and given back over the resource
// (POST <resource>/talk, body "press" or "release"), and the camera's news reaches the page as
// server-sent events (GET <resource>/events). The transport (ICE, DTLS-SRTP) is common/webrtc;
// decrypted talk audio goes to the camera's own receiver through WebHooks, as RTSP's does.
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "pttcam/measure/event_log.hpp"
#include "pttcam/net/address.hpp"
#include "pttcam/timing/clock.hpp"
#include "pttcam/webrtc/peer.hpp"

namespace pttcam::camera {

struct WebOptions {
  boost::asio::ip::tcp::endpoint listen;
  std::size_t max_calls = 4;
  std::size_t max_connections = 32;
  // A call is a live view: capped like the control protocol's, with a warning before the end.
  double session_limit_s = 300;
  double warn_before_s = 30;
};

struct WebHooks {
  // Talk audio: one decrypted RTP datagram of the call holding the floor.
  std::function<void(std::span<const std::byte> rtp, const net::Udp::endpoint& from)> talk_rtp;
  // The page pressed (true) or released (false). On press: nullopt when the floor is given, or
  // the refusal ("busy", "no_speaker", "offline", "session_ending").
  std::function<std::optional<std::string>(bool press)> floor;
  // Whether some call wants the microphone changed (see wants_microphone()).
  std::function<void()> media_changed;
  // False while the camera is off (a power cycle): new calls are refused "offline".
  std::function<bool()> online;
  // The floor holder's call ended (cap, hang-up): what plays stops now, with this cause.
  std::function<void(const std::string& cause)> cut;
};

struct WebCounters {
  std::uint64_t connections = 0;
  std::uint64_t requests = 0;
  std::uint64_t bad_requests = 0;
  std::uint64_t calls = 0;
  std::uint64_t calls_refused = 0;  // bad offer or too many calls
  std::uint64_t calls_failed = 0;   // ICE or DTLS failed
  std::uint64_t calls_capped = 0;   // reached the live-view cap
  std::uint64_t presses = 0;
  std::uint64_t refusals = 0;
  std::uint64_t talk_packets = 0;
  std::uint64_t talk_dropped = 0;  // RTP from a call without the floor
  std::uint64_t microphone_packets = 0;  // sent to calls that ended
  std::uint64_t srtp_rejected = 0;       // of calls that ended
};

class WebServer {
 public:
  struct Offer {
    bool microphone = true;  // the camera has a microphone to stream
    bool speaker = true;     // the camera has a speaker
  };
  WebServer(boost::asio::io_context& io, WebOptions options, Offer offer, const timing::Clock& clock,
            measure::EventLog& events, WebHooks hooks);  // binds; throws with a one-line reason
  ~WebServer();
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

  void start();
  void stop();
  // Power cut: every call and connection vanishes without a word.
  void drop_all(const std::string& reason);
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  bool wants_microphone() const noexcept { return wants_microphone_; }
  void send_microphone(std::span<const std::byte> rtp);
  // A server-sent event to every call's page ("type" names it).
  void publish(const nlohmann::json& event);
  // The floor was taken away (session cap, power cycle): the holder's page is told why.
  void floor_lost(const std::string& cause);
  // When the floor holder pressed (us): the camera measures talk-start from it.
  std::optional<std::int64_t> press_us() const noexcept { return press_us_; }
  const WebCounters& counters() const noexcept { return counters_; }
  nlohmann::json summary() const;

  struct Connection;
  struct Call;

 private:
  void accept();
  void read(const std::shared_ptr<Connection>& c);
  void handle(const std::shared_ptr<Connection>& c);
  void answer_offer(const std::shared_ptr<Connection>& c);
  webrtc::Peer::Hooks peer_hooks(const std::string& id);
  void on_talk(const std::shared_ptr<Connection>& c, Call& call);
  void open_events(const std::shared_ptr<Connection>& c, Call& call);
  void reply(const std::shared_ptr<Connection>& c, unsigned status, std::string type, std::string body,
             std::vector<std::pair<std::string, std::string>> headers = {});
  void write_next(const std::shared_ptr<Connection>& c);
  void drain(const std::shared_ptr<Connection>& c);
  void end_call(const std::string& id, const std::string& reason);
  void send_event(Call& call, const nlohmann::json& event);
  void release(Call& call);
  void update_media();
  void sweep();
  double remaining_s(const Call& call) const;

  boost::asio::io_context& io_;
  WebOptions options_;
  Offer offer_;
  const timing::Clock& clock_;
  measure::EventLog& events_;
  WebHooks hooks_;
  std::shared_ptr<const secure::Certificate> certificate_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer sweep_timer_;
  std::map<std::uint64_t, std::shared_ptr<Connection>> connections_;
  std::map<std::string, std::unique_ptr<Call>> calls_;
  std::uint64_t next_connection_ = 1;
  std::uint64_t next_call_ = 1;
  std::string floor_holder_;  // call id, empty when free
  std::string last_holder_;   // the call that held it last
  std::optional<std::int64_t> press_us_;
  bool running_ = false;
  bool wants_microphone_ = false;
  WebCounters counters_;
};

}  // namespace pttcam::camera
