#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstddef>
#include <functional>
#include <numbers>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "pttcam/codec/decoder.hpp"
#include "pttcam/codec/encoder.hpp"
#include "pttcam/codec/opus_settings.hpp"
#include "pttcam/dsp/align.hpp"
#include "pttcam/dsp/levels.hpp"

namespace {

using namespace pttcam::codec;
using Packet = std::vector<std::byte>;

constexpr double kPi = std::numbers::pi;
constexpr std::array kFrameSizesMs{2.5, 5.0, 10.0, 20.0, 40.0, 60.0};

std::vector<float> sine(double freq, std::size_t n) {
  std::vector<float> out(n);
  for (std::size_t i = 0; i < n; ++i)
    out[i] = static_cast<float>(0.5 * std::sin(2 * kPi * freq * static_cast<double>(i) / kSampleRate));
  return out;
}

// Sweep 200 Hz -> 4 kHz: unlike the sine it has a single correlation peak, so align() can
// measure the codec delay.
std::vector<float> chirp(std::size_t n) {
  std::vector<float> out(n);
  const double duration = static_cast<double>(n) / kSampleRate;
  double phase = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double t = static_cast<double>(i) / kSampleRate;
    phase += 2 * kPi * (200.0 + 3800.0 * t / duration) / kSampleRate;
    out[i] = static_cast<float>(0.5 * std::sin(phase));
  }
  return out;
}

// Voiced-speech stand-in: harmonics of a pitch gliding between 100 and 220 Hz, shaped by a
// fixed formant-like tilt, in 3 Hz syllables that fade out fully between them (SILK's VAD
// learns a steady tone as background noise and stops sending FEC for it). The pitch keeps moving, so PLC
// (which repeats the last pitch period) cannot predict a lost frame, while FEC carries it.
std::vector<float> voiced_speech(std::size_t n) {
  std::vector<float> out(n);
  double phase = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double t = static_cast<double>(i) / kSampleRate;
    const double f0 = 160.0 + 60.0 * std::sin(2 * kPi * 1.7 * t);
    phase += 2 * kPi * f0 / kSampleRate;
    double x = 0;
    for (int h = 1; h * f0 < 4000.0; ++h) {
      const double freq = h * f0;
      const double formants = 1.0 / (1.0 + std::pow((freq - 700.0) / 300.0, 2)) +
                              0.5 / (1.0 + std::pow((freq - 1800.0) / 400.0, 2)) + 0.05;
      x += formants * std::sin(h * phase) / h;
    }
    const double envelope = 0.5 + 0.5 * std::sin(2 * kPi * 3.0 * t);
    out[i] = static_cast<float>(0.3 * envelope * x);
  }
  return out;
}

// Encodes `input` frame by frame; input.size() must be a whole number of frames.
std::vector<Packet> encode_all(Encoder& encoder, std::span<const float> input) {
  const auto frame = static_cast<std::size_t>(encoder.settings().samples_per_frame());
  std::vector<Packet> packets;
  std::array<std::byte, 4000> buf{};
  for (std::size_t pos = 0; pos + frame <= input.size(); pos += frame) {
    const auto size = encoder.encode(input.subspan(pos, frame), buf);
    REQUIRE(size.has_value());
    packets.emplace_back(buf.begin(), buf.begin() + static_cast<long>(*size));
  }
  return packets;
}

struct RoundTrip {
  long delay = 0;
  double correlation = 0;
};

// Encodes and decodes 1 s of `make(n)` and compares the output with the input shifted by the
// delay found in [min_delay, max_delay]. Skips 100 ms at the start while the codec settles.
RoundTrip round_trip(double frame_ms, const std::function<std::vector<float>(std::size_t)>& make,
                     long min_delay, long max_delay) {
  OpusSettings settings;
  settings.frame_ms = frame_ms;
  settings.bitrate = 64000;
  auto encoder = Encoder::create(settings);
  auto decoder = Decoder::create();
  const auto frame = static_cast<std::size_t>(settings.samples_per_frame());
  const std::size_t total = (kSampleRate + frame - 1) / frame * frame;
  const auto input = make(total);

  std::vector<float> output;
  std::vector<float> pcm(kMaxFrameSamples);
  for (const auto& packet : encode_all(encoder, input)) {
    CHECK(packet_samples(packet) == static_cast<int>(frame));
    const auto n = decoder.decode(packet, pcm);
    REQUIRE(n.has_value());
    CHECK(*n == static_cast<int>(frame));
    output.insert(output.end(), pcm.begin(), pcm.begin() + *n);
  }
  REQUIRE(output.size() == total);

  const std::size_t skip = kSampleRate / 10;
  const std::span<const float> reference(input.data() + skip, total - skip - 2000);
  const auto found =
      pttcam::dsp::align(reference, std::span<const float>(output).subspan(skip), min_delay, max_delay);
  return {found.lag, found.correlation};
}

