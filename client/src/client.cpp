#include "pttcam/client/client.hpp"

#include <cstdio>
#include <stdexcept>

#include "pttcam/media/due.hpp"

namespace pttcam::client {
namespace {

using State = session::ClientSession::State;

constexpr std::uint8_t kVideoPayloadType = 96;

session::ClientSessionConfig session_config(const ClientConfig& c) {
  session::ClientSessionConfig s;
  s.camera_id = c.camera_id;
  s.renew = c.renew;
  s.keepalive_timeout_us = static_cast<session::Micros>(c.keepalive_timeout_s * 1e6);
  s.start_timeout_us = s.keepalive_timeout_us;
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
      clock_(timing::monotonic_clock()),
      socket_(io, config_.camera.protocol()),
      loop_(io, clock_),
      events_(config_.events_path),
      control_in_(events_),
      sender_metrics_(events_),
      receiver_metrics_(config_.receiver.metrics, events_, "camera_audio_"),
      session_(session_config(config_), config_.camera) {
  boost::system::error_code ec;
  socket_.bind(net::Udp::endpoint(config_.camera.protocol(), config_.local_port), ec);
  if (ec) throw std::runtime_error("cannot bind local port " + std::to_string(config_.local_port) + ": " + ec.message());
  receiver_ = std::make_unique<media::Receiver>(audio::open_playback(config_.speaker), config_.receiver.playout, clock_,
                                                receiver_metrics_);
  secure_ = !config_.insecure && !config_.no_session && !config_.rtsp;
  sender_ = std::make_unique<media::Sender>(open_microphone(config_.input), config_.opus,
                                            [this](std::span<const std::byte> d) { send(d); }, clock_, sender_metrics_);
  sender_->set_cold_microphone(config_.cold_mic);
  if (config_.pcm) sender_->use_pcm(*config_.pcm, static_cast<std::uint8_t>(config_.opus.payload_type));
  // RTCP to the camera's media port (RFC 5761), only while there is a stream to report on.
  rtcp_ = std::make_unique<media::RtcpReporter>(
      *sender_, *receiver_, "ptt-client@pttcam", media::session_bandwidth_bps(config_.opus), clock_,
      media::unix_offset_us(clock_), [this](std::span<const std::byte> d) {
        if (config_.no_session || session_.state() == State::live) send_rtcp(d);
      });
  loop_.receive_on(socket_, [this](std::span<const std::byte> d, const net::Udp::endpoint& from) { on_datagram(d, from); });
  loop_.set_work([this](std::int64_t now) { return next_due_us(now); }, [this](std::int64_t now) { run_due(now); });
}

Client::~Client() = default;

void Client::start() {
  sender_->start();
  receiver_->start();
  running_ = true;
  events_.write("client_start", {{"camera", net::to_string(config_.camera)},
                                 {"input", sender_->capture() ? sender_->capture()->describe() : "denied"},
                                 {"speaker", receiver_->speaker().describe()},
                                 {"codec", codec_text()},
                                 {"ssrc", sender_->ssrc()},
                                 {"local", net::to_string(local_endpoint())},
                                 {"local_port", local_endpoint().port()},
                                 {"payload_type", config_.opus.payload_type},
                                 {"red_payload_type", config_.opus.red_payload_type},
                                 {"cold_mic", config_.cold_mic},
                                 {"session", !config_.no_session},
                                 {"protocol", protocol()}});
  cpu_.start(clock_.now_us());
  if (!config_.no_session) {
    const std::int64_t now = clock_.now_us();
    apply(session_.start(now), now);
  }
  loop_.start();
}

std::string Client::codec_text() const {
  if (!config_.pcm) return codec::describe(config_.opus);
  char text[64];
  std::snprintf(text, sizeof text, "%s/%d, %g ms frames", std::string(codec::encoding_name(config_.pcm->encoding)).c_str(),
                config_.pcm->clock_rate, config_.opus.frame_ms);
  return text;
}

const char* Client::protocol() const noexcept {
  if (config_.rtsp) return "rtsp";
  return config_.no_session ? "rtp" : "pttcam";
}

void Client::set_media_path(net::Udp::endpoint rtp, net::Udp::endpoint rtcp) {
  config_.camera = rtp;
  rtcp_to_ = rtcp;
}

void Client::set_media_path(MediaOut rtp, MediaOut rtcp) {
  rtp_out_ = std::move(rtp);
  rtcp_out_ = std::move(rtcp);
}

void Client::on_camera_media(std::span<const std::byte> datagram) {
  if (running_) receiver_->on_datagram(datagram, config_.camera);
}

// RTCP goes with the media (RFC 5761), except to an RTSP camera, which named its RTCP port.
void Client::send_rtcp(std::span<const std::byte> datagram) {
  if (rtcp_out_) return rtcp_out_(datagram);
  if (!rtcp_to_) return send_media(datagram, true);
  boost::system::error_code ec;
  socket_.send_to(boost::asio::buffer(datagram.data(), datagram.size()), *rtcp_to_, 0, ec);
  if (ec) ++stats_.send_errors;
}

void Client::send(std::span<const std::byte> datagram) {
  if (rtp_out_) return rtp_out_(datagram);
  send_media(datagram, false);
}

void Client::send_media(std::span<const std::byte> datagram, bool rtcp) {
  if (!secure_) return send_raw(datagram);
  if (!link_ || link_->state() != secure::DtlsSrtp::State::connected) return;  // no keys: nothing leaves in clear
  scratch_.assign(datagram.begin(), datagram.end());
  if (rtcp ? link_->protect_rtcp(scratch_) : link_->protect_rtp(scratch_)) send_raw(scratch_);
}

void Client::send_raw(std::span<const std::byte> datagram) {
  boost::system::error_code ec;
  socket_.send_to(boost::asio::buffer(datagram.data(), datagram.size()), config_.camera, 0, ec);
  if (ec) ++stats_.send_errors;
}

void Client::on_datagram(std::span<const std::byte> datagram, const net::Udp::endpoint& from) {
  // An RTSP camera sends its audio from a port of its own choosing.
  const bool from_camera = config_.rtsp ? from.address() == config_.camera.address() : from == config_.camera;
  if (!from_camera) {
    ++stats_.control_ignored;  // only the camera talks to us
    return;
  }
  const std::int64_t now = clock_.now_us();
  if (secure_) {
    const auto first = datagram.empty() ? 0u : std::to_integer<unsigned>(datagram[0]);
    if (first >= 20 && first <= 63) return on_link_datagram(datagram, now);  // RFC 7983: DTLS
    if (control::is_control(datagram) || !link_) {
      ++stats_.unprotected_dropped;  // nothing in clear is believed
      return;
    }
    scratch_.assign(datagram.begin(), datagram.end());
    if (!(rtp::is_rtcp(datagram) ? link_->unprotect_rtcp(scratch_) : link_->unprotect_rtp(scratch_))) {
      ++stats_.srtp_rejected;
      return;
    }
    datagram = scratch_;
  } else if (control::is_control(datagram)) {
    if (const auto decoded = control_in_.decode(datagram, from)) apply(session_.on_message(*decoded.message, now), now);
    return;
  }
  // The camera's video (PT 96, live views only) is load, not content: counted, never decoded.
  if (!config_.no_session && datagram.size() >= 2 && (std::to_integer<std::uint8_t>(datagram[1]) & 0x7f) == kVideoPayloadType) {
    ++stats_.video_packets;
    stats_.video_bytes += datagram.size();
    return;
  }
  // The camera's microphone plays only during a live view (or always with --no-session).
  if (config_.no_session || session_.state() == State::live) {
    receiver_->on_datagram(datagram, from, loop_.arrival_us());
  } else {
    ++stats_.media_outside_session;
  }
}

// A live view's control messages wait for its link: the first one opens it (a START, after a
// view ended, opens a new one), and they go out once the handshake is done.
void Client::send_control(std::span<const std::byte> message, bool is_start) {
  if (!secure_) return send_raw(message);
  if (is_start && link_ && link_used_) link_.reset();  // a new live view, new keys
  if (link_ && link_->state() == secure::DtlsSrtp::State::closed) link_.reset();
  if (!link_) open_link();
  if (!link_) return;
  if (link_->state() == secure::DtlsSrtp::State::connected) {
    link_->send(message);
    flush_link();
    return;
  }
  if (pending_control_.size() >= 4) pending_control_.erase(pending_control_.begin());
  pending_control_.emplace_back(message.begin(), message.end());
}

std::optional<secure::PskIdentity> Client::pairing_for(std::string_view camera_id) const {
  const secure::ClientKeyring keys(config_.config_dir.empty() ? secure::ClientKeyring::default_dir() : config_.config_dir);
  const auto found = keys.find(camera_id);
  if (!found) return std::nullopt;
  return secure::PskIdentity{found->client_id, found->key};
}

void Client::open_link() {
  link_used_ = false;
  pending_control_.clear();
  link_ = secure::DtlsSrtp::psk_client([this](std::string_view camera_id) {
    auto found = pairing_for(camera_id);
    if (!found) not_paired_ = camera_id;
    return found;
  });
  flush_link();
}

void Client::flush_link() {
  for (const auto& d : link_->take_outgoing()) send_raw(d);
}

void Client::on_link_datagram(std::span<const std::byte> datagram, std::int64_t now) {
  if (!link_) {
    ++stats_.unprotected_dropped;
    return;
  }
  const bool was_up = link_->state() == secure::DtlsSrtp::State::connected;
  link_->on_datagram(datagram);
  flush_link();
  if (link_->state() == secure::DtlsSrtp::State::failed) {
    const std::string why = !not_paired_.empty()
                                ? "not paired with camera " + not_paired_ + ": pair first (ptt-client --pair --camera HOST:PORT --pairing-code CODE)"
                                : "the camera refused the protected live view (" + link_->failure() + "); pair again if it was reset";
    events_.write_at(now, "handshake_failed", {{"reason", why}});
    link_.reset();
    failure_ = why;
    on_failure(why);
    return;
  }
  if (!was_up && link_->state() == secure::DtlsSrtp::State::connected) {
    ++stats_.handshakes;
    events_.write_at(now, "handshake_done", {{"camera_id", link_->peer_identity()}});
    for (const auto& m : std::exchange(pending_control_, {})) link_->send(m);
    flush_link();
  }
  for (const auto& message : link_->take_received()) {
    const auto decoded = control_in_.decode(message, config_.camera);
    if (!decoded) continue;
    if (std::holds_alternative<control::Accept>(decoded.message->body)) link_used_ = true;
    apply(session_.on_message(*decoded.message, now), now);
    if (!link_) return;
  }
}

// The io loop sleeps until the earliest of these: a frame's last capture period while talking,
// the speaker's queue running low or a burst due while the camera's audio plays, a session timer.
std::int64_t Client::next_due_us(std::int64_t now) const {
  std::int64_t due = std::min({sender_->next_due_us(now), receiver_->next_due_us(now), rtcp_->next_due_us()});
  if (!config_.no_session) due = std::min(due, session_.next_timer_us().value_or(media::kNever));
  if (link_ && link_->state() == secure::DtlsSrtp::State::handshaking) due = std::min(due, now + 50'000);
  return due;
}

void Client::run_due(std::int64_t now) {
  sender_->pump();
  receiver_->pump();
  rtcp_->pump();
  if (!config_.no_session) apply(session_.on_tick(now), now);
  if (link_ && link_->state() == secure::DtlsSrtp::State::handshaking) {
    link_->on_timer();
    flush_link();
  }
  cpu_.set_active(sender_->talking(), now);
}

void Client::set_talking(bool on) {
  if (!running_ || on == key_held_) return;
  key_held_ = on;
  loop_.wake();
  const std::int64_t now = clock_.now_us();
  if (on) {
    events_.write("key_down", {});
    if (!config_.talk_unavailable.empty()) {
      ++stats_.talk_failed;
      events_.write("talk_failed", {{"reason", "no_backchannel"}, {"message", config_.talk_unavailable}});
      on_notice("cannot talk: " + config_.talk_unavailable);
      return;
    }
    if (!sender_->has_microphone()) {
      ++stats_.talk_failed;
      events_.write("talk_failed", {{"reason", "microphone_denied"}, {"message", audio::kMicrophoneDenied}});
      on_notice(audio::kMicrophoneDenied);
      return;
    }
    if (config_.no_session) {
      sender_->set_talking(true);
    } else {
      apply(session_.key_down(now), now);  // streams at once, alongside the floor request
    }
  } else {
    events_.write("key_up", {});
    sender_->set_talking(false);
    if (!config_.no_session) apply(session_.key_up(now), now);
  }
  cpu_.set_active(sender_->talking(), clock_.now_us());
}

void Client::renew() {
  if (config_.no_session) return;
  const std::int64_t now = clock_.now_us();
  apply(session_.renew(now), now);
}

void Client::apply(session::Output out, std::int64_t now_us) {
  for (const auto& m : out.send) {
    const auto bytes = control_writer_.write(m.message);
    if (!bytes.empty()) send_control(bytes, std::holds_alternative<control::LiveViewStart>(m.message.body));
  }
  for (const auto& e : out.events) events_.write_at(now_us, e.name, e.fields);
  for (const auto& a : out.actions) carry_out(a);
}

void Client::carry_out(const session::Action& action) {
  if (std::holds_alternative<session::StartTalking>(action)) {
    sender_->set_talking(true);
  } else if (std::holds_alternative<session::StopTalking>(action)) {
    if (sender_->talking()) sender_->abort_burst();  // the camera would drop even the last frame
  } else if (std::holds_alternative<session::NewSession>(action)) {
    receiver_->new_session();  // the camera's microphone of this view is a stream of its own
  } else if (const auto* cut = std::get_if<session::CutPlayback>(&action)) {
    if (receiver_->in_burst()) receiver_->cut(cut->cause);
  } else if (const auto* notice = std::get_if<session::Notice>(&action)) {
    notify(*notice);
  } else if (const auto* give_up = std::get_if<session::GiveUp>(&action)) {
    failure_ = give_up->message;
    if (link_ && link_->state() == secure::DtlsSrtp::State::handshaking)
      *failure_ += " (no answer to the protected handshake: if the camera runs with --insecure, so must ptt-client)";
    on_failure(*failure_);
  }
}

void Client::notify(const session::Notice& n) {
  using Kind = session::Notice::Kind;
  char line[256];
  const char* detail = n.detail.c_str();
  switch (n.kind) {
    case Kind::session_started: {
      const auto& a = *session_.accepted();
      std::snprintf(line, sizeof line, "live view started: camera %s (model %s), speaker %s, microphone %s, limit %u s",
                    a.serial.c_str(), a.model.c_str(), (a.capabilities & control::kCapSpeaker) ? "yes" : "NO",
                    (a.capabilities & control::kCapMicrophone) ? "yes" : "no", a.session_limit_ms / 1000);
      break;
    }
    case Kind::session_rejected: std::snprintf(line, sizeof line, "camera refused live view: %s", detail); break;
    case Kind::session_warning:
      std::snprintf(line, sizeof line, "live view ends in %.0f s", session_.remaining_us(clock_.now_us()) / 1e6);
      break;
    case Kind::session_ended:
      std::snprintf(line, sizeof line, "live view ended: %s%s", detail,
                    n.by_user ? "" : config_.renew ? " (renewing)" : " (press r for a new one)");
      break;
    case Kind::talk_failed: ++stats_.talk_failed; [[fallthrough]];
    case Kind::camera_not_responding: std::snprintf(line, sizeof line, "%s", detail); break;
    case Kind::talk_denied: std::snprintf(line, sizeof line, "talk denied: %s", detail); break;
    case Kind::camera_rebooted:
      std::snprintf(line, sizeof line, "the camera restarted since the last live view (power cycle)");
      break;
    case Kind::audio_cut: std::snprintf(line, sizeof line, "audio cut off: %s", detail); break;
  }
  on_notice(line);
}

void Client::stop() {
  if (!running_) return;
  set_talking(false);
  sender_->stop();  // the burst's end repeats go out before the BYE
  rtcp_->bye();
  if (!config_.no_session) {
    const std::int64_t now = clock_.now_us();
    apply(session_.stop(now), now);
  }
  if (link_) {
    link_->close();  // close_notify after the SESSION_END
    flush_link();
  }
  running_ = false;
  loop_.stop();
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
  auto s = measure::SenderMetrics::summary(*sender_);
  s["protocol"] = protocol();
  s["send_errors"] = stats_.send_errors;
  s["talk_failed"] = stats_.talk_failed;
  s["control_malformed"] = control_in_.malformed();
  s["datagrams_from_strangers"] = stats_.control_ignored;
  s["video_packets_received"] = stats_.video_packets;
  s["video_bytes_received"] = stats_.video_bytes;
  s["media_outside_session"] = stats_.media_outside_session;
  s["security"] = secure_ ? "paired" : config_.no_session ? "none" : "insecure";
  s["unprotected_dropped"] = stats_.unprotected_dropped;
  s["srtp_rejected"] = stats_.srtp_rejected;
  s["handshakes"] = stats_.handshakes;
  s["session"] = session_.summary();
  s["camera_audio"] = receiver_metrics_.summary(*receiver_);
  s["rtcp_sent"] = {{"reports", rtcp_->sent().reports}, {"sender_reports", rtcp_->sent().sender_reports},
                    {"byes", rtcp_->sent().byes}};
  // active: while the key was down and the burst streamed.
  s["cpu_split"] = cpu_.summary(clock_.now_us());
  return s;
}

}  // namespace pttcam::client
