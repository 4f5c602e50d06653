#pragma once
#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pttcam/audio/factory.hpp"
#include "pttcam/codec/opus_settings.hpp"
#include "pttcam/control/wire.hpp"
#include "pttcam/app/control_intake.hpp"
#include "pttcam/app/io_loop.hpp"
#include "pttcam/app/receiver_options.hpp"
#include "pttcam/camera/pairing_server.hpp"
#include "pttcam/camera/rtsp_server.hpp"
#include "pttcam/camera/secure_links.hpp"
#include "pttcam/camera/web_server.hpp"
#include "pttcam/measure/event_log.hpp"
#include "pttcam/measure/receiver_metrics.hpp"
#include "pttcam/measure/resource_usage.hpp"
#include "pttcam/measure/sender_metrics.hpp"
#include "pttcam/media/receiver.hpp"
#include "pttcam/media/rtcp_reporter.hpp"
#include "pttcam/media/sender.hpp"
#include "pttcam/net/address.hpp"
#include "pttcam/secure/keyring.hpp"
#include "pttcam/session/camera_session.hpp"

namespace pttcam::camera {

struct CameraConfig {
  net::Udp::endpoint listen{boost::asio::ip::address_v4::any(), 5004};
  audio::EndpointSpec output{audio::EndpointSpec::Kind::device, "default"};
  std::optional<audio::EndpointSpec> mic = audio::EndpointSpec{audio::EndpointSpec::Kind::device, "default"};
  codec::OpusSettings mic_opus;
  app::ReceiverSettings receiver;  // playout of the client's talk audio, cutoffs, packet log
  std::string model = "indoor-gen2";
  std::string serial;  // generated when empty
  double session_limit_s = 300;
  double warn_before_s = 30;
  double keepalive_timeout_s = 3;
  double boot_time_s = 10;
  std::vector<double> reboot_at_s;  // power cycles, seconds from start
  bool half_duplex = false;
  double video_kbps = 0;  // dummy video sent to the client during a live view (load, not content)
  bool no_session = false;  // plays any RTP stream, no live-view protocol (standard RTP senders)
  bool insecure = false;    // --insecure: no pairing, plain control and RTP (docs/security.md)
  // Pairing (docs/security.md): keys kept in state_dir (empty: in memory only), the label's code
  // (generated when empty: 8 random digits), and a factory reset that forgets every pairing.
  std::filesystem::path state_dir;
  std::string pairing_code;
  bool factory_reset = false;
  std::filesystem::path events_path;
  std::optional<RtspOptions> rtsp;  // --rtsp: also serve rtsp://HOST:PORT/live (docs/rtsp.md)
  std::optional<WebOptions> web;    // --web: also serve the app page and WebRTC (docs/web.md)
};

struct CameraStats {
  std::uint64_t media_dropped = 0;  // RTP from no session / another peer / before accept
  std::uint64_t power_cycles = 0;
  std::uint64_t video_packets = 0;
  std::uint64_t video_bytes = 0;
  // Answers not sent to a source without a session: they would have exceeded 3x what it sent.
  std::uint64_t amplification_dropped = 0;
  std::uint64_t unprotected_dropped = 0;  // plain control messages and RTP to a camera that is not --insecure
};

// The camera: live-view sessions (control protocol, 5-minute cap, talk floor, keepalive, power
// cycles), the speaker path for the client's talk bursts, and its microphone streamed back.
// One io_context thread.
class Camera {
 public:
  Camera(boost::asio::io_context& io, CameraConfig config);  // binds and opens; throws
  ~Camera();

  void start();
  void stop();          // SESSION_END(camera_shutdown) to an open session, then stops
  // Stops once no talk burst plays (at most `max_wait_us` from now), then calls `done`.
  void stop_when_quiet(std::int64_t max_wait_us, std::function<void()> done);
  bool stopping() const noexcept { return stop_at_.has_value(); }
  void power_cycle();   // as if unplugged: sessions vanish without a word; back after boot time
  net::Udp::endpoint local_endpoint() const { return socket_.local_endpoint(); }
  const std::string& serial() const noexcept { return serial_; }
  const media::Receiver& speaker_path() const noexcept { return *receiver_; }
  const RtspServer* rtsp() const noexcept { return rtsp_.get(); }
  const WebServer* web() const noexcept { return web_.get(); }
  // Who is paired: the key of every client, found by the id it presents. Its pairing port (absent
  // with --no-session) is TCP on the control port's address and number.
  secure::CameraKeyring& keyring() noexcept { return keyring_; }
  const std::string& pairing_code() const noexcept { return config_.pairing_code; }
  const PairingServer* pairing() const noexcept { return pairing_.get(); }
  bool secure() const noexcept { return links_ != nullptr; }
  nlohmann::json summary() const;

