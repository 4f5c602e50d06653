#pragma once
// The camera's RTSP 1.0 face (RFC 2326) with the ONVIF audio backchannel (ONVIF Streaming
// Specification §5.3): rtsp://HOST:PORT/live offers the camera's microphone (track1, a=recvonly)
// and, to a DESCRIBE that carries Require: www.onvif.org/ver20/backchannel, a talk track (track2,
// a=sendonly) whose RTP goes to the camera's speaker. RTP over UDP unicast or interleaved on the
// RTSP connection. The protocol parts are pure code in common/rtsp/; this class owns the sockets
// and the sessions. It runs on the camera's io_context thread and touches nothing else: what the
// camera does with talk audio, the floor and its microphone goes through RtspHooks.
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "pttcam/measure/event_log.hpp"
#include "pttcam/net/address.hpp"
#include "pttcam/rtsp/digest.hpp"
#include "pttcam/rtsp/message.hpp"
#include "pttcam/timing/clock.hpp"

namespace pttcam::camera {

// A codec the camera offers on the backchannel. The SDP lists them in preference order; a client
// sends the first it can (GStreamer's ONVIF client always takes the first).
struct BackchannelCodec {
  enum class Kind { pcmu, pcma, l16, opus };
  Kind kind = Kind::pcmu;
  std::uint8_t payload_type = 0;
  int clock_rate = 8000;
  // The SDP's a=rtpmap encoding: "PCMU/8000", "PCMA/8000", "L16/16000", "opus/48000/2".
  std::string rtpmap() const;
  const char* name() const noexcept;  // as --backchannel-codecs spells it
};

// "pcmu,pcma,l16,opus" (any of them, in preference order) -> the codecs with their payload types:
// PCMU 0 and PCMA 8 at 8 kHz (RFC 3551), L16 97 at 16 kHz, Opus 111. Throws std::invalid_argument
// (one line) for an unknown or repeated name or an empty list.
std::vector<BackchannelCodec> parse_backchannel_codecs(std::string_view list);

// Misbehaviours of real cameras, each reproducing a public report (docs/cameras.md, "RTSP quirks").
struct RtspQuirks {
  bool drop_first_second = false;  // talk RTP in the first second after the backchannel PLAYs is lost
  bool no_backchannel = false;     // accepts the Require tag, but the SDP has no backchannel track
  bool g711_only = false;          // offers PCMU/PCMA only; RTP in any other codec is dropped
  bool l16_swapped = false;        // offers L16 first and plays its samples little-endian
  bool describe_require_timeout = false;  // a DESCRIBE carrying Require is never answered
  bool line_busy = false;          // a backchannel set up holds the speaker until TEARDOWN, even PAUSEd
  double added_delay_ms = 0;       // seconds of playout delay (the camera's speaker path)
};
// "name[,name...]" of --quirk: drop-first-second, no-backchannel, g711-only, l16-swapped,
// describe-require-timeout, line-busy, playout-delay. Throws std::invalid_argument (one line).
void add_quirks(RtspQuirks& quirks, std::string_view names);

struct RtspOptions {
  boost::asio::ip::tcp::endpoint listen;
  std::string user;      // empty: no authentication
  std::string password;
  unsigned session_timeout_s = 60;  // announced in Session: ...;timeout= and enforced
  double idle_connection_s = 20;    // a connection without a session that completes no request
  std::size_t max_connections = 16;
  std::size_t max_sessions = 16;
  int max_auth_failures = 10;       // wrong credentials on one connection before it is closed
  std::vector<BackchannelCodec> backchannel_codecs = parse_backchannel_codecs("pcmu,pcma");
  // The live-view cap, as for pttcam's own protocol: a session this old is torn down (its
  // connection closed) with reason time_limit, and a talk burst in it cut (session_cap).
  double session_limit_s = 300;
  // This long before the cap the session is warned (SET_PARAMETER, see docs/rtsp.md); 0: never.
  double warn_before_s = 30;
  RtspQuirks quirks;
};

struct RtspHooks {
  // Talk audio from the PLAYing backchannel, as one RTP datagram from `from` (for interleaved
  // RTP: the TCP peer's address and port).
  std::function<void(std::span<const std::byte> rtp, const net::Udp::endpoint& from)> backchannel_rtp;
  // The backchannel started (true) or stopped (false) PLAYing: the talk floor.
  std::function<void(bool)> floor;
  // Whether some session wants the microphone changed (see wants_microphone()).
  std::function<void()> media_changed;
  // True while pttcam's own protocol has a talker on the speaker: a backchannel SETUP or PLAY is
  // then refused (453 Speaker Busy), one talker at a time across both protocols.
  std::function<bool()> speaker_busy;
  // The talk audio playing must stop now, for this cause (session_cap).
  std::function<void(const std::string& cause)> cut;
};

struct RtspCounters {
  std::uint64_t connections = 0;
  std::uint64_t connections_refused = 0;  // beyond max_connections
  std::uint64_t requests = 0;
  std::uint64_t bad_requests = 0;         // unparseable: answered 400/413/505 and closed
  std::uint64_t errors_answered = 0;      // 4xx/5xx answers to parsed requests
  std::uint64_t auth_failures = 0;
  std::uint64_t sessions = 0;
  std::uint64_t session_timeouts = 0;
  std::uint64_t backchannel_busy = 0;     // a second talker's SETUP (or PLAY), answered 453
  std::uint64_t session_caps = 0;         // sessions torn down at session_limit_s
  std::uint64_t session_warnings = 0;     // sessions warned warn_before_s before it
  std::uint64_t warning_answers = 0;      // clients' answers to those warnings
  std::uint64_t backchannel_wrong_codec = 0;  // RTP in a payload type the SDP did not offer
  std::uint64_t backchannel_quirk_dropped = 0;  // lost to drop_first_second
  std::uint64_t describes_ignored = 0;          // describe_require_timeout
  std::uint64_t refused_booting = 0;      // connections closed unanswered while booting
  std::uint64_t backchannel_packets = 0;
  std::uint64_t backchannel_dropped = 0;  // RTP from no PLAYing backchannel
  std::uint64_t rtcp_received = 0;
  std::uint64_t microphone_packets = 0;   // sent, summed over sessions
  std::uint64_t microphone_dropped = 0;   // a TCP client too slow to take them
};

class RtspServer {
 public:
  struct Offer {
    bool microphone = true;   // the camera has a microphone to stream
    bool backchannel = true;  // the camera has a speaker (models without one answer 551)
  };
  // Binds the TCP listener and the UDP RTP/RTCP pair; throws with a one-line reason.
  RtspServer(boost::asio::io_context& io, RtspOptions options, Offer offer, const timing::Clock& clock,
             measure::EventLog& events, RtspHooks hooks);
  ~RtspServer();
  RtspServer(const RtspServer&) = delete;
  RtspServer& operator=(const RtspServer&) = delete;

