#pragma once
#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

namespace pttcam::audio {

// Emulates a sound card's period clock for file, tone and null endpoints: calls `tick` once per
// period on its own thread, at absolute deadlines (start + k·period) so it never drifts, and
// catches up without skipping if the thread was delayed.
class ClockThread {
 public:
  ClockThread(std::chrono::nanoseconds period, std::function<void()> tick)
      : period_(period), tick_(std::move(tick)) {}
  ~ClockThread() { stop(); }
  ClockThread(const ClockThread&) = delete;
  ClockThread& operator=(const ClockThread&) = delete;

  void start();
  void stop() noexcept;

 private:
  std::chrono::nanoseconds period_;
  std::function<void()> tick_;
  std::atomic<bool> running_{false};
  std::thread thread_;
};

}  // namespace pttcam::audio
