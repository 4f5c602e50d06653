#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

struct SRC_STATE_tag;  // libsamplerate's SRC_STATE; keeps samplerate.h out of every includer

namespace pttcam::codec {

// Streaming mono sample-rate converter (libsamplerate's sinc converters) between the engine's
// 48 kHz and a codec's clock rate. It converts by sample count: every input sample contributes,
// and over any run of chunks the output count follows input * to/from, less the filter's fixed
// delay, with no drift however the input is chopped. Not thread-safe: one thread owns it.
class Resampler {
 public:
  enum class Quality { kFastest, kMedium, kBest };

  // Throws std::invalid_argument for rates outside 1000..384000 Hz, std::runtime_error (one line)
  // if libsamplerate cannot create its converter.
  static Resampler create(int from_rate, int to_rate, Quality quality = Quality::kMedium);

  struct Result {
    std::size_t consumed = 0;  // input samples taken (all of them when out had max_output room)
    std::size_t produced = 0;  // samples written to out
  };
  // Converts as much of `in` as fits into `out`. Give out at least max_output(in.size()) samples
  // and every input sample is consumed. A libsamplerate error leaves both counts at what was done.
  Result process(std::span<const float> in, std::span<float> out) noexcept;

  // The stream ends: writes the samples still inside the filter (the last input's tail), so that
  // the stream's output count is exactly round(input count * to / from), then reset()s. Returns
  // the samples written (at most out.size(); give it max_output(from_rate() / 10)).
  std::size_t drain(std::span<float> out) noexcept;
  // Output samples still owed for the input so far (the filter's delay, in output samples).
  std::size_t owed() const noexcept;

  // Room for the output of `input` samples in one process() call.
  std::size_t max_output(std::size_t input) const noexcept;
  // Forgets the history (a new stream starts); the next output starts with the filter delay again.
  void reset() noexcept;

  int from_rate() const noexcept { return from_rate_; }
  int to_rate() const noexcept { return to_rate_; }

 private:
  struct Deleter {
    void operator()(SRC_STATE_tag* state) const noexcept;
  };
  Resampler(int from_rate, int to_rate, std::unique_ptr<SRC_STATE_tag, Deleter> state);

  int from_rate_;
  int to_rate_;
  std::unique_ptr<SRC_STATE_tag, Deleter> state_;
  std::uint64_t total_in_ = 0;  // since the last reset
  std::uint64_t total_out_ = 0;
};

}  // namespace pttcam::codec
