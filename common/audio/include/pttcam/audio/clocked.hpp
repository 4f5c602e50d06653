#pragma once
// Endpoints without a sound card, paced by a ClockThread so they behave like one: a WAV file or a
// tone played into the ring in real time (a microphone), and a speaker that writes exactly what
// it would play, silence included, to a WAV file or nowhere.
#include <filesystem>
#include <memory>
#include <span>
#include <vector>

#include "pttcam/audio/clock_thread.hpp"
#include "pttcam/audio/endpoint.hpp"
#include "pttcam/audio/sndfile.hpp"

namespace pttcam::audio {

// One emulated device period: 128 samples (2.67 ms), the same as the JACK setup the tests use.
inline constexpr std::size_t kClockPeriod = 128;

// A microphone without a sound card: a clock thread asks generate() for one period of samples
// and pushes it into the ring, in real time. Derived classes must call stop() in their own
// destructor: the clock thread calls generate(), which uses their members.
class ClockedCapture : public Capture {
 public:
  void start() override { clock_.start(); }
  void stop() noexcept override { clock_.stop(); }
  // A block is pushed at the end of the period it was "captured" in: its newest sample is current.
  double input_latency() const noexcept override { return 0.0; }

 protected:
  ClockedCapture();
  virtual void generate(std::span<float> period) noexcept = 0;  // clock thread

 private:
  std::vector<float> period_;
  ClockThread clock_;  // last: stopped before the buffer it fills dies
};

class WavCapture final : public ClockedCapture {
 public:
  explicit WavCapture(const std::filesystem::path& path);  // reads the file now; throws
  ~WavCapture() override { stop(); }
  std::string describe() const override;

 private:
  void generate(std::span<float> period) noexcept override;
  std::filesystem::path path_;
  std::vector<float> samples_;
  std::size_t position_ = 0;  // after the end: silence, as a microphone in a quiet room
};

class ToneCapture final : public ClockedCapture {
 public:
  ToneCapture(double hz, float amplitude = 0.25f);
  ~ToneCapture() override { stop(); }
  std::string describe() const override;

 private:
  void generate(std::span<float> period) noexcept override;
  double hz_;
  float amplitude_;
  double phase_ = 0;
};

// A speaker that records what it plays (wav) or discards it (null, when path is empty).
class FilePlayback final : public Playback {
 public:
  explicit FilePlayback(const std::filesystem::path& path);  // empty path: null output
  ~FilePlayback() override { stop(); }
  void start() override { clock_.start(); }
  void stop() noexcept override;
  std::string describe() const override;
  double output_latency() const noexcept override;
  std::size_t period_samples() const noexcept override { return kClockPeriod; }

 private:
  void tick() noexcept;
  std::filesystem::path path_;
  SndfilePtr file_;
  std::vector<float> period_;
  ClockThread clock_;
};

}  // namespace pttcam::audio
