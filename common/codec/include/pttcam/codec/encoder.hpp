#pragma once
#include <cstddef>
#include <memory>
#include <optional>
#include <span>

#include "pttcam/codec/opus_settings.hpp"

struct OpusEncoder;  // keeps opus.h out of every includer

namespace pttcam::codec {

// Mono 48 kHz Opus encoder configured for speech. Not thread-safe: one sending thread owns it.
class Encoder {
 public:
  // Throws std::runtime_error (one line) if the settings are invalid or libopus refuses them.
  static Encoder create(const OpusSettings& settings);

  // Encodes one frame; pcm.size() is the frame length and may be any Opus frame length
  // (120, 240, 480, 960, 1920, 2880, 3840, 4800 or 5760 samples), not only the configured one.
  // Returns the packet size in bytes, or nullopt if libopus rejects the call. With DTX on, a
  // packet of 1 or 2 bytes means "silence, need not be sent".
  std::optional<std::size_t> encode(std::span<const float> pcm, std::span<std::byte> out) noexcept;

  // Samples by which the decoded signal lags the input (the encoder's lookahead: 312 for VOIP,
  // 120 for low delay; the SILK path measures up to 4 samples less).
  int lookahead_samples() const noexcept { return lookahead_; }
  const OpusSettings& settings() const noexcept { return settings_; }

 private:
  struct Deleter {
    void operator()(OpusEncoder* encoder) const noexcept;
  };
  Encoder(std::unique_ptr<OpusEncoder, Deleter> encoder, const OpusSettings& settings, int lookahead);

  std::unique_ptr<OpusEncoder, Deleter> encoder_;
  OpusSettings settings_;
  int lookahead_;
};

}  // namespace pttcam::codec
