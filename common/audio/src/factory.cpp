#include "pttcam/audio/factory.hpp"

#include <charconv>
#include <stdexcept>

#include "pttcam/audio/clocked.hpp"
#include "pttcam/audio/portaudio.hpp"

namespace pttcam::audio {
namespace {

std::pair<std::string_view, std::string_view> split(std::string_view text) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) return {text, {}};
  return {text.substr(0, colon), text.substr(colon + 1)};
}

}  // namespace

EndpointSpec parse_capture_spec(std::string_view text) {
  const auto [kind, arg] = split(text);
  const auto bad = [&](const std::string& why) {
    return std::invalid_argument("bad audio input '" + std::string(text) + "': " + why +
                                 " (use default, device:NAME, wav:PATH, tone:HZ or deny)");
  };
  if (kind == "default" && arg.empty()) return {EndpointSpec::Kind::device, "default"};
  if (kind == "deny" && arg.empty()) return {EndpointSpec::Kind::deny, ""};
  if (kind == "device") {
    if (arg.empty()) throw bad("missing device name");
    return {EndpointSpec::Kind::device, std::string(arg)};
  }
  if (kind == "wav") {
    if (arg.empty()) throw bad("missing file path");
    return {EndpointSpec::Kind::wav, std::string(arg)};
  }
  if (kind == "tone") {
    double hz = 0;
    const auto [end, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), hz);
    if (arg.empty() || ec != std::errc{} || end != arg.data() + arg.size() || hz <= 0 || hz >= kSampleRate / 2)
      throw bad("tone frequency must be a number of Hz between 0 and 24000");
    return {EndpointSpec::Kind::tone, std::string(arg)};
  }
  throw bad("unknown input kind");
}

EndpointSpec parse_playback_spec(std::string_view text) {
  const auto [kind, arg] = split(text);
  const auto bad = [&](const std::string& why) {
    return std::invalid_argument("bad audio output '" + std::string(text) + "': " + why +
                                 " (use default, speaker, device:NAME, wav:PATH or null)");
  };
  if ((kind == "default" || kind == "speaker") && arg.empty()) return {EndpointSpec::Kind::device, "default"};
  if (kind == "null" && arg.empty()) return {EndpointSpec::Kind::null, ""};
  if (kind == "device") {
    if (arg.empty()) throw bad("missing device name");
    return {EndpointSpec::Kind::device, std::string(arg)};
  }
  if (kind == "wav") {
    if (arg.empty()) throw bad("missing file path");
    return {EndpointSpec::Kind::wav, std::string(arg)};
  }
  throw bad("unknown output kind");
}

std::unique_ptr<Capture> open_capture(const EndpointSpec& spec) {
  switch (spec.kind) {
    case EndpointSpec::Kind::device: return std::make_unique<DeviceCapture>(spec.arg);
    case EndpointSpec::Kind::wav: return std::make_unique<WavCapture>(spec.arg);
    case EndpointSpec::Kind::tone: return std::make_unique<ToneCapture>(std::stod(spec.arg));
    case EndpointSpec::Kind::deny: throw std::runtime_error(kMicrophoneDenied);
    case EndpointSpec::Kind::null: break;
  }
  throw std::invalid_argument("a null endpoint cannot capture");
}

std::unique_ptr<Playback> open_playback(const EndpointSpec& spec) {
  switch (spec.kind) {
    case EndpointSpec::Kind::device: return std::make_unique<DevicePlayback>(spec.arg);
    case EndpointSpec::Kind::wav: return std::make_unique<FilePlayback>(spec.arg);
    case EndpointSpec::Kind::null: return std::make_unique<FilePlayback>(std::filesystem::path{});
    case EndpointSpec::Kind::tone:
    case EndpointSpec::Kind::deny: break;
  }
  throw std::invalid_argument("this endpoint kind cannot play");
}

}  // namespace pttcam::audio
