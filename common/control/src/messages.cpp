#include "pttcam/control/messages.hpp"

#include <type_traits>

namespace pttcam::control {

namespace {

// The wire type is the variant index + 1; these pin the Body order to the MessageType values so
// reordering either one fails to compile instead of silently renumbering the protocol.
template <typename T, std::size_t I = 0>
constexpr std::size_t index_of() {
  if constexpr (std::is_same_v<std::variant_alternative_t<I, Body>, T>)
    return I;
  else
    return index_of<T, I + 1>();
}
template <typename T>
constexpr bool numbered(MessageType type) {
  return index_of<T>() + 1 == static_cast<std::size_t>(type);
}
static_assert(numbered<LiveViewStart>(MessageType::live_view_start));
static_assert(numbered<Accept>(MessageType::accept));
static_assert(numbered<Reject>(MessageType::reject));
static_assert(numbered<SessionEnd>(MessageType::session_end));
static_assert(numbered<SessionWarning>(MessageType::session_warning));
static_assert(numbered<TalkRequest>(MessageType::talk_request));
static_assert(numbered<TalkGranted>(MessageType::talk_granted));
static_assert(numbered<TalkDenied>(MessageType::talk_denied));
static_assert(numbered<TalkRelease>(MessageType::talk_release));
static_assert(numbered<Keepalive>(MessageType::keepalive));
static_assert(numbered<Retry>(MessageType::retry));
static_assert(std::variant_size_v<Body> == static_cast<std::size_t>(MessageType::retry));

}  // namespace

MessageType type_of(const Body& body) noexcept {
  return static_cast<MessageType>(body.index() + 1);
}

const char* to_string(MessageType type) noexcept {
  switch (type) {
    case MessageType::live_view_start: return "live_view_start";
    case MessageType::accept: return "accept";
    case MessageType::reject: return "reject";
    case MessageType::session_end: return "session_end";
    case MessageType::session_warning: return "session_warning";
    case MessageType::talk_request: return "talk_request";
    case MessageType::talk_granted: return "talk_granted";
    case MessageType::talk_denied: return "talk_denied";
    case MessageType::talk_release: return "talk_release";
    case MessageType::keepalive: return "keepalive";
    case MessageType::retry: return "retry";
  }
  return "unknown";
}

const char* to_string(RejectReason reason) noexcept {
  switch (reason) {
    case RejectReason::busy: return "busy";
    case RejectReason::unknown_camera: return "unknown_camera";
    case RejectReason::unsupported_version: return "unsupported_version";
    case RejectReason::booting: return "booting";
    case RejectReason::pairing_required: return "pairing_required";
  }
  return "unknown";
}

const char* to_string(EndReason reason) noexcept {
  switch (reason) {
    case EndReason::time_limit: return "time_limit";
    case EndReason::client_stopped: return "client_stopped";
    case EndReason::camera_shutdown: return "camera_shutdown";
    case EndReason::keepalive_timeout: return "keepalive_timeout";
    case EndReason::camera_rebooted: return "camera_rebooted";
  }
  return "unknown";
}

const char* to_string(DenyReason reason) noexcept {
  switch (reason) {
    case DenyReason::no_speaker: return "no_speaker";
    case DenyReason::speaker_busy: return "speaker_busy";
    case DenyReason::session_ending: return "session_ending";
    case DenyReason::no_session: return "no_session";
  }
  return "unknown";
}

}  // namespace pttcam::control
