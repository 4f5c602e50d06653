#pragma once
// How many pairing codes the camera lets anyone try (docs/security.md, "Pairing"): after
// `attempts` wrong codes pairing locks for `first_lock_us`, each later lock twice as long as the
// one before, up to `max_lock_us`. One attempt at a time, so parallel connections cannot squeeze
// more guesses in before a lock. Pure: the caller passes `now`.
#include <cstdint>
#include <optional>

namespace pttcam::pairing {

struct LimiterPolicy {
  int attempts = 5;
  std::int64_t first_lock_us = 60'000'000;
  std::int64_t max_lock_us = 3'600'000'000;
};

class AttemptLimiter {
 public:
  enum class Verdict : std::uint8_t { go, locked, busy };
  explicit AttemptLimiter(LimiterPolicy policy = {}) : policy_(policy) {}

  // Whether an attempt may start now; on go, one is under way until failed/succeeded/abandoned.
  Verdict begin(std::int64_t now_us);
  // The attempt under way used a wrong code (or broke off mid-handshake: indistinguishable).
  // Returns the lock's length in us when this failure locks pairing.
  std::optional<std::int64_t> failed(std::int64_t now_us);
  void succeeded();  // the count of wrong codes and the lock length start afresh
  void abandoned();  // the attempt ended before it tried a code (no TLS byte arrived)
  void reset();      // factory reset: no lock, no count

  std::int64_t locked_for_us(std::int64_t now_us) const noexcept;  // 0 when not locked
  int wrong_codes() const noexcept { return wrong_; }
  bool in_progress() const noexcept { return in_progress_; }

 private:
  LimiterPolicy policy_;
  int wrong_ = 0;                   // since the last lock (or success)
  std::int64_t next_lock_us_ = 0;   // 0: first_lock_us
  std::int64_t locked_until_us_ = 0;
  bool locked_ = false;
  bool in_progress_ = false;
};

}  // namespace pttcam::pairing
