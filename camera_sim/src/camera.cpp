#include "pttcam/camera/camera.hpp"

#include <random>

#include "pttcam/session/camera_model.hpp"
#include "pttcam/media/due.hpp"
#include "pttcam/pairing/code.hpp"

namespace pttcam::camera {
namespace {

using namespace std::chrono_literals;
constexpr std::uint8_t kVideoPayloadType = 96;
constexpr std::size_t kVideoPacketBytes = 1200;

session::Micros us(double seconds) { return static_cast<session::Micros>(seconds * 1e6); }

secure::CameraKeyring open_keyring(const CameraConfig& c) {
  auto k = c.state_dir.empty() ? secure::CameraKeyring::in_memory() : secure::CameraKeyring::open(c.state_dir);
  if (c.factory_reset) k.forget_all();
  return k;
}

std::string make_serial() {
  std::random_device rd;
  char buf[16];
  std::snprintf(buf, sizeof buf, "CAM-%08X", static_cast<unsigned>(rd()));
  return buf;
}

session::CameraSessionConfig session_config(const CameraConfig& c, const std::string& serial) {
  const auto* model = session::find_camera_model(c.model);
  if (!model) throw std::invalid_argument("unknown camera model '" + c.model + "' (see docs/cameras.md)");
  session::CameraSessionConfig s;
  s.model = *model;
  s.serial = serial;
  s.session_limit_us = us(c.session_limit_s);
  s.warn_before_us = us(c.warn_before_s);
  s.keepalive_timeout_us = us(c.keepalive_timeout_s);
  s.boot_time_us = us(c.boot_time_s);
  s.half_duplex = c.half_duplex;
  s.transport_validates_source = !c.insecure;  // DTLS's cookie and the paired key
  s.model.microphone = s.model.microphone && c.mic.has_value();  // --mic none: nothing to stream
  // A restarted camera-sim process is a new boot too: clients must not mistake it for the old one.
  s.boot_id = std::random_device{}() | 1u;
  return s;
}

// The speaker path plays Opus, and over RTSP also the sample codecs the backchannel offers.
media::Receiver::Options playout_options(const CameraConfig& config) {
  auto options = config.receiver.playout;
  if (!config.rtsp) return options;
  for (const auto& codec : config.rtsp->backchannel_codecs) {
    using Kind = BackchannelCodec::Kind;
    if (codec.kind == Kind::opus) continue;
    const auto encoding = codec.kind == Kind::pcmu   ? codec::PcmEncoding::kPcmu
                          : codec.kind == Kind::pcma ? codec::PcmEncoding::kPcma
                                                     : codec::PcmEncoding::kL16;
    options.pcm_payloads.push_back({codec.payload_type, {encoding, codec.clock_rate}});
  }
  return options;
}

}  // namespace

Camera::Camera(boost::asio::io_context& io, CameraConfig config)
    : config_(std::move(config)),
      keyring_(open_keyring(config_)),
      serial_(config_.serial.empty() ? make_serial() : config_.serial),
      clock_(timing::monotonic_clock()),
      socket_(io),
      loop_(io, clock_),
      video_timer_(io),
      events_(config_.events_path),
      control_in_(events_),
      mic_metrics_(events_),
      speaker_metrics_(config_.receiver.metrics, events_, ""),
      session_(session_config(config_, serial_), clock_.now_us()) {
  bind_ports(io);
  if (!config_.insecure && !config_.no_session) {
    links_ = std::make_unique<SecureLinks>(
        keyring_.camera_id(), [this](std::string_view client_id) { return keyring_.client_key(client_id); },
        [this](std::span<const std::byte> d, const net::Udp::endpoint& to) { send_to(d, to); });
  }
  receiver_ = std::make_unique<media::Receiver>(audio::open_playback(config_.output), playout_options(config_), clock_,
                                                speaker_metrics_);
  std::unique_ptr<audio::Capture> mic;
  if (config_.mic) {
    try {
      mic = audio::open_capture(*config_.mic);
    } catch (const std::exception& e) {
      throw std::runtime_error(std::string(e.what()) + " (camera microphone: use --mic tone:HZ, wav:PATH or none)");
    }
  }
  mic_ = std::make_unique<media::Sender>(
      std::move(mic), config_.mic_opus,
      [this](std::span<const std::byte> d) {
        if (peer_) send_media(d, *peer_, false);
        if (rtsp_) rtsp_->send_microphone(d);
        if (web_) web_->send_microphone(d);
      },
      clock_, mic_metrics_);
  // RTCP to whoever sends the stream playing (RFC 5761, on the media port): the session's client,
  // or with --no-session the source of the latest RTP packet.
  rtcp_ = std::make_unique<media::RtcpReporter>(
      *mic_, *receiver_, "camera-sim@pttcam", media::session_bandwidth_bps(config_.mic_opus), clock_,
      media::unix_offset_us(clock_), [this](std::span<const std::byte> d) {
        const auto to = config_.no_session ? rtp_source_ : peer_;
        if (to) send_media(d, *to, true);
      });
  loop_.receive_on(socket_, [this](std::span<const std::byte> d, const net::Udp::endpoint& from) { on_datagram(d, from); });
  loop_.set_work([this](std::int64_t now) { return next_due_us(now); }, [this](std::int64_t now) { run_due(now); });
  if (config_.rtsp) make_rtsp(io);
  if (config_.web) make_web(io);
}

// The UDP control port and, for pttcam's own protocol, the pairing port: TCP with the same address
// and number (the client knows only that). With port 0 both must be free: a port whose TCP side
// is taken is given back and another drawn.
void Camera::bind_ports(boost::asio::io_context& io) {
  if (config_.pairing_code.empty()) config_.pairing_code = pairing::random_code();
  const bool any_port = config_.listen.port() == 0;
  for (int attempt = 0;; ++attempt) {
    boost::system::error_code ec;
    if (socket_.is_open()) socket_.close(ec);
    socket_.open(config_.listen.protocol());
    socket_.bind(config_.listen, ec);
    if (ec) throw std::runtime_error("cannot listen on " + net::to_string(config_.listen) + ": " + ec.message());
    if (config_.no_session) return;
    PairingOptions o;
    const auto udp = socket_.local_endpoint();
    o.listen = boost::asio::ip::tcp::endpoint(udp.address(), udp.port());
    o.code = config_.pairing_code;
    try {
      pairing_ = std::make_unique<PairingServer>(io, std::move(o), clock_, events_, keyring_);
      return;
    } catch (const std::runtime_error&) {
      if (!any_port || attempt >= 20) throw;
    }
  }
}

// RTSP talk audio joins the speaker path like the control protocol's: the floor is held while
// the backchannel PLAYs; the microphone streams while a session PLAYs it.
void Camera::make_rtsp(boost::asio::io_context& io) {
  const auto* model = session::find_camera_model(config_.model);
  RtspHooks hooks;
  hooks.backchannel_rtp = [this](std::span<const std::byte> d, const net::Udp::endpoint& from) {
    receiver_->on_datagram(d, from);
    loop_.wake();
  };
  hooks.floor = [this](bool held) {
    rtsp_talking_ = held;
    session_.set_speaker_busy(rtsp_talking_ || web_talking_);
    if (held)
      receiver_->permit_burst();
    else
      receiver_->release_floor();
    loop_.wake();
  };
  hooks.media_changed = [this] { sync_media(); };
  hooks.speaker_busy = [this] { return (!config_.no_session && session_.floor_held()) || web_talking_; };
  hooks.cut = [this](const std::string& cause) {
    receiver_->cut(cause);
    loop_.wake();
  };
  rtsp_ = std::make_unique<RtspServer>(io, *config_.rtsp, RtspServer::Offer{mic_->has_microphone(), model->speaker},
                                       clock_, events_, std::move(hooks));
}

// A page's talk audio joins the speaker path like RTSP's: the floor is one for every front end
// (a page is told busy while a client or an RTSP backchannel talks), and the microphone streams
// while a call wants it.
void Camera::make_web(boost::asio::io_context& io) {
  const auto* model = session::find_camera_model(config_.model);
  WebHooks hooks;
  hooks.talk_rtp = [this](std::span<const std::byte> d, const net::Udp::endpoint& from) {
    receiver_->on_datagram(d, from);
    loop_.wake();
  };
  hooks.floor = [this](bool press) { return web_floor(press); };
  hooks.media_changed = [this] { sync_media(); };
  hooks.online = [this] { return session_.online(); };
  hooks.cut = [this](const std::string& cause) {
    receiver_->cut(cause);
    loop_.wake();
  };
  config_.web->session_limit_s = config_.session_limit_s;
  config_.web->warn_before_s = config_.warn_before_s;
  config_.web->engine_payload_types = {config_.receiver.playout.payload_type,
                                       config_.receiver.playout.red_payload_type};
  web_ = std::make_unique<WebServer>(io, *config_.web, WebServer::Offer{mic_->has_microphone(), model->speaker}, clock_,
                                     events_, std::move(hooks));
}

std::optional<std::string> Camera::web_floor(bool press) {
  if (!press) {
    web_talking_ = false;
    session_.set_speaker_busy(rtsp_talking_);
    receiver_->release_floor();
    loop_.wake();
    return std::nullopt;
  }
  if (!session_.online()) return "offline";
  if (session_.floor_held() || rtsp_talking_) return "busy";
  web_talking_ = true;
  session_.set_speaker_busy(true);  // a ptt-client asking now is told speaker_busy
  receiver_->permit_burst();
  loop_.wake();
  return std::nullopt;
}

// Each finished burst's figures, as the camera measured them, go to the pages. A browser sends
// no capture times, so its talk-start is measured here: from the page's key-down (sent with the
// press on the camera's clock) or, without it, the press reaching the camera, to the first sample
// played.
void Camera::report_bursts_to_web() {
  const auto& analyzer = speaker_metrics_.bursts();
  if (!web_ || analyzer.bursts() == bursts_told_) return;
  const auto fresh = std::min<std::uint64_t>(analyzer.bursts() - bursts_told_, analyzer.all().size());
  bursts_told_ = analyzer.bursts();
  for (auto it = analyzer.all().end() - static_cast<long>(fresh); it != analyzer.all().end(); ++it) {
    auto b = measure::to_json(*it);
    if (!it->talk_start_ms && web_->press_us() && it->first_play_us > *web_->press_us()) {
      b["talk_start_ms"] = static_cast<double>(it->first_play_us - *web_->press_us()) / 1000.0;
      b["talk_start_from"] = web_->press_from_key() ? "key" : "camera";
      web_talk_starts_[b["burst"].get<std::uint64_t>()] = {{"talk_start_ms", b["talk_start_ms"]},
                                                           {"talk_start_from", b["talk_start_from"]}};
    }
    b["type"] = "burst";
    web_->publish(b);
  }
}

Camera::~Camera() = default;

void Camera::send_to(std::span<const std::byte> datagram, const net::Udp::endpoint& to) {
  boost::system::error_code ec;
  socket_.send_to(boost::asio::buffer(datagram.data(), datagram.size()), to, 0, ec);
}

void Camera::send_media(std::span<const std::byte> datagram, const net::Udp::endpoint& to, bool rtcp) {
  if (!links_) return send_to(datagram, to);
  media_scratch_.assign(datagram.begin(), datagram.end());
  if (links_->protect(media_scratch_, rtcp, to)) send_to(media_scratch_, to);
}

void Camera::start() {
  receiver_->set_gated(!config_.no_session);
  receiver_->start();
  mic_->start();
  running_ = true;
  start_us_ = clock_.now_us();
  const auto* model = session::find_camera_model(config_.model);
  events_.write("camera_start", {{"listen", net::to_string(local_endpoint())},
                                 {"local_port", local_endpoint().port()},
                                 {"payload_type", config_.receiver.playout.payload_type},
                                 {"red_payload_type", config_.receiver.playout.red_payload_type},
                                 {"speaker", receiver_->speaker().describe()},
                                 {"microphone", mic_->capture() ? mic_->capture()->describe() : "none"},
                                 {"model", model->name},
                                 {"has_speaker", model->speaker},
                                 {"serial", serial_},
                                 {"session_limit_s", config_.session_limit_s},
                                 {"playout_delay_ms", config_.receiver.playout.fixed_delay_ms
                                                          ? nlohmann::json(*config_.receiver.playout.fixed_delay_ms)
                                                          : nlohmann::json("adaptive")},
                                 {"session", !config_.no_session},
                                 {"security", links_ ? "paired" : "insecure"},
                                 {"camera_id", keyring_.camera_id()},
                                 {"paired_clients", keyring_.client_count()}});
  cpu_.start(clock_.now_us());
  loop_.start();
  if (rtsp_) rtsp_->start();
  if (web_) web_->start();
  if (config_.video_kbps > 0) {
    video_header_.payload_type = kVideoPayloadType;
    video_header_.ssrc = std::random_device{}();
    video_timer_.expires_after(0ms);
    schedule_video();
  }
}

// Dummy video at --video-kbps to the live view's client: 1200-byte RTP packets (PT 96, 90 kHz
// clock), paced evenly. It loads the link as a camera's video does; its content is zeros.
void Camera::schedule_video() {
  const auto period = std::chrono::nanoseconds(static_cast<std::int64_t>(kVideoPacketBytes * 8 * 1e9 / (config_.video_kbps * 1000)));
  video_timer_.expires_at(video_timer_.expiry() + period);
  if (video_timer_.expiry() < std::chrono::steady_clock::now() - 50ms) video_timer_.expires_after(0ms);
  video_timer_.async_wait([this, period](const boost::system::error_code& ec) {
    if (ec || !running_) return;
    if (peer_) {
      static const std::array<std::byte, kVideoPacketBytes> payload{};
      ++video_header_.sequence;
      video_header_.timestamp += static_cast<std::uint32_t>(90'000 * std::chrono::duration<double>(period).count());
      const auto datagram = video_writer_.write(video_header_, {}, payload);
      send_media(datagram, *peer_, false);
      ++stats_.video_packets;
      stats_.video_bytes += datagram.size();
    }
    schedule_video();
  });
}

void Camera::stop() {
  if (!running_) return;
  rtcp_->bye();
  if (!config_.no_session) {
    const std::int64_t now = clock_.now_us();
    apply(session_.shutdown(now), now);
  }
  running_ = false;
  receiver_->stop();  // first: once the pump stops, a running speaker would only count underruns
  mic_->stop();
  loop_.stop();
  video_timer_.cancel();
  if (rtsp_) rtsp_->stop();
  if (web_) web_->stop();
  boost::system::error_code ec;
  socket_.close(ec);
  events_.write("camera_stop", summary());
}

void Camera::stop_when_quiet(std::int64_t max_wait_us, std::function<void()> done) {
  stop_at_ = clock_.now_us() + max_wait_us;
  on_stopped_ = std::move(done);
  loop_.wake();  // run_due() looks at once
}

void Camera::power_cycle() {
  ++stats_.power_cycles;
  // Unplugged: what was playing stops mid-word, and the microphone stream stops without an end.
  receiver_->cut("power_cycle");
  mic_->abort_burst();
  if (web_) web_->drop_all("power_cycle");
  if (links_) links_->clear();  // no close_notify: the plug was pulled
  const std::int64_t now = clock_.now_us();
  apply(session_.power_cycle(now), now);
  if (rtsp_) {
    rtsp_->drop_all("power_cycle");
    rtsp_->set_online(config_.no_session);  // back with the live-view protocol (run_due)
  }
}

void Camera::on_datagram(std::span<const std::byte> datagram, const net::Udp::endpoint& from) {
  if (config_.no_session) {
    if (!rtp::is_rtcp(datagram)) rtp_source_ = from;
    receiver_->on_datagram(datagram, from, loop_.arrival_us());
    return;
  }
  if (links_) {
    const auto first = datagram.empty() ? 0u : std::to_integer<unsigned>(datagram[0]);
    if (first >= 20 && first <= 63) return on_dtls(datagram, from, clock_.now_us());  // RFC 7983
    if (control::is_control(datagram)) {
      ++stats_.unprotected_dropped;
      return refuse_unprotected(datagram, from);
    }
    if (!session_.online() || !session_.session_open() || session_.session_peer() != from) {
      ++stats_.unprotected_dropped;
      return;
    }
    media_scratch_.assign(datagram.begin(), datagram.end());
    if (links_->unprotect(media_scratch_, rtp::is_rtcp(datagram), from))
      receiver_->on_datagram(media_scratch_, from, loop_.arrival_us());
    return;
  }
  if (control::is_control(datagram)) {
    on_control(datagram, from, clock_.now_us());
    return;
  }
  // Media only from the peer of the open live view; it plays once that peer holds the floor.
  if (!session_.online() || !session_.session_open() || session_.session_peer() != from) {
    ++stats_.media_dropped;
    return;
  }
  receiver_->on_datagram(datagram, from, loop_.arrival_us());
}

// A protected link's datagram: the handshake, or the client's control messages in DTLS records.
// A new link from the address of the open live view is that client starting over: the old view
// ends (a process on a dead client's port cannot join it without the key).
void Camera::on_dtls(std::span<const std::byte> datagram, const net::Udp::endpoint& from, std::int64_t now) {
  if (!session_.online()) return;  // booting: nothing answers
  auto heard = links_->on_datagram(datagram, from, now);
  if (!heard.failure.empty())
    events_.write_at(now, "handshake_failed", {{"peer", net::to_string(from)}, {"client_id", heard.client_id}, {"reason", heard.failure}});
  if (heard.new_link) {
    events_.write_at(now, "handshake_done", {{"peer", net::to_string(from)}, {"client_id", heard.client_id}});
    if (peer_ == from) peer_.reset();  // the old view's link is gone already; the new one stays
    apply(session_.client_restarted(from), now);
  }
  for (const auto& message : heard.control) on_control(message, from, now);
}

void Camera::refuse_unprotected(std::span<const std::byte> datagram, const net::Udp::endpoint& from) {
  const auto decoded = control_in_.decode(datagram, from, false);
  if (!decoded) return;
  const std::int64_t now = clock_.now_us();
  const auto out = session_.refuse_unprotected(*decoded.message, from, now);
  for (const auto& m : out.send) {
    const auto bytes = control_writer_.write(m.message);
    if (!bytes.empty() && bytes.size() <= kAmplificationFactor * datagram.size()) send_to(bytes, m.to);
  }
  for (const auto& e : out.events) events_.write_at(now, e.name, e.fields);
}

void Camera::on_control(std::span<const std::byte> datagram, const net::Udp::endpoint& from, std::int64_t now) {
  const auto decoded = control_in_.decode(datagram, from, /*answer_other_versions=*/session_.online());
  if (session_.session_peer() != from) unvalidated_ = Unvalidated{from, kAmplificationFactor * datagram.size()};
  if (decoded) {
    apply(session_.on_message(*decoded.message, from, now), now);
  } else if (decoded.error == control::DecodeError::unsupported_version) {
    apply(session_.on_other_version(decoded.version, from, now), now);
  }
  unvalidated_.reset();
}

// Anti-amplification (RFC 9000 8.1): what goes to a source that has no session, in answer to one
// of its datagrams, stays within 3x that datagram. A source that just proved its address with a
// cookie (its START opened the session) is validated.
bool Camera::within_budget(std::size_t bytes, const net::Udp::endpoint& to) {
  if (!unvalidated_ || unvalidated_->from != to || session_.session_peer() == to) return true;
  if (bytes > unvalidated_->budget) {
    ++stats_.amplification_dropped;
    return false;
  }
  unvalidated_->budget -= bytes;
  return true;
}

// The io loop sleeps until the earliest of these, as the client's does.
std::int64_t Camera::next_due_us(std::int64_t now) const {
  std::int64_t due = std::min({mic_->next_due_us(now), receiver_->next_due_us(now), rtcp_->next_due_us()});
  if (stop_at_) due = std::min(due, *stop_at_);
  if (!config_.no_session) due = std::min(due, session_.next_timer_us().value_or(media::kNever));
  if (links_ && links_->handshaking()) due = std::min(due, now + 50'000);  // DTLS retransmission
  if (const auto reboot = next_reboot_us()) due = std::min(due, *reboot);
  return due;
}

std::optional<std::int64_t> Camera::next_reboot_us() const {
  if (next_reboot_ >= config_.reboot_at_s.size()) return std::nullopt;
  return start_us_ + us(config_.reboot_at_s[next_reboot_]);
}

void Camera::run_due(std::int64_t now) {
  if (const auto reboot = next_reboot_us(); reboot && now >= *reboot) {
    ++next_reboot_;
    power_cycle();
  }
  if (!config_.no_session) apply(session_.on_tick(now), now);
  if (links_) links_->on_timer(now);
  if (rtsp_) rtsp_->set_online(config_.no_session || session_.online());
  mic_->pump();
  receiver_->pump();
  report_bursts_to_web();
  rtcp_->pump();
  cpu_.set_active(receiver_->in_burst(), now);
  if (stop_at_ && (!receiver_->in_burst() || now >= *stop_at_)) {
    stop();
    if (on_stopped_) on_stopped_();
  }
}

void Camera::apply(session::Output out, std::int64_t now_us) {
  for (const auto& m : out.send) {
    const auto bytes = control_writer_.write(m.message);
    if (bytes.empty()) continue;
    if (links_)
      links_->send_control(bytes, m.to);  // only to a link: nothing goes to an unproven source
    else if (within_budget(bytes.size(), m.to))
      send_to(bytes, m.to);
  }
  for (const auto& e : out.events) events_.write_at(now_us, e.name, e.fields);
  for (const auto& a : out.actions) carry_out(a);
  sync_media();
}

void Camera::carry_out(const session::Action& action) {
  if (std::holds_alternative<session::GrantFloor>(action)) {
    receiver_->permit_burst();
  } else if (std::holds_alternative<session::ReleaseFloor>(action)) {
    receiver_->release_floor();
  } else if (std::holds_alternative<session::DropHeldAudio>(action)) {
    receiver_->drop_waiting();
  } else if (std::holds_alternative<session::NewSession>(action)) {
    receiver_->new_session();
  } else if (const auto* cut = std::get_if<session::CutPlayback>(&action)) {
    receiver_->cut(cut->cause);
  }
}

// Media follows the session: the speaker plays only while the floor is held, the microphone
// streams to the session's client unless half duplex mutes it while the client talks.
void Camera::sync_media() {
  if (config_.no_session && !rtsp_ && !web_) return;
  const auto peer = session_.online() ? session_.session_peer() : std::nullopt;
  const bool stream_mic = (peer && !session_.mic_muted()) || (rtsp_ && rtsp_->wants_microphone()) ||
                         (web_ && web_->wants_microphone());
  if (!stream_mic && mic_->talking()) mic_->set_talking(false);  // its last packet goes to the old peer
  // A live view that ended takes its link with it: the next one starts with a new handshake and keys.
  if (links_ && peer_ && peer_ != peer) links_->close(*peer_);
  if (links_) links_->keep(peer);
  peer_ = peer;
  if (stream_mic && !mic_->talking()) {
    mic_->set_talking(true);
    loop_.wake();
  }
}

nlohmann::json Camera::summary() const {
  auto s = speaker_metrics_.summary(*receiver_);
  s["cpu_split"] = cpu_.summary(clock_.now_us());  // active: while a talk burst played
  s["media_dropped"] = stats_.media_dropped;
  s["control_malformed"] = control_in_.malformed();
  s["power_cycles"] = stats_.power_cycles;
  s["amplification_dropped"] = stats_.amplification_dropped;
  s["security"] = links_ ? "paired" : "insecure";
  s["unprotected_dropped"] = stats_.unprotected_dropped;
  if (links_) s["dtls"] = links_->summary();
  s["video_packets_sent"] = stats_.video_packets;
  s["video_bytes_sent"] = stats_.video_bytes;
  s["serial"] = serial_;
  s["model"] = config_.model;
  s["session"] = session_.summary();
  s["microphone"] = measure::SenderMetrics::summary(*mic_);
  if (rtsp_) s["rtsp"] = rtsp_->summary();
  if (web_) s["web"] = web_->summary();
  if (pairing_) s["pairing"] = pairing_->summary();
  // A page's bursts carry the talk-start measured here (report_bursts_to_web) in the summary too.
  if (s.contains("per_burst"))
    for (auto& b : s["per_burst"])
      if (const auto w = web_talk_starts_.find(b.value("burst", std::uint64_t{0})); w != web_talk_starts_.end())
        b.update(w->second);
  s["rtcp_sent"] = {{"reports", rtcp_->sent().reports}, {"sender_reports", rtcp_->sent().sender_reports},
                    {"byes", rtcp_->sent().byes}};
  return s;
}

}  // namespace pttcam::camera
