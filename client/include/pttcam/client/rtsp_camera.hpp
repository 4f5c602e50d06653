#pragma once
// ptt-client's RTSP 1.0 connection to a camera with the ONVIF audio backchannel (ONVIF Streaming
// Specification §5.3): OPTIONS, DESCRIBE with Require: www.onvif.org/ver20/backchannel (again
// without it after a 551: the camera has no backchannel; and, on a new connection, when that
// DESCRIBE goes unanswered: some cameras hang on the tag instead of refusing it), SETUP of the camera's audio and of the
// backchannel, PLAY, a keepalive at a third of the session timeout, TEARDOWN. Digest
// authentication (MD5 or SHA-256) with the credentials of the URL after a 401. The protocol
// pieces are pure code (common/rtsp, common/sdp, rtsp_offer); this class owns the TCP socket and
// the timers, on the client's io thread. RTP goes over the client's UDP socket, or interleaved on
// this connection (RFC 2326 §10.12) with Transport::tcp.
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "pttcam/client/rtsp_offer.hpp"
#include "pttcam/net/address.hpp"
#include "pttcam/rtsp/digest.hpp"
#include "pttcam/rtsp/parser.hpp"
#include "pttcam/rtsp/url.hpp"

namespace pttcam::client {

class RtspCamera {
 public:
  enum class Transport { udp, tcp };
  struct Options {
    rtsp::Url url;
    std::optional<TalkCodec> codec;  // forced by --codec
    std::vector<TalkCodec> can_send{TalkCodec::opus};
    std::vector<TalkCodec> can_play{TalkCodec::opus};
    Transport transport = Transport::udp;
    double answer_timeout_s = 5;
  };
  using Done = std::function<void(const std::string& error)>;  // empty: it worked
  using EventFn = std::function<void(const std::string& name, nlohmann::json fields)>;
  static constexpr std::uint8_t kAudioChannel = 0;        // interleaved: the camera's audio, RTCP on 1
  static constexpr std::uint8_t kBackchannelChannel = 2;  // the talk audio, RTCP on 3 (as GStreamer uses them)

  RtspCamera(boost::asio::io_context& io, Options options, EventFn on_event);
  ~RtspCamera();
  RtspCamera(const RtspCamera&) = delete;
  RtspCamera& operator=(const RtspCamera&) = delete;

  // Connects, OPTIONS, DESCRIBE; then offer() says what the camera has.
  void describe(Done done);
  const CameraOffer& offer() const noexcept { return offer_; }
  bool backchannel_refused() const noexcept { return refused_551_; }  // the camera answered 551
  // The DESCRIBE with Require went unanswered and was retried without it.
  bool require_timed_out() const noexcept { return require_timed_out_; }
  // SETUP the offered tracks (UDP: to `client_rtp_port`, RTCP on the next port), PLAY, then keep
  // the session alive. on_lost is called if the camera stops answering afterwards.
  void play(std::uint16_t client_rtp_port, Done done);
  // UDP: where the backchannel RTP and RTCP go (the camera's server_port); empty before play().
  std::optional<net::Udp::endpoint> backchannel_rtp() const noexcept { return backchannel_rtp_; }
  std::optional<net::Udp::endpoint> backchannel_rtcp() const noexcept { return backchannel_rtcp_; }
  // UDP: where reports about the camera's audio go (its RTCP server_port), when it gave one.
  std::optional<net::Udp::endpoint> audio_rtcp() const noexcept { return audio_rtcp_; }
  net::Udp::endpoint camera_address() const;  // where the camera's media come from (its host)
  // TEARDOWN (answered or not within a second), then the connection closes and `done` runs.
  void teardown(std::function<void()> done);
  // TCP: one RTP or RTCP datagram on an interleaved channel.
  void send_interleaved(std::uint8_t channel, std::span<const std::byte> datagram);

  std::function<void(const std::string& why)> on_lost;
  // The camera warned that the live view ends in `remaining_s` (its SET_PARAMETER
  // pttcam-live-view-remaining, docs/rtsp.md).
  std::function<void(double remaining_s)> on_warning;
  std::function<void(std::uint8_t channel, std::span<const std::byte> datagram)> on_interleaved;
  nlohmann::json summary() const;

 private:
  struct Pending {
    rtsp::Request request;
    std::function<void(const rtsp::Response&)> answered;
    bool retried_auth = false;
  };
  void connect(Done done);
  void request(std::string method, std::string uri, rtsp::Headers headers,
               std::function<void(const rtsp::Response&)> answered);
  void send_next();
  void write(std::string bytes);
  void write_next();
  void read();
  void on_response(const rtsp::Response& r);
  void on_camera_request(const rtsp::Request& r);
  bool answer_challenge(Pending& p, const rtsp::Response& r);
  void fail(const std::string& why);
  void describe_without_require();
  void drop_connection();
  void on_described(const rtsp::Response& r, bool with_require, Done done);
  void setup_audio(std::uint16_t port, Done done);
  void setup_backchannel(std::uint16_t port, Done done);
  void send_play(Done done);
  bool take_session(const rtsp::Response& r);
  void keepalive();
  std::string transport_for(std::uint16_t port, std::uint8_t channel) const;
  std::string error_for(const std::string& method, const rtsp::Response& r) const;

  boost::asio::io_context& io_;
  Options options_;
  EventFn on_event_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::ip::tcp::endpoint peer_;
  boost::asio::steady_timer answer_timer_;
  boost::asio::steady_timer keepalive_timer_;
  static constexpr rtsp::Limits kLimits{.max_header_bytes = 16384, .max_headers = 64, .max_body_bytes = 65536,
                                        .max_buffered = 256 * 1024};
  rtsp::StreamParser parser_{kLimits, rtsp::StreamParser::Role::client};
  std::array<std::byte, 4096> read_buf_{};
  std::deque<std::string> out_;
  bool writing_ = false;
  std::deque<Pending> queue_;
  std::optional<Pending> in_flight_;
  std::uint32_t cseq_ = 0;
  std::optional<rtsp::DigestChallenge> challenge_;
  std::uint32_t nonce_count_ = 0;
  std::string cnonce_;
  std::string public_methods_;
  CameraOffer offer_;
  bool refused_551_ = false;
  bool require_timed_out_ = false;
  std::string session_id_;
  unsigned session_timeout_s_ = 60;
  std::optional<net::Udp::endpoint> backchannel_rtp_;
  std::optional<net::Udp::endpoint> backchannel_rtcp_;
  std::optional<net::Udp::endpoint> audio_rtcp_;
  std::function<void(const std::string&)> on_error_;  // where a failure goes now: Done, or on_lost
  bool playing_ = false;
  bool closed_ = false;
  // Which TCP connection the pending handlers belong to: those of a dropped one do nothing.
  std::uint64_t connection_ = 0;
  struct Counters {
    std::uint64_t requests = 0;
    std::uint64_t auth_retries = 0;
    std::uint64_t keepalives = 0;
    std::uint64_t interleaved_in = 0;
    std::uint64_t interleaved_out = 0;
    std::uint64_t server_requests = 0;  // requests the camera sent us (answered 501, or 200 to a warning)
    std::uint64_t warnings = 0;         // live-view warnings among them
  } counters_;
};

}  // namespace pttcam::client
