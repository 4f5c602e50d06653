#pragma once
#include <string_view>

namespace pttcam::camera {

// The app page (camera_sim/web/index.html), compiled in.
std::string_view web_page();

}  // namespace pttcam::camera
