#pragma once
// The camera's side of the live-view protocol (docs/protocol.md): one live view at a time, a
// session cap with a warning, keepalives both ways, and the talk floor. Pure: the caller passes
// every message, tick and `now` in and carries out the Output. One thread (the camera's io thread).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "pttcam/control/messages.hpp"
#include "pttcam/session/camera_model.hpp"
#include "pttcam/session/output.hpp"
#include "pttcam/session/source_limits.hpp"
#include "pttcam/session/start_cookies.hpp"

namespace pttcam::session {

struct CameraSessionConfig {
  CameraModel model;
  std::string serial;
  std::uint32_t boot_id = 1;
  Micros session_limit_us = 300'000'000;
  Micros warn_before_us = 30'000'000;
  Micros keepalive_interval_us = 1'000'000;
  Micros keepalive_timeout_us = 3'000'000;
  Micros boot_time_us = 10'000'000;
  bool half_duplex = false;  // the microphone is muted while the speaker plays
  // Every message comes through a transport that proved its source (DTLS's cookie and a paired
  // key): START needs no cookie of its own.
  bool transport_validates_source = false;
  // Where session ids come from; empty: the CSPRNG (64 random bits), so that an attacker who cannot
  // see the traffic cannot guess one. Tests pass a fixed sequence.
  std::function<std::uint64_t()> session_ids;
};

class CameraSession {
 public:
  struct Counters {
    std::uint64_t ignored_unknown_session = 0, ignored_out_of_order = 0, ignored_wrong_direction = 0,
                  ignored_offline = 0, sessions = 0, rejected_busy = 0, rejected_unknown_camera = 0,
                  talk_granted = 0, talk_denied = 0, retries = 0, bad_cookies = 0, client_restarts = 0;
  };

  CameraSession(CameraSessionConfig config, Micros now);  // online from `now`

  Output on_message(const control::Message& message, const Peer& from, Micros now);
  // A control datagram of another protocol version: REJECT(unsupported_version), within the
  // source's limits.
  Output on_other_version(std::uint8_t version, const Peer& from, Micros now);
  // Call at next_timer_us(), or at least every 10 ms: session cap and warning, keepalives,
  // keepalive timeout, end of boot.
  Output on_tick(Micros now);
  // When on_tick() next has something to do; nullopt: nothing until a message.
  std::optional<Micros> next_timer_us() const noexcept;
  // Pulls the plug: the session vanishes without a message; offline (every message ignored) until
  // now + boot_time, then back with boot_id + 1.
  Output power_cycle(Micros now);
  // A START in clear to a camera that takes only protected live views: REJECT(pairing_required),
  // within the source's limits, so that an open-mode client says why instead of timing out.
  Output refuse_unprotected(const control::Message& message, const Peer& from, Micros now);
  // The session's client started over (a new protected link from its address, or in the open mode
  // a START without a session id from it): its old session ends without a message, logged as
  // client_restarted and counted.
  Output client_restarted(const Peer& from);
  // Orderly stop: SESSION_END(camera_shutdown) to the open session; offline for good.
  Output shutdown(Micros now);

  bool online() const noexcept { return power_ == Power::on; }
  bool session_open() const noexcept { return live_.has_value(); }
  std::optional<Peer> session_peer() const;
  std::uint64_t session_id() const noexcept { return live_ ? live_->id : 0; }
  bool floor_held() const noexcept { return live_ && live_->floor == Floor::granted; }
  bool mic_muted() const noexcept { return config_.half_duplex && floor_held(); }
  // Another front end of the camera (a browser page) is talking: talk requests are denied
  // speaker_busy until it lets go.
  void set_speaker_busy(bool busy) noexcept { speaker_busy_ = busy; }
  std::optional<Micros> session_end_at() const;
  const Counters& counters() const noexcept { return counters_; }
  nlohmann::json summary() const;  // the counters, for the program's summary

 private:
  enum class Power { on, booting, off };
  // The camera's answer to the session's latest burst.
  enum class Floor { none, granted, denied, released };

  struct Live {
    Peer peer;
    std::uint64_t id = 0;
    Micros end_at = 0;
    Micros last_heard = 0;
    Micros next_keepalive = 0;
    bool warned = false;
    // The client has sent a message carrying the session id: it has the ACCEPT. A START (session
    // id 0) from its address after that comes from a new client process there, not a repeat.
    bool confirmed = false;
    std::uint32_t burst = 0;
    Floor floor = Floor::none;
    control::DenyReason deny{};
  };

  Output on_start(const control::Message& message, const Peer& from, Micros now);
  Output open_session(const Peer& from, Micros now);
  Output reject(const Peer& to, control::RejectReason reason, Micros now);
  Output retry(const Peer& to, Micros now);
  void log_from(Output& out, const Peer& from, std::string name, nlohmann::json fields);
  Output on_talk_request(std::uint32_t burst, Micros now);
  Output on_talk_release(std::uint32_t burst);
  std::optional<control::DenyReason> deny_reason(Micros now) const;
  Output tick_session(Micros now);
  // `logged_as`: the reason the log gives, when it is not one the wire carries.
  Output end_session(control::EndReason reason, bool notify, const char* logged_as = nullptr);

  Output send(const Peer& to, std::uint64_t session_id, control::Body body);
  Output to_session(control::Body body) { return send(live_->peer, live_->id, std::move(body)); }
  Output talk_answer() { return to_session(floor_answer()); }
  control::Body floor_answer() const;
  control::Accept accept_body(Micros now) const;
  std::uint32_t remaining_ms(Micros now) const;
  nlohmann::json session_fields() const;

  CameraSessionConfig config_;
  Power power_ = Power::on;
  Micros boot_done_at_ = 0;
  std::uint32_t boot_id_;
  std::uint32_t sequence_ = 0;
  std::optional<Live> live_;
  bool speaker_busy_ = false;
  Counters counters_;
  StartCookies cookies_;
  SourceLimits limits_;
};

}  // namespace pttcam::session
