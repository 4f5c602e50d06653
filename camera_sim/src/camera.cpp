#include "pttcam/camera/camera.hpp"

#include <algorithm>
#include <cmath>

#include "pttcam/codec/opus_settings.hpp"

namespace pttcam::camera {
namespace {

using namespace std::chrono_literals;
constexpr auto kTick = 1ms;
// Samples one tick adds to how late the speaker ring may be refilled.
constexpr std::size_t kTickSamples = audio::kSampleRate / 1000;

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(std::lround(p / 100.0 * static_cast<double>(v.size() - 1)));
  return v[i];
}

}  // namespace

Camera::Camera(boost::asio::io_context& io, CameraConfig config)
    : config_(std::move(config)),
      socket_(io),
      timer_(io),
      decoder_(codec::Decoder::create()),
      playout_({static_cast<playout::Micros>(config_.playout_delay_ms * 1000), 4800}),
      events_(config_.events_path),
      pcm_(codec::kMaxFrameSamples) {
  socket_.open(config_.listen.protocol());
  boost::system::error_code ec;
  socket_.bind(config_.listen, ec);
  if (ec) throw std::runtime_error("cannot listen on " + net::to_string(config_.listen) + ": " + ec.message());
  speaker_ = audio::open_playback(config_.output);
}

Camera::~Camera() {
  if (speaker_) speaker_->stop();
}

void Camera::start() {
  // Prime the speaker with a little silence so its first periods do not count as underruns.
  fill_speaker();
  speaker_->start();
  running_ = true;
  events_.write("camera_start", {{"listen", net::to_string(local_endpoint())},
                                 {"speaker", speaker_->describe()},
                                 {"playout_delay_ms", config_.playout_delay_ms}});
  receive();
  timer_.expires_after(0ms);
  schedule_tick();
}

void Camera::stop() {
  if (!running_) return;
  running_ = false;
  speaker_->stop();  // first: once the pump stops, a running speaker would only count underruns
  timer_.cancel();
  boost::system::error_code ec;
  socket_.close(ec);
  events_.write("camera_stop", summary());
}

void Camera::receive() {
  socket_.async_receive_from(boost::asio::buffer(rx_), sender_,
                             [this](const boost::system::error_code& ec, std::size_t size) {
                               if (ec == boost::asio::error::operation_aborted || !running_) return;
                               if (!ec) on_datagram(size);
                               receive();
                             });
}

void Camera::on_datagram(std::size_t size) {
  ++rx_counters_.datagrams;
  const auto parsed = rtp::parse(std::span<const std::byte>(rx_.data(), std::min(size, rtp::kMaxDatagram)));
  if (!parsed || size > rtp::kMaxDatagram) {
    ++rx_counters_.malformed;
    if (!parsed) rx_counters_.by_reason.record(parsed.error);
    log_drop(parsed ? "oversize" : rtp::to_string(parsed.error), size);
    return;
  }
  const auto& p = *parsed.packet;
  if (p.header.payload_type != rtp::kOpusPayloadType) {
    ++rx_counters_.wrong_payload_type;
    log_drop("wrong_payload_type", size);
    return;
  }
  const auto samples = codec::packet_samples(p.payload);
  if (!samples || *samples <= 0) {
    ++rx_counters_.bad_opus;
    log_drop("bad_opus", size);
    return;
  }
  playout::IncomingPacket in;
  in.ssrc = p.header.ssrc;
  in.sequence = p.header.sequence;
  in.timestamp = p.header.timestamp;
  in.marker = p.header.marker;
  in.end_of_burst = p.extras.end_of_burst;
  in.has_fec = codec::packet_has_fec(p.payload);
  in.samples = *samples;
  if (p.extras.capture_time_us) in.capture_us = static_cast<playout::Micros>(*p.extras.capture_time_us);
  in.payload = p.payload;
  playout_.insert(in, events::monotonic_us());
  fill_speaker();  // a burst may be due now
}

// Each dropped datagram is logged, up to a cap, so a flood cannot fill the disk.
void Camera::log_drop(const char* reason, std::size_t size) {
  constexpr std::uint64_t kMaxLogged = 1000;
  const std::uint64_t dropped = rx_counters_.malformed + rx_counters_.wrong_payload_type + rx_counters_.bad_opus;
  if (dropped <= kMaxLogged)
    events_.write("packet_dropped", {{"reason", reason}, {"bytes", size}, {"from", net::to_string(sender_)}});
  if (dropped == kMaxLogged) events_.write("packet_dropped_log_capped", {{"after", kMaxLogged}});
}

void Camera::schedule_tick() {
  timer_.expires_at(timer_.expiry() + kTick);
  if (timer_.expiry() < std::chrono::steady_clock::now() - 50ms) timer_.expires_after(0ms);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || !running_) return;
    fill_speaker();
    schedule_tick();
  });
}

// Keeps about two device periods queued: enough that the device never runs dry between ticks,
// little enough that the queue adds only a few milliseconds to the latency.
void Camera::fill_speaker() {
  const std::size_t low_water = 2 * speaker_->period_samples() + kTickSamples;
  while (speaker_->queued() < low_water) {
    if (pcm_pos_ == pcm_len_) next_frame();
    write_pcm();
  }
}

