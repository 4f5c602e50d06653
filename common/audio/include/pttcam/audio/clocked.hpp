#pragma once
// Endpoints without a sound card, paced by a ClockThread so they behave like one: a WAV file or a
// tone played into the ring in real time (a microphone), and a speaker that writes exactly what
// it would play, silence included, to a WAV file or nowhere.
#include <filesystem>
#include <memory>
#include <vector>

#include "pttcam/audio/clock_thread.hpp"
#include "pttcam/audio/endpoint.hpp"
#include "pttcam/audio/sndfile.hpp"

namespace pttcam::audio {

// One emulated device period: 128 samples (2.67 ms), the same as the JACK setup the tests use.
inline constexpr std::size_t kClockPeriod = 128;

class WavCapture final : public Capture {
 public:
  explicit WavCapture(const std::filesystem::path& path);  // reads the file now; throws
  ~WavCapture() override { stop(); }
  void start() override { clock_.start(); }
  void stop() noexcept override { clock_.stop(); }
  std::string describe() const override;
  double input_latency() const noexcept override;

 private:
  void tick() noexcept;
  std::filesystem::path path_;
  std::vector<float> samples_;
  std::size_t position_ = 0;  // after the end: silence, as a microphone in a quiet room
  std::vector<float> period_;
  ClockThread clock_;  // last: stopped before the buffers it reads die
};

class ToneCapture final : public Capture {
 public:
  ToneCapture(double hz, float amplitude = 0.25f);
  ~ToneCapture() override { stop(); }
  void start() override { clock_.start(); }
  void stop() noexcept override { clock_.stop(); }
  std::string describe() const override;
  double input_latency() const noexcept override;

 private:
  void tick() noexcept;
  double hz_;
  float amplitude_;
  double phase_ = 0;
  std::vector<float> period_;
  ClockThread clock_;
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
