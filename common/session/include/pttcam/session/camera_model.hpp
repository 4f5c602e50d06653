#pragma once
// The camera models camera-sim can play. What matters to the protocol is whether the model has a
// speaker (talk is possible) and a microphone; the rest is shown to the user.
#include <string>
#include <string_view>
#include <vector>

namespace pttcam::session {

struct CameraModel {
  std::string name;
  bool speaker = false;
  bool microphone = false;
  std::string speaker_position;  // "" when the model has no speaker
  std::string notes;
  // What its RTSP backchannel offers (camera-sim's --backchannel-codecs names, in the SDP's order);
  // "" when the model has no speaker and so no backchannel.
  std::string backchannel_codecs;
};

inline constexpr std::string_view kDefaultCameraModel = "indoor-gen2";

// Every known model, in a stable order (for --help and listings).
const std::vector<CameraModel>& camera_models();

// nullptr when no model has that name.
const CameraModel* find_camera_model(std::string_view name);

}  // namespace pttcam::session
