#include "pttcam/session/camera_session.hpp"

#include <algorithm>
#include <utility>
#include <variant>

#include "pttcam/secure/random.hpp"
#include "session_util.hpp"

namespace pttcam::session {

namespace {

constexpr Micros kMinTalkRemaining = 1'000'000;  // less than this left: TALK_DENIED(session_ending)

std::string cutoff_cause(control::EndReason reason) {
  return reason == control::EndReason::time_limit ? "session_cap" : control::to_string(reason);
}

}  // namespace

CameraSession::CameraSession(CameraSessionConfig config, Micros /*now*/)
    : config_(std::move(config)), boot_id_(config_.boot_id) {
  if (!config_.session_ids) config_.session_ids = secure::random_nonzero_u64;
}

std::optional<Peer> CameraSession::session_peer() const {
  if (!live_) return std::nullopt;
  return live_->peer;
}

std::optional<Micros> CameraSession::session_end_at() const {
  if (!live_) return std::nullopt;
  return live_->end_at;
}

Output CameraSession::on_message(const control::Message& message, const Peer& from, Micros now) {
  if (power_ != Power::on) {
    ++counters_.ignored_offline;  // a booting or unplugged camera is simply unreachable
    return {};
  }
  const auto type = control::type_of(message.body);
  if (!detail::sent_by_client(type)) {
    ++counters_.ignored_wrong_direction;
    return {};
  }
  if (type == control::MessageType::live_view_start) return on_start(message, from, now);
  if (!live_ || message.session_id != live_->id || from != live_->peer) {
    ++counters_.ignored_unknown_session;
    return {};
  }
  live_->last_heard = now;
  live_->confirmed = true;
  const auto& body = message.body;
  if (const auto* request = std::get_if<control::TalkRequest>(&body)) return on_talk_request(request->burst, now);
  if (const auto* release = std::get_if<control::TalkRelease>(&body)) return on_talk_release(release->burst);
  if (const auto* end = std::get_if<control::SessionEnd>(&body)) return end_session(end->reason, false);
  return {};  // KEEPALIVE: liveness refreshed above
}

Output CameraSession::on_other_version(std::uint8_t version, const Peer& from, Micros now) {
  if (power_ != Power::on) {
    ++counters_.ignored_offline;
    return {};
  }
  if (!limits_.allow_answer(from, now)) return {};
  Output out = send(from, 0, control::Reject{control::RejectReason::unsupported_version, control::kVersion});
  log_from(out, from, "session_reject", {{"peer", net::to_string(from)}, {"reason", "unsupported_version"}, {"version", version}});
  return out;
}

// Nothing but a small RETRY goes to a source until it has shown, by echoing its cookie, that it
// receives at the address it sends from: a spoofed START reflects no REJECT, ACCEPT or media.
Output CameraSession::on_start(const control::Message& message, const Peer& from, Micros now) {
  const auto& start = std::get<control::LiveViewStart>(message.body);
  if (message.version != control::kVersion) return reject(from, control::RejectReason::unsupported_version, now);
  if (!config_.transport_validates_source && !cookies_.valid(start.cookie, from, now)) {
    if (start.cookie.present) ++counters_.bad_cookies;  // forged, or from another address or slot
    return retry(from, now);
  }
  if (!start.camera_id.empty() && start.camera_id != config_.serial) {
    ++counters_.rejected_unknown_camera;
    return reject(from, control::RejectReason::unknown_camera, now);
  }
  if (!live_) return open_session(from, now);
  if (live_->peer != from) {
    ++counters_.rejected_busy;
    return reject(from, control::RejectReason::busy, now);
  }
  // A START from the address of a session whose client already had its ACCEPT: a new client
  // process on that address (the old one died; a client that knows its session never sends START).
  // The new process gets a session of its own: it never joins the dead one, nor plays its audio.
  // (Open mode: an address is all the camera knows.)
  if (live_->confirmed && message.session_id == 0) {
    Output out = client_restarted(from);
    out.append(open_session(from, now));
    return out;
  }
  // The session's own client repeating its START: its ACCEPT was lost, so answer again.
  live_->last_heard = now;
  return to_session(accept_body(now));
}

Output CameraSession::open_session(const Peer& from, Micros now) {
  Live s;
  s.peer = from;
  s.id = config_.session_ids();
  if (s.id == 0) s.id = 1;  // 0 means "no session" on the wire
  s.end_at = now + config_.session_limit_us;
  s.last_heard = now;
  s.next_keepalive = now + config_.keepalive_interval_us;
  live_ = std::move(s);
  ++counters_.sessions;
  Output out = to_session(accept_body(now));
  auto fields = session_fields();
  fields["model"] = config_.model.name;
  fields["boot_id"] = boot_id_;
  fields["session_limit_ms"] = detail::to_ms(config_.session_limit_us);
  out.events.push_back({"session_accept", std::move(fields)});
  return out.act(NewSession{});
}

Output CameraSession::reject(const Peer& to, control::RejectReason reason, Micros now) {
  if (!limits_.allow_answer(to, now)) return {};
  Output out = send(to, 0, control::Reject{reason, control::kVersion});
  log_from(out, to, "session_reject", {{"peer", net::to_string(to)}, {"reason", control::to_string(reason)}});
  return out;
}

Output CameraSession::retry(const Peer& to, Micros now) {
  if (!limits_.allow_answer(to, now)) return {};
  ++counters_.retries;
  return send(to, 0, control::Retry{cookies_.issue(to, now)});
}

// Lines about a source without a session: the first few are written, the rest counted (the
// summary and the shutdown line say how many).
void CameraSession::log_from(Output& out, const Peer& from, std::string name, nlohmann::json fields) {
  const auto line = limits_.line(from);
  if (line == SourceLimits::Line::suppress) return;
  if (line == SourceLimits::Line::write_last) fields["further_lines"] = "counted, not written";
  out.events.push_back({std::move(name), std::move(fields)});
}

Output CameraSession::on_talk_request(std::uint32_t burst, Micros now) {
  auto& s = *live_;
  const bool answered = s.floor != Floor::none;
  if (answered && burst == s.burst && s.floor != Floor::released) return talk_answer();  // a repeat: same answer
  if (answered && !detail::is_newer_burst(burst, s.burst)) {  // released already, or an older burst
    ++counters_.ignored_out_of_order;
    return {};
  }
  s.burst = burst;
  auto fields = session_fields();
  fields["burst"] = burst;
  const char* event = "talk_granted";
  if (const auto reason = deny_reason(now)) {
    s.floor = Floor::denied;
    s.deny = *reason;
    ++counters_.talk_denied;
    event = "talk_denied";
    fields["reason"] = control::to_string(*reason);
  } else {
    s.floor = Floor::granted;  // a newer burst takes over from an unreleased one
    ++counters_.talk_granted;
  }
  Output out = talk_answer();
  out.events.push_back({event, std::move(fields)});
  if (s.floor == Floor::granted) return out.act(GrantFloor{});
  return out.act(DropHeldAudio{});
}

std::optional<control::DenyReason> CameraSession::deny_reason(Micros now) const {
  if (!config_.model.speaker) return control::DenyReason::no_speaker;
  if (live_->end_at - now < kMinTalkRemaining) return control::DenyReason::session_ending;
  if (speaker_busy_) return control::DenyReason::speaker_busy;
  return std::nullopt;
}

Output CameraSession::on_talk_release(std::uint32_t burst) {
  auto& s = *live_;
  if (s.floor != Floor::granted || burst != s.burst) {
    ++counters_.ignored_out_of_order;
    return {};
  }
  s.floor = Floor::released;
  auto fields = session_fields();
  fields["burst"] = burst;
  return Output{{}, {{"talk_release", std::move(fields)}}}.act(ReleaseFloor{});
}

Output CameraSession::on_tick(Micros now) {
  Output out;
  if (power_ == Power::booting && now >= boot_done_at_) {
    power_ = Power::on;
    ++boot_id_;
    out.events.push_back({"camera_online", {{"boot_id", boot_id_}}});
  }
  if (power_ == Power::on && live_) out.append(tick_session(now));
  return out;
}

std::optional<Micros> CameraSession::next_timer_us() const noexcept {
  if (power_ == Power::booting) return boot_done_at_;
  if (power_ != Power::on || !live_) return std::nullopt;
  const auto& s = *live_;
  Micros at = std::min({s.end_at, s.last_heard + config_.keepalive_timeout_us, s.next_keepalive});
  if (!s.warned) at = std::min(at, s.end_at - config_.warn_before_us);
  return at;
}

Output CameraSession::tick_session(Micros now) {
  auto& s = *live_;
  const Micros silent_at = s.last_heard + config_.keepalive_timeout_us;
  if (now >= std::min(s.end_at, silent_at)) {  // whichever deadline came first ends it
    return end_session(s.end_at <= silent_at ? control::EndReason::time_limit : control::EndReason::keepalive_timeout,
                       true);
  }
  Output out;
  if (!s.warned && now >= s.end_at - config_.warn_before_us) {
    s.warned = true;
    out.append(to_session(control::SessionWarning{remaining_ms(now)}));
    auto fields = session_fields();
    fields["remaining_ms"] = remaining_ms(now);
    out.events.push_back({"session_warning", std::move(fields)});
  }
  if (now >= s.next_keepalive) {
    out.append(to_session(control::Keepalive{remaining_ms(now)}));
    s.next_keepalive += config_.keepalive_interval_us;
    if (s.next_keepalive <= now) s.next_keepalive = now + config_.keepalive_interval_us;  // ticks came late
  }
  return out;
}

Output CameraSession::end_session(control::EndReason reason, bool notify, const char* logged_as) {
  Output out;
  if (notify) out.append(to_session(control::SessionEnd{reason}));
  const bool talking = floor_held();
  auto fields = session_fields();
  fields["reason"] = logged_as ? logged_as : control::to_string(reason);
  fields["talking"] = talking;
  out.events.push_back({"session_end", fields});
  if (talking) {
    fields.erase("reason");
    fields.erase("talking");
    fields["cause"] = logged_as ? logged_as : cutoff_cause(reason);
    fields["burst"] = live_->burst;
    out.events.push_back({"cutoff", std::move(fields)});
  }
  live_.reset();  // frees the floor with the session
  out.act(DropHeldAudio{});
  // A client that stopped after releasing the key still gets the end of its last word played.
  if (reason != control::EndReason::client_stopped) out.act(CutPlayback{logged_as ? logged_as : cutoff_cause(reason)});
  return out;
}

Output CameraSession::refuse_unprotected(const control::Message& message, const Peer& from, Micros now) {
  if (power_ != Power::on || control::type_of(message.body) != control::MessageType::live_view_start) return {};
  return reject(from, control::RejectReason::pairing_required, now);
}

// The old session ends as a dead client's would, without a message to it.
Output CameraSession::client_restarted(const Peer& from) {
  if (!live_ || live_->peer != from) return {};
  ++counters_.client_restarts;
  return end_session(control::EndReason::keepalive_timeout, false, "client_restarted");
}

Output CameraSession::power_cycle(Micros now) {
  auto fields = live_ ? session_fields() : nlohmann::json::object();
  fields["boot_id"] = boot_id_;
  fields["back_at_us"] = now + config_.boot_time_us;
  live_.reset();  // no SESSION_END: the plug was pulled
  power_ = Power::booting;
  boot_done_at_ = now + config_.boot_time_us;
  return {{}, {{"power_cycle", std::move(fields)}}};
}

Output CameraSession::shutdown(Micros /*now*/) {
  Output out;
  if (power_ == Power::on && live_) out = end_session(control::EndReason::camera_shutdown, true);
  if (limits_.lines_suppressed() > 0)
    out.events.push_back({"log_suppressed", {{"lines", limits_.lines_suppressed()}, {"answers_refused", limits_.answers_refused()}}});
  live_.reset();
  power_ = Power::off;
  return out;
}

Output CameraSession::send(const Peer& to, std::uint64_t session_id, control::Body body) {
  control::Message m{control::kVersion, session_id, ++sequence_, std::move(body)};
  return {{{to, std::move(m)}}, {}};
}

control::Body CameraSession::floor_answer() const {
  if (live_->floor == Floor::denied) return control::TalkDenied{live_->burst, live_->deny};
  return control::TalkGranted{live_->burst};
}

control::Accept CameraSession::accept_body(Micros now) const {
  control::Accept a;
  a.session_limit_ms = detail::to_ms(config_.session_limit_us);
  a.remaining_ms = remaining_ms(now);
  a.keepalive_interval_ms = detail::to_ms<std::uint16_t>(config_.keepalive_interval_us);
  a.capabilities = static_cast<std::uint8_t>((config_.model.speaker ? control::kCapSpeaker : 0) |
                                             (config_.model.microphone ? control::kCapMicrophone : 0));
  a.boot_id = boot_id_;
  a.model = config_.model.name;
  a.serial = config_.serial;
  return a;
}

std::uint32_t CameraSession::remaining_ms(Micros now) const { return detail::to_ms(live_->end_at - now); }

nlohmann::json CameraSession::session_fields() const {
  return {{"session_id", live_->id}, {"peer", net::to_string(live_->peer)}};
}

nlohmann::json CameraSession::summary() const {
  const auto& c = counters_;
  return {{"sessions", c.sessions},
          {"rejected_busy", c.rejected_busy},
          {"rejected_unknown_camera", c.rejected_unknown_camera},
          {"talk_granted", c.talk_granted},
          {"talk_denied", c.talk_denied},
          {"ignored_unknown_session", c.ignored_unknown_session},
          {"ignored_out_of_order", c.ignored_out_of_order},
          {"ignored_wrong_direction", c.ignored_wrong_direction},
          {"ignored_offline", c.ignored_offline},
          {"retries", c.retries},
          {"client_restarts", c.client_restarts},
          {"bad_cookies", c.bad_cookies},
          {"answers_refused", limits_.answers_refused()},
          {"log_lines_suppressed", limits_.lines_suppressed()}};
}

}  // namespace pttcam::session