// SNR of frame `lost` as rebuilt by `recover`, against the input it stands for.
double recovered_snr(const std::vector<Packet>& packets, std::span<const float> input, std::size_t lost,
                     long delay,
                     const std::function<std::optional<int>(Decoder&, std::span<float>)>& recover) {
  auto decoder = Decoder::create();
  std::vector<float> pcm(960);
  for (std::size_t k = 0; k < lost; ++k) REQUIRE(decoder.decode(packets[k], pcm) == 960);
  REQUIRE(recover(decoder, pcm) == 960);
  const auto start = static_cast<std::size_t>(static_cast<long>(lost * 960) - delay);
  return pttcam::dsp::snr_db(input.subspan(start, 960), pcm);
}

}  // namespace

TEST_CASE("OpusSettings") {
  SUBCASE("defaults and boundaries are valid") {
    const OpusSettings defaults;
    CHECK(defaults.validate().empty());
    CHECK(defaults.samples_per_frame() == 960);
    for (const double ms : kFrameSizesMs) {
      OpusSettings s;
      s.frame_ms = ms;
      CHECK(s.validate().empty());
      CHECK(s.samples_per_frame() == static_cast<int>(ms * 48));
    }
    OpusSettings edges;
    edges.bitrate = 6000;
    edges.complexity = 0;
    edges.packet_loss_perc = 0;
    CHECK(edges.validate().empty());
    edges.bitrate = 510000;
    edges.packet_loss_perc = 100;
    CHECK(edges.validate().empty());
  }

  SUBCASE("each bad value names itself") {
    struct Case {
      std::function<void(OpusSettings&)> spoil;
      std::string message;
    };
    const std::vector<Case> cases{
        {[](OpusSettings& s) { s.frame_ms = 7; }, "frame size 7 ms is not one of 2.5, 5, 10, 20, 40, 60"},
        {[](OpusSettings& s) { s.frame_ms = 2.4; }, "frame size 2.4 ms is not one of"},
        {[](OpusSettings& s) { s.frame_ms = 0; }, "frame size 0 ms"},
        {[](OpusSettings& s) { s.frame_ms = 120; }, "frame size 120 ms"},
        {[](OpusSettings& s) { s.bitrate = 5999; }, "bitrate 5999 bit/s is outside 6000..510000"},
        {[](OpusSettings& s) { s.bitrate = 510001; }, "bitrate 510001 bit/s is outside 6000..510000"},
        {[](OpusSettings& s) { s.complexity = -1; }, "complexity -1 is outside 0..10"},
        {[](OpusSettings& s) { s.complexity = 11; }, "complexity 11 is outside 0..10"},
        {[](OpusSettings& s) { s.packet_loss_perc = -1; }, "packet loss -1% is outside 0..100"},
        {[](OpusSettings& s) { s.packet_loss_perc = 101; }, "packet loss 101% is outside 0..100"},
    };
    for (const auto& c : cases) {
      CAPTURE(c.message);
      OpusSettings s;
      c.spoil(s);
      CHECK(s.validate().find(c.message) != std::string::npos);
      CHECK_THROWS_WITH_AS(Encoder::create(s), doctest::Contains(c.message.c_str()), std::runtime_error);
    }
  }

  SUBCASE("describe") {
    CHECK(describe(OpusSettings{}) ==
          "Opus 20 ms, 24 kbit/s, complexity 10, FEC on (10% loss), DTX off, VOIP, redundancy 2 (RFC 2198)");
    OpusSettings s;
    s.frame_ms = 2.5;
    s.bitrate = 12500;
    s.complexity = 5;
    s.fec = false;
    s.dtx = true;
    s.low_delay = true;
    s.redundancy = 0;
    CHECK(describe(s) == "Opus 2.5 ms, 12.5 kbit/s, complexity 5, FEC off, DTX on, low delay, redundancy off");
  }
}

