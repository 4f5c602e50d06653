#include "pttcam/timing/clock.hpp"

namespace pttcam::timing {

const Clock& monotonic_clock() noexcept {
  static const MonotonicClock clock;
  return clock;
}

}  // namespace pttcam::timing
