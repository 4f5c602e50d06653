#pragma once
#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pttcam/audio/factory.hpp"
#include "pttcam/codec/opus_settings.hpp"
#include "pttcam/control/wire.hpp"
#include "pttcam/measure/event_log.hpp"
#include "pttcam/measure/resource_usage.hpp"
#include "pttcam/net/address.hpp"
#include "pttcam/net/wake_timer.hpp"
#include "pttcam/session/camera_session.hpp"
#include "pttcam/stream/audio_receiver.hpp"
#include "pttcam/stream/audio_sender.hpp"

namespace pttcam::camera {

struct CameraConfig {
  net::Udp::endpoint listen{boost::asio::ip::address_v4::any(), 5004};
  audio::EndpointSpec output{audio::EndpointSpec::Kind::device, "default"};
  std::optional<audio::EndpointSpec> mic = audio::EndpointSpec{audio::EndpointSpec::Kind::device, "default"};
  codec::OpusSettings mic_opus;
  stream::AudioReceiver::Options receiver;  // playout of the client's talk audio, cutoffs, packet log
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
  std::filesystem::path events_path;
};

struct CameraStats {
  std::uint64_t media_dropped = 0;  // RTP from no session / another peer / before accept
  std::uint64_t power_cycles = 0;
  std::uint64_t video_packets = 0;
  std::uint64_t video_bytes = 0;
  control::DecodeCounters control_malformed;
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
  void power_cycle();   // as if unplugged: sessions vanish without a word; back after boot time
  net::Udp::endpoint local_endpoint() const { return socket_.local_endpoint(); }
  const std::string& serial() const noexcept { return serial_; }
  const stream::AudioReceiver& speaker_path() const noexcept { return *receiver_; }
  nlohmann::json summary() const;

 private:
  void receive();
  void on_datagram(std::size_t size);
  void schedule_tick();
  void run_tick(std::int64_t now_us);
  std::optional<std::int64_t> next_reboot_us() const;  // the next --reboot-at, if any
  void wake();  // ends the wait now: a packet may have work sooner
  measure::CpuSplit cpu_;  // active: while a client's talk burst plays
  // Sends the session's messages and logs its events, stamped with the time it decided them.
  void apply(session::Output out, std::int64_t now_us);
  void sync_media();
  void schedule_video();

  CameraConfig config_;
  std::string serial_;
  net::Udp::socket socket_;
  net::WakeTimer timer_;  // the io thread's sleep until the next work
  boost::asio::steady_timer video_timer_;
  measure::EventLog events_;
  session::CameraSession session_;
  control::MessageWriter control_writer_;
  std::array<std::byte, 2048> rx_{};
  net::Udp::endpoint from_;
  std::optional<std::string> peer_;                 // the open session's client, as the session names it
  std::optional<net::Udp::endpoint> peer_endpoint_;  // ... and where its microphone and video go
  CameraStats stats_;
  bool running_ = false;
  std::int64_t start_us_ = 0;
  std::size_t next_reboot_ = 0;
  rtp::RtpWriter video_writer_;
  rtp::RtpHeader video_header_;
  std::unique_ptr<stream::AudioReceiver> receiver_;
  std::unique_ptr<stream::AudioSender> mic_;
};

}  // namespace pttcam::camera
