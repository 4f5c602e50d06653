#pragma once
#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "pttcam/audio/factory.hpp"
#include "pttcam/codec/opus_settings.hpp"
#include "pttcam/codec/pcm_codec.hpp"
#include "pttcam/control/wire.hpp"
#include "pttcam/app/control_intake.hpp"
#include "pttcam/app/io_loop.hpp"
#include "pttcam/app/receiver_options.hpp"
#include "pttcam/measure/event_log.hpp"
#include "pttcam/measure/receiver_metrics.hpp"
#include "pttcam/measure/resource_usage.hpp"
#include "pttcam/measure/sender_metrics.hpp"
#include "pttcam/media/receiver.hpp"
#include "pttcam/media/rtcp_reporter.hpp"
#include "pttcam/media/sender.hpp"
#include "pttcam/net/address.hpp"
#include "pttcam/secure/dtls.hpp"
#include "pttcam/session/client_session.hpp"

namespace pttcam::client {

struct ClientConfig {
  net::Udp::endpoint camera;
  audio::EndpointSpec input{audio::EndpointSpec::Kind::device, "default"};
  audio::EndpointSpec speaker{audio::EndpointSpec::Kind::device, "default"};
  codec::OpusSettings opus;
  app::ReceiverSettings receiver;  // playout of the camera's microphone, cutoffs, packet log
  std::string camera_id;  // empty: whichever camera answers
  bool renew = false;
  double keepalive_timeout_s = 3;
  bool no_session = false;  // plain RTP, no control protocol (standard RTP receivers)
  bool insecure = false;    // --insecure: no pairing, plain control and RTP (docs/security.md)
  std::filesystem::path config_dir;  // the pairings (secure::ClientKeyring); empty: its default_dir()
  bool cold_mic = false;    // open the microphone at key-down, close it at key-up
  std::uint16_t local_port = 0;  // 0: any free port
  std::filesystem::path events_path;
  // An RTSP camera (ONVIF backchannel): no control protocol (no_session is set too); media go
  // where set_media_path() says once the camera answered SETUP, its audio comes from its address.
  bool rtsp = false;
  std::string talk_unavailable;  // not empty: the camera takes no talk audio; a key press fails with this
  std::optional<codec::PcmFormat> pcm;  // talk in G.711/L16 (an RTSP camera's backchannel) instead of Opus
};

struct ClientStats {
  std::uint64_t send_errors = 0;
  std::uint64_t talk_failed = 0;  // key presses that could not talk (mic denied, no session)
  std::uint64_t control_ignored = 0;
  std::uint64_t video_packets = 0;
  std::uint64_t video_bytes = 0;
  std::uint64_t media_outside_session = 0;
  std::uint64_t unprotected_dropped = 0;  // plain control or RTP while the live view is protected
  std::uint64_t srtp_rejected = 0;        // SRTP that failed authentication or replayed
  std::uint64_t handshakes = 0;           // protected links set up (one per live view)
};

// The phone app: a live-view session with the camera (control protocol), the talk path
// (microphone -> Opus/RTP, only while the key is held and the floor is not denied) and the
// camera's microphone played on the client's speaker. One io_context thread.
class Client {
 public:
  Client(boost::asio::io_context& io, ClientConfig config);  // opens everything; throws
  ~Client();

  void start();
  void stop();                // ends the session (SESSION_END client_stopped)
  void set_talking(bool on);  // talk key edges
  void renew();               // the user asked for a new live view
  bool key_held() const noexcept { return key_held_; }
  bool sending() const noexcept { return sender_->talking(); }

  // Lines for the user ("live view started ...", "talk denied: ..."); the key source prints them.
  std::function<void(const std::string&)> on_notice = [](const std::string&) {};
  // The client cannot go on (the camera never answered): the line to print; the program exits 1.
  std::function<void(const std::string&)> on_failure = [](const std::string&) {};
  const std::optional<std::string>& failure() const noexcept { return failure_; }

  // RTSP: where the talk RTP and RTCP go once the camera answered SETUP (its server_port) ...
  void set_media_path(net::Udp::endpoint rtp, net::Udp::endpoint rtcp);
  // ... or interleaved on the RTSP connection.
  using MediaOut = std::function<void(std::span<const std::byte>)>;
  void set_media_path(MediaOut rtp, MediaOut rtcp);
  // RTSP interleaved: one datagram of the camera's audio.
  void on_camera_media(std::span<const std::byte> datagram);
  measure::EventLog& events() noexcept { return events_; }
  const char* protocol() const noexcept;  // "pttcam", "rtp" or "rtsp": labels events and the summary
  std::string codec_text() const;         // "Opus 20 ms, 24 kbit/s, ..." or "PCMU/8000, 20 ms frames"

  const session::ClientSession& session() const noexcept { return session_; }
  const media::Sender& sender() const noexcept { return *sender_; }
  net::Udp::endpoint local_endpoint() const { return socket_.local_endpoint(); }
  nlohmann::json summary() const;
  std::string status_line(std::int64_t now_us) const;

 private:
  void on_datagram(std::span<const std::byte> datagram, const net::Udp::endpoint& from);
  std::int64_t next_due_us(std::int64_t now_us) const;
  void run_due(std::int64_t now_us);
  // Sends the session's messages, carries out its actions and logs its events, stamped with the
  // time it decided them.
  void apply(session::Output out, std::int64_t now_us);
  void carry_out(const session::Action& action);
  void notify(const session::Notice& notice);
  void send(std::span<const std::byte> datagram);  // talk RTP
  void send_rtcp(std::span<const std::byte> datagram);
  void send_raw(std::span<const std::byte> datagram);  // to the camera as it is
  void send_media(std::span<const std::byte> datagram, bool rtcp);  // SRTP-protected when secure
  // Protected live views (docs/security.md): one DTLS-PSK link per live view.
  void send_control(std::span<const std::byte> message, bool is_start);
  void open_link();
  void flush_link();
  void on_link_datagram(std::span<const std::byte> datagram, std::int64_t now);
  std::optional<secure::PskIdentity> pairing_for(std::string_view camera_id) const;

  ClientConfig config_;
  const timing::Clock& clock_;
  net::Udp::socket socket_;
  app::IoLoop loop_;
  measure::EventLog events_;
  measure::CpuSplit cpu_;
  app::ControlIntake control_in_;
  measure::SenderMetrics sender_metrics_;
  measure::ReceiverMetrics receiver_metrics_;
  session::ClientSession session_;
  control::MessageWriter control_writer_;
  ClientStats stats_;
  bool key_held_ = false;
  bool running_ = false;
  std::optional<std::string> failure_;
  std::optional<net::Udp::endpoint> rtcp_to_;  // RTSP over UDP: the camera's RTCP port
  MediaOut rtp_out_;   // RTSP interleaved
  MediaOut rtcp_out_;
  std::unique_ptr<media::Receiver> receiver_;
  std::unique_ptr<media::Sender> sender_;
  std::unique_ptr<media::RtcpReporter> rtcp_;
  bool secure_ = false;
  std::unique_ptr<secure::DtlsSrtp> link_;
  bool link_used_ = false;  // a live view was accepted over link_: the next one gets a new link
  std::vector<std::vector<std::byte>> pending_control_;  // waiting for the handshake
  std::vector<std::byte> scratch_;
  std::string not_paired_;  // the camera id the handshake found no pairing for
};

}  // namespace pttcam::client
