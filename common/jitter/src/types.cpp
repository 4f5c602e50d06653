#include "pttcam/jitter/types.hpp"

namespace pttcam::jitter {

const char* to_string(FrameKind kind) noexcept {
  switch (kind) {
    case FrameKind::silence: return "silence";
    case FrameKind::normal: return "normal";
    case FrameKind::fec: return "fec";
    case FrameKind::concealed: return "concealed";
  }
  return "?";
}

}  // namespace pttcam::jitter
