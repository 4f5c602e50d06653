#pragma once
// What a session state machine asks its caller to do: messages to send, actions to carry out on
// its media, and events to log. The machines never touch a socket or a clock; the caller passes
// `now` in and carries out the Output (docs/protocol.md). The caller decides by the actions only:
// events are for the log and are never compared to decide anything.
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "pttcam/control/messages.hpp"
#include "pttcam/net/address.hpp"

namespace pttcam::session {

using Micros = std::int64_t;     // microseconds on the caller's clock
using Peer = net::Udp::endpoint;  // the other side

// The talker holds the floor: its next burst may play (camera).
struct GrantFloor {};
// The talker let go of the floor; an unused grant still lets the burst it was given for play (camera).
struct ReleaseFloor {};
// Audio waiting for the floor is never to play: the floor was refused or the session ended (camera).
struct DropHeldAudio {};
// What plays now stops mid-word; `cause` names it in the timeline (session_cap, keepalive_timeout, ...).
struct CutPlayback {
  std::string cause;
};
// Start streaming the talk burst now, alongside the floor request (client).
struct StartTalking {};
// Stop streaming the talk burst at once, without its last frame: the floor was refused or the
// session is gone, and the camera would drop anything more (client).
struct StopTalking {};

// What the user is told (client). `detail` is a reason or message for the line.
struct Notice {
  enum class Kind {
    session_started, session_rejected, session_warning, session_ended, camera_not_responding, talk_failed,
    talk_denied, camera_rebooted, audio_cut
  };
  Kind kind{};
  std::string detail;
  bool by_user = false;  // session_ended: the user stopped it
};

// Nothing to go on with: the camera never answered (client). `message` says where and why.
struct GiveUp {
  std::string message;
};

// A new live view opened (camera and client alike): audio from before it (an earlier session, a stranger) must not
// shape how this one's plays: the receiver starts its stream state and delay estimate afresh.
struct NewSession {};

using Action = std::variant<GrantFloor, ReleaseFloor, DropHeldAudio, CutPlayback, StartTalking, StopTalking, Notice,
                            GiveUp, NewSession>;

struct Outgoing {
  Peer to;
  control::Message message;
};

// One line of the --events JSON Lines log; the log adds the time.
struct LogEvent {
  std::string name;
  nlohmann::json fields;
};

struct Output {
  std::vector<Outgoing> send;
  std::vector<LogEvent> events;
  std::vector<Action> actions;

  Output() = default;
  Output(std::vector<Outgoing> s, std::vector<LogEvent> e) : send(std::move(s)), events(std::move(e)) {}

  template <typename A>
  Output& act(A&& a) {
    actions.emplace_back(std::in_place_type<std::decay_t<A>>, std::forward<A>(a));
    return *this;
  }

  // Appends `other`'s messages and events after this one's, keeping their order.
  void append(Output&& other);
};

}  // namespace pttcam::session
