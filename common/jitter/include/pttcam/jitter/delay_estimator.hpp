#pragma once
#include <array>
#include <cstddef>
#include <cstdint>

#include "pttcam/jitter/types.hpp"

namespace pttcam::jitter {

// Chooses how long a talk burst waits before it starts playing. It is fed, per packet, how much
// later than the fastest packet of its burst it arrived, beyond what their RTP timestamps account
// for (BurstClock's above_fastest_us). A burst that starts playing D after its first packet plays
// each frame on time when that frame's delay above the first packet is at most D; the first
// packet is never faster than the fastest, so a D that covers the delays above the fastest covers
// any first packet. (Learning from the delays above each burst's actual first packet instead
// makes the target depend on whether the last few bursts happened to start with a slow packet:
// in the +-20 ms simulation of test_jitter.cpp that gave 0.4-0.8 % late and targets down to
// 20 ms, against 0 late and 37-40 ms this way.) The target is an upper quantile:
//
//   target = the (k+1)-th largest delay of the last kWindowSamples of media, where
//   k = floor(late_target * (n + 1)) - 1 (at least 1, so one lone spike never sets it) for n
//   packets in the window.
//
// For delays drawn from one distribution, a new packet exceeds the (k+1)-th largest of n earlier
// ones with probability (k+1)/(n+1), so this k is the largest that keeps the expected late rate
// at or under late_target (k = floor(late_target * n) would give up to ~1/n more).
// Growth is fast: k+1 packets above the old target raise it (k is 1 for 20 ms frames).
// Shrinking is slow on purpose: a peak stays in the window for kWindowSamples of media, so
// periodic spikes (Wi-Fi scans, cross traffic) do not catch every burst with a short delay.
// The window counts media, not wall time: silence between talk bursts forgets nothing.
// Until kWarmupSamples of media were seen the target is at least initial_delay_us.
// Pure and allocation-free; called from one thread.
class DelayEstimator {
 public:
  struct Config {
    Micros min_delay_us = 0;
    Micros max_delay_us = 500'000;
    double late_target = 0.005;
    Micros initial_delay_us = 20'000;
  };
  static constexpr std::int64_t kWindowSamples = 8 * kRtpClockHz;  // 8 s of media
  static constexpr std::int64_t kWarmupSamples = 1 * kRtpClockHz;  // 1 s of media
  // Entries kept at most: 8 s of 10 ms frames fit; with shorter frames the window is shorter.
  static constexpr std::size_t kCapacity = 1024;

  // The config is made consistent: delays >= 0, max >= min, late_target in [0, 0.5],
  // initial_delay_us within [min, max].
  explicit DelayEstimator(Config config) noexcept;

  // One packet's delay (clamped to [0, max_delay_us]) and its duration at 48 kHz.
  void observe(Micros relative_delay_us, int samples) noexcept;
  Micros target_us() const noexcept { return target_us_; }

  std::size_t window_packets() const noexcept { return size_; }
  std::int64_t window_samples() const noexcept { return window_samples_; }
  const Config& config() const noexcept { return config_; }

 private:
  void evict_oldest() noexcept;
  Micros quantile() noexcept;

  Config config_;
  Micros target_us_ = 0;
  std::array<Micros, kCapacity> delay_us_{};
  std::array<int, kCapacity> samples_{};
  std::size_t head_ = 0;  // oldest entry
  std::size_t size_ = 0;
  std::int64_t window_samples_ = 0;
  std::int64_t seen_samples_ = 0;           // since construction, saturating at kWarmupSamples
  std::array<Micros, kCapacity> scratch_{};  // for nth_element, so observe() never allocates
};

}  // namespace pttcam::jitter
