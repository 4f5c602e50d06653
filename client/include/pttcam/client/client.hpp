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
#include "pttcam/control/wire.hpp"
#include "pttcam/measure/event_log.hpp"
#include "pttcam/measure/resource_usage.hpp"
#include "pttcam/net/address.hpp"
#include "pttcam/net/wake_timer.hpp"
#include "pttcam/session/client_session.hpp"
#include "pttcam/stream/audio_receiver.hpp"
#include "pttcam/stream/audio_sender.hpp"

namespace pttcam::client {

struct ClientConfig {
  net::Udp::endpoint camera;
  audio::EndpointSpec input{audio::EndpointSpec::Kind::device, "default"};
  audio::EndpointSpec speaker{audio::EndpointSpec::Kind::device, "default"};
  codec::OpusSettings opus;
  stream::AudioReceiver::Options receiver;  // playout of the camera's microphone, cutoffs, packet log
  std::string camera_id;  // empty: whichever camera answers
  bool renew = false;
  double keepalive_timeout_s = 3;
  bool no_session = false;  // plain RTP, no control protocol (standard RTP receivers)
  bool cold_mic = false;    // open the microphone at key-down, close it at key-up
  std::filesystem::path events_path;
};

struct ClientStats {
  std::uint64_t send_errors = 0;
  std::uint64_t talk_failed = 0;  // key presses that could not talk (mic denied, no session)
  std::uint64_t control_ignored = 0;
  std::uint64_t video_packets = 0;
  std::uint64_t video_bytes = 0;
  std::uint64_t media_outside_session = 0;
  control::DecodeCounters control_malformed;
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

  const session::ClientSession& session() const noexcept { return session_; }
  const stream::AudioSender& sender() const noexcept { return *sender_; }
  nlohmann::json summary() const;
  std::string status_line(std::int64_t now_us) const;

 private:
  void receive();
  void on_datagram(std::size_t size);
  void schedule_tick();
  void wake();  // ends the wait now: a packet or a key may have work sooner
  measure::CpuSplit cpu_;
  // Sends the session's messages and logs its events, stamped with the time it decided them.
  void apply(session::Output out, std::int64_t now_us);
  void notice_for(const session::LogEvent& e);
  void send(std::span<const std::byte> datagram);

  ClientConfig config_;
  net::Udp::socket socket_;
  net::WakeTimer timer_;  // the io thread's sleep until the next work
  measure::EventLog events_;
  session::ClientSession session_;
  control::MessageWriter control_writer_;
  std::array<std::byte, 2048> rx_{};
  net::Udp::endpoint from_;
  ClientStats stats_;
  bool key_held_ = false;
  bool running_ = false;
  std::unique_ptr<stream::AudioReceiver> receiver_;
  std::unique_ptr<stream::AudioSender> sender_;
};

}  // namespace pttcam::client
