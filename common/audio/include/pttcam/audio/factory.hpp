#pragma once
#include <memory>
#include <string>
#include <string_view>

#include "pttcam/audio/endpoint.hpp"

namespace pttcam::audio {

// "--input" grammar:  default | device:NAME|INDEX | wav:PATH | tone:HZ | deny
// "--output" grammar: default | speaker | device:NAME|INDEX | wav:PATH | null
struct EndpointSpec {
  enum class Kind { device, wav, tone, null, deny };
  Kind kind = Kind::device;
  std::string arg;  // device selector, path, or frequency text
};

// Throw std::invalid_argument with a one-line message on bad text.
EndpointSpec parse_capture_spec(std::string_view text);
EndpointSpec parse_playback_spec(std::string_view text);

// Build the endpoint (not started). Throw std::runtime_error naming the device/file and the fix.
// A `deny` capture throws the message an operating system's refusal would need.
std::unique_ptr<Capture> open_capture(const EndpointSpec& spec);
std::unique_ptr<Playback> open_playback(const EndpointSpec& spec);

inline constexpr const char* kMicrophoneDenied =
    "microphone access is denied for ptt-client: allow it in your system settings";

}  // namespace pttcam::audio
