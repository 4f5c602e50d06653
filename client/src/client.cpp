#include "pttcam/client/client.hpp"

#include <random>

#include "pttcam/rtp/sequence.hpp"

namespace pttcam::client {
namespace {

using namespace std::chrono_literals;
// While talking the ring is drained every millisecond: a frame leaves at most 1 ms after its last
// sample arrived. While idle, 10 ms is enough to keep the ring from filling.
constexpr auto kTalkTick = 1ms;
constexpr auto kIdleTick = 10ms;

std::uint32_t random_u32() {
  static std::random_device rd;
  return (static_cast<std::uint32_t>(rd()) << 16) ^ static_cast<std::uint32_t>(rd());
}

}  // namespace

Client::Client(boost::asio::io_context& io, ClientConfig config)
    : config_(std::move(config)),
      io_(io),
      socket_(io, config_.camera.protocol()),
      timer_(io),
      encoder_(codec::Encoder::create(config_.opus)),
      framer_(static_cast<std::size_t>(config_.opus.samples_per_frame())),
      events_(config_.events_path),
      chunk_(audio::kRingCapacity) {
  header_.payload_type = rtp::kOpusPayloadType;
  header_.ssrc = random_u32();
  header_.sequence = static_cast<std::uint16_t>(random_u32());
  timestamp_base_ = random_u32();
  lookahead_us_ = static_cast<std::int64_t>(encoder_.lookahead_samples()) * 1'000'000 / audio::kSampleRate;
  capture_ = audio::open_capture(config_.input);
}

Client::~Client() {
  if (capture_) capture_->stop();
}

void Client::start() {
  capture_->start();
  start_us_ = events::monotonic_us();
  next_timestamp_ = timestamp_base_;
  running_ = true;
  events_.write("client_start", {{"camera", net::to_string(config_.camera)},
                                 {"input", capture_->describe()},
                                 {"codec", codec::describe(config_.opus)},
                                 {"ssrc", header_.ssrc}});
  schedule_tick();
}

void Client::schedule_tick() {
  if (!running_) return;
  timer_.expires_at(timer_.expiry() + (framer_.talking() ? kTalkTick : kIdleTick));
  if (timer_.expiry() < std::chrono::steady_clock::now() - 50ms) timer_.expires_after(0ms);  // woke late: resync
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    pump();
    schedule_tick();
  });
}

void Client::pump() {
  const std::size_t n = capture_->read(chunk_);
  if (!framer_.talking()) {
    stats_.samples_discarded_idle += n;
    return;
  }
  // The newest sample read is about input_latency old; earlier ones are older by their position.
  const std::int64_t now = events::monotonic_us();
  const auto first_capture = now - static_cast<std::int64_t>(capture_->input_latency() * 1e6) -
                             static_cast<std::int64_t>(n) * 1'000'000 / audio::kSampleRate;
  framer_.push(std::span<const float>(chunk_.data(), n), first_capture,
               [this](std::span<const float> pcm, const ptt::FrameFlags& f) { send_frame(pcm, f); });
}

void Client::set_talking(bool on) {
  if (!running_ || on == framer_.talking()) return;
  const std::int64_t now = events::monotonic_us();
  if (on) {
    // Whatever the ring holds was captured before the key went down: it is never sent.
    stats_.samples_discarded_idle += capture_->discard();
    key_down_us_ = now;
    burst_frames_ = 0;
    framer_.key_down(now);
    events_.write("key_down", {{"burst", stats_.bursts + 1}});
    timer_.cancel();  // switch to the fast tick now
    timer_.expires_at(std::chrono::steady_clock::now());
    schedule_tick();
  } else {
    pump();  // everything captured up to the release belongs to the burst
    framer_.key_up([this](std::span<const float> pcm, const ptt::FrameFlags& f) { send_frame(pcm, f); });
    stats_.talk_seconds += static_cast<double>(now - key_down_us_) / 1e6;
    events_.write("key_up", {{"burst", stats_.bursts}, {"frames", burst_frames_}});
  }
}

void Client::send_frame(std::span<const float> pcm, const ptt::FrameFlags& f) {
  if (f.first) {
    ++stats_.bursts;
    // The timestamp follows the capture clock across the silent gap (RFC 3550 5.1), and never
    // goes backwards even if the gap was shorter than a frame.
    const auto elapsed = static_cast<std::uint64_t>(std::max<std::int64_t>(0, f.capture_us - start_us_));
    const auto ts = timestamp_base_ + static_cast<std::uint32_t>(elapsed * audio::kSampleRate / 1'000'000);
    header_.timestamp = rtp::is_newer_ts(ts, next_timestamp_) ? ts : next_timestamp_;
  }
  const auto bytes = encoder_.encode(pcm, opus_buf_);
  if (!bytes) {
    ++stats_.encode_errors;
  } else {
    header_.marker = f.first;
    rtp::RtpExtras extras;
    // The decoder's output lags the encoder's input by the encoder lookahead, so the first sample
    // the camera plays from this packet was captured that much before the frame's first sample.
    extras.capture_time_us = static_cast<std::uint64_t>(f.capture_us - lookahead_us_);
    extras.end_of_burst = f.last;
    const auto datagram = writer_.write(header_, extras, std::span<const std::byte>(opus_buf_.data(), *bytes));
    boost::system::error_code ec;
    socket_.send_to(boost::asio::buffer(datagram.data(), datagram.size()), config_.camera, 0, ec);
    if (ec) {
      ++stats_.send_errors;
    } else {
      ++stats_.frames_sent;
      stats_.bytes_sent += datagram.size();
    }
    if (f.first)
      events_.write("burst_first_packet", {{"burst", stats_.bursts},
                                           {"seq", header_.sequence},
                                           {"rtp_ts", header_.timestamp},
                                           {"key_down_us", key_down_us_},
                                           {"capture_us", f.capture_us}});
    if (f.last)
      events_.write("burst_last_packet", {{"burst", stats_.bursts}, {"seq", header_.sequence}, {"frames", burst_frames_ + 1}});
  }
  ++burst_frames_;
  // Sequence numbers stay continuous across bursts; a failed encode still uses its number so
  // the receiver sees the gap as a loss.
  ++header_.sequence;
  header_.timestamp += static_cast<std::uint32_t>(pcm.size());
  next_timestamp_ = header_.timestamp;
}

void Client::stop() {
  if (!running_) return;
  set_talking(false);
  running_ = false;
  timer_.cancel();
  capture_->stop();
  boost::system::error_code ec;
  socket_.close(ec);
  events_.write("client_stop", summary());
}

nlohmann::json Client::summary() const {
  const auto& c = capture_->counters();
  return {{"bursts", stats_.bursts},
          {"frames_sent", stats_.frames_sent},
          {"bytes_sent", stats_.bytes_sent},
          {"talk_seconds", stats_.talk_seconds},
          {"encode_errors", stats_.encode_errors},
          {"send_errors", stats_.send_errors},
          {"samples_discarded_idle", stats_.samples_discarded_idle},
          {"capture_overrun_samples", c.overrun_samples.load()},
          {"capture_device_xruns", c.device_flags.load()}};
}

}  // namespace pttcam::client
