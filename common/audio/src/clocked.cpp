#include "pttcam/audio/clocked.hpp"

#include <chrono>
#include <cmath>
#include <numbers>
#include <string>

namespace pttcam::audio {
namespace {
constexpr auto kPeriodDuration =
    std::chrono::nanoseconds(kClockPeriod * 1'000'000'000LL / kSampleRate);
}  // namespace

ClockedCapture::ClockedCapture()
    : period_(kClockPeriod), clock_(kPeriodDuration, [this] {
        generate(period_);
        on_input(period_.data(), period_.size());
      }) {}

WavCapture::WavCapture(const std::filesystem::path& path) : path_(path), samples_(read_mono_48k(path)) {}

void WavCapture::generate(std::span<float> period) noexcept {
  for (auto& s : period) s = position_ < samples_.size() ? samples_[position_++] : 0.0f;
}

std::string WavCapture::describe() const { return "wav:" + path_.string(); }

ToneCapture::ToneCapture(double hz, float amplitude) : hz_(hz), amplitude_(amplitude) {}

void ToneCapture::generate(std::span<float> period) noexcept {
  const double step = 2.0 * std::numbers::pi * hz_ / kSampleRate;
  for (auto& s : period) {
    s = amplitude_ * static_cast<float>(std::sin(phase_));
    phase_ = std::fmod(phase_ + step, 2.0 * std::numbers::pi);
  }
}

std::string ToneCapture::describe() const { return "tone:" + std::to_string(static_cast<int>(hz_)) + " Hz"; }

FilePlayback::FilePlayback(const std::filesystem::path& path)
    : path_(path),
      file_(path.empty() ? nullptr : open_wav_writer(path)),
      period_(kClockPeriod),
      clock_(kPeriodDuration, [this] { tick(); }) {}

void FilePlayback::tick() noexcept {
  on_output(period_.data(), period_.size());
  // This thread is the emulated sound card, not a real-time callback: writing here is its job.
  if (file_) sf_writef_float(file_.get(), period_.data(), static_cast<sf_count_t>(period_.size()));
}

void FilePlayback::stop() noexcept {
  clock_.stop();
  if (file_) sf_write_sync(file_.get());
}

std::string FilePlayback::describe() const { return path_.empty() ? "null" : "wav:" + path_.string(); }
// A period taken from the ring at tick k is what the file holds from tick k on.
double FilePlayback::output_latency() const noexcept { return 0.0; }

}  // namespace pttcam::audio
