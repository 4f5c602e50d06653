#include "pttcam/jitter/interarrival_jitter.hpp"

#include <cstdlib>

namespace pttcam::jitter {

void InterarrivalJitter::observe(Micros relative_delay_us, std::uint64_t burst) noexcept {
  if (last_ && last_->burst == burst) {
    const auto d = static_cast<double>(std::llabs(relative_delay_us - last_->relative_delay_us));
    jitter_us_ += (d - jitter_us_) / 16.0;
  }
  last_ = Last{burst, relative_delay_us};
}

}  // namespace pttcam::jitter
