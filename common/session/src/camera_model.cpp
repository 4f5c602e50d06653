#include "pttcam/session/camera_model.hpp"

#include <algorithm>

namespace pttcam::session {

const std::vector<CameraModel>& camera_models() {
  static const std::vector<CameraModel> models = {
      // G.711 at 8 kHz is what nearly every camera's backchannel takes; doorbells, made for talking
      // to visitors, commonly also take 16 kHz linear PCM (L16) for clearer speech.
      {"mini", true, true, "top", "small indoor camera; has a reset button", "pcmu,pcma"},
      {"indoor-gen2", true, true, "front", "second-generation indoor camera", "pcmu,pcma"},
      {"outdoor", true, true, "front", "weatherproof outdoor camera", "pcmu,pcma"},
      {"xt2", true, true, "bottom", "battery outdoor camera", "pcmu,pcma"},
      {"doorbell", true, true, "bottom", "video doorbell", "pcmu,pcma,l16"},
      {"indoor", false, true, "", "the original indoor camera: records audio, no speaker, so talk is always denied", ""},
  };
  return models;
}

const CameraModel* find_camera_model(std::string_view name) {
  const auto& models = camera_models();
  const auto it = std::find_if(models.begin(), models.end(), [&](const CameraModel& m) { return m.name == name; });
  return it == models.end() ? nullptr : &*it;
}

}  // namespace pttcam::session