TEST_CASE("Encoder") {
  SUBCASE("keeps its settings and reports the delay") {
    OpusSettings s;
    s.bitrate = 32000;
    const auto voip = Encoder::create(s);
    CHECK(voip.settings().bitrate == 32000);
    s.low_delay = true;
    const auto low_delay = Encoder::create(s);
    MESSAGE("lookahead: VOIP " << voip.lookahead_samples() << ", low delay "
                               << low_delay.lookahead_samples());
    CHECK(voip.lookahead_samples() > 0);
    CHECK(low_delay.lookahead_samples() < voip.lookahead_samples());
  }

  SUBCASE("rejects a frame Opus cannot code") {
    auto encoder = Encoder::create({});
    std::vector<float> pcm(1000, 0.0f);
    std::array<std::byte, kMaxPacketBytes> out{};
    CHECK_FALSE(encoder.encode(pcm, out).has_value());
    CHECK_FALSE(encoder.encode(std::span<const float>(pcm).first(960), std::span<std::byte>()).has_value());
    CHECK(encoder.encode(std::span<const float>(pcm).first(960), out).has_value());
    // Any valid length works, not only the configured one.
    CHECK(encoder.encode(std::span<const float>(pcm).first(480), out).has_value());
  }
}

TEST_CASE("round trip") {
  for (const double ms : kFrameSizesMs) {
    CAPTURE(ms);
    const long lookahead = Encoder::create({}).lookahead_samples();

    // A sine repeats every period (109 samples at 440 Hz), so its delay is searched only
    // within a third of a period around the lookahead.
    const auto tone = round_trip(
        ms, [](std::size_t n) { return sine(440.0, n); }, lookahead - 36, lookahead + 36);
    const auto sweep = round_trip(ms, chirp, 0, 2000);
    MESSAGE(ms << " ms at 64 kbit/s: sine correlation " << tone.correlation << " at delay " << tone.delay
               << "; chirp correlation " << sweep.correlation << " at delay " << sweep.delay);
    // Measured at least 0.9989 (sine) and 0.983 (chirp, worst at 2.5 ms).
    CHECK(tone.correlation > 0.99);
    CHECK(sweep.correlation > 0.97);
    // The SILK and CELT paths differ by a few samples of filter delay (measured 308..312).
    CHECK(std::abs(sweep.delay - lookahead) <= 8);
  }
}

