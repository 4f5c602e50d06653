#include "pttcam/audio/clock_thread.hpp"

namespace pttcam::audio {

void ClockThread::start() {
  if (running_.exchange(true)) return;
  thread_ = std::thread([this] {
    auto next = std::chrono::steady_clock::now();
    while (running_.load(std::memory_order_acquire)) {
      next += period_;
      std::this_thread::sleep_until(next);
      tick_();
    }
  });
}

void ClockThread::stop() noexcept {
  if (!running_.exchange(false)) return;
  if (thread_.joinable()) thread_.join();
}

}  // namespace pttcam::audio