 private:
  void on_datagram(std::span<const std::byte> datagram, const net::Udp::endpoint& from);
  void on_control(std::span<const std::byte> datagram, const net::Udp::endpoint& from, std::int64_t now_us);
  std::int64_t next_due_us(std::int64_t now_us) const;
  void run_due(std::int64_t now_us);
  std::optional<std::int64_t> next_reboot_us() const;  // the next --reboot-at, if any
  // Sends the session's messages, carries out its actions and logs its events, stamped with the
  // time it decided them.
  void apply(session::Output out, std::int64_t now_us);
  void carry_out(const session::Action& action);
  void sync_media();
  void send_to(std::span<const std::byte> datagram, const net::Udp::endpoint& to);
  // RTP and RTCP to a live view's client: SRTP-protected unless --insecure.
  void send_media(std::span<const std::byte> datagram, const net::Udp::endpoint& to, bool rtcp);
  void refuse_unprotected(std::span<const std::byte> datagram, const net::Udp::endpoint& from);
  void on_dtls(std::span<const std::byte> datagram, const net::Udp::endpoint& from, std::int64_t now);
  static constexpr std::size_t kAmplificationFactor = 3;
  bool within_budget(std::size_t bytes, const net::Udp::endpoint& to);
  void schedule_video();
  void make_rtsp(boost::asio::io_context& io);
  void make_web(boost::asio::io_context& io);
  void bind_ports(boost::asio::io_context& io);
  std::optional<std::string> web_floor(bool press);
  void report_bursts_to_web();

  CameraConfig config_;
  secure::CameraKeyring keyring_;
  std::string serial_;
  const timing::Clock& clock_;
  net::Udp::socket socket_;
  std::unique_ptr<SecureLinks> links_;  // protected live views; null with --insecure or --no-session
  std::vector<std::byte> media_scratch_;
  app::IoLoop loop_;
  boost::asio::steady_timer video_timer_;
  measure::EventLog events_;
  measure::CpuSplit cpu_;  // active: while a client's talk burst plays
  app::ControlIntake control_in_;
  measure::SenderMetrics mic_metrics_;
  measure::ReceiverMetrics speaker_metrics_;
  session::CameraSession session_;
  control::MessageWriter control_writer_;
  std::optional<net::Udp::endpoint> peer_;  // the open live view's client: its microphone and video go there
  CameraStats stats_;
  // While a control datagram from a source without a session is handled: that source, and how many
  // bytes may still go to it (3x what it sent, as QUIC allows an unvalidated address).
  struct Unvalidated {
    net::Udp::endpoint from;
    std::size_t budget = 0;
  };
  std::optional<Unvalidated> unvalidated_;
  bool running_ = false;
  std::int64_t start_us_ = 0;
  std::size_t next_reboot_ = 0;
  std::optional<std::int64_t> stop_at_;  // stop_when_quiet(): the latest it stops
  std::function<void()> on_stopped_;
  rtp::RtpWriter video_writer_;
  rtp::RtpHeader video_header_;
  std::unique_ptr<media::Receiver> receiver_;
  std::unique_ptr<media::Sender> mic_;
  std::optional<net::Udp::endpoint> rtp_source_;  // --no-session: where the stream playing comes from
  std::unique_ptr<media::RtcpReporter> rtcp_;
  std::unique_ptr<RtspServer> rtsp_;  // its hooks use the receiver and the microphone
  std::unique_ptr<WebServer> web_;    // last, likewise
  std::unique_ptr<PairingServer> pairing_;  // adds keys to keyring_
  std::uint64_t bursts_told_ = 0;     // finished bursts the web pages have been told of
  // Talk-start of the pages' bursts (burst number -> ms, and from the key or the camera).
  std::map<std::uint64_t, nlohmann::json> web_talk_starts_;
  // Who talks through another front end than pttcam's protocol (one talker across all of them).
  bool rtsp_talking_ = false;  // an RTSP backchannel holds the speaker
  bool web_talking_ = false;   // a page holds the speaker
};

}  // namespace pttcam::camera
