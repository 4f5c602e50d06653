#include "pttcam/session/client_session.hpp"

#include <algorithm>
#include <cstdio>
#include <utility>
#include <variant>

#include "session_util.hpp"

namespace pttcam::session {

namespace {

constexpr const char* kNotResponding = "camera not responding: check its power and network";

std::string cutoff_cause(control::EndReason reason) {
  return reason == control::EndReason::time_limit ? "session_cap" : control::to_string(reason);
}

}  // namespace

ClientSession::ClientSession(ClientSessionConfig config, Peer camera)
    : config_(std::move(config)), camera_(std::move(camera)) {}

Micros ClientSession::remaining_us(Micros now) const noexcept {
  if (state_ != State::live) return 0;
  return std::max<Micros>(0, remaining_us_ - (now - remaining_at_));
}

Output ClientSession::start(Micros now) {
  if (state_ != State::idle) return {};
  renewing_ = false;
  return begin_starting(now);
}

Output ClientSession::renew(Micros now) {
  if (state_ != State::ended && state_ != State::idle) return {};
  ++counters_.renewals;
  nlohmann::json fields = {{"previous_session_id", session_id_}};
  if (end_reason_) fields["after"] = control::to_string(*end_reason_);
  if (reject_reason_) fields["after"] = control::to_string(*reject_reason_);
  renewing_ = true;
  Output out{{}, {{"session_renew", std::move(fields)}}};
  out.append(begin_starting(now));
  return out;
}

Output ClientSession::begin_starting(Micros now) {
  state_ = State::starting;
  session_id_ = 0;
  talk_ = Talk::none;
  reject_reason_.reset();
  renew_at_.reset();
  started_at_ = now;
  said_no_answer_ = false;
  next_start_ = now + start_retry();
  return send(start_body());
}

Output ClientSession::stop(Micros /*now*/) {
  renew_at_.reset();
  if (state_ == State::ended) return {};
  Output out;
  if (state_ == State::live) out = send(control::SessionEnd{control::EndReason::client_stopped});
  out.append(finish(control::EndReason::client_stopped));
  return out;
}

Output ClientSession::on_message(const control::Message& message, Micros now) {
  if (!detail::sent_by_camera(control::type_of(message.body))) {
    ++counters_.ignored_wrong_direction;
    return {};
  }
  if (state_ == State::starting) return on_starting_message(message, now);
  if (state_ == State::live) return on_live_message(message, now);
  ++counters_.ignored_wrong_session;  // no session to belong to
  return {};
}

Output ClientSession::on_starting_message(const control::Message& message, Micros now) {
  const auto& body = message.body;
  if (const auto* accept = std::get_if<control::Accept>(&body)) return on_accept(message.session_id, *accept, now);
  if (const auto* reject = std::get_if<control::Reject>(&body)) return on_reject(reject->reason, now);
  if (const auto* retry = std::get_if<control::Retry>(&body)) return on_retry(*retry, now);
  if (message.session_id != 0) {
    ++counters_.ignored_wrong_session;  // e.g. the tail of the previous session
  } else {
    ++counters_.ignored_out_of_order;
  }
  return {};
}

Output ClientSession::on_live_message(const control::Message& message, Micros now) {
  if (message.session_id != session_id_) {
    ++counters_.ignored_wrong_session;
    return {};
  }
  // Only the client ends a view as client_stopped: from the camera's address it is a forgery or a
  // reflection of our own message, and it changes nothing.
  const auto* end = std::get_if<control::SessionEnd>(&message.body);
  if (end && end->reason == control::EndReason::client_stopped) {
    ++counters_.ignored_wrong_direction;
    return {};
  }
  last_heard_ = now;
  const auto& body = message.body;
  if (const auto* a = std::get_if<control::Accept>(&body)) set_remaining(a->remaining_ms, now);  // START repeated
  if (const auto* k = std::get_if<control::Keepalive>(&body)) set_remaining(k->remaining_ms, now);
  if (const auto* w = std::get_if<control::SessionWarning>(&body)) return on_session_warning(w->remaining_ms, now);
  if (const auto* g = std::get_if<control::TalkGranted>(&body)) return on_talk_answer(g->burst, std::nullopt, now);
  if (const auto* d = std::get_if<control::TalkDenied>(&body)) return on_talk_answer(d->burst, d->reason, now);
  if (end) {
    Output out = finish(end->reason);
    out.append(renew_if_configured(now));
    return out;
  }
  if (std::holds_alternative<control::Reject>(body)) ++counters_.ignored_out_of_order;
  return {};
}

// The camera wants proof that we receive at our address: START again at once with its cookie (and
// in every repeat after it). Not a new attempt: the retry interval and start timeout run on.
Output ClientSession::on_retry(const control::Retry& retry, Micros now) {
  if (!retry.cookie.present || retry.cookie == cookie_) {
    ++counters_.ignored_out_of_order;  // a repeat of the RETRY we already answered
    return {};
  }
  cookie_ = retry.cookie;
  ++counters_.retries;
  next_start_ = now + start_retry();
  return send(start_body());
}

Output ClientSession::on_accept(std::uint64_t session_id, const control::Accept& accept, Micros now) {
  const bool had_session = accepted_.has_value();
  const std::uint32_t previous_boot = had_session ? accepted_->boot_id : 0;
  state_ = State::live;
  session_id_ = session_id;
  accepted_ = accept;
  camera_rebooted_ = had_session && previous_boot != accept.boot_id;
  end_reason_.reset();
  ++counters_.sessions;
  last_heard_ = now;
  next_keepalive_ = now + config_.keepalive_interval_us;
  set_remaining(accept.remaining_ms, now);
  Output out;
  out.events.push_back({"session_accept",
                        {{"session_id", session_id}, {"camera", net::to_string(camera_)}, {"model", accept.model},
                         {"serial", accept.serial}, {"capabilities", accept.capabilities},
                         {"session_limit_ms", accept.session_limit_ms}, {"remaining_ms", accept.remaining_ms},
                         {"boot_id", accept.boot_id}}});
  if (camera_rebooted_) {
    nlohmann::json fields = {
        {"session_id", session_id}, {"previous_boot_id", previous_boot}, {"boot_id", accept.boot_id}};
    out.events.push_back({"camera_rebooted", std::move(fields)});
  }
  out.act(Notice{Notice::Kind::session_started, accept.serial});
  if (camera_rebooted_) out.act(Notice{Notice::Kind::camera_rebooted, {}});
  return out.act(NewSession{});  // the camera's audio of this view starts a stream of its own
}

Output ClientSession::on_reject(control::RejectReason reason, Micros now) {
  state_ = State::ended;
  reject_reason_ = reason;
  if (config_.renew) renew_at_ = now + config_.renew_retry_us;  // not at once: the camera just said no
  return Output{{}, {{"session_reject", {{"camera", net::to_string(camera_)}, {"reason", control::to_string(reason)}}}}}
      .act(Notice{Notice::Kind::session_rejected, control::to_string(reason)});
}

Output ClientSession::on_talk_answer(std::uint32_t burst, std::optional<control::DenyReason> deny, Micros now) {
  if (talk_ != Talk::requested || burst != burst_) {
    ++counters_.ignored_out_of_order;
    return {};
  }
  nlohmann::json fields = {{"session_id", session_id_}, {"burst", burst}};
  if (deny) {
    talk_ = Talk::denied;
    deny_reason_ = deny;
    fields["reason"] = control::to_string(*deny);
    return Output{{}, {{"talk_denied", std::move(fields)}}}
        .act(StopTalking{})
        .act(Notice{Notice::Kind::talk_denied, control::to_string(*deny)});
  }
  talk_ = Talk::granted;
  fields["grant_rtt_us"] = now - requested_at_;
  return {{}, {{"talk_granted", std::move(fields)}}};
}

Output ClientSession::on_session_warning(std::uint32_t remaining_ms, Micros now) {
  set_remaining(remaining_ms, now);
  return Output{{}, {{"session_warning", {{"session_id", session_id_}, {"remaining_ms", remaining_ms}}}}}.act(
      Notice{Notice::Kind::session_warning, {}});
}

Output ClientSession::on_tick(Micros now) {
  switch (state_) {
    case State::starting:
      return tick_starting(now);
    case State::live:
      return tick_live(now);
    case State::ended:
      if (renew_at_ && now >= *renew_at_) return renew(now);
      return {};
    case State::idle:
      return {};
  }
  return {};
}

std::optional<Micros> ClientSession::next_timer_us() const noexcept {
  switch (state_) {
    case State::starting: return said_no_answer_ ? next_start_ : std::min(next_start_, started_at_ + config_.start_timeout_us);
    case State::live: {
      Micros at = std::min(last_heard_ + config_.keepalive_timeout_us, next_keepalive_);
      if (talk_ == Talk::requested) at = std::min(at, next_talk_);
      return at;
    }
    case State::ended: return renew_at_;
    case State::idle: return std::nullopt;
  }
  return std::nullopt;
}

Output ClientSession::tick_live(Micros now) {
  if (now - last_heard_ >= config_.keepalive_timeout_us) return camera_silent(now);
  Output out;
  if (now >= next_keepalive_) {
    out.append(send(control::Keepalive{0}));
    next_keepalive_ += config_.keepalive_interval_us;
    if (next_keepalive_ <= now) next_keepalive_ = now + config_.keepalive_interval_us;  // ticks came late
  }
  if (talk_ == Talk::requested && now >= next_talk_) out.append(retry_talk(now));
  return out;
}

// A TALK_REQUEST with no answer: again, with the gap doubled, or, after the last one, the press
// fails. A camera that answers keepalives but never the floor (its floor held by a burst that is
// not ours) must not be asked 20 times a second for as long as the key is held.
Output ClientSession::retry_talk(Micros now) {
  if (talk_sent_ >= config_.talk_requests) {
    ++counters_.talk_unanswered;
    talk_ = Talk::denied;
    char message[160];
    std::snprintf(message, sizeof message, "cannot talk: the camera did not answer the talk request (%d tries in %.2f s)",
                  talk_sent_, static_cast<double>(now - requested_at_) / 1e6);
    return Output{{}, {{"talk_failed", {{"reason", "no_answer"}, {"session_id", session_id_}, {"burst", burst_},
                                        {"requests", talk_sent_}, {"waited_us", now - requested_at_}}}}}
        .act(StopTalking{})
        .act(Notice{Notice::Kind::talk_failed, message});
  }
  ++talk_sent_;
  talk_gap_us_ *= 2;
  next_talk_ = now + talk_gap_us_;
  return send(control::TalkRequest{burst_});
}

Output ClientSession::tick_starting(Micros now) {
  Output out;
  if (!said_no_answer_ && now - started_at_ >= config_.start_timeout_us) {
    out = no_answer(now);
    if (state_ != State::starting) return out;  // gave up
  }
  if (now < next_start_) return out;
  next_start_ = now + start_retry();
  out.append(send(start_body()));
  return out;
}

// Nothing came back from the camera's address: say where, and the likely causes.
Output ClientSession::no_answer(Micros now) {
  ++counters_.start_timeouts;
  said_no_answer_ = true;
  const std::string where = net::to_string(camera_);
  char message[256];
  std::snprintf(message, sizeof message,
                "no answer from the camera at %s within %.1f s: is camera-sim (or the camera) running, on that "
                "address and port, and reachable?",
                where.c_str(), static_cast<double>(config_.start_timeout_us) / 1e6);
  Output out{{}, {{"camera_no_answer", {{"camera", where}, {"waited_us", now - started_at_}}}}};
  if (counters_.sessions == 0 && !config_.renew) {
    state_ = State::ended;  // never answered: nothing to go on with
    return out.act(GiveUp{message});
  }
  return out.act(Notice{Notice::Kind::camera_not_responding, message});  // keeps trying
}

Output ClientSession::camera_silent(Micros now) {
  ++counters_.keepalive_timeouts;
  // Sent in case only the camera's direction is broken: it frees the camera for the next session.
  Output out = send(control::SessionEnd{control::EndReason::keepalive_timeout});
  out.events.push_back({"camera_not_responding",
                        {{"session_id", session_id_}, {"camera", net::to_string(camera_)}, {"silent_us", now - last_heard_},
                         {"message", kNotResponding}}});
  out.act(Notice{Notice::Kind::camera_not_responding, kNotResponding});
  out.append(finish(control::EndReason::keepalive_timeout));
  out.append(renew_if_configured(now));
  return out;
}

Output ClientSession::finish(control::EndReason reason) {
  Output out;
  nlohmann::json fields = {{"session_id", session_id_}, {"reason", control::to_string(reason)}};
  out.events.push_back({"session_end", fields});
  const bool by_user = reason == control::EndReason::client_stopped;
  out.act(Notice{Notice::Kind::session_ended, control::to_string(reason), by_user});
  if (state_ == State::live && holding_floor()) {
    out.events.push_back(
        {"cutoff", {{"session_id", session_id_}, {"burst", burst_}, {"cause", cutoff_cause(reason)}}});
    out.act(Notice{Notice::Kind::audio_cut, cutoff_cause(reason)});
  }
  // Whatever still streams or plays belongs to a session that is gone.
  out.act(StopTalking{}).act(CutPlayback{"session_end"});
  state_ = State::ended;
  talk_ = Talk::none;
  end_reason_ = reason;
  return out;
}

Output ClientSession::renew_if_configured(Micros now) { return config_.renew ? renew(now) : Output{}; }

Output ClientSession::key_down(Micros now) {
  if (state_ != State::live) {
    talk_ = Talk::denied;
    deny_reason_ = control::DenyReason::no_session;
    return Output{{}, {{"talk_failed", {{"reason", "no_session"}}}}}.act(
        Notice{Notice::Kind::talk_failed, "cannot talk: no live view (the camera has not answered, or the view ended)"});
  }
  if (holding_floor()) return {};  // already pressed
  ++burst_;
  talk_ = Talk::requested;
  deny_reason_.reset();
  requested_at_ = now;
  talk_sent_ = 1;
  talk_gap_us_ = config_.talk_retry_us;
  next_talk_ = now + talk_gap_us_;
  // Stream at once, alongside the request: the camera holds the audio until it grants, so nothing
  // said after the press is lost and no round trip is added to the talk-start latency.
  return send(control::TalkRequest{burst_}).act(StartTalking{});
}

Output ClientSession::key_up(Micros /*now*/) {
  const bool holding = holding_floor();
  talk_ = Talk::none;
  if (!holding || state_ != State::live) return {};
  return send(control::TalkRelease{burst_});
}

Output ClientSession::send(control::Body body) {
  control::Message m{control::kVersion, session_id_, ++sequence_, std::move(body)};
  return {{{camera_, std::move(m)}}, {}};
}

void ClientSession::set_remaining(std::uint32_t remaining_ms, Micros now) {
  remaining_us_ = static_cast<Micros>(remaining_ms) * 1000;
  remaining_at_ = now;
}

nlohmann::json ClientSession::summary() const {
  const auto& c = counters_;
  nlohmann::json s = {{"sessions", c.sessions},
                     {"renewals", c.renewals},
                     {"retries", c.retries},
                     {"talk_unanswered", c.talk_unanswered},
                     {"start_timeouts", c.start_timeouts},
                     {"keepalive_timeouts", c.keepalive_timeouts},
                     {"ignored_wrong_session", c.ignored_wrong_session},
                     {"ignored_out_of_order", c.ignored_out_of_order},
                     {"ignored_wrong_direction", c.ignored_wrong_direction}};
  if (end_reason_) s["last_end_reason"] = control::to_string(*end_reason_);
  return s;
}

}  // namespace pttcam::session
