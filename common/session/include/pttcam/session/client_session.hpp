#pragma once
// The phone app's side of the live-view protocol (docs/protocol.md): start a live view (retrying
// until the camera answers), keep it alive, ask for the talk floor while the key is held, and
// optionally renew the session whenever it ends. Pure: the caller passes every message, tick and
// `now` in and carries out the Output. One thread (the client's io thread).
#include <cstdint>
#include <optional>
#include <string>

#include "pttcam/control/messages.hpp"
#include "pttcam/session/output.hpp"

namespace pttcam::session {

struct ClientSessionConfig {
  std::string camera_id;  // empty: whichever camera answers
  Micros keepalive_interval_us = 1'000'000;
  Micros keepalive_timeout_us = 3'000'000;
  Micros start_retry_us = 200'000;
  // No answer to LIVE_VIEW_START for this long: the camera is not there. Before any session the
  // client gives up (GiveUp); later, or with `renew`, it says so and keeps trying.
  Micros start_timeout_us = 3'000'000;
  // TALK_REQUEST is repeated while unanswered: first after talk_retry_us, each later gap twice
  // the one before, at most talk_requests in all; no answer one more gap after the last and the
  // press fails (talk_failed "no_answer"): 0, 50, 150, 350, 750 ms, given up at 1.55 s.
  Micros talk_retry_us = 50'000;
  int talk_requests = 5;
  bool renew = false;  // start a new session whenever one ends (except by stop())
  Micros renew_retry_us = 1'000'000;
};

class ClientSession {
 public:
  enum class State { idle, starting, live, ended };
  enum class Talk { none, requested, granted, denied };
  struct Counters {
    std::uint64_t ignored_wrong_session = 0, ignored_out_of_order = 0, ignored_wrong_direction = 0,
                  keepalive_timeouts = 0, sessions = 0, renewals = 0, start_timeouts = 0, retries = 0,
                  talk_unanswered = 0;
  };

  ClientSession(ClientSessionConfig config, Peer camera);

  Output start(Micros now);  // from idle: LIVE_VIEW_START, repeated every start_retry until answered
  Output renew(Micros now);  // from ended or idle: start again (the user asked for a new session)
  Output stop(Micros now);   // SESSION_END(client_stopped) if live; ended, and no automatic renewal
  Output on_message(const control::Message& message, Micros now);
  Output on_tick(Micros now);  // call at next_timer_us(), or at least every 10 ms
  // When on_tick() next has something to do (a retry, a keepalive, a timeout, a renewal);
  // nullopt: nothing until a message or a key.
  std::optional<Micros> next_timer_us() const noexcept;
  Output key_down(Micros now);
  Output key_up(Micros now);

  State state() const noexcept { return state_; }
  Talk talk() const noexcept { return talk_; }
  std::uint32_t burst() const noexcept { return burst_; }
  const std::optional<control::Accept>& accepted() const noexcept { return accepted_; }
  std::optional<control::EndReason> end_reason() const noexcept { return end_reason_; }
  std::optional<control::RejectReason> reject_reason() const noexcept { return reject_reason_; }
  std::optional<control::DenyReason> deny_reason() const noexcept { return deny_reason_; }
  std::uint64_t session_id() const noexcept { return session_id_; }
  Micros remaining_us(Micros now) const noexcept;  // from the latest ACCEPT/KEEPALIVE/WARNING; 0 unless live
  bool camera_rebooted() const noexcept { return camera_rebooted_; }
  const Counters& counters() const noexcept { return counters_; }
  nlohmann::json summary() const;  // the counters, for the program's summary

 private:
  Output begin_starting(Micros now);
  Output on_starting_message(const control::Message& message, Micros now);
  Output on_live_message(const control::Message& message, Micros now);
  Output on_accept(std::uint64_t session_id, const control::Accept& accept, Micros now);
  Output on_retry(const control::Retry& retry, Micros now);
  control::LiveViewStart start_body() const { return {config_.camera_id, cookie_}; }
  Output on_reject(control::RejectReason reason, Micros now);
  Output on_talk_answer(std::uint32_t burst, std::optional<control::DenyReason> deny, Micros now);
  Output on_session_warning(std::uint32_t remaining_ms, Micros now);
  Output tick_live(Micros now);
  Output retry_talk(Micros now);
  Output camera_silent(Micros now);
  Output tick_starting(Micros now);
  Output no_answer(Micros now);
  Output finish(control::EndReason reason);
  Output renew_if_configured(Micros now);

  Output send(control::Body body);
  void set_remaining(std::uint32_t remaining_ms, Micros now);
  Micros start_retry() const noexcept { return renewing_ ? config_.renew_retry_us : config_.start_retry_us; }
  bool holding_floor() const noexcept { return talk_ == Talk::requested || talk_ == Talk::granted; }

  ClientSessionConfig config_;
  Peer camera_;
  State state_ = State::idle;
  Talk talk_ = Talk::none;
  std::uint32_t burst_ = 0;
  std::uint64_t session_id_ = 0;
  control::Cookie cookie_;  // from the camera's latest RETRY: echoed in every START after it
  std::uint32_t sequence_ = 0;
  std::optional<control::Accept> accepted_;
  std::optional<control::EndReason> end_reason_;
  std::optional<control::RejectReason> reject_reason_;
  std::optional<control::DenyReason> deny_reason_;
  bool camera_rebooted_ = false;
  bool renewing_ = false;
  std::optional<Micros> renew_at_;  // ended by a REJECT with renew on: start again then
  Micros next_start_ = 0;
  Micros started_at_ = 0;     // the first LIVE_VIEW_START of this attempt
  bool said_no_answer_ = false;
  Micros last_heard_ = 0;
  Micros next_keepalive_ = 0;
  Micros requested_at_ = 0;  // first TALK_REQUEST of the current burst
  Micros next_talk_ = 0;
  Micros talk_gap_us_ = 0;  // until next_talk_
  int talk_sent_ = 0;       // TALK_REQUESTs of the current press
  Micros remaining_us_ = 0;  // as of remaining_at_
  Micros remaining_at_ = 0;
  Counters counters_;
};

}  // namespace pttcam::session
