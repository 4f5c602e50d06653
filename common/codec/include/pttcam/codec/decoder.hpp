#pragma once
#include <cstddef>
#include <memory>
#include <optional>
#include <span>

#include "pttcam/codec/opus_settings.hpp"

struct OpusDecoder;  // keeps opus.h out of every includer

namespace pttcam::codec {

// Mono 48 kHz Opus decoder. Not thread-safe: one receiving/playout thread owns it.
// Loss handling as opus.h documents it: for a gap, conceal() all but the last missing frame, then
// decode_fec() the last one from the packet that follows the gap, then decode() that packet.
class Decoder {
 public:
  // Throws std::runtime_error (one line) if libopus cannot create the decoder.
  static Decoder create();

  // Decodes one packet into at most out.size() samples; returns the count written, or nullopt
  // for an empty, corrupt or too-long packet.
  std::optional<int> decode(std::span<const std::byte> packet, std::span<float> out) noexcept;

  // Rebuilds the frame *before* next_packet from next_packet's in-band FEC, writing exactly
  // out.size() samples (falls back to concealment when next_packet carries no FEC).
  // out.size() must be a positive multiple of 120 samples (2.5 ms) up to kMaxFrameSamples.
  std::optional<int> decode_fec(std::span<const std::byte> next_packet, std::span<float> out) noexcept;

  // Packet-loss concealment for exactly out.size() samples; same size rule as decode_fec.
  std::optional<int> conceal(std::span<float> out) noexcept;

 private:
  struct Deleter {
    void operator()(OpusDecoder* decoder) const noexcept;
  };
  explicit Decoder(std::unique_ptr<OpusDecoder, Deleter> decoder);

  std::unique_ptr<OpusDecoder, Deleter> decoder_;
};

// Duration of a packet in 48 kHz samples, or nullopt if its header is invalid.
std::optional<int> packet_samples(std::span<const std::byte> packet) noexcept;

// True if the packet's first frame carries in-band FEC (SILK LBRR) for the previous packet.
bool packet_has_fec(std::span<const std::byte> packet) noexcept;

}  // namespace pttcam::codec
