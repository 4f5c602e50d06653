#pragma once
// The io thread sleeps until the earliest time one of its parts has work (their next_due_us()),
// instead of polling every millisecond: a wake-up costs more than the work on a small machine.
#include <cstdint>
#include <limits>

namespace pttcam::media {

inline constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();
// A device period predicted from the one before lands a little after it (the callback's own
// jitter, and the time it takes): waking this much after the prediction usually finds it done.
inline constexpr std::int64_t kAfterPeriodUs = 200;
// A period that was predicted but has not happened yet is looked for again this much later.
inline constexpr std::int64_t kRecheckUs = 250;

// When to look for the device period predicted at `predicted_us` (0: the device has not run yet).
inline std::int64_t due_after_period(std::int64_t predicted_us, std::int64_t now_us) noexcept {
  return predicted_us > now_us ? predicted_us + kAfterPeriodUs : now_us + kRecheckUs;
}

}  // namespace pttcam::media
