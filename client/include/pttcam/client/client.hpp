#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "pttcam/audio/endpoint.hpp"
#include "pttcam/audio/factory.hpp"
#include "pttcam/codec/encoder.hpp"
#include "pttcam/events/event_log.hpp"
#include "pttcam/net/address.hpp"
#include "pttcam/ptt/burst_framer.hpp"
#include "pttcam/rtp/packet.hpp"

namespace pttcam::client {

struct ClientConfig {
  net::Udp::endpoint camera;
  audio::EndpointSpec input{audio::EndpointSpec::Kind::device, "default"};
  codec::OpusSettings opus;
  std::filesystem::path events_path;
};

struct ClientStats {
  std::uint64_t bursts = 0;
  std::uint64_t frames_sent = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t encode_errors = 0;
  std::uint64_t send_errors = 0;
  std::uint64_t samples_discarded_idle = 0;  // captured while the key was up: never encoded
  double talk_seconds = 0;
};

// The talk path of the phone app: microphone -> (only while the key is held) Opus -> RTP/UDP.
// Everything runs on the io_context's thread except the capture device, which only fills a ring.
class Client {
 public:
  Client(boost::asio::io_context& io, ClientConfig config);  // opens everything; throws
  ~Client();

  void start();               // starts the microphone and the pump
  void set_talking(bool on);  // key edges; repeated calls with the same state are ignored
  bool talking() const noexcept { return framer_.talking(); }
  void stop();                // ends a burst in progress, stops the mic, closes the socket

  std::int64_t start_us() const noexcept { return start_us_; }
  const ClientStats& stats() const noexcept { return stats_; }
  const audio::Capture& capture() const noexcept { return *capture_; }
  nlohmann::json summary() const;
  events::EventLog& events() noexcept { return events_; }

 private:
  void schedule_tick();
  void pump();  // drain the capture ring: discard while idle, frame and send while talking
  void send_frame(std::span<const float> pcm, const ptt::FrameFlags& flags);

  ClientConfig config_;
  boost::asio::io_context& io_;
  net::Udp::socket socket_;
  boost::asio::steady_timer timer_;
  codec::Encoder encoder_;
  ptt::BurstFramer framer_;
  rtp::RtpWriter writer_;
  events::EventLog events_;
  std::vector<float> chunk_;
  std::array<std::byte, codec::kMaxPacketBytes> opus_buf_{};
  rtp::RtpHeader header_;
  std::uint32_t timestamp_base_ = 0;
  std::int64_t start_us_ = 0;
  std::int64_t key_down_us_ = 0;
  std::int64_t lookahead_us_ = 0;
  std::uint32_t next_timestamp_ = 0;  // lowest timestamp the next burst may use
  std::uint64_t burst_frames_ = 0;
  ClientStats stats_;
  bool running_ = false;
  std::unique_ptr<audio::Capture> capture_;  // last: its device thread stops first
};

}  // namespace pttcam::client
