#pragma once
#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "pttcam/audio/endpoint.hpp"
#include "pttcam/audio/factory.hpp"
#include "pttcam/codec/decoder.hpp"
#include "pttcam/events/event_log.hpp"
#include "pttcam/net/address.hpp"
#include "pttcam/playout/fixed_delay_playout.hpp"
#include "pttcam/rtp/packet.hpp"

namespace pttcam::camera {

struct CameraConfig {
  net::Udp::endpoint listen{boost::asio::ip::address_v4::any(), 5004};
  audio::EndpointSpec output{audio::EndpointSpec::Kind::device, "default"};
  double playout_delay_ms = 10;
  std::filesystem::path events_path;
};

struct ReceiveCounters {
  std::uint64_t datagrams = 0;
  std::uint64_t malformed = 0;  // rejected by the RTP parser (by reason below)
  rtp::ParseCounters by_reason;
  std::uint64_t wrong_payload_type = 0;
  std::uint64_t bad_opus = 0;       // not a valid Opus packet (no duration)
  std::uint64_t decode_errors = 0;  // played as silence
};

// Latency of the frames played in one burst, from the sender's capture clock to the speaker.
struct BurstRecord {
  std::int64_t first_capture_us = 0;
  std::int64_t first_play_us = 0;
  std::uint64_t frames = 0;
  std::vector<double> mouth_to_ear_ms;
};

// The camera's speaker path: RTP/UDP -> playout -> Opus decode (FEC/PLC for gaps) -> speaker.
// One io_context thread; the speaker device only drains a ring.
class Camera {
 public:
  Camera(boost::asio::io_context& io, CameraConfig config);  // binds and opens; throws
  ~Camera();

  void start();
  void stop();
  net::Udp::endpoint local_endpoint() const { return socket_.local_endpoint(); }
  const audio::Playback& speaker() const noexcept { return *speaker_; }
  nlohmann::json summary() const;

 private:
  void receive();
  void on_datagram(std::size_t size);
  void log_drop(const char* reason, std::size_t size);
  void schedule_tick();
  void fill_speaker();
  void next_frame();
  void write_pcm();

  CameraConfig config_;
  net::Udp::socket socket_;
  boost::asio::steady_timer timer_;
  codec::Decoder decoder_;
  playout::FixedDelayPlayout playout_;
  events::EventLog events_;
  std::array<std::byte, rtp::kMaxDatagram + 1> rx_{};  // +1: an oversize datagram is visible
  net::Udp::endpoint sender_;
  std::vector<float> pcm_;
  std::size_t pcm_len_ = 0;
  std::size_t pcm_pos_ = 0;
  ReceiveCounters rx_counters_;
  std::vector<BurstRecord> bursts_;
  bool in_burst_ = false;
  bool running_ = false;
  std::unique_ptr<audio::Playback> speaker_;  // last: its device thread stops first
};

}  // namespace pttcam::camera
