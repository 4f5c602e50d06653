#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pttcam/session/camera_model.hpp"
#include "pttcam/session/camera_session.hpp"
#include "pttcam/session/client_session.hpp"
#include "pttcam/session/output.hpp"

using namespace pttcam::session;
namespace control = pttcam::control;
namespace net = pttcam::net;
using control::DenyReason;
using control::EndReason;
using control::RejectReason;

namespace {

constexpr Micros kMs = 1'000;
constexpr Micros kSec = 1'000'000;
constexpr Micros kTick = 10 * kMs;
const Peer kPhoneA = net::parse_endpoint("10.0.0.5:40000");
const Peer kPhoneB = net::parse_endpoint("10.0.0.6:40000");
const Peer kCamera = net::parse_endpoint("10.0.0.2:5004");
const std::string kSerial = "SN-0001";

control::Message msg(std::uint64_t session_id, control::Body body, std::uint32_t sequence = 1) {
  return {control::kVersion, session_id, sequence, std::move(body)};
}

template <typename T>
const T* body_of(const Output& out, std::size_t i = 0) {
  return i < out.send.size() ? std::get_if<T>(&out.send[i].message.body) : nullptr;
}

std::vector<std::string> event_names(const Output& out) {
  std::vector<std::string> names;
  for (const auto& e : out.events) names.push_back(e.name);
  return names;
}

const LogEvent* find_event(const Output& out, std::string_view name) {
  for (const auto& e : out.events)
    if (e.name == name) return &e;
  return nullptr;
}

std::size_t count_sent(const Output& out, control::MessageType type) {
  std::size_t n = 0;
  for (const auto& o : out.send) n += control::type_of(o.message.body) == type;
  return n;
}

// ---- camera side ----

CameraSessionConfig camera_config(std::string_view model = "indoor-gen2") {
  CameraSessionConfig c;
  c.model = *find_camera_model(model);
  c.serial = kSerial;
  c.session_ids = [n = std::uint64_t{0}]() mutable { return ++n; };  // 1, 2, ...: readable tests
  return c;
}

// A camera with `now` kept by the test: the injected clock.
struct CameraRig {
  CameraSession camera;
  Micros now = 0;

  explicit CameraRig(CameraSessionConfig config = camera_config()) : camera(std::move(config), 0) {}

  // A START without a cookie first fetches one (START, RETRY), as a client does, and then repeats
  // itself with it: the tests below are about what happens after the address is validated.
  Output receive(control::Body body, const Peer& from = kPhoneA, std::optional<std::uint64_t> session = {}) {
    if (auto* start = std::get_if<control::LiveViewStart>(&body); start && !start->cookie.present)
      start->cookie = cookie_for(from);
    return camera.on_message(msg(session.value_or(camera.session_id()), std::move(body)), from, now);
  }
  // The cookie from the camera's RETRY; absent when it sends none (offline, or out of answers).
  control::Cookie cookie_for(const Peer& from) {
    const Output out = camera.on_message(msg(0, control::LiveViewStart{}), from, now);
    CHECK(out.events.empty());
    const auto* retry = body_of<control::Retry>(out);
    return retry ? retry->cookie : control::Cookie{};
  }
  Output open(const Peer& from = kPhoneA) { return receive(control::LiveViewStart{}, from, 0); }
  Output request(std::uint32_t burst) { return receive(control::TalkRequest{burst}); }
  Output release(std::uint32_t burst) { return receive(control::TalkRelease{burst}); }

