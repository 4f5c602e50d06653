#include "pttcam/client/client.hpp"

#include <cstdio>

#include "pttcam/stream/due.hpp"

namespace pttcam::client {
namespace {

using State = session::ClientSession::State;
using Talk = session::ClientSession::Talk;

// The longest the io thread sleeps with nothing due: a warm microphone's ring (341 ms) is emptied
// well before it fills.
constexpr std::int64_t kMaxSleepUs = 100'000;
constexpr std::uint8_t kVideoPayloadType = 96;

session::ClientSessionConfig session_config(const ClientConfig& c) {
  session::ClientSessionConfig s;
  s.camera_id = c.camera_id;
  s.renew = c.renew;
  s.keepalive_timeout_us = static_cast<session::Micros>(c.keepalive_timeout_s * 1e6);
  return s;
}

std::unique_ptr<audio::Capture> open_microphone(const audio::EndpointSpec& spec) {
  // An OS that refused the microphone does not stop the app from starting: talking fails.
  if (spec.kind == audio::EndpointSpec::Kind::deny) return nullptr;
  return audio::open_capture(spec);
}

}  // namespace

Client::Client(boost::asio::io_context& io, ClientConfig config)
    : config_(std::move(config)),
      socket_(io, config_.camera.protocol()),
      timer_(io),
      events_(config_.events_path),
      session_(session_config(config_), net::to_string(config_.camera)) {
  socket_.bind(net::Udp::endpoint(config_.camera.protocol(), 0));
  receiver_ = std::make_unique<stream::AudioReceiver>(
      audio::open_playback(config_.speaker),
      config_.receiver, events_,
      "camera_audio_");
  sender_ = std::make_unique<stream::AudioSender>(open_microphone(config_.input), config_.opus,
                                                  [this](std::span<const std::byte> d) { send(d); }, events_);
  sender_->set_cold_microphone(config_.cold_mic);
}

Client::~Client() = default;

void Client::start() {
  sender_->start();
  receiver_->start();
  running_ = true;
  events_.write("client_start", {{"camera", net::to_string(config_.camera)},
                                 {"input", sender_->capture() ? sender_->capture()->describe() : "denied"},
                                 {"speaker", receiver_->speaker().describe()},
                                 {"codec", codec::describe(config_.opus)},
                                 {"ssrc", sender_->ssrc()},
                                 {"cold_mic", config_.cold_mic},
                                 {"session", !config_.no_session}});
  receive();
  cpu_.start(timing::monotonic_us());
  if (!config_.no_session) {
    const std::int64_t now = timing::monotonic_us();
    apply(session_.start(now), now);
  }
  schedule_tick();
}

void Client::send(std::span<const std::byte> datagram) {
  boost::system::error_code ec;
  socket_.send_to(boost::asio::buffer(datagram.data(), datagram.size()), config_.camera, 0, ec);
  if (ec) ++stats_.send_errors;
}

void Client::receive() {
  socket_.async_receive_from(boost::asio::buffer(rx_), from_, [this](const boost::system::error_code& ec, std::size_t n) {
    if (ec == boost::asio::error::operation_aborted || !running_) return;
    if (!ec) on_datagram(n);
    receive();
  });
}

void Client::on_datagram(std::size_t size) {
  const std::span<const std::byte> datagram(rx_.data(), size);
  if (from_ != config_.camera) {
    ++stats_.control_ignored;  // only the camera talks to us
    return;
  }
  const std::int64_t now = timing::monotonic_us();
  if (control::is_control(datagram)) {
    const auto decoded = control::decode(datagram);
    if (!decoded) {
      stats_.control_malformed.record(decoded.error);
      if (stats_.control_malformed.total() <= 1000)  // a flood must not fill the disk
        events_.write("control_dropped", {{"reason", control::to_string(decoded.error)}});
      return;
    }
    apply(session_.on_message(*decoded.message, now), now);
    return;
  }
  // The camera's video (PT 96) is load, not content: counted, never decoded.
  if (size >= 2 && (std::to_integer<std::uint8_t>(datagram[1]) & 0x7f) == kVideoPayloadType) {
    ++stats_.video_packets;
    stats_.video_bytes += size;
    return;
  }
  // The camera's microphone plays only during a live view (or always with --no-session).
  if (config_.no_session || session_.state() == State::live) {
    receiver_->on_datagram(datagram, net::to_string(from_));
    wake();
  } else {
    ++stats_.media_outside_session;
  }
}

// The io thread sleeps until the earliest moment something has work: a frame's last capture
// period while talking, the speaker's queue running low or a burst due while the camera's audio
// plays, a session timer. Polling every millisecond instead cost 1.5 % of a core on a small VM.
// A packet or a key press wakes it at once (wake()).
void Client::schedule_tick() {
  if (!running_) return;
  const std::int64_t now = timing::monotonic_us();
  std::int64_t due = std::min({sender_->next_due_us(now), receiver_->next_due_us(now), now + kMaxSleepUs});
  if (!config_.no_session) due = std::min(due, session_.next_timer_us().value_or(stream::kNever));
  timer_.wait_until(due, now, [this] {
    if (!running_) return;
    sender_->pump();
    receiver_->pump();
    const std::int64_t after = timing::monotonic_us();
    if (!config_.no_session) apply(session_.on_tick(after), after);
    cpu_.set_active(sender_->talking(), after);
    schedule_tick();
  });
}

// Something happened that may have work sooner than the wait in progress: look again now.
void Client::wake() {
  if (running_) timer_.wake(timing::monotonic_us());
}

void Client::set_talking(bool on) {
  if (!running_ || on == key_held_) return;
  key_held_ = on;
  wake();
  const std::int64_t now = timing::monotonic_us();
  if (on) {
    events_.write("key_down", {});
    if (!sender_->has_microphone()) {
      ++stats_.talk_failed;
      events_.write("talk_failed", {{"reason", "microphone_denied"}, {"message", audio::kMicrophoneDenied}});
      on_notice(audio::kMicrophoneDenied);
      return;
    }
    if (config_.no_session) {
      sender_->set_talking(true);
      return;
    }
    // Stream at once, alongside the request: the camera holds the audio until it grants, so
    // nothing said after the press is lost and no round trip is added to the talk-start latency.
    apply(session_.key_down(now), now);
    if (session_.talk() == Talk::requested || session_.talk() == Talk::granted)
      sender_->set_talking(true);
  } else {
    events_.write("key_up", {});
    sender_->set_talking(false);
    if (!config_.no_session) apply(session_.key_up(now), now);
  }
  cpu_.set_active(sender_->talking(), timing::monotonic_us());
}

void Client::renew() {
  if (config_.no_session) return;
  const std::int64_t now = timing::monotonic_us();
  apply(session_.renew(now), now);
}

void Client::apply(session::Output out, std::int64_t now_us) {
  for (const auto& m : out.send) {
    const auto bytes = control_writer_.write(m.message);
    if (!bytes.empty()) send(bytes);
  }
  for (const auto& e : out.events) {
    events_.write_at(now_us, e.name, e.fields);
    if (e.name == "talk_failed") ++stats_.talk_failed;
    notice_for(e);
  }
  // Stop streaming when the floor was refused or the session is gone: the camera would drop
  // anything more, so not even the burst's last frame is sent.
  const bool may_send = session_.state() == State::live && session_.talk() != Talk::denied;
  if (sender_->talking() && !may_send) sender_->abort_burst();
  if (session_.state() != State::live && receiver_->in_burst()) receiver_->cut("session_end");
}

void Client::notice_for(const session::LogEvent& e) {
  const auto& f = e.fields;
  const auto str = [&](const char* k) { return f.contains(k) ? f[k].get<std::string>() : std::string(); };
  char line[256];
  if (e.name == "session_accept") {
    const auto& a = *session_.accepted();
    std::snprintf(line, sizeof line, "live view started: camera %s (model %s), speaker %s, microphone %s, limit %u s",
                  a.serial.c_str(), a.model.c_str(), (a.capabilities & control::kCapSpeaker) ? "yes" : "NO",
                  (a.capabilities & control::kCapMicrophone) ? "yes" : "no", a.session_limit_ms / 1000);
  } else if (e.name == "session_reject") {
    std::snprintf(line, sizeof line, "camera refused live view: %s", str("reason").c_str());
  } else if (e.name == "session_warning") {
    std::snprintf(line, sizeof line, "live view ends in %.0f s", session_.remaining_us(timing::monotonic_us()) / 1e6);
  } else if (e.name == "session_end") {
    const bool by_us = str("reason") == "client_stopped";
    std::snprintf(line, sizeof line, "live view ended: %s%s", str("reason").c_str(),
                  by_us ? "" : config_.renew ? " (renewing)" : " (press r for a new one)");
  } else if (e.name == "camera_not_responding" || e.name == "talk_failed") {
    std::snprintf(line, sizeof line, "%s", f.contains("message") ? str("message").c_str() : str("reason").c_str());
  } else if (e.name == "talk_denied") {
    std::snprintf(line, sizeof line, "talk denied: %s", str("reason").c_str());
  } else if (e.name == "camera_rebooted") {
    std::snprintf(line, sizeof line, "the camera restarted since the last live view (power cycle)");
  } else if (e.name == "cutoff") {
    std::snprintf(line, sizeof line, "audio cut off: %s", str("cause").c_str());
  } else {
    return;
  }
  on_notice(line);
}

void Client::stop() {
  if (!running_) return;
  set_talking(false);
  if (!config_.no_session) {
    const std::int64_t now = timing::monotonic_us();
    apply(session_.stop(now), now);
  }
  running_ = false;
  timer_.cancel();
  sender_->stop();
  receiver_->stop();
  boost::system::error_code ec;
  socket_.close(ec);
  events_.write("client_stop", summary());
}

std::string Client::status_line(std::int64_t now_us) const {
  if (config_.no_session) return sending() ? "TALKING" : "idle";
  switch (session_.state()) {
    case State::idle:
    case State::starting: return "connecting to the camera...";
    case State::ended: return "no live view (r: start a new one)";
    case State::live: break;
  }
  const auto left = session_.remaining_us(now_us) / 1'000'000;
  char buf[96];
  std::snprintf(buf, sizeof buf, "live %lld:%02lld left", static_cast<long long>(left / 60),
                static_cast<long long>(left % 60));
  return buf;
}

nlohmann::json Client::summary() const {
  auto s = sender_->summary();
  s["send_errors"] = stats_.send_errors;
  s["talk_failed"] = stats_.talk_failed;
  s["control_malformed"] = stats_.control_malformed.total();
  s["datagrams_from_strangers"] = stats_.control_ignored;
  s["video_packets_received"] = stats_.video_packets;
  s["video_bytes_received"] = stats_.video_bytes;
  s["media_outside_session"] = stats_.media_outside_session;
  const auto& c = session_.counters();
  s["session"] = {{"sessions", c.sessions},
                  {"renewals", c.renewals},
                  {"keepalive_timeouts", c.keepalive_timeouts},
                  {"ignored_wrong_session", c.ignored_wrong_session},
                  {"ignored_out_of_order", c.ignored_out_of_order},
                  {"ignored_wrong_direction", c.ignored_wrong_direction}};
  if (const auto r = session_.end_reason()) s["session"]["last_end_reason"] = control::to_string(*r);
  s["camera_audio"] = receiver_->summary();
  // active: while the key was down and the burst streamed.
  s["cpu_split"] = cpu_.summary(timing::monotonic_us());
  return s;
}

}  // namespace pttcam::client
