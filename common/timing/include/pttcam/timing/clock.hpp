#pragma once
// The one clock of every pttcam process: microseconds on CLOCK_MONOTONIC, shared by all processes
// on a machine, so the client's capture times and the camera's play times subtract directly.
// Code that decides by time takes a Clock, so its tests set the time instead of sleeping.
#include <chrono>
#include <cstdint>

namespace pttcam::timing {

using Micros = std::int64_t;

inline Micros monotonic_us() noexcept {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Micros now_us() const noexcept = 0;
};

// The real one.
class MonotonicClock final : public Clock {
 public:
  Micros now_us() const noexcept override { return monotonic_us(); }
};
const Clock& monotonic_clock() noexcept;

// A clock that moves only when told: for tests and replays.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Micros start_us = 0) noexcept : now_(start_us) {}
  Micros now_us() const noexcept override { return now_; }
  void set(Micros us) noexcept { now_ = us; }
  void advance(Micros us) noexcept { now_ += us; }

 private:
  Micros now_;
};

}  // namespace pttcam::timing
