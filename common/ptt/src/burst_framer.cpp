#include "pttcam/ptt/burst_framer.hpp"

#include <stdexcept>

namespace pttcam::ptt {

BurstFramer::BurstFramer(std::size_t frame_samples) : frame_(frame_samples) {
  if (frame_samples == 0) throw std::invalid_argument("frame size must be positive");
}

void BurstFramer::key_down(std::int64_t now_us) noexcept {
  if (talking_) return;
  talking_ = true;
  frame_capture_us_ = now_us;
  first_ = true;
  fill_ = 0;
}

}  // namespace pttcam::ptt
