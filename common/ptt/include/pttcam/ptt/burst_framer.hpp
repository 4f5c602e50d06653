#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace pttcam::ptt {

struct FrameFlags {
  bool first = false;  // first frame of a talk burst: RTP marker bit
  bool last = false;   // last frame of a talk burst
  std::size_t valid_samples = 0;  // samples of real audio; the rest is padding
  std::int64_t capture_us = 0;    // when the frame's first sample was captured
};

// Cuts the samples captured while the talk key is held into codec frames. Samples are pushed only
// while talking; key-up flushes the partial frame padded with silence, so the tail of the last
// word is sent. Pure: no clock, no I/O. One thread.
class BurstFramer {
 public:
  explicit BurstFramer(std::size_t frame_samples);

  bool talking() const noexcept { return talking_; }
  std::size_t pending() const noexcept { return fill_; }
  std::size_t frame_samples() const noexcept { return frame_.size(); }

  // Starts a burst at `now_us` (used as the capture time of a frame that gets no samples).
  void key_down(std::int64_t now_us) noexcept;
  // Drops the burst without emitting anything (the device lost power mid-burst).
  void cancel() noexcept {
    talking_ = false;
    fill_ = 0;
  }

  // Appends samples whose first was captured at `capture_us`; calls
  // on_frame(std::span<const float>, FrameFlags) for each completed frame.
  template <typename OnFrame>
  void push(std::span<const float> samples, std::int64_t capture_us, OnFrame&& on_frame) {
    std::size_t offset = 0;
    while (talking_ && !samples.empty()) {
      if (fill_ == 0) frame_capture_us_ = capture_us + static_cast<std::int64_t>(offset) * 1'000'000 / 48'000;
      const std::size_t n = std::min(samples.size(), frame_.size() - fill_);
      offset += n;
      std::copy_n(samples.begin(), n, frame_.begin() + static_cast<std::ptrdiff_t>(fill_));
      fill_ += n;
      samples = samples.subspan(n);
      if (fill_ == frame_.size()) emit(false, on_frame);
    }
  }

  // Key released: emits the final frame (the partial one padded with silence, or a silent frame
  // when the burst ended exactly on a frame boundary, so the receiver always sees an end flag).
  template <typename OnFrame>
  void key_up(OnFrame&& on_frame) {
    if (!talking_) return;
    std::fill(frame_.begin() + static_cast<std::ptrdiff_t>(fill_), frame_.end(), 0.0f);
    emit(true, on_frame);
    talking_ = false;
  }

 private:
  template <typename OnFrame>
  void emit(bool last, OnFrame& on_frame) {
    on_frame(std::span<const float>(frame_), FrameFlags{first_, last, fill_, frame_capture_us_});
    first_ = false;
    fill_ = 0;
    // Where the next frame starts if no sample arrives for it (key-up on a frame boundary).
    frame_capture_us_ += static_cast<std::int64_t>(frame_.size()) * 1'000'000 / 48'000;
  }

  std::vector<float> frame_;
  std::size_t fill_ = 0;
  bool talking_ = false;
  bool first_ = false;
  std::int64_t frame_capture_us_ = 0;
};

}  // namespace pttcam::ptt
