#include "pttcam/codec/pcm_codec.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <stdexcept>

// Last: spandsp's telephony.h defines lrint-style macros that break <cmath> after it, and its
// g711.h uses top_bit() from bit_operations.h without including it.
// clang-format off
#include <spandsp/telephony.h>
#include <spandsp/bit_operations.h>
#include <spandsp/g711.h>
// clang-format on

namespace pttcam::codec {
namespace {

// G.711 goes through spandsp in chunks of this many samples (an int16 buffer on the stack).
constexpr std::size_t kChunk = 480;

std::int16_t to_int16(float sample) noexcept {
  const float clipped = std::clamp(sample, -1.0f, 1.0f);
  return static_cast<std::int16_t>(std::lround(std::min(clipped * 32768.0f, 32767.0f)));
}

float to_float(std::int16_t sample) noexcept { return static_cast<float>(sample) / 32768.0f; }

bool is_g711(PcmEncoding encoding) noexcept { return encoding != PcmEncoding::kL16; }

void check(const PcmFormat& format) {
  if (const auto error = format.validate(); !error.empty()) throw std::invalid_argument(error);
}

g711_state_t* make_g711(PcmEncoding encoding) {
  if (!is_g711(encoding)) return nullptr;
  g711_state_t* state = g711_init(nullptr, encoding == PcmEncoding::kPcmu ? G711_ULAW : G711_ALAW);
  if (!state) throw std::runtime_error("cannot create a G.711 context (spandsp g711_init failed)");
  return state;
}

}  // namespace

struct PcmEncoder::State {
  g711_state_t* g711;
};
struct PcmDecoder::State {
  g711_state_t* g711;
};

std::string PcmFormat::validate() const {
  if (clock_rate != 8000 && clock_rate != 16000 && clock_rate != 48000)
    return std::string(encoding_name(encoding)) + " clock rate " + std::to_string(clock_rate) +
           " Hz is not supported (8000, 16000 or 48000)";
  return "";
}

std::optional<PcmEncoding> pcm_encoding_from_name(std::string_view name) noexcept {
  std::string upper(name);
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper == "PCMU") return PcmEncoding::kPcmu;
  if (upper == "PCMA") return PcmEncoding::kPcma;
  if (upper == "L16") return PcmEncoding::kL16;
  return std::nullopt;
}

std::string_view encoding_name(PcmEncoding encoding) noexcept {
  switch (encoding) {
    case PcmEncoding::kPcmu: return "PCMU";
    case PcmEncoding::kPcma: return "PCMA";
    case PcmEncoding::kL16: return "L16";
  }
  return "?";
}

std::optional<int> static_payload_type(const PcmFormat& format) noexcept {
  if (format.clock_rate != 8000) return std::nullopt;
  if (format.encoding == PcmEncoding::kPcmu) return 0;
  if (format.encoding == PcmEncoding::kPcma) return 8;
  return std::nullopt;
}

void PcmEncoder::Deleter::operator()(State* state) const noexcept {
  if (state->g711) g711_free(state->g711);
  delete state;
}

PcmEncoder::PcmEncoder(const PcmFormat& format, std::unique_ptr<State, Deleter> state)
    : format_(format), state_(std::move(state)) {}

PcmEncoder PcmEncoder::create(const PcmFormat& format) {
  check(format);
  std::unique_ptr<State, Deleter> state(new State{nullptr});
  state->g711 = make_g711(format.encoding);
  return PcmEncoder(format, std::move(state));
}

std::optional<std::size_t> PcmEncoder::encode(std::span<const float> pcm, std::span<std::byte> out) noexcept {
  const std::size_t bytes = pcm.size() * format_.bytes_per_sample();
  if (out.size() < bytes) return std::nullopt;
  std::array<std::int16_t, kChunk> linear{};
  for (std::size_t done = 0; done < pcm.size(); done += kChunk) {
    const std::size_t n = std::min(kChunk, pcm.size() - done);
    for (std::size_t i = 0; i < n; ++i) linear[i] = to_int16(pcm[done + i]);
    if (state_->g711) {
      g711_encode(state_->g711, reinterpret_cast<std::uint8_t*>(out.data() + done), linear.data(),
                  static_cast<int>(n));
      continue;
    }
    for (std::size_t i = 0; i < n; ++i) {  // L16: network byte order (RFC 3551 4.5.11)
      const auto word = static_cast<std::uint16_t>(linear[i]);
      out[2 * (done + i)] = static_cast<std::byte>(word >> 8);
      out[2 * (done + i) + 1] = static_cast<std::byte>(word & 0xFF);
    }
  }
  return bytes;
}

void PcmDecoder::Deleter::operator()(State* state) const noexcept {
  if (state->g711) g711_free(state->g711);
  delete state;
}

PcmDecoder::PcmDecoder(const PcmFormat& format, std::unique_ptr<State, Deleter> state)
    : format_(format), state_(std::move(state)) {}

PcmDecoder PcmDecoder::create(const PcmFormat& format) {
  check(format);
  std::unique_ptr<State, Deleter> state(new State{nullptr});
  state->g711 = make_g711(format.encoding);
  return PcmDecoder(format, std::move(state));
}

std::optional<int> PcmDecoder::decode(std::span<const std::byte> payload, std::span<float> out) noexcept {
  const std::size_t width = format_.bytes_per_sample();
  if (payload.empty() || payload.size() % width != 0) return std::nullopt;
  const std::size_t samples = payload.size() / width;
  if (out.size() < samples) return std::nullopt;
  std::array<std::int16_t, kChunk> linear{};
  for (std::size_t done = 0; done < samples; done += kChunk) {
    const std::size_t n = std::min(kChunk, samples - done);
    if (state_->g711) {
      g711_decode(state_->g711, linear.data(), reinterpret_cast<const std::uint8_t*>(payload.data() + done),
                  static_cast<int>(n));
    } else {
      for (std::size_t i = 0; i < n; ++i) {
        const auto hi = static_cast<std::uint16_t>(payload[2 * (done + i)]);
        const auto lo = static_cast<std::uint16_t>(payload[2 * (done + i) + 1]);
        linear[i] = static_cast<std::int16_t>(static_cast<std::uint16_t>((hi << 8) | lo));
      }
    }
    for (std::size_t i = 0; i < n; ++i) out[done + i] = to_float(linear[i]);
  }
  return static_cast<int>(samples);
}

}  // namespace pttcam::codec
