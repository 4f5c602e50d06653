#include "pttcam/pairing/limiter.hpp"

#include <algorithm>

namespace pttcam::pairing {

AttemptLimiter::Verdict AttemptLimiter::begin(std::int64_t now_us) {
  if (locked_for_us(now_us) > 0) return Verdict::locked;
  if (in_progress_) return Verdict::busy;
  if (locked_) {  // the lock ran out: a fresh set of attempts
    locked_ = false;
    wrong_ = 0;
  }
  in_progress_ = true;
  return Verdict::go;
}

std::optional<std::int64_t> AttemptLimiter::failed(std::int64_t now_us) {
  in_progress_ = false;
  if (++wrong_ < policy_.attempts) return std::nullopt;
  const std::int64_t length = next_lock_us_ > 0 ? next_lock_us_ : policy_.first_lock_us;
  next_lock_us_ = std::min(length * 2, policy_.max_lock_us);
  locked_until_us_ = now_us + length;
  locked_ = true;
  wrong_ = 0;
  return length;
}

void AttemptLimiter::succeeded() {
  in_progress_ = false;
  wrong_ = 0;
  next_lock_us_ = 0;
}

void AttemptLimiter::abandoned() { in_progress_ = false; }

void AttemptLimiter::reset() { *this = AttemptLimiter(policy_); }

std::int64_t AttemptLimiter::locked_for_us(std::int64_t now_us) const noexcept {
  return locked_ && locked_until_us_ > now_us ? locked_until_us_ - now_us : 0;
}

}  // namespace pttcam::pairing