TEST_CASE("Decoder") {
  SUBCASE("FEC rebuilds a lost frame better than concealment") {
    auto encoder = Encoder::create({});  // 20 ms, 24 kbit/s, FEC on, 10% loss hint
    const auto input = voiced_speech(2 * kSampleRate);
    const auto packets = encode_all(encoder, input);

    // The exact delay of this (SILK) path, from the undamaged decode: a few samples off would
    // cost the high formants several dB. +-36 samples is well under one pitch period.
    auto reference_decoder = Decoder::create();
    std::vector<float> decoded(input.size());
    for (std::size_t k = 0; k < packets.size(); ++k)
      REQUIRE(reference_decoder.decode(packets[k], std::span<float>(decoded).subspan(k * 960, 960)) == 960);
    const long lookahead = encoder.lookahead_samples();
    const auto alignment = pttcam::dsp::align(std::span<const float>(input).first(input.size() - 2000),
                                              decoded, lookahead - 36, lookahead + 36);
    const long delay = alignment.lag;
    MESSAGE("24 kbit/s decode: delay " << delay << ", correlation " << alignment.correlation);
    CHECK(std::abs(delay - lookahead) <= 8);

    int with_fec = 0;
    for (std::size_t k = 1; k < packets.size(); ++k) with_fec += packet_has_fec(packets[k]) ? 1 : 0;
    // SILK sends LBRR only for frames its VAD rates as active speech: measured 82 of 99.
    MESSAGE(with_fec << " of " << packets.size() - 1 << " packets after the first carry FEC");
    CHECK(with_fec >= static_cast<int>(packets.size()) * 7 / 10);

    double fec_total = 0;
    double plc_total = 0;
    int cases = 0;
    for (std::size_t lost = 5; lost + 1 < packets.size(); lost += 7) {
      while (lost + 2 < packets.size() && !packet_has_fec(packets[lost + 1])) ++lost;
      CAPTURE(lost);
      const double clean = recovered_snr(packets, input, lost, delay, [&](Decoder& d, std::span<float> out) {
        return d.decode(packets[lost], out);
      });
      const double fec = recovered_snr(packets, input, lost, delay, [&](Decoder& d, std::span<float> out) {
        return d.decode_fec(packets[lost + 1], out);
      });
      const double plc = recovered_snr(packets, input, lost, delay,
                                       [](Decoder& d, std::span<float> out) { return d.conceal(out); });
      MESSAGE("frame " << lost << ": SNR decoded " << clean << " dB, FEC " << fec << " dB, PLC " << plc
                       << " dB");
      CHECK(fec > plc);
      fec_total += fec;
      plc_total += plc;
      ++cases;
    }
    MESSAGE("mean over " << cases << " lost frames: FEC " << fec_total / cases << " dB, PLC "
                         << plc_total / cases << " dB");
    // Measured means: FEC 9.0 dB, PLC 1.3 dB (worst single frame: FEC 5.1, PLC 2.8).
    CHECK(fec_total / cases > plc_total / cases + 4.0);
  }

  SUBCASE("packet_has_fec predicts whether decode_fec differs from concealment") {
    // Without LBRR in the next packet, libopus' FEC path falls back to the same PLC.
    auto encoder = Encoder::create({});
    const auto packets = encode_all(encoder, voiced_speech(kSampleRate));
    int with_fec = 0;
    for (std::size_t lost = 1; lost + 1 < packets.size(); ++lost) {
      CAPTURE(lost);
      auto fec_decoder = Decoder::create();
      auto plc_decoder = Decoder::create();
      std::vector<float> fec(960);
      std::vector<float> plc(960);
      for (std::size_t k = 0; k < lost; ++k) {
        REQUIRE(fec_decoder.decode(packets[k], fec) == 960);
        REQUIRE(plc_decoder.decode(packets[k], plc) == 960);
      }
      REQUIRE(fec_decoder.decode_fec(packets[lost + 1], fec) == 960);
      REQUIRE(plc_decoder.conceal(plc) == 960);
      const bool has_fec = packet_has_fec(packets[lost + 1]);
      with_fec += has_fec ? 1 : 0;
      CHECK(has_fec == (fec != plc));
    }
    CHECK(with_fec > 0);
    CHECK(with_fec < static_cast<int>(packets.size()) - 2);  // both outcomes were exercised
  }

  SUBCASE("no FEC is signalled when it is off") {
    OpusSettings s;
    s.fec = false;
    auto encoder = Encoder::create(s);
    for (const auto& packet : encode_all(encoder, voiced_speech(kSampleRate / 2)))
      CHECK_FALSE(packet_has_fec(packet));
  }

  SUBCASE("concealment and FEC fill exactly the requested length") {
    auto decoder = Decoder::create();
    auto encoder = Encoder::create({});
    const auto packets = encode_all(encoder, voiced_speech(kSampleRate / 5));
    std::vector<float> pcm(kMaxFrameSamples + 120);
    for (const std::size_t n : {120UL, 480UL, 960UL, 2880UL, 5760UL}) {
      CAPTURE(n);
      CHECK(decoder.conceal(std::span<float>(pcm).first(n)) == static_cast<int>(n));
      CHECK(decoder.decode_fec(packets[3], std::span<float>(pcm).first(n)) == static_cast<int>(n));
    }
    for (const std::size_t n : {0UL, 100UL, 961UL, 5880UL}) {
      CAPTURE(n);
      CHECK_FALSE(decoder.conceal(std::span<float>(pcm).first(n)).has_value());
      CHECK_FALSE(decoder.decode_fec(packets[3], std::span<float>(pcm).first(n)).has_value());
    }
    CHECK_FALSE(decoder.decode_fec({}, std::span<float>(pcm).first(960)).has_value());
  }

  SUBCASE("bad input and small buffers are refused") {
    auto decoder = Decoder::create();
    auto encoder = Encoder::create({});
    const auto packets = encode_all(encoder, voiced_speech(960));
    std::vector<float> pcm(960);
    CHECK_FALSE(decoder.decode({}, pcm).has_value());
    CHECK_FALSE(decoder.decode(packets[0], std::span<float>(pcm).first(480)).has_value());
    CHECK(decoder.decode(packets[0], pcm) == 960);
    CHECK_FALSE(packet_samples({}).has_value());
    CHECK_FALSE(packet_has_fec({}));
  }

  SUBCASE("garbage never crashes") {
    auto decoder = Decoder::create();
    std::mt19937 rng(99);
    std::vector<float> pcm(kMaxFrameSamples);
    int accepted = 0;
    for (int i = 0; i < 3000; ++i) {
      Packet packet(1 + rng() % kMaxPacketBytes);
      for (auto& b : packet) b = static_cast<std::byte>(rng());
      const auto n = decoder.decode(packet, pcm);
      if (n) {
        ++accepted;
        CHECK(*n > 0);
        CHECK(*n <= kMaxFrameSamples);
        CHECK(packet_samples(packet) == *n);
      }
      (void)packet_has_fec(packet);
    }
    MESSAGE(accepted << " of 3000 random packets decoded");
  }
}
