#pragma once
// What a session state machine asks its caller to do: messages to send and events to log. The
// machines themselves never touch a socket or a clock; the caller passes `now` in and carries out
// the Output (docs/protocol.md).
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pttcam/control/messages.hpp"

namespace pttcam::session {

using Micros = std::int64_t;  // microseconds on the caller's clock
using Peer = std::string;     // "HOST:PORT" of the other side, opaque here

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

  // Appends `other`'s messages and events after this one's, keeping their order.
  void append(Output&& other);
};

}  // namespace pttcam::session