  void start();
  void stop();  // closes every connection and socket; no hook runs after this
  // Power cut: every connection and session vanishes without an answer.
  void drop_all(const std::string& reason);
  // Offline (booting after a power cut): connections are closed unanswered, RTP is dropped.
  void set_online(bool online) noexcept { online_ = online; }

  boost::asio::ip::tcp::endpoint local_endpoint() const;
  // True while a session PLAYs the microphone track: the camera then keeps its microphone talking.
  bool wants_microphone() const noexcept;
  // One RTP datagram of the camera's microphone, to every session that PLAYs track1.
  void send_microphone(std::span<const std::byte> rtp);
  const RtspCounters& counters() const noexcept { return counters_; }
  nlohmann::json summary() const;

  struct Connection;
  struct Session;

 private:
  void accept();
  void read(const std::shared_ptr<Connection>& c);
  void on_bytes(const std::shared_ptr<Connection>& c, std::size_t n);
  void handle(const std::shared_ptr<Connection>& c, const rtsp::Request& r);
  void send(const std::shared_ptr<Connection>& c, std::string bytes);
  void send_frame(Connection& c, std::uint8_t channel, std::span<const std::byte> payload);
  void write_next(const std::shared_ptr<Connection>& c);
  void close(const std::shared_ptr<Connection>& c, const std::string& reason);
  void finish(const std::shared_ptr<Connection>& c);
  void receive_udp();
  void receive_rtcp();
  void on_backchannel(std::span<const std::byte> rtp, const net::Udp::endpoint& from, Session& s);
  void end_session(const std::string& id, const std::string& reason);
  void cap_session(const std::string& id);
  void warn_session(Session& s, std::int64_t now);
  std::span<const std::byte> swap_samples(std::span<const std::byte> rtp);
  // The speaker is taken by another talker (another session's backchannel, or pttcam's protocol):
  // a one-line description of who, for the 453 answer and its event; "" when free.
  std::string speaker_taken_by(const Session* asking) const;
  void sweep();
  void update_media();

  boost::asio::io_context& io_;
  RtspOptions options_;
  Offer offer_;
  const timing::Clock& clock_;
  measure::EventLog& events_;
  RtspHooks hooks_;
  std::optional<rtsp::DigestAuth> auth_;
  boost::asio::ip::tcp::acceptor acceptor_;
  net::Udp::socket rtp_socket_;
  net::Udp::socket rtcp_socket_;
  boost::asio::steady_timer sweep_timer_;
  std::array<std::byte, 2048> udp_buffer_{};
  net::Udp::endpoint udp_from_;
  std::array<std::byte, 2048> rtcp_buffer_{};
  net::Udp::endpoint rtcp_from_;
  std::map<std::uint64_t, std::shared_ptr<Connection>> connections_;
  std::map<std::string, std::unique_ptr<Session>> sessions_;
  std::uint64_t next_connection_id_ = 1;
  std::uint64_t sdp_session_id_;
  bool running_ = false;
  bool floor_ = false;
  std::int64_t floor_since_us_ = 0;
  std::array<std::byte, 2048> swapped_{};  // l16_swapped: the datagram with its samples byte-swapped
  bool online_ = true;
  bool wants_microphone_ = false;
  RtspCounters counters_;
};

}  // namespace pttcam::camera
