#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>

#include "pttcam/audio/spsc_ring.hpp"
#include "pttcam/timing/clock.hpp"

namespace pttcam::audio {

inline constexpr int kSampleRate = 48000;
// 16384 samples = 341 ms: far more than any device period, small enough to stay in cache.
inline constexpr std::size_t kRingCapacity = 16384;

// When the device side last ran and how many samples it moved: the io thread predicts the next
// period from it and sleeps until then, instead of polling the ring.
class PeriodClock {
 public:
  void on_period(std::size_t samples) noexcept {  // RT-safe: wait-free, no alloc
    samples_.store(samples, std::memory_order_relaxed);
    // Release: a reader that sees this time sees the period size stored before it.
    last_us_.store(timing::monotonic_us(), std::memory_order_release);
  }
  // 0 before the first period.
  std::int64_t last_us() const noexcept { return last_us_.load(std::memory_order_acquire); }
  std::size_t samples() const noexcept { return samples_.load(std::memory_order_relaxed); }
  // When the device will have moved `samples` more (rounded up to whole periods), or 0 when it
  // has not run yet.
  std::int64_t after_us(std::size_t samples) const noexcept {
    const std::int64_t last = last_us();
    const std::size_t period = this->samples();
    if (last == 0 || period == 0) return 0;
    const auto periods = static_cast<std::int64_t>((samples + period - 1) / period);
    return last + periods * static_cast<std::int64_t>(period) * 1'000'000 / kSampleRate;
  }

 private:
  std::atomic<std::int64_t> last_us_{0};
  std::atomic<std::size_t> samples_{0};
};

// Counters written by the device side (callback or clock thread) and read by anyone.
struct EndpointCounters {
  std::atomic<std::uint64_t> callbacks{0};
  std::atomic<std::uint64_t> samples{0};          // samples moved through the device
  std::atomic<std::uint64_t> overrun_samples{0};  // capture: ring full, newest samples dropped
  std::atomic<std::uint64_t> underrun_samples{0}; // playback: ring empty, silence played
  std::atomic<std::uint64_t> device_flags{0};     // xrun flags reported by the driver
};

// A microphone. The device side pushes into the ring; the io thread reads it.
class Capture {
 public:
  Capture() : ring_(kRingCapacity) {}
  virtual ~Capture() = default;
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;

  virtual void start() = 0;  // may throw: "cannot open ..." with the fix
  virtual void stop() noexcept = 0;
  // Stops and gives the device back to the system (a sound card's stream is closed); the next
  // start() opens it again. Endpoints without a device to give back just stop.
  virtual void release() noexcept { stop(); }
  virtual std::string describe() const = 0;
  // Seconds between a sample reaching the device and it being readable here.
  virtual double input_latency() const noexcept { return 0.0; }

  // io thread only.
  std::size_t read(std::span<float> out) noexcept { return ring_.pop(out.data(), out.size()); }
  std::size_t available() const noexcept { return ring_.size(); }
  std::size_t discard() noexcept { return ring_.discard(); }
  const EndpointCounters& counters() const noexcept { return counters_; }
  const PeriodClock& clock() const noexcept { return clock_; }

 protected:
  // Device side: RT-safe.
  void on_input(const float* in, std::size_t n) noexcept {  // RT-safe: wait-free, no alloc
    const std::size_t pushed = ring_.push(in, n);
    clock_.on_period(n);
    counters_.callbacks.fetch_add(1, std::memory_order_relaxed);
    counters_.samples.fetch_add(n, std::memory_order_relaxed);
    if (pushed < n) counters_.overrun_samples.fetch_add(n - pushed, std::memory_order_relaxed);
  }

  SpscRing<float> ring_;
  EndpointCounters counters_;
  PeriodClock clock_;
};

// A speaker. The io thread writes into the ring; the device side plays it.
class Playback {
 public:
  Playback() : ring_(kRingCapacity) {}
  virtual ~Playback() = default;
  Playback(const Playback&) = delete;
  Playback& operator=(const Playback&) = delete;

  virtual void start() = 0;
  virtual void stop() noexcept = 0;
  virtual std::string describe() const = 0;
  // Seconds between a sample leaving the ring and it being heard.
  virtual double output_latency() const noexcept { return 0.0; }
  // Samples the device takes per period: the io thread keeps at least ~2 periods queued.
  virtual std::size_t period_samples() const noexcept = 0;

  // io thread only.
  std::size_t write(std::span<const float> in) noexcept { return ring_.push(in.data(), in.size()); }
  std::size_t queued() const noexcept { return ring_.size(); }
  std::size_t space() const noexcept { return ring_.capacity() - ring_.size(); }
  const EndpointCounters& counters() const noexcept { return counters_; }
  // Nothing to play for now: the device plays silence where the ring runs dry, and that is not
  // an underrun. Lets an idle receiver skip feeding silence (and waking up) every period.
  void set_idle(bool idle) noexcept { idle_.store(idle, std::memory_order_relaxed); }
  bool idle() const noexcept { return idle_.load(std::memory_order_relaxed); }
  const PeriodClock& clock() const noexcept { return clock_; }

 protected:
  // Device side: fills the whole buffer, silence where the ring ran dry. RT-safe.
  void on_output(float* out, std::size_t n) noexcept {  // RT-safe: wait-free, no alloc
    const std::size_t got = ring_.pop(out, n);
    for (std::size_t i = got; i < n; ++i) out[i] = 0.0f;
    clock_.on_period(n);
    counters_.callbacks.fetch_add(1, std::memory_order_relaxed);
    counters_.samples.fetch_add(n, std::memory_order_relaxed);
    if (got < n && !idle_.load(std::memory_order_relaxed))
      counters_.underrun_samples.fetch_add(n - got, std::memory_order_relaxed);
  }

  SpscRing<float> ring_;
  EndpointCounters counters_;
  PeriodClock clock_;
  std::atomic<bool> idle_{false};
};

}  // namespace pttcam::audio
