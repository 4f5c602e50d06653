#include "pttcam/codec/resampler.hpp"

#include <samplerate.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>
#include <string>

namespace pttcam::codec {
namespace {

int converter(Resampler::Quality quality) noexcept {
  switch (quality) {
    case Resampler::Quality::kFastest: return SRC_SINC_FASTEST;
    case Resampler::Quality::kMedium: return SRC_SINC_MEDIUM_QUALITY;
    case Resampler::Quality::kBest: return SRC_SINC_BEST_QUALITY;
  }
  return SRC_SINC_MEDIUM_QUALITY;
}

}  // namespace

void Resampler::Deleter::operator()(SRC_STATE_tag* state) const noexcept { src_delete(state); }

Resampler::Resampler(int from_rate, int to_rate, std::unique_ptr<SRC_STATE_tag, Deleter> state)
    : from_rate_(from_rate), to_rate_(to_rate), state_(std::move(state)) {}

Resampler Resampler::create(int from_rate, int to_rate, Quality quality) {
  constexpr int kMinRate = 1000;
  constexpr int kMaxRate = 384000;
  if (from_rate < kMinRate || from_rate > kMaxRate || to_rate < kMinRate || to_rate > kMaxRate)
    throw std::invalid_argument("resampler rates must be 1000..384000 Hz (got " + std::to_string(from_rate) +
                                " -> " + std::to_string(to_rate) + ")");
  int error = 0;
  std::unique_ptr<SRC_STATE_tag, Deleter> state(src_new(converter(quality), 1, &error));
  if (!state) throw std::runtime_error(std::string("cannot create resampler: ") + src_strerror(error));
  return Resampler(from_rate, to_rate, std::move(state));
}

Resampler::Result Resampler::process(std::span<const float> in, std::span<float> out) noexcept {
  Result result;
  const double ratio = static_cast<double>(to_rate_) / from_rate_;
  // libsamplerate may stop early when its internal buffer fills; call again until the input is
  // consumed, the output is full, or a call makes no progress.
  while (result.consumed < in.size() && result.produced < out.size()) {
    SRC_DATA data{};
    data.data_in = in.data() + result.consumed;
    data.input_frames = static_cast<long>(in.size() - result.consumed);
    data.data_out = out.data() + result.produced;
    data.output_frames = static_cast<long>(out.size() - result.produced);
    data.src_ratio = ratio;
    if (src_process(state_.get(), &data) != 0) break;
    result.consumed += static_cast<std::size_t>(data.input_frames_used);
    result.produced += static_cast<std::size_t>(data.output_frames_gen);
    if (data.input_frames_used == 0 && data.output_frames_gen == 0) break;
  }
  total_in_ += result.consumed;
  total_out_ += result.produced;
  return result;
}

std::size_t Resampler::max_output(std::size_t input) const noexcept {
  // The output of n samples is at most ceil(n * ratio) plus what earlier calls left buffered,
  // which is bounded by a couple of samples when every call was given this much room.
  const double ratio = static_cast<double>(to_rate_) / from_rate_;
  return static_cast<std::size_t>(std::ceil(static_cast<double>(input) * ratio)) + 16;
}

void Resampler::reset() noexcept {
  src_reset(state_.get());
  total_in_ = total_out_ = 0;
}

std::size_t Resampler::owed() const noexcept {
  const auto due = static_cast<std::uint64_t>(std::llround(static_cast<double>(total_in_) * to_rate_ / from_rate_));
  return due > total_out_ ? static_cast<std::size_t>(due - total_out_) : 0;
}

std::size_t Resampler::drain(std::span<float> out) noexcept {
  // Zeros push the tail out; whatever they produce beyond what is owed is their own and dropped.
  static constexpr std::array<float, 64> kZeros{};
  std::array<float, 512> scratch{};
  std::size_t written = 0;
  for (int guard = 0; guard < 1000; ++guard) {
    const std::size_t want = std::min(owed(), out.size() - written);
    if (want == 0) break;
    const auto r = process(kZeros, scratch);
    const std::size_t take = std::min(want, r.produced);
    std::copy_n(scratch.begin(), take, out.begin() + static_cast<std::ptrdiff_t>(written));
    written += take;
    total_in_ -= std::min<std::uint64_t>(total_in_, r.consumed);  // the zeros are not the stream's
    total_out_ -= r.produced - take;
    if (r.consumed == 0 && r.produced == 0) break;
  }
  reset();
  return written;
}

}  // namespace pttcam::codec
