#include "pttcam/codec/decoder.hpp"

#include <opus.h>

#include <algorithm>
#include <array>
#include <climits>
#include <stdexcept>
#include <string>
#include <utility>

namespace pttcam::codec {
namespace {

constexpr std::size_t kMinConcealStep = kSampleRate / 400;  // 2.5 ms, Opus' smallest frame

const unsigned char* bytes(std::span<const std::byte> packet) noexcept {
  return reinterpret_cast<const unsigned char*>(packet.data());
}

bool valid_packet_size(std::span<const std::byte> packet) noexcept {
  return !packet.empty() && packet.size() <= static_cast<std::size_t>(INT_MAX);
}

bool valid_gap_size(std::span<float> out) noexcept {
  return !out.empty() && out.size() <= static_cast<std::size_t>(kMaxFrameSamples) &&
         out.size() % kMinConcealStep == 0;
}

std::optional<int> as_count(int result) noexcept {
  if (result < 0) return std::nullopt;
  return result;
}

}  // namespace

void Decoder::Deleter::operator()(OpusDecoder* decoder) const noexcept { opus_decoder_destroy(decoder); }

Decoder::Decoder(std::unique_ptr<OpusDecoder, Deleter> decoder) : decoder_(std::move(decoder)) {}

Decoder Decoder::create() {
  int err = OPUS_OK;
  std::unique_ptr<OpusDecoder, Deleter> decoder(opus_decoder_create(kSampleRate, 1, &err));
  if (err != OPUS_OK || !decoder)
    throw std::runtime_error(std::string("cannot create Opus decoder: ") + opus_strerror(err));
  return Decoder(std::move(decoder));
}

std::optional<int> Decoder::decode(std::span<const std::byte> packet, std::span<float> out) noexcept {
  // An empty packet would silently run PLC inside libopus; callers ask for that with conceal().
  if (!valid_packet_size(packet) || out.empty()) return std::nullopt;
  const auto capacity = static_cast<int>(std::min<std::size_t>(out.size(), kMaxFrameSamples));
  return as_count(opus_decode_float(decoder_.get(), bytes(packet), static_cast<opus_int32>(packet.size()),
                                    out.data(), capacity, 0));
}

std::optional<int> Decoder::decode_fec(std::span<const std::byte> next_packet,
                                       std::span<float> out) noexcept {
  if (!valid_packet_size(next_packet) || !valid_gap_size(out)) return std::nullopt;
  return as_count(opus_decode_float(decoder_.get(), bytes(next_packet),
                                    static_cast<opus_int32>(next_packet.size()), out.data(),
                                    static_cast<int>(out.size()), 1));
}

std::optional<int> Decoder::conceal(std::span<float> out) noexcept {
  if (!valid_gap_size(out)) return std::nullopt;
  return as_count(opus_decode_float(decoder_.get(), nullptr, 0, out.data(), static_cast<int>(out.size()), 0));
}

std::optional<int> packet_samples(std::span<const std::byte> packet) noexcept {
  if (!valid_packet_size(packet)) return std::nullopt;
  return as_count(
      opus_packet_get_nb_samples(bytes(packet), static_cast<opus_int32>(packet.size()), kSampleRate));
}

bool packet_has_fec(std::span<const std::byte> packet) noexcept {
  // libopus 1.3.1 has no opus_packet_has_lbrr(), so read the flag from the bitstream: a SILK
  // layer starts with one VAD bit per 20 ms SILK frame and then the LBRR bit, all coded at
  // probability 1/2, which makes them the leading raw bits of the frame's first byte
  // (RFC 6716 4.2.3). opus_packet_parse validates the framing and finds the first frame.
  if (!valid_packet_size(packet)) return false;
  unsigned char toc = 0;
  std::array<const unsigned char*, 48> frames{};
  std::array<opus_int16, 48> sizes{};
  if (opus_packet_parse(bytes(packet), static_cast<opus_int32>(packet.size()), &toc, frames.data(),
                        sizes.data(), nullptr) <= 0 ||
      sizes[0] < 1)
    return false;
  const int config = toc >> 3;
  if (config >= 16) return false;  // CELT-only: no SILK layer, no LBRR
  // Configs 0..11 are SILK-only with 10/20/40/60 ms frames; 12..15 are hybrid (10/20 ms).
  constexpr std::array kSilkFramesPerOpusFrame{1, 1, 2, 3};
  const int silk_frames = config < 12 ? kSilkFramesPerOpusFrame[config & 3] : 1;
  return ((frames[0][0] >> (7 - silk_frames)) & 1) != 0;
}

}  // namespace pttcam::codec