  // Ticks every 10 ms up to and including `until`, keeping the client alive unless told not to.
  Output run_until(Micros until, bool client_keepalives = true) {
    Output all;
    while (now < until) {
      now = std::min(now + kTick, until);
      if (client_keepalives && camera.session_open() && now % kSec == 0) all.append(receive(control::Keepalive{}));
      all.append(camera.on_tick(now));
    }
    return all;
  }
};

// ---- client side ----

ClientSessionConfig client_config(bool renew = false, std::string camera_id = "") {
  ClientSessionConfig c;
  c.camera_id = std::move(camera_id);
  c.renew = renew;
  // The timings these tests were written against (the defaults are shorter).
  c.start_retry_us = 500 * kMs;
  c.talk_retry_us = 200 * kMs;
  return c;
}

control::Accept accept_body(std::uint32_t boot_id = 1, std::uint32_t remaining_ms = 300'000) {
  return {300'000, remaining_ms, 1000, control::kCapSpeaker | control::kCapMicrophone, boot_id, "indoor-gen2", kSerial};
}

struct ClientRig {
  ClientSession client;
  Micros now = 0;

  explicit ClientRig(ClientSessionConfig config = client_config()) : client(std::move(config), kCamera) {}

  Output receive(control::Body body, std::optional<std::uint32_t> session = {}) {
    return client.on_message(msg(session.value_or(client.session_id()), std::move(body)), now);
  }
  Output go_live(std::uint32_t session_id = 7, std::uint32_t boot_id = 1) {
    Output out = client.start(now);
    out.append(receive(accept_body(boot_id), session_id));
    return out;
  }
  // Ticks every 10 ms up to and including `until`; the camera keeps it alive unless told not to.
  Output run_until(Micros until, bool camera_keepalives = true) {
    Output all;
    while (now < until) {
      now = std::min(now + kTick, until);
      if (camera_keepalives && client.state() == ClientSession::State::live && now % kSec == 0)
        all.append(receive(control::Keepalive{100'000}));
      all.append(client.on_tick(now));
    }
    return all;
  }
};

}  // namespace

TEST_CASE("camera models") {
  SUBCASE("every model, its speaker and where it is") {
    struct Row {
      const char* name;
      bool speaker;
      const char* position;
      const char* backchannel_codecs;
    };
    const Row rows[] = {
        {"mini", true, "top", "pcmu,pcma"},         {"indoor-gen2", true, "front", "pcmu,pcma"},
        {"outdoor", true, "front", "pcmu,pcma"},    {"xt2", true, "bottom", "pcmu,pcma"},
        {"doorbell", true, "bottom", "pcmu,pcma,l16"}, {"indoor", false, "", ""},
    };
    CHECK(camera_models().size() == std::size(rows));
    for (const auto& row : rows) {
      CAPTURE(row.name);
      const CameraModel* m = find_camera_model(row.name);
      REQUIRE(m != nullptr);
      CHECK(m->name == row.name);
      CHECK(m->speaker == row.speaker);
      CHECK(m->microphone);
      CHECK(m->speaker_position == row.position);
      CHECK(m->backchannel_codecs == row.backchannel_codecs);
      CHECK_FALSE(m->notes.empty());
    }
    CHECK(find_camera_model("mini")->notes.find("reset button") != std::string::npos);
  }
  SUBCASE("the default exists; unknown names are not found") {
    CHECK(find_camera_model(kDefaultCameraModel) != nullptr);
    for (const char* name : {"", "Mini", "indoor-gen3", "indoor "}) CHECK(find_camera_model(name) == nullptr);
  }
}

TEST_CASE("Output") {
  Output a{{{kCamera, msg(1, control::Keepalive{})}}, {{"one", {}}}};
  Output b{{{kPhoneA, msg(2, control::Keepalive{})}, {kPhoneB, msg(3, control::Keepalive{})}}, {{"two", {}}}};
  a.append(std::move(b));
  REQUIRE(a.send.size() == 3);
  CHECK(a.send[0].to == kCamera);
  CHECK(a.send[1].message.session_id == 2);
  CHECK(a.send[2].to == kPhoneB);
  CHECK(event_names(a) == std::vector<std::string>{"one", "two"});
}

TEST_CASE("CameraSession") {
  SUBCASE("LIVE_VIEW_START: accept, retransmission, busy, unknown camera, version") {
    struct Row {
      const char* what;
      bool already_open_by_a;
      Peer from;
      std::string camera_id;
      std::uint8_t version;
      std::optional<RejectReason> reject;  // nullopt: ACCEPT
      std::uint32_t expected_session;      // in the ACCEPT header
      const char* event;                   // nullptr: none
    };
    const Row rows[] = {
        {"any camera", false, kPhoneA, "", control::kVersion, std::nullopt, 1, "session_accept"},
        {"this camera", false, kPhoneA, kSerial, control::kVersion, std::nullopt, 1, "session_accept"},
        {"another camera", false, kPhoneA, "SN-9999", control::kVersion, RejectReason::unknown_camera, 0,
         "session_reject"},
        {"retransmission", true, kPhoneA, "", control::kVersion, std::nullopt, 1, nullptr},
        {"second peer", true, kPhoneB, "", control::kVersion, RejectReason::busy, 0, "session_reject"},
        {"second peer, other camera", true, kPhoneB, "SN-9999", control::kVersion, RejectReason::unknown_camera, 0,
         "session_reject"},
        {"newer protocol", false, kPhoneA, "", control::kVersion + 1, RejectReason::unsupported_version, 0,
         "session_reject"},
    };
    for (const auto& row : rows) {
      CAPTURE(row.what);
      CameraRig rig;
      if (row.already_open_by_a) rig.open();
      rig.now = 2 * kSec;
      control::Message start = msg(0, control::LiveViewStart{row.camera_id, rig.cookie_for(row.from)});
      start.version = row.version;
      const Output out = rig.camera.on_message(start, row.from, rig.now);
      REQUIRE(out.send.size() == 1);
      CHECK(out.send[0].to == row.from);
      CHECK(out.send[0].message.session_id == row.expected_session);
      if (row.reject) {
        const auto* reject = body_of<control::Reject>(out);
        REQUIRE(reject != nullptr);
        CHECK(reject->reason == *row.reject);
        CHECK(reject->camera_version == control::kVersion);
      } else {
        const auto* accept = body_of<control::Accept>(out);
        REQUIRE(accept != nullptr);
        CHECK(accept->session_limit_ms == 300'000);
        CHECK(accept->remaining_ms == (row.already_open_by_a ? 298'000u : 300'000u));
        CHECK(accept->keepalive_interval_ms == 1000);
        CHECK(accept->capabilities == (control::kCapSpeaker | control::kCapMicrophone));
        CHECK(accept->boot_id == 1);
        CHECK(accept->model == "indoor-gen2");
        CHECK(accept->serial == kSerial);
      }
      CHECK(event_names(out) == (row.event ? std::vector<std::string>{row.event} : std::vector<std::string>{}));
      const auto& c = rig.camera.counters();
      CHECK(c.sessions == (row.already_open_by_a || !row.reject ? 1u : 0u));
      CHECK(c.rejected_busy == (row.reject == RejectReason::busy ? 1u : 0u));
      CHECK(c.rejected_unknown_camera == (row.reject == RejectReason::unknown_camera ? 1u : 0u));
      CHECK(rig.camera.session_open() == (row.already_open_by_a || !row.reject));
      if (rig.camera.session_open()) CHECK(rig.camera.session_peer() == kPhoneA);
    }
  }

  SUBCASE("accept event names the session and the peer; session ids count up; no-speaker capabilities") {
    auto config = camera_config("indoor");
    config.session_ids = [n = std::uint64_t{40}]() mutable { return ++n; };
    CameraRig rig(config);
    const Output first = rig.open();
    const auto* e = find_event(first, "session_accept");
    REQUIRE(e != nullptr);
    CHECK(e->fields["session_id"] == 41);
    CHECK(e->fields["peer"] == net::to_string(kPhoneA));
    CHECK(e->fields["model"] == "indoor");
    CHECK(body_of<control::Accept>(first)->capabilities == control::kCapMicrophone);
    rig.receive(control::SessionEnd{EndReason::client_stopped});
    CHECK(rig.open(kPhoneB).send[0].message.session_id == 42);
    CHECK(rig.camera.session_id() == 42);
  }

  SUBCASE("bad input is ignored, counted and changes nothing") {
    using C = CameraSession::Counters;
    struct Row {
      const char* what;
      control::Body body;
      Peer from;
      std::optional<std::uint32_t> session;  // nullopt: the open session's id
      std::uint64_t C::*counter;
    };
    const Row rows[] = {
        {"unknown session id", control::Keepalive{}, kPhoneA, 99, &C::ignored_unknown_session},
        {"talk request, unknown session id", control::TalkRequest{1}, kPhoneA, 99, &C::ignored_unknown_session},
        {"end, unknown session id", control::SessionEnd{EndReason::client_stopped}, kPhoneA, 0,
         &C::ignored_unknown_session},
        {"right id, wrong peer", control::TalkRequest{1}, kPhoneB, std::nullopt, &C::ignored_unknown_session},
        {"release without grant", control::TalkRelease{1}, kPhoneA, std::nullopt, &C::ignored_out_of_order},
        {"ACCEPT sent to a camera", accept_body(), kPhoneA, std::nullopt, &C::ignored_wrong_direction},
        {"REJECT sent to a camera", control::Reject{RejectReason::busy}, kPhoneA, std::nullopt,
         &C::ignored_wrong_direction},
        {"WARNING sent to a camera", control::SessionWarning{5}, kPhoneA, std::nullopt, &C::ignored_wrong_direction},
        {"GRANTED sent to a camera", control::TalkGranted{1}, kPhoneA, std::nullopt, &C::ignored_wrong_direction},
        {"DENIED sent to a camera", control::TalkDenied{1, DenyReason::no_speaker}, kPhoneA, std::nullopt,
         &C::ignored_wrong_direction},
    };
    for (const auto& row : rows) {
      CAPTURE(row.what);
      CameraRig rig;
      rig.open();
      rig.now = 2 * kSec;
      const auto end_at = rig.camera.session_end_at();
      const Output out = rig.receive(row.body, row.from, row.session);
      CHECK(out.send.empty());
      CHECK(out.events.empty());
      CHECK(rig.camera.counters().*row.counter == 1);
      CHECK(rig.camera.session_open());
      CHECK(rig.camera.session_id() == 1);
      CHECK(rig.camera.session_peer() == kPhoneA);
      CHECK(rig.camera.session_end_at() == end_at);
      CHECK_FALSE(rig.camera.floor_held());
      // Only a message of the session from its peer shows the client is alive.
      const Micros silent_from = row.counter == &C::ignored_out_of_order ? 2 * kSec : 0;
      CHECK(rig.run_until(silent_from + 3 * kSec - kTick, false).events.empty());
      CHECK(find_event(rig.run_until(silent_from + 3 * kSec, false), "session_end") != nullptr);
    }
  }

  SUBCASE("no session: a session message is from an unknown session") {
    CameraRig rig;
    CHECK(rig.receive(control::TalkRequest{1}, kPhoneA, 0).send.empty());
    CHECK(rig.camera.counters().ignored_unknown_session == 1);
    CHECK_FALSE(rig.camera.session_open());
  }

  SUBCASE("talk request: granted, or denied with the reason") {
    struct Row {
      const char* model;
      Micros at;  // session opened at 0 with a 300 s cap
      std::optional<DenyReason> deny;
    };
    const Row rows[] = {
        {"indoor-gen2", 1 * kSec, std::nullopt},
        {"mini", 1 * kSec, std::nullopt},
        {"doorbell", 1 * kSec, std::nullopt},
        {"indoor-gen2", 275 * kSec, std::nullopt},            // inside the warning window: the cap cuts it
        {"indoor-gen2", 299 * kSec, std::nullopt},            // exactly 1 s left
        {"indoor-gen2", 299 * kSec + 1, DenyReason::session_ending},
        {"indoor-gen2", 299 * kSec + 500 * kMs, DenyReason::session_ending},
        {"indoor", 1 * kSec, DenyReason::no_speaker},
        {"indoor", 299 * kSec + 500 * kMs, DenyReason::no_speaker},  // no speaker is the first reason
    };
    for (const auto& row : rows) {
      CAPTURE(row.model);
      CAPTURE(row.at);
      CameraRig rig(camera_config(row.model));
      rig.open();
      rig.now = row.at;
      const Output out = rig.request(3);
      REQUIRE(out.send.size() == 1);
      CHECK(out.send[0].to == kPhoneA);
      CHECK(out.send[0].message.session_id == 1);
      if (row.deny) {
        const auto* denied = body_of<control::TalkDenied>(out);
        REQUIRE(denied != nullptr);
        CHECK(denied->burst == 3);
        CHECK(denied->reason == *row.deny);
        REQUIRE(find_event(out, "talk_denied") != nullptr);
        CHECK(find_event(out, "talk_denied")->fields["reason"] == control::to_string(*row.deny));
      } else {
        REQUIRE(body_of<control::TalkGranted>(out) != nullptr);
        CHECK(body_of<control::TalkGranted>(out)->burst == 3);
        REQUIRE(find_event(out, "talk_granted") != nullptr);
        CHECK(find_event(out, "talk_granted")->fields["burst"] == 3);
      }
      CHECK(rig.camera.floor_held() == !row.deny);
      CHECK(rig.camera.counters().talk_granted == (row.deny ? 0u : 1u));
      CHECK(rig.camera.counters().talk_denied == (row.deny ? 1u : 0u));
      // A repeated request (its answer was lost) gets the same answer and no second event.
      const Output again = rig.request(3);
      REQUIRE(again.send.size() == 1);
      CHECK(control::type_of(again.send[0].message.body) == control::type_of(out.send[0].message.body));
      if (const auto* g = body_of<control::TalkGranted>(again)) CHECK(g->burst == 3);
      if (const auto* d = body_of<control::TalkDenied>(again)) CHECK(d->reason == *row.deny);
      CHECK(again.events.empty());
      CHECK(rig.camera.counters().talk_granted + rig.camera.counters().talk_denied == 1);
    }
  }

  SUBCASE("talk floor: release, stale requests and releases, a newer burst, half duplex") {
    auto config = camera_config();
    config.half_duplex = true;
    CameraRig rig(config);
    rig.open();
    rig.request(1);
    CHECK(rig.camera.floor_held());
    CHECK(rig.camera.mic_muted());

    const Output released = rig.release(1);
    CHECK(released.send.empty());
    CHECK(event_names(released) == std::vector<std::string>{"talk_release"});
    CHECK(released.events[0].fields["session_id"] == 1);
    CHECK(released.events[0].fields["peer"] == net::to_string(kPhoneA));
    CHECK_FALSE(rig.camera.floor_held());
    CHECK_FALSE(rig.camera.mic_muted());

    struct Row {
      const char* what;
      control::Body body;
    };
    const Row stale[] = {
        {"second release", control::TalkRelease{1}},
        {"request retransmitted after its release", control::TalkRequest{1}},
        {"older burst", control::TalkRequest{0}},
        {"release of a burst never requested", control::TalkRelease{2}},
    };
    std::uint64_t expected = 0;
    for (const auto& row : stale) {
      CAPTURE(row.what);
      const Output out = rig.receive(row.body);
      CHECK(out.send.empty());
      CHECK(out.events.empty());
      CHECK(rig.camera.counters().ignored_out_of_order == ++expected);
      CHECK_FALSE(rig.camera.floor_held());
    }

    rig.request(2);
    const Output newer = rig.request(3);  // burst 2's release was lost: burst 3 takes over
    REQUIRE(body_of<control::TalkGranted>(newer) != nullptr);
    CHECK(body_of<control::TalkGranted>(newer)->burst == 3);
    CHECK(rig.release(2).events.empty());
    CHECK(rig.camera.floor_held());
    CHECK(rig.camera.counters().talk_granted == 3);
  }

  SUBCASE("burst numbers are compared across the 0xFFFFFFFF -> 0 wrap") {
    struct Row {
      std::uint32_t held;  // granted, not released
      std::uint32_t next;
      bool newer;  // granted and takes the floor over; otherwise ignored as out of order
    };
    const Row rows[] = {
        {0xFFFF'FFFF, 0, true},          {0xFFFF'FFFE, 0xFFFF'FFFF, true}, {0xFFFF'FFF0, 0x10, true},
        {0, 0xFFFF'FFFF, false},         {0x10, 0xFFFF'FFF0, false},       {5, 6, true},
        {5, 4, false},                   {0x7FFF'FFFF, 0, false},          {0, 0x7FFF'FFFF, true},
    };
    for (const auto& row : rows) {
      CAPTURE(row.held);
      CAPTURE(row.next);
      CameraRig rig;
      rig.open();
      rig.request(row.held);
      const Output out = rig.request(row.next);
      if (row.newer) {
        REQUIRE(body_of<control::TalkGranted>(out) != nullptr);
        CHECK(body_of<control::TalkGranted>(out)->burst == row.next);
        CHECK(rig.release(row.next).events.size() == 1);
      } else {
        CHECK(out.send.empty());
        CHECK(rig.camera.counters().ignored_out_of_order == 1);
        CHECK(rig.release(row.held).events.size() == 1);  // the held burst still has the floor
      }
    }
  }

  SUBCASE("talk request while another front end talks: speaker_busy until it lets go") {
    CameraRig rig(camera_config("indoor-gen2"));
    rig.open();
    rig.now = 1 * kSec;
    rig.camera.set_speaker_busy(true);
    const auto answer = rig.request(3);  // kept: `denied` points into it
    const auto* denied = body_of<control::TalkDenied>(answer);
    REQUIRE(denied != nullptr);
    CHECK(denied->reason == DenyReason::speaker_busy);
    rig.camera.set_speaker_busy(false);
    CHECK(body_of<control::TalkGranted>(rig.request(4)) != nullptr);
  }

  SUBCASE("the session cap: warning, end, cutoff when talking, floor freed") {
    for (const bool talking : {false, true}) {
      CAPTURE(talking);
      CameraRig rig;
      rig.open();
      if (talking) rig.request(1);

      CHECK(count_sent(rig.run_until(270 * kSec - kTick), control::MessageType::session_warning) == 0);
      const Output warned = rig.run_until(270 * kSec);
      REQUIRE(count_sent(warned, control::MessageType::session_warning) == 1);
      const auto* warning = body_of<control::SessionWarning>(warned);
      REQUIRE(warning != nullptr);
      CHECK(warning->remaining_ms == 30'000);
      REQUIRE(find_event(warned, "session_warning") != nullptr);
      CHECK(find_event(warned, "session_warning")->fields["remaining_ms"] == 30'000);

      const Output before = rig.run_until(300 * kSec - kTick);
      CHECK(count_sent(before, control::MessageType::session_warning) == 0);  // only one warning
      CHECK(count_sent(before, control::MessageType::session_end) == 0);
      CHECK(rig.camera.session_open());

      const Output end = rig.run_until(300 * kSec);
      REQUIRE(end.send.size() == 1);
      CHECK(end.send[0].to == kPhoneA);
      CHECK(end.send[0].message.session_id == 1);
      REQUIRE(body_of<control::SessionEnd>(end) != nullptr);
      CHECK(body_of<control::SessionEnd>(end)->reason == EndReason::time_limit);
      const auto* e = find_event(end, "session_end");
      REQUIRE(e != nullptr);
      CHECK(e->fields["reason"] == "time_limit");
      CHECK(e->fields["talking"] == talking);
      CHECK(e->fields["session_id"] == 1);
      CHECK(e->fields["peer"] == net::to_string(kPhoneA));
      const auto* cutoff = find_event(end, "cutoff");
      CHECK((cutoff != nullptr) == talking);
      if (cutoff) CHECK(cutoff->fields["cause"] == "session_cap");
      CHECK_FALSE(rig.camera.session_open());
      CHECK_FALSE(rig.camera.floor_held());
      CHECK(rig.camera.session_id() == 0);
      CHECK(rig.camera.session_end_at() == std::nullopt);
      CHECK(rig.run_until(301 * kSec).send.empty());
    }
  }

  SUBCASE("next_timer_us: on_tick has nothing to do before it, and does it at it") {
    // camera-sim's io thread sleeps until next_timer_us() instead of ticking every 5 ms.
    const auto step = [](CameraRig& rig) {
      const auto at = rig.camera.next_timer_us();
      REQUIRE(at.has_value());
      REQUIRE(*at > rig.now);
      const Output early = rig.camera.on_tick(*at - 1);
      CHECK(early.send.empty());
      CHECK(early.events.empty());
      rig.now = *at;
      const Output due = rig.camera.on_tick(*at);
      CHECK((!due.send.empty() || !due.events.empty()));
      return due;
    };
    CameraRig rig;
    CHECK_FALSE(rig.camera.next_timer_us().has_value());  // no session: nothing to do
    rig.open();
    std::size_t keepalives = 0;
    bool warned = false;
    while (rig.camera.session_open()) {
      rig.receive(control::Keepalive{});  // the client stays alive: the cap ends it
      const Output out = step(rig);
      keepalives += count_sent(out, control::MessageType::keepalive);
      warned = warned || count_sent(out, control::MessageType::session_warning) == 1;
    }
    CHECK(rig.now == 300 * kSec);
    CHECK(warned);
    CHECK(keepalives == 299);
    rig.camera.power_cycle(rig.now);
    const Output online = step(rig);
    CHECK(find_event(online, "camera_online") != nullptr);
    CHECK_FALSE(rig.camera.next_timer_us().has_value());
  }

  SUBCASE("keepalives to the client carry the time left") {
    CameraRig rig;
    rig.open();
    const Output out = rig.run_until(3 * kSec);
    REQUIRE(out.send.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
      const auto* k = body_of<control::Keepalive>(out, i);
      REQUIRE(k != nullptr);
      CHECK(k->remaining_ms == 300'000 - 1'000 * (i + 1));
      CHECK(out.send[i].to == kPhoneA);
    }
  }

  SUBCASE("client silent for keepalive_timeout: session dropped, floor freed") {
    struct Row {
      const char* what;
      std::vector<Micros> client_keepalives;
      Micros expected_end;
    };
    const Row rows[] = {
        {"never heard again", {}, 3 * kSec},
        {"one keepalive", {2500 * kMs}, 5500 * kMs},
        {"two keepalives", {1 * kSec, 3 * kSec}, 6 * kSec},
    };
    for (const auto& row : rows) {
      CAPTURE(row.what);
      CameraRig rig;
      rig.open();
      rig.request(1);
      for (const Micros at : row.client_keepalives) {
        rig.run_until(at, false);
        rig.receive(control::Keepalive{});
      }
      rig.run_until(row.expected_end - kTick, false);
      CHECK(rig.camera.session_open());
      const Output end = rig.run_until(row.expected_end, false);
      CHECK_FALSE(rig.camera.session_open());
      CHECK_FALSE(rig.camera.floor_held());
      REQUIRE(body_of<control::SessionEnd>(end) != nullptr);
      CHECK(body_of<control::SessionEnd>(end)->reason == EndReason::keepalive_timeout);
      REQUIRE(find_event(end, "session_end") != nullptr);
      CHECK(find_event(end, "session_end")->fields["reason"] == "keepalive_timeout");
      REQUIRE(find_event(end, "cutoff") != nullptr);
      CHECK(find_event(end, "cutoff")->fields["cause"] == "keepalive_timeout");
      CHECK(rig.open(kPhoneB).send[0].message.session_id == 2);  // free for the next client
    }
  }

  SUBCASE("SESSION_END(client_stopped) ends it without an answer") {
    CameraRig rig;
    rig.open();
    const Output out = rig.receive(control::SessionEnd{EndReason::client_stopped});
    CHECK(out.send.empty());
    REQUIRE(find_event(out, "session_end") != nullptr);
    CHECK(find_event(out, "session_end")->fields["reason"] == "client_stopped");
    CHECK_FALSE(rig.camera.session_open());
    CHECK(body_of<control::Accept>(rig.open(kPhoneB)) != nullptr);
  }

  SUBCASE("a START from the session's address after its client spoke: a restarted client, a new session") {
    CameraRig rig;
    rig.open();
    rig.request(1);  // the old process held the floor
    rig.now = 2 * kSec;
    const Output out = rig.open();  // session id 0, from the same address and port
    const auto* end = find_event(out, "session_end");
    REQUIRE(end != nullptr);
    CHECK(end->fields["session_id"] == 1);
    CHECK(end->fields["reason"] == "client_restarted");
    REQUIRE(find_event(out, "cutoff") != nullptr);
    CHECK(find_event(out, "cutoff")->fields["cause"] == "client_restarted");
    REQUIRE(body_of<control::Accept>(out) != nullptr);
    CHECK(out.send.size() == 1);  // no SESSION_END: the old process is gone, the new one has no id
    CHECK(out.send[0].message.session_id == 2);
    CHECK(rig.camera.session_id() == 2);
    CHECK_FALSE(rig.camera.floor_held());
    CHECK(rig.camera.counters().client_restarts == 1);
    CHECK(rig.camera.counters().sessions == 2);
    const auto has = [&](auto type) {
      return std::any_of(out.actions.begin(), out.actions.end(),
                         [](const Action& a) { return std::holds_alternative<decltype(type)>(a); });
    };
    CHECK(has(CutPlayback{}));
    CHECK(has(DropHeldAudio{}));
    CHECK(has(NewSession{}));
    // The new client's own repeat (its ACCEPT lost) is a retransmission again, until it speaks.
    const Output repeat = rig.open();
    REQUIRE(body_of<control::Accept>(repeat) != nullptr);
    CHECK(repeat.send[0].message.session_id == 2);
    CHECK(repeat.events.empty());
    CHECK(rig.camera.counters().client_restarts == 1);
  }

  SUBCASE("power cycle: sessions vanish silently, offline while booting, back with boot_id + 1") {
    CameraRig rig;
    rig.open();
    rig.request(1);
    rig.now = 5 * kSec;
    const Output cut = rig.camera.power_cycle(rig.now);
    CHECK(cut.send.empty());
    CHECK(event_names(cut) == std::vector<std::string>{"power_cycle"});
    CHECK_FALSE(rig.camera.online());
    CHECK_FALSE(rig.camera.session_open());
    CHECK_FALSE(rig.camera.floor_held());

    const control::Body while_off[] = {control::LiveViewStart{}, control::Keepalive{}, control::TalkRequest{2},
                                       control::TalkGranted{1}};
    std::uint64_t ignored = 0;
    for (const auto& body : while_off) {
      CHECK(rig.camera.on_message(msg(1, body), kPhoneA, rig.now).send.empty());
      CHECK(rig.camera.counters().ignored_offline == ++ignored);
    }
    CHECK(rig.run_until(15 * kSec - kTick).send.empty());
    CHECK_FALSE(rig.camera.online());

    const Output back = rig.run_until(15 * kSec);
    CHECK(rig.camera.online());
    REQUIRE(find_event(back, "camera_online") != nullptr);
    CHECK(find_event(back, "camera_online")->fields["boot_id"] == 2);
    const Output accept = rig.open();
    REQUIRE(body_of<control::Accept>(accept) != nullptr);
    CHECK(body_of<control::Accept>(accept)->boot_id == 2);
    CHECK(accept.send[0].message.session_id == 2);
  }

  SUBCASE("shutdown: SESSION_END(camera_shutdown), then offline") {
    for (const bool talking : {false, true}) {
      CAPTURE(talking);
      CameraRig rig;
      rig.open();
      if (talking) rig.request(1);
      const Output out = rig.camera.shutdown(rig.now);
      REQUIRE(body_of<control::SessionEnd>(out) != nullptr);
      CHECK(body_of<control::SessionEnd>(out)->reason == EndReason::camera_shutdown);
      CHECK((find_event(out, "cutoff") != nullptr) == talking);
      CHECK_FALSE(rig.camera.online());
      CHECK(rig.open().send.empty());
      CHECK(rig.run_until(60 * kSec).events.empty());  // does not boot again
    }
    CameraRig idle;
    CHECK(idle.camera.shutdown(0).send.empty());
  }

  SUBCASE("every message carries the next camera sequence number") {
    CameraRig rig;
    Output all;
    for (const auto& from : {kPhoneA, kPhoneB}) {
      all.append(rig.camera.on_message(msg(0, control::LiveViewStart{}), from, 0));  // RETRY
      REQUIRE(body_of<control::Retry>(all, all.send.size() - 1) != nullptr);
      const auto cookie = body_of<control::Retry>(all, all.send.size() - 1)->cookie;
      all.append(rig.camera.on_message(msg(0, control::LiveViewStart{"", cookie}), from, 0));  // ACCEPT, REJECT
    }
    all.append(rig.request(1));
    all.append(rig.run_until(2 * kSec));
    REQUIRE(all.send.size() == 7);
    for (std::size_t i = 0; i < all.send.size(); ++i) CHECK(all.send[i].message.sequence == i + 1);
  }
}

TEST_CASE("ClientSession") {
  using State = ClientSession::State;
  using Talk = ClientSession::Talk;

  SUBCASE("start: LIVE_VIEW_START until an answer, then live") {
    ClientRig rig(client_config(false, kSerial));
    const Output first = rig.client.start(0);
    REQUIRE(body_of<control::LiveViewStart>(first) != nullptr);
    CHECK(body_of<control::LiveViewStart>(first)->camera_id == "SN-0001");
    CHECK(first.send[0].to == kCamera);
    CHECK(first.send[0].message.session_id == 0);
    CHECK(first.send[0].message.sequence == 1);
    CHECK(rig.client.state() == State::starting);
    CHECK(rig.client.start(0).send.empty());  // already starting

    CHECK(rig.run_until(490 * kMs).send.empty());
    const Output retry = rig.run_until(500 * kMs);
    REQUIRE(body_of<control::LiveViewStart>(retry) != nullptr);
    CHECK(retry.send[0].message.sequence == 2);
    CHECK(count_sent(rig.run_until(1 * kSec), control::MessageType::live_view_start) == 1);

    rig.now = 1200 * kMs;
    const Output accepted = rig.receive(accept_body(1, 299'000), 7);
    CHECK(accepted.send.empty());
    CHECK(rig.client.state() == State::live);
    CHECK(rig.client.session_id() == 7);
    REQUIRE(rig.client.accepted().has_value());
    CHECK(rig.client.accepted()->serial == kSerial);
    CHECK(rig.client.remaining_us(1200 * kMs) == 299 * kSec);
    CHECK(rig.client.remaining_us(2200 * kMs) == 298 * kSec);
    CHECK_FALSE(rig.client.camera_rebooted());
    CHECK(rig.client.counters().sessions == 1);
    const auto* e = find_event(accepted, "session_accept");
    REQUIRE(e != nullptr);
    CHECK(e->fields["session_id"] == 7);
    CHECK(e->fields["model"] == "indoor-gen2");
    CHECK(e->fields["serial"] == kSerial);
    CHECK(e->fields["capabilities"] == (control::kCapSpeaker | control::kCapMicrophone));
    CHECK(e->fields["session_limit_ms"] == 300'000);
    CHECK(count_sent(rig.run_until(3 * kSec), control::MessageType::live_view_start) == 0);
  }

  SUBCASE("next_timer_us: on_tick has nothing to do before it, and does it at it") {
    // The client's io thread sleeps until next_timer_us() instead of ticking every 10 ms.
    const auto nothing_before_then_something = [](ClientRig& rig, const char* what) {
      CAPTURE(what);
      const auto at = rig.client.next_timer_us();
      REQUIRE(at.has_value());
      REQUIRE(*at > rig.now);
      const auto state = rig.client.state();
      const Output early = rig.client.on_tick(*at - 1);
      CHECK(early.send.empty());
      CHECK(early.events.empty());
      rig.now = *at;
      const Output due = rig.client.on_tick(*at);
      CHECK((!due.send.empty() || rig.client.state() != state));
      return due;
    };
    ClientRig rig(client_config(true));
    CHECK_FALSE(rig.client.next_timer_us().has_value());  // idle: nothing until start()
    rig.client.start(0);
    CHECK(body_of<control::LiveViewStart>(nothing_before_then_something(rig, "start retry")) != nullptr);
    rig.receive(accept_body(), 7);
    CHECK(body_of<control::Keepalive>(nothing_before_then_something(rig, "keepalive")) != nullptr);
    rig.client.key_down(rig.now);
    CHECK(body_of<control::TalkRequest>(nothing_before_then_something(rig, "talk request retry")) != nullptr);
    rig.client.key_up(rig.now);
    while (rig.client.state() == State::live) nothing_before_then_something(rig, "keepalive or camera silent");
    CHECK(rig.client.counters().keepalive_timeouts == 1);
    // Ended with renew on: the next timer is the renewal.
    CHECK(body_of<control::LiveViewStart>(nothing_before_then_something(rig, "renew")) != nullptr);
  }

  SUBCASE("REJECT while starting: ended with the reason") {
    for (const auto reason :
         {RejectReason::busy, RejectReason::unknown_camera, RejectReason::unsupported_version, RejectReason::booting}) {
      CAPTURE(control::to_string(reason));
      ClientRig rig;
      rig.client.start(0);
      const Output out = rig.receive(control::Reject{reason}, 0);
      CHECK(rig.client.state() == State::ended);
      CHECK(rig.client.reject_reason() == reason);
      REQUIRE(find_event(out, "session_reject") != nullptr);
      CHECK(find_event(out, "session_reject")->fields["reason"] == control::to_string(reason));
      CHECK(rig.run_until(10 * kSec).send.empty());  // no renew: stays ended
    }
  }

  SUBCASE("bad input is ignored, counted and changes nothing") {
    using C = ClientSession::Counters;
    struct Row {
      const char* what;
      bool requested;  // key held, TALK_REQUEST(1) outstanding
      control::Body body;
      std::optional<std::uint32_t> session;  // nullopt: the current session
      std::uint64_t C::*counter;
    };
    const Row rows[] = {
        {"keepalive, other session", false, control::Keepalive{5}, 8, &C::ignored_wrong_session},
        {"end, other session", false, control::SessionEnd{EndReason::time_limit}, 8, &C::ignored_wrong_session},
        {"grant, other session", true, control::TalkGranted{1}, 8, &C::ignored_wrong_session},
        {"grant without request", false, control::TalkGranted{1}, std::nullopt, &C::ignored_out_of_order},
        {"denial without request", false, control::TalkDenied{1, DenyReason::no_speaker}, std::nullopt,
         &C::ignored_out_of_order},
        {"grant for another burst", true, control::TalkGranted{2}, std::nullopt, &C::ignored_out_of_order},
        {"denial for an old burst", true, control::TalkDenied{0, DenyReason::no_speaker}, std::nullopt,
         &C::ignored_out_of_order},
        {"REJECT while live", false, control::Reject{RejectReason::busy}, std::nullopt, &C::ignored_out_of_order},
        {"LIVE_VIEW_START sent to a client", false, control::LiveViewStart{}, std::nullopt,
         &C::ignored_wrong_direction},
        {"TALK_REQUEST sent to a client", true, control::TalkRequest{1}, std::nullopt, &C::ignored_wrong_direction},
        {"TALK_RELEASE sent to a client", true, control::TalkRelease{1}, std::nullopt, &C::ignored_wrong_direction},
    };
    for (const auto& row : rows) {
      CAPTURE(row.what);
      ClientRig rig;
      rig.go_live(7);
      if (row.requested) rig.client.key_down(rig.now);
      const Talk talk_before = rig.client.talk();
      rig.now = 2 * kSec;
      const Output out = rig.receive(row.body, row.session);
      CHECK(out.send.empty());
      CHECK(out.events.empty());
      CHECK(rig.client.counters().*row.counter == 1);
      CHECK(rig.client.state() == State::live);
      CHECK(rig.client.session_id() == 7);
      CHECK(rig.client.talk() == talk_before);
      CHECK(rig.client.remaining_us(2 * kSec) == 298 * kSec);
    }
  }

  SUBCASE("messages while starting that are not an answer") {
    ClientRig rig;
    rig.client.start(0);
    rig.receive(control::Keepalive{1}, 3);           // the previous session's tail
    rig.receive(control::TalkGranted{1}, 0);         // nothing asked for
    rig.receive(control::TalkRequest{1}, 0);         // wrong direction
    CHECK(rig.client.counters().ignored_wrong_session == 1);
    CHECK(rig.client.counters().ignored_out_of_order == 1);
    CHECK(rig.client.counters().ignored_wrong_direction == 1);
    CHECK(rig.client.state() == State::starting);
    ClientRig idle;
    idle.receive(accept_body(), 4);
    CHECK(idle.client.state() == State::idle);
    CHECK(idle.client.counters().ignored_wrong_session == 1);
  }

  SUBCASE("talk granted: request retried until granted, round trip logged, release") {
    ClientRig rig;
    rig.go_live(7);
    rig.now = 1 * kSec;
    const Output request = rig.client.key_down(rig.now);
    REQUIRE(body_of<control::TalkRequest>(request) != nullptr);
    CHECK(body_of<control::TalkRequest>(request)->burst == 1);
    CHECK(request.send[0].message.session_id == 7);
    CHECK(rig.client.talk() == Talk::requested);
    CHECK(rig.client.key_down(rig.now).send.empty());  // still held: same burst

    const Output retries = rig.run_until(1650 * kMs);
    CHECK(count_sent(retries, control::MessageType::talk_request) == 2);  // at +200 and +600 ms
    for (const auto& o : retries.send)
      if (const auto* r = std::get_if<control::TalkRequest>(&o.message.body)) CHECK(r->burst == 1);

    const Output granted = rig.receive(control::TalkGranted{1});
    CHECK(rig.client.talk() == Talk::granted);
    const auto* e = find_event(granted, "talk_granted");
    REQUIRE(e != nullptr);
    CHECK(e->fields["grant_rtt_us"] == 650 * kMs);
    CHECK(e->fields["burst"] == 1);
    CHECK(count_sent(rig.run_until(3 * kSec), control::MessageType::talk_request) == 0);

    const Output release = rig.client.key_up(rig.now);
    REQUIRE(body_of<control::TalkRelease>(release) != nullptr);
    CHECK(body_of<control::TalkRelease>(release)->burst == 1);
    CHECK(rig.client.talk() == Talk::none);
    CHECK(rig.client.key_up(rig.now).send.empty());
    CHECK(body_of<control::TalkRequest>(rig.client.key_down(rig.now))->burst == 2);
    CHECK(rig.client.burst() == 2);
  }

  SUBCASE("talk request never answered: retried with the gap doubling, then the press fails") {
    auto config = client_config();
    config.talk_retry_us = 50 * kMs;  // the default
    ClientRig rig(config);
    rig.go_live(7);
    rig.now = 1 * kSec;
    rig.client.key_down(rig.now);
    std::vector<Micros> sent_at = {0};
    Output failed;
    while (rig.now < 11 * kSec) {
      const Output out = rig.run_until(rig.now + kTick);
      for (std::size_t i = 0; i < count_sent(out, control::MessageType::talk_request); ++i)
        sent_at.push_back(rig.now - 1 * kSec);
      if (find_event(out, "talk_failed")) failed = out;
    }
    CHECK(sent_at == std::vector<Micros>{0, 50 * kMs, 150 * kMs, 350 * kMs, 750 * kMs});
    const auto* e = find_event(failed, "talk_failed");
    REQUIRE(e != nullptr);
    CHECK(e->fields["reason"] == "no_answer");
    CHECK(e->fields["requests"] == 5);
    CHECK(e->fields["waited_us"] == 1550 * kMs);
    CHECK(std::any_of(failed.actions.begin(), failed.actions.end(),
                      [](const Action& a) { return std::holds_alternative<StopTalking>(a); }));
    CHECK(std::any_of(failed.actions.begin(), failed.actions.end(), [](const Action& a) {
      const auto* n = std::get_if<Notice>(&a);
      return n && n->kind == Notice::Kind::talk_failed;
    }));
    CHECK(rig.client.talk() == Talk::denied);
    CHECK(rig.client.counters().talk_unanswered == 1);
    CHECK(rig.client.state() == State::live);         // the view goes on
    CHECK(rig.client.key_up(rig.now).send.empty());  // nothing was granted: nothing to release
    const Output again = rig.client.key_down(rig.now);  // a new press asks afresh
    REQUIRE(body_of<control::TalkRequest>(again) != nullptr);
    CHECK(body_of<control::TalkRequest>(again)->burst == 2);
  }

  SUBCASE("SESSION_END(client_stopped) from the camera is ignored and counted") {
    ClientRig rig;
    rig.go_live(7);
    rig.client.key_down(rig.now);
    rig.receive(control::TalkGranted{1});
    const Output out = rig.receive(control::SessionEnd{EndReason::client_stopped});
    CHECK(out.send.empty());
    CHECK(out.events.empty());
    CHECK(out.actions.empty());
    CHECK(rig.client.state() == State::live);
    CHECK(rig.client.talk() == Talk::granted);
    CHECK(rig.client.counters().ignored_wrong_direction == 1);
    // Any other reason still ends it.
    rig.receive(control::SessionEnd{EndReason::time_limit});
    CHECK(rig.client.state() == State::ended);
  }

  SUBCASE("each ACCEPT asks for a fresh stream of the camera's audio (NewSession)") {
    ClientRig rig(client_config(true));
    const auto new_sessions = [](const Output& out) {
      return std::count_if(out.actions.begin(), out.actions.end(),
                           [](const Action& a) { return std::holds_alternative<NewSession>(a); });
    };
    CHECK(new_sessions(rig.go_live(7)) == 1);
    CHECK(new_sessions(rig.receive(accept_body())) == 0);  // a repeated ACCEPT: the same view
    rig.receive(control::SessionEnd{EndReason::time_limit});  // renews at once
    CHECK(rig.client.state() == State::starting);
    CHECK(new_sessions(rig.receive(accept_body(), 8)) == 1);
  }

  SUBCASE("talk denied: the reason is kept, no retries, nothing to release") {
    for (const auto reason : {DenyReason::no_speaker, DenyReason::session_ending, DenyReason::speaker_busy}) {
      CAPTURE(control::to_string(reason));
      ClientRig rig;
      rig.go_live();
      rig.client.key_down(rig.now);
      const Output out = rig.receive(control::TalkDenied{1, reason});
      CHECK(rig.client.talk() == Talk::denied);
      CHECK(rig.client.deny_reason() == reason);
      REQUIRE(find_event(out, "talk_denied") != nullptr);
      CHECK(find_event(out, "talk_denied")->fields["reason"] == control::to_string(reason));
      CHECK(count_sent(rig.run_until(2 * kSec), control::MessageType::talk_request) == 0);
      CHECK(rig.client.key_up(rig.now).send.empty());
      CHECK(rig.client.talk() == Talk::none);
    }
  }

  SUBCASE("key down without a session: talk_failed, nothing sent") {
    for (const bool started : {false, true}) {
      ClientRig rig;
      if (started) rig.client.start(0);
      const Output out = rig.client.key_down(0);
      CHECK(out.send.empty());
      REQUIRE(find_event(out, "talk_failed") != nullptr);
      CHECK(find_event(out, "talk_failed")->fields["reason"] == "no_session");
      CHECK(rig.client.deny_reason() == DenyReason::no_session);
      CHECK(rig.client.key_up(0).send.empty());
    }
  }

  SUBCASE("SESSION_END from the camera: ended with the reason, cutoff when talking") {
    struct Row {
      EndReason reason;
      bool key_held;
      bool granted;
      const char* cutoff;  // nullptr: none
    };
    const Row rows[] = {
        {EndReason::time_limit, false, false, nullptr},
        {EndReason::time_limit, true, true, "session_cap"},
        {EndReason::time_limit, true, false, "session_cap"},  // request not answered yet
        {EndReason::camera_shutdown, true, true, "camera_shutdown"},
        {EndReason::keepalive_timeout, true, true, "keepalive_timeout"},
        {EndReason::camera_rebooted, false, false, nullptr},
    };
    for (const auto& row : rows) {
      CAPTURE(control::to_string(row.reason));
      CAPTURE(row.key_held);
      ClientRig rig;
      rig.go_live();
      if (row.key_held) rig.client.key_down(rig.now);
      if (row.granted) rig.receive(control::TalkGranted{1});
      const Output out = rig.receive(control::SessionEnd{row.reason});
      CHECK(out.send.empty());
      CHECK(rig.client.state() == State::ended);
      CHECK(rig.client.end_reason() == row.reason);
      CHECK(rig.client.talk() == Talk::none);
      REQUIRE(find_event(out, "session_end") != nullptr);
      CHECK(find_event(out, "session_end")->fields["reason"] == control::to_string(row.reason));
      const auto* cutoff = find_event(out, "cutoff");
      CHECK((cutoff != nullptr) == (row.cutoff != nullptr));
      if (cutoff && row.cutoff) CHECK(cutoff->fields["cause"] == row.cutoff);
      CHECK(rig.run_until(10 * kSec).send.empty());
    }
  }

  SUBCASE("SESSION_WARNING: logged, time left updated") {
    ClientRig rig;
    rig.go_live();
    rig.now = 270 * kSec;
    const Output out = rig.receive(control::SessionWarning{30'000});
    REQUIRE(find_event(out, "session_warning") != nullptr);
    CHECK(find_event(out, "session_warning")->fields["remaining_ms"] == 30'000);
    CHECK(rig.client.remaining_us(271 * kSec) == 29 * kSec);
    CHECK(rig.client.remaining_us(400 * kSec) == 0);
  }

  SUBCASE("keepalives out; camera silent for keepalive_timeout: camera_not_responding") {
    ClientRig rig;
    rig.go_live(7);
    const Output kept = rig.run_until(2 * kSec, false);
    CHECK(count_sent(kept, control::MessageType::keepalive) == 2);
    CHECK(body_of<control::Keepalive>(kept)->remaining_ms == 0);
    rig.receive(control::Keepalive{298'000});  // heard at 2 s
    rig.client.key_down(rig.now);
    CHECK(find_event(rig.run_until(5 * kSec - kTick, false), "camera_not_responding") == nullptr);
    CHECK(rig.client.state() == State::live);

    const Output lost = rig.run_until(5 * kSec, false);
    CHECK(rig.client.state() == State::ended);
    CHECK(rig.client.end_reason() == EndReason::keepalive_timeout);
    CHECK(rig.client.counters().keepalive_timeouts == 1);
    const auto* e = find_event(lost, "camera_not_responding");
    REQUIRE(e != nullptr);
    CHECK(e->fields["message"] == "camera not responding: check its power and network");
    CHECK(e->fields["session_id"] == 7);
    REQUIRE(find_event(lost, "cutoff") != nullptr);
    CHECK(find_event(lost, "cutoff")->fields["cause"] == "keepalive_timeout");
    REQUIRE(body_of<control::SessionEnd>(lost) != nullptr);
    CHECK(body_of<control::SessionEnd>(lost)->reason == EndReason::keepalive_timeout);
    CHECK(rig.run_until(20 * kSec, false).send.empty());
  }

  SUBCASE("stop: SESSION_END(client_stopped) when live, never renewed") {
    ClientRig rig(client_config(true));
    rig.go_live(7);
    const Output out = rig.client.stop(rig.now);
    REQUIRE(body_of<control::SessionEnd>(out) != nullptr);
    CHECK(body_of<control::SessionEnd>(out)->reason == EndReason::client_stopped);
    CHECK(out.send[0].message.session_id == 7);
    CHECK(rig.client.state() == State::ended);
    CHECK(rig.client.end_reason() == EndReason::client_stopped);
    CHECK(rig.run_until(10 * kSec).send.empty());
    CHECK(rig.client.stop(rig.now).send.empty());

    ClientRig starting;
    starting.client.start(0);
    CHECK(starting.client.stop(0).send.empty());
    CHECK(starting.client.state() == State::ended);
    CHECK(starting.run_until(2 * kSec).send.empty());
  }

  SUBCASE("renew by hand after the session ended") {
    ClientRig rig;
    rig.go_live(7, 1);
    rig.receive(control::SessionEnd{EndReason::time_limit});
    CHECK(rig.client.start(rig.now).send.empty());  // start() is for idle only
    const Output out = rig.client.renew(rig.now);
    REQUIRE(body_of<control::LiveViewStart>(out) != nullptr);
    CHECK(out.send[0].message.session_id == 0);
    REQUIRE(find_event(out, "session_renew") != nullptr);
    CHECK(find_event(out, "session_renew")->fields["after"] == "time_limit");
    CHECK(rig.client.counters().renewals == 1);
    CHECK(rig.client.state() == State::starting);
    CHECK(rig.client.renew(rig.now).send.empty());  // already starting
    CHECK(count_sent(rig.run_until(2 * kSec), control::MessageType::live_view_start) == 2);  // every renew_retry
  }

  SUBCASE("renew=true: restarts whenever it ends, logs a rebooted camera") {
    struct Row {
      const char* what;
      std::function<Output(ClientRig&)> end_it;
      Micros first_start_after;  // from the end
    };
    const Row rows[] = {
        {"time limit", [](ClientRig& r) { return r.receive(control::SessionEnd{EndReason::time_limit}); }, 0},
        {"camera shutdown", [](ClientRig& r) { return r.receive(control::SessionEnd{EndReason::camera_shutdown}); },
         0},
        {"camera silent", [](ClientRig& r) { return r.run_until(r.now + 3 * kSec, false); }, 0},
    };
    for (const auto& row : rows) {
      CAPTURE(row.what);
      ClientRig rig(client_config(true));
      rig.go_live(7, 1);
      const Output ended = row.end_it(rig);
      CHECK(rig.client.state() == State::starting);
      CHECK(rig.client.counters().renewals == 1);
      REQUIRE(find_event(ended, "session_renew") != nullptr);
      CHECK(find_event(ended, "session_renew")->fields["previous_session_id"] == 7);
      CHECK(count_sent(ended, control::MessageType::live_view_start) == 1);
      const auto& start = ended.send.back().message;
      CHECK(start.session_id == 0);
      CHECK(std::holds_alternative<control::LiveViewStart>(start.body));

      // LIVE_VIEW_START every renew_retry until the camera answers.
      const Micros ended_at = rig.now;
      CHECK(count_sent(rig.run_until(ended_at + 990 * kMs), control::MessageType::live_view_start) == 0);
      CHECK(count_sent(rig.run_until(ended_at + 3 * kSec), control::MessageType::live_view_start) == 3);

      const Output back = rig.receive(accept_body(2), 8);
      CHECK(rig.client.state() == State::live);
      CHECK(rig.client.session_id() == 8);
      CHECK(rig.client.camera_rebooted());
      CHECK(rig.client.end_reason() == std::nullopt);
      CHECK(rig.client.counters().sessions == 2);
      CHECK(rig.client.counters().renewals == 1);
      REQUIRE(find_event(back, "camera_rebooted") != nullptr);
      CHECK(find_event(back, "camera_rebooted")->fields["previous_boot_id"] == 1);
      CHECK(find_event(back, "camera_rebooted")->fields["boot_id"] == 2);
    }
  }

  SUBCASE("renew=true after a REJECT: tries again renew_retry later, each time counted") {
    ClientRig rig(client_config(true));
    rig.client.start(0);
    rig.receive(control::Reject{RejectReason::busy}, 0);
    CHECK(rig.client.state() == State::ended);
    CHECK(rig.run_until(990 * kMs).send.empty());
    const Output again = rig.run_until(1 * kSec);
    REQUIRE(body_of<control::LiveViewStart>(again) != nullptr);
    REQUIRE(find_event(again, "session_renew") != nullptr);
    CHECK(find_event(again, "session_renew")->fields["after"] == "busy");
    CHECK(rig.client.counters().renewals == 1);
    rig.receive(control::Reject{RejectReason::booting}, 0);
    rig.run_until(2 * kSec);
    CHECK(rig.client.counters().renewals == 2);
    rig.receive(accept_body(1), 3);
    CHECK(rig.client.state() == State::live);
    CHECK_FALSE(rig.client.camera_rebooted());  // first session: nothing to compare with
    CHECK(rig.client.reject_reason() == std::nullopt);
  }

  SUBCASE("every message carries the next client sequence number and the current session id") {
    ClientRig rig;
    Output all = rig.client.start(0);
    all.append(rig.receive(accept_body(), 7));
    all.append(rig.client.key_down(0));
    all.append(rig.run_until(1 * kSec));
    all.append(rig.client.key_up(rig.now));
    REQUIRE(all.send.size() == 6);  // START, REQUEST, 2 retries (+200, +600 ms) and a KEEPALIVE in 1 s, RELEASE
    for (std::size_t i = 0; i < all.send.size(); ++i) {
      CHECK(all.send[i].message.sequence == i + 1);
      CHECK(all.send[i].message.session_id == (i == 0 ? 0u : 7u));
    }
  }
}

namespace {

// A camera and one or two phones joined by an instant, lossless in-memory network, on one clock.
struct Network {
  CameraSession camera;
  ClientSession phone;
  Micros now = 0;
  std::vector<std::string> camera_log, phone_log;  // event names in order

  Network(CameraSessionConfig camera_config_, ClientSessionConfig phone_config)
      : camera(std::move(camera_config_), 0), phone(std::move(phone_config), kCamera) {}

  void from_camera(Output out) {
    for (const auto& e : out.events) camera_log.push_back(e.name);
    for (const auto& o : out.send) {
      REQUIRE(o.to == kPhoneA);
      from_phone(phone.on_message(o.message, now));
    }
  }
  void from_phone(Output out) {
    for (const auto& e : out.events) phone_log.push_back(e.name);
    for (const auto& o : out.send) {
      REQUIRE(o.to == kCamera);
      from_camera(camera.on_message(o.message, kPhoneA, now));
    }
  }
  void run_until(Micros until) {
    while (now < until) {
      now = std::min(now + kTick, until);
      from_camera(camera.on_tick(now));
      from_phone(phone.on_tick(now));
    }
  }
  bool in_phone_log(std::string_view name) const {
    return std::find(phone_log.begin(), phone_log.end(), name) != phone_log.end();
  }
};

CameraSessionConfig short_camera() {
  auto c = camera_config();
  c.session_limit_us = 20 * kSec;
  c.warn_before_us = 5 * kSec;
  return c;
}

ClientSessionConfig renewing_phone() {
  ClientSessionConfig c;
  c.camera_id = kSerial;
  c.renew = true;
  return c;
}

}  // namespace

TEST_CASE("CameraSession and ClientSession over an in-memory network") {
  using State = ClientSession::State;
  using Talk = ClientSession::Talk;

  SUBCASE("start, accept, talk, release, cap, renew") {
    Network net(short_camera(), renewing_phone());
    net.from_phone(net.phone.start(0));
    CHECK(net.phone.state() == State::live);
    CHECK(net.phone.session_id() == net.camera.session_id());
    CHECK(net.phone.accepted()->model == "indoor-gen2");

    net.run_until(2 * kSec);
    net.from_phone(net.phone.key_down(net.now));
    CHECK(net.phone.talk() == Talk::granted);
    CHECK(net.camera.floor_held());
    net.run_until(4 * kSec);
    net.from_phone(net.phone.key_up(net.now));
    CHECK_FALSE(net.camera.floor_held());
    CHECK(net.phone.talk() == Talk::none);

    net.run_until(15 * kSec);  // warning
    CHECK(net.phone.remaining_us(net.now) == 5 * kSec);
    net.from_phone(net.phone.key_down(net.now));  // talking into the cap
    net.run_until(20 * kSec);
    CHECK(net.phone.state() == State::live);  // renewed at once
    CHECK(net.phone.session_id() == 2);
    CHECK(net.camera.session_id() == 2);
    CHECK_FALSE(net.camera.floor_held());
    CHECK(net.phone.talk() == Talk::none);
    CHECK(net.phone.counters().renewals == 1);
    CHECK_FALSE(net.phone.camera_rebooted());

    CHECK(net.camera_log == std::vector<std::string>{"session_accept", "talk_granted", "talk_release",
                                                      "session_warning", "talk_granted", "session_end", "cutoff",
                                                      "session_accept"});
    CHECK(net.phone_log == std::vector<std::string>{"session_accept", "talk_granted", "session_warning",
                                                     "talk_granted", "session_end", "cutoff", "session_renew",
                                                     "session_accept"});
    const auto& c = net.camera.counters();
    CHECK(c.ignored_unknown_session + c.ignored_out_of_order + c.ignored_wrong_direction + c.ignored_offline == 0);
    const auto& p = net.phone.counters();
    CHECK(p.ignored_wrong_session + p.ignored_out_of_order + p.ignored_wrong_direction == 0);
    CHECK(p.keepalive_timeouts == 0);
  }

  SUBCASE("power cycle: the phone notices the silence, renews, and logs the reboot") {
    Network net(short_camera(), renewing_phone());
    net.from_phone(net.phone.start(0));
    net.run_until(2 * kSec);
    net.from_camera(net.camera.power_cycle(net.now));
    net.run_until(5 * kSec - kTick);
    CHECK(net.phone.state() == State::live);
    net.run_until(5 * kSec);
    CHECK(net.phone.end_reason() == EndReason::keepalive_timeout);
    CHECK(net.phone.state() == State::starting);
    CHECK(net.in_phone_log("camera_not_responding"));
    net.run_until(12 * kSec - kTick);
    CHECK(net.phone.state() == State::starting);  // the camera is still booting
    CHECK(net.camera.counters().ignored_offline > 0);
    net.run_until(13 * kSec);
    CHECK(net.camera.online());
    CHECK(net.phone.state() == State::live);
    CHECK(net.phone.camera_rebooted());
    CHECK(net.phone.accepted()->boot_id == 2);
    CHECK(net.phone.session_id() == 2);
    CHECK(net.in_phone_log("camera_rebooted"));
  }

  SUBCASE("a talk request to a camera without a speaker") {
    Network net(camera_config("indoor"), ClientSessionConfig{});
    net.from_phone(net.phone.start(0));
    net.from_phone(net.phone.key_down(0));
    CHECK(net.phone.talk() == Talk::denied);
    CHECK(net.phone.deny_reason() == DenyReason::no_speaker);
    CHECK_FALSE(net.camera.floor_held());
    net.from_phone(net.phone.stop(net.now));
    CHECK_FALSE(net.camera.session_open());
  }
}

TEST_CASE("ClientSession gives up on a camera that never answers") {
  ClientSessionConfig config;
  config.start_timeout_us = 3'000'000;
  SUBCASE("before any session: one GiveUp naming the address, and no more START") {
    ClientSession s(config, kCamera);
    s.start(0);
    Output out;
    for (Micros t = 0; t < 3'000'000; t += 200'000) {
      out = s.on_tick(t);
      for (const auto& a : out.actions) CHECK_FALSE(std::holds_alternative<GiveUp>(a));
    }
    REQUIRE(s.next_timer_us());
    CHECK(*s.next_timer_us() <= 3'000'000);
    out = s.on_tick(3'000'000);
    REQUIRE(out.actions.size() == 1);
    const auto* give_up = std::get_if<GiveUp>(&out.actions[0]);
    REQUIRE(give_up);
    CHECK(give_up->message.find("10.0.0.2:5004") != std::string::npos);
    CHECK(find_event(out, "camera_no_answer"));
    CHECK(s.state() == ClientSession::State::ended);
    CHECK(s.on_tick(4'000'000).send.empty());
    CHECK(s.counters().start_timeouts == 1);
  }
  SUBCASE("with renew: says so once and keeps asking") {
    config.renew = true;
    ClientSession s(config, kCamera);
    s.start(0);
    const auto out = s.on_tick(3'000'000);
    REQUIRE(out.actions.size() == 1);
    CHECK(std::holds_alternative<Notice>(out.actions[0]));
    CHECK(count_sent(out, control::MessageType::live_view_start) == 1);
    CHECK(s.state() == ClientSession::State::starting);
    std::size_t starts = 0;
    for (Micros t = 3'000'000; t < 6'000'000; t += 100'000) starts += s.on_tick(t).send.size();
    CHECK(starts > 0);
    CHECK(s.counters().start_timeouts == 1);
  }
}

TEST_CASE("CameraSession: no session before the address is proven") {
  SUBCASE("a START without a cookie gets a small RETRY only: no session, no log line") {
    CameraRig rig;
    const Output out = rig.camera.on_message(msg(0, control::LiveViewStart{}), kPhoneA, 0);
    REQUIRE(out.send.size() == 1);
    CHECK(out.send[0].to == kPhoneA);
    CHECK(out.send[0].message.session_id == 0);
    const auto* retry = body_of<control::Retry>(out);
    REQUIRE(retry != nullptr);
    CHECK(retry->cookie.present);
    CHECK(out.events.empty());
    CHECK(out.actions.empty());
    CHECK_FALSE(rig.camera.session_open());
    CHECK(rig.camera.counters().retries == 1);
  }
  SUBCASE("the cookie opens a session only from the address and port it was issued to, for 10 to 20 s") {
    CameraRig rig;
    const control::Cookie cookie = rig.cookie_for(kPhoneA);
    const Peer other_port = net::parse_endpoint("10.0.0.5:40001");
    for (const auto& from : {kPhoneB, other_port}) {
      CAPTURE(net::to_string(from));
      const Output out = rig.camera.on_message(msg(0, control::LiveViewStart{"", cookie}), from, 0);
      CHECK(body_of<control::Retry>(out) != nullptr);
      CHECK_FALSE(rig.camera.session_open());
    }
    control::Cookie forged = cookie;
    forged.bytes[3] ^= std::byte{1};
    CHECK(body_of<control::Retry>(rig.camera.on_message(msg(0, control::LiveViewStart{"", forged}), kPhoneA, 0)));
    CHECK(rig.camera.counters().bad_cookies == 3);
    // Issued in slot 0 (0..10 s): still good at 19.99 s, stale from 20 s.
    const Output late = rig.camera.on_message(msg(0, control::LiveViewStart{"", cookie}), kPhoneA, 20 * kSec);
    CHECK(body_of<control::Retry>(late) != nullptr);
    const Output in_time = rig.camera.on_message(msg(0, control::LiveViewStart{"", cookie}), kPhoneA, 19 * kSec);
    CHECK(body_of<control::Accept>(in_time) != nullptr);
    CHECK(rig.camera.session_peer() == kPhoneA);
  }
  SUBCASE("session ids are 64 random bits by default, never 0, different per camera and session") {
    CameraSessionConfig config = camera_config();
    config.session_ids = nullptr;  // the CSPRNG
    CameraRig a(config), b(config);
    a.open();
    b.open();
    const std::uint64_t first = a.camera.session_id();
    CHECK(first != 0);
    CHECK(first != b.camera.session_id());
    a.receive(control::SessionEnd{EndReason::client_stopped});
    a.open();
    CHECK(a.camera.session_id() != first);
    // Over 3 ids, one in the upper 32 bits is all but certain (a 2^-96 chance of failing).
    CHECK(((first | a.camera.session_id() | b.camera.session_id()) >> 32) != 0);
  }
  SUBCASE("answers to a source without a session are rate limited: 8 at once, then 4 a second") {
    CameraRig rig;
    std::size_t answered = 0;
    for (int i = 0; i < 100; ++i)
      answered += rig.camera.on_message(msg(0, control::LiveViewStart{}), kPhoneB, 0).send.size();
    CHECK(answered == SourceLimits::kBurst);
    answered = 0;
    for (Micros t = 0; t <= 10 * kSec; t += 10 * kMs)
      answered += rig.camera.on_message(msg(0, control::LiveViewStart{}), kPhoneB, t).send.size();
    CHECK(answered == 40);
    // Another source has its own answers.
    CHECK(rig.camera.on_message(msg(0, control::LiveViewStart{}), kPhoneA, 10 * kSec).send.size() == 1);
    CHECK(rig.camera.summary()["answers_refused"] > 900);
  }
  SUBCASE("log lines per source are capped, the rest counted, with a summary line at shutdown") {
    CameraRig rig;
    std::size_t lines = 0;
    bool said_counted = false;
    for (Micros t = 0; t < 600 * kSec; t += kSec) {
      const Output out = rig.camera.on_other_version(1, kPhoneB, t);
      lines += out.events.size();
      for (const auto& e : out.events) said_counted = said_counted || e.fields.contains("further_lines");
    }
    CHECK(lines == SourceLimits::kLinesPerSource);
    CHECK(said_counted);
    const Output stop = rig.camera.shutdown(600 * kSec);
    const auto* e = find_event(stop, "log_suppressed");
    REQUIRE(e != nullptr);
    CHECK(e->fields["lines"] == 600 - SourceLimits::kLinesPerSource);
  }
}

TEST_CASE("ClientSession: RETRY") {
  ClientRig rig(client_config(false, kSerial));
  rig.client.start(0);
  control::Cookie cookie;
  cookie.present = true;
  cookie.bytes[0] = std::byte{0x5a};
  rig.now = 30 * kMs;
  const Output again = rig.receive(control::Retry{cookie}, 0);
  const auto* start = body_of<control::LiveViewStart>(again);
  REQUIRE(start != nullptr);
  CHECK(start->cookie == cookie);
  CHECK(start->camera_id == kSerial);
  CHECK(rig.client.state() == ClientSession::State::starting);
  CHECK(rig.receive(control::Retry{cookie}, 0).send.empty());  // a duplicate RETRY: answered already
  // Repeats carry the cookie too.
  const Output repeat = rig.run_until(600 * kMs);
  REQUIRE(body_of<control::LiveViewStart>(repeat) != nullptr);
  CHECK(body_of<control::LiveViewStart>(repeat)->cookie == cookie);
  CHECK(rig.client.counters().retries == 1);
}
