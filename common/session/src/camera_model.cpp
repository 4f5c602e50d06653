#include "pttcam/session/camera_model.hpp"

#include <algorithm>

namespace pttcam::session {

const std::vector<CameraModel>& camera_models() {
  static const std::vector<CameraModel> models = {
      {"mini", true, true, "top", "small indoor camera; has a reset button"},
      {"indoor-gen2", true, true, "front", "second-generation indoor camera"},
      {"outdoor", true, true, "front", "weatherproof outdoor camera"},
      {"xt2", true, true, "bottom", "battery outdoor camera"},
      {"doorbell", true, true, "bottom", "video doorbell"},
      {"indoor", false, true, "", "the original indoor camera: records audio, no speaker, so talk is always denied"},
  };
  return models;
}

const CameraModel* find_camera_model(std::string_view name) {
  const auto& models = camera_models();
  const auto it = std::find_if(models.begin(), models.end(), [&](const CameraModel& m) { return m.name == name; });
  return it == models.end() ? nullptr : &*it;
}

}  // namespace pttcam::session