void Camera::write_pcm() {
  const std::size_t n = std::min(pcm_len_ - pcm_pos_, speaker_->space());
  speaker_->write(std::span<const float>(pcm_.data() + pcm_pos_, n));
  pcm_pos_ += n;
}

void Camera::next_frame() {
  const std::int64_t now = events::monotonic_us();
  const auto frame = playout_.next(now, static_cast<int>(speaker_->period_samples()));
  const auto out = std::span<float>(pcm_.data(), static_cast<std::size_t>(frame.samples));
  std::optional<int> got;
  switch (frame.kind) {
    case playout::FrameKind::silence: std::fill(out.begin(), out.end(), 0.0f); got = frame.samples; break;
    case playout::FrameKind::normal: got = decoder_.decode(frame.payload, out); break;
    case playout::FrameKind::fec: got = decoder_.decode_fec(frame.payload, out); break;
    case playout::FrameKind::concealed: got = decoder_.conceal(out); break;
  }
  if (!got || *got != frame.samples) {
    ++rx_counters_.decode_errors;
    std::fill(out.begin(), out.end(), 0.0f);
  }
  pcm_len_ = static_cast<std::size_t>(frame.samples);
  pcm_pos_ = 0;

  if (frame.kind == playout::FrameKind::silence && !frame.burst_end) return;
  // When this frame's first sample will be heard: after what is queued, plus the device's latency.
  const std::int64_t play_us =
      now + static_cast<std::int64_t>(speaker_->queued()) * 1'000'000 / audio::kSampleRate +
      static_cast<std::int64_t>(speaker_->output_latency() * 1e6);
  if (frame.burst_start) {
    bursts_.push_back({frame.capture_us.value_or(0), play_us, 0, {}});
    in_burst_ = true;
    events_.write("burst_play_start",
                  {{"burst", bursts_.size()},
                   {"seq", frame.sequence},
                   {"capture_us", frame.capture_us.value_or(0)},
                   {"play_us", play_us},
                   {"talk_start_ms", frame.capture_us ? (play_us - *frame.capture_us) / 1000.0 : -1.0}});
  }
  if (in_burst_ && frame.kind != playout::FrameKind::silence) {
    auto& b = bursts_.back();
    ++b.frames;
    if (frame.kind == playout::FrameKind::normal && frame.capture_us)
      b.mouth_to_ear_ms.push_back(static_cast<double>(play_us - *frame.capture_us) / 1000.0);
  }
  if (frame.burst_end && in_burst_) {
    in_burst_ = false;
    events_.write("burst_play_end", {{"burst", bursts_.size()},
                                     {"frames", bursts_.back().frames},
                                     {"last_play_us", play_us},
                                     {"terminated", frame.kind != playout::FrameKind::silence}});
  }
}

nlohmann::json Camera::summary() const {
  const auto& pc = playout_.counters();
  const auto& sc = speaker_->counters();
  std::vector<double> m2e;
  nlohmann::json bursts = nlohmann::json::array();
  for (const auto& b : bursts_) {
    m2e.insert(m2e.end(), b.mouth_to_ear_ms.begin(), b.mouth_to_ear_ms.end());
    bursts.push_back({{"frames", b.frames},
                      {"talk_start_ms", b.first_capture_us ? (b.first_play_us - b.first_capture_us) / 1000.0 : -1.0},
                      {"mouth_to_ear_p50_ms", percentile(b.mouth_to_ear_ms, 50)}});
  }
  nlohmann::json malformed = nlohmann::json::object();
  for (std::size_t i = 0; i < rtp::kParseErrorCount; ++i)
    if (rx_counters_.by_reason.by_error[i])
      malformed[rtp::to_string(static_cast<rtp::ParseError>(i))] = rx_counters_.by_reason.by_error[i];
  return {{"datagrams", rx_counters_.datagrams},
          {"malformed", rx_counters_.malformed},
          {"malformed_by_reason", malformed},
          {"wrong_payload_type", rx_counters_.wrong_payload_type},
          {"bad_opus", rx_counters_.bad_opus},
          {"decode_errors", rx_counters_.decode_errors},
          {"packets", pc.received},
          {"duplicate", pc.duplicate},
          {"late", pc.late},
          {"lost", pc.lost},
          {"frames_normal", pc.normal},
          {"frames_fec", pc.fec_recovered},
          {"frames_concealed", pc.concealed},
          {"bursts", pc.bursts},
          {"bursts_unterminated", pc.bursts_unterminated},
          {"stream_changes", pc.stream_changes},
          {"speaker_underrun_samples", sc.underrun_samples.load()},
          {"speaker_device_xruns", sc.device_flags.load()},
          {"mouth_to_ear_ms", {{"p50", percentile(m2e, 50)}, {"p95", percentile(m2e, 95)},
                               {"max", m2e.empty() ? 0.0 : *std::max_element(m2e.begin(), m2e.end())}}},
          {"per_burst", bursts}};
}

}  // namespace pttcam::camera
