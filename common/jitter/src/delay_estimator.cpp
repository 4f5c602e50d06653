#include "pttcam/jitter/delay_estimator.hpp"

#include <algorithm>
#include <cmath>

namespace pttcam::jitter {
namespace {

DelayEstimator::Config consistent(DelayEstimator::Config c) noexcept {
  c.min_delay_us = std::max<Micros>(c.min_delay_us, 0);
  c.max_delay_us = std::max(c.max_delay_us, c.min_delay_us);
  c.late_target = std::isnan(c.late_target) ? 0.0 : std::clamp(c.late_target, 0.0, 0.5);
  c.initial_delay_us = std::clamp(c.initial_delay_us, c.min_delay_us, c.max_delay_us);
  return c;
}

}  // namespace

DelayEstimator::DelayEstimator(Config config) noexcept
    : config_(consistent(config)), target_us_(config_.initial_delay_us) {}

void DelayEstimator::evict_oldest() noexcept {
  window_samples_ -= samples_[head_];
  head_ = (head_ + 1) % kCapacity;
  --size_;
}

Micros DelayEstimator::quantile() noexcept {
  const auto n = static_cast<std::int64_t>(size_);
  const auto allowed = static_cast<std::int64_t>(std::floor(config_.late_target * static_cast<double>(n + 1))) - 1;
  // At least one packet may stand above the target: a single stall (a scheduling hiccup, one
  // delayed packet) is what stretching inside a burst is for, and must not set the delay of the
  // next 8 s of talk. Two such packets do.
  const std::int64_t k = std::clamp<std::int64_t>(std::max<std::int64_t>(allowed, 1), 0, n - 1);
  for (std::size_t i = 0; i < size_; ++i) scratch_[i] = delay_us_[(head_ + i) % kCapacity];
  const auto end = scratch_.begin() + n;
  const auto nth = scratch_.begin() + (n - 1 - k);  // ascending order: k values above it
  std::nth_element(scratch_.begin(), nth, end);
  return *nth;
}

void DelayEstimator::observe(Micros relative_delay_us, int samples) noexcept {
  samples = std::max(samples, 1);
  if (size_ == kCapacity) evict_oldest();
  const std::size_t tail = (head_ + size_) % kCapacity;
  delay_us_[tail] = std::clamp<Micros>(relative_delay_us, 0, config_.max_delay_us);
  samples_[tail] = samples;
  ++size_;
  window_samples_ += samples;
  // Keep the newest entries that cover the window; the oldest goes once the rest still cover it.
  while (size_ > 1 && window_samples_ - samples_[head_] >= kWindowSamples) evict_oldest();
  seen_samples_ = std::min(seen_samples_ + samples, kWarmupSamples);

  Micros q = quantile();
  if (seen_samples_ < kWarmupSamples) q = std::max(q, config_.initial_delay_us);
  target_us_ = std::clamp(q, config_.min_delay_us, config_.max_delay_us);
}

}  // namespace pttcam::jitter
