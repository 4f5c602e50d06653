#pragma once
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace pttcam::codec {

// The sample codecs IP cameras offer on the ONVIF backchannel besides Opus: G.711 mu-law (PCMU)
// and A-law (PCMA), one byte per sample, and L16, big-endian 16-bit linear PCM (RFC 3551 4.5).
// All mono; they run at the codec's own clock rate (8 or 16 kHz, the SDP says which), so the
// engine puts a Resampler between them and its 48 kHz audio.
enum class PcmEncoding { kPcmu, kPcma, kL16 };

struct PcmFormat {
  PcmEncoding encoding = PcmEncoding::kPcmu;
  int clock_rate = 8000;

  // "" when usable, else one line naming what is wrong (rates: 8000, 16000 or 48000 Hz).
  std::string validate() const;
  std::size_t bytes_per_sample() const noexcept { return encoding == PcmEncoding::kL16 ? 2 : 1; }
};

// The SDP encoding name ("PCMU", "PCMA", "L16"; case-insensitive as RFC 4566 says), or nullopt.
std::optional<PcmEncoding> pcm_encoding_from_name(std::string_view name) noexcept;
// The SDP spelling: "PCMU", "PCMA" or "L16".
std::string_view encoding_name(PcmEncoding encoding) noexcept;
// RFC 3551's static payload type for the format (PCMU/8000 0, PCMA/8000 8), or nullopt when the
// format needs a dynamic one (L16 at 8/16 kHz, G.711 at 16 kHz).
std::optional<int> static_payload_type(const PcmFormat& format) noexcept;

// float samples in [-1, 1] -> the wire bytes. Not thread-safe: one sending thread owns it.
class PcmEncoder {
 public:
  // Throws std::invalid_argument (one line) for a format validate() rejects.
  static PcmEncoder create(const PcmFormat& format);

  // Encodes every sample of pcm (clipped to [-1, 1]); returns the bytes written, or nullopt when
  // out is smaller than pcm.size() * bytes_per_sample().
  std::optional<std::size_t> encode(std::span<const float> pcm, std::span<std::byte> out) noexcept;
  const PcmFormat& format() const noexcept { return format_; }

 private:
  struct State;
  struct Deleter {
    void operator()(State* state) const noexcept;
  };
  PcmEncoder(const PcmFormat& format, std::unique_ptr<State, Deleter> state);

  PcmFormat format_;
  std::unique_ptr<State, Deleter> state_;  // spandsp's G.711 context; null for L16
};

// Wire bytes -> float samples. Not thread-safe: one receiving thread owns it.
class PcmDecoder {
 public:
  // Throws std::invalid_argument (one line) for a format validate() rejects.
  static PcmDecoder create(const PcmFormat& format);

  // Decodes a whole payload; returns the samples written, or nullopt for an empty payload, an L16
  // payload of odd length, or out smaller than the payload's sample count.
  std::optional<int> decode(std::span<const std::byte> payload, std::span<float> out) noexcept;
  // Samples in a payload of `bytes` bytes (rounded down for a torn L16 payload).
  std::size_t samples_in(std::size_t bytes) const noexcept { return bytes / format_.bytes_per_sample(); }
  const PcmFormat& format() const noexcept { return format_; }

 private:
  struct State;
  struct Deleter {
    void operator()(State* state) const noexcept;
  };
  PcmDecoder(const PcmFormat& format, std::unique_ptr<State, Deleter> state);

  PcmFormat format_;
  std::unique_ptr<State, Deleter> state_;
};

}  // namespace pttcam::codec
