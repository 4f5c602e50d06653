#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <numbers>
#include <random>
#include <span>
#include <stdexcept>
#include <vector>

#include "pttcam/codec/pcm_codec.hpp"
#include "pttcam/codec/resampler.hpp"
#include "pttcam/dsp/align.hpp"
#include "pttcam/dsp/levels.hpp"

namespace {

using namespace pttcam::codec;

std::vector<float> tone(double freq, int rate, std::size_t n, double amplitude = 0.5) {
  std::vector<float> out(n);
  for (std::size_t i = 0; i < n; ++i)
    out[i] = static_cast<float>(amplitude * std::sin(2 * std::numbers::pi * freq * static_cast<double>(i) / rate));
  return out;
}

// Frequency from the zero crossings (rising) between the first and the last one.
double measured_frequency(std::span<const float> x, int rate) {
  long first = -1;
  long last = -1;
  int crossings = 0;
  for (std::size_t i = 1; i < x.size(); ++i) {
    if (x[i - 1] < 0 && x[i] >= 0) {
      if (first < 0) first = static_cast<long>(i);
      last = static_cast<long>(i);
      ++crossings;
    }
  }
  if (crossings < 2) return 0;
  return (crossings - 1) * static_cast<double>(rate) / static_cast<double>(last - first);
}

std::vector<float> round_trip(const PcmFormat& format, std::span<const float> in) {
  auto encoder = PcmEncoder::create(format);
  auto decoder = PcmDecoder::create(format);
  std::vector<std::byte> wire(in.size() * format.bytes_per_sample());
  REQUIRE(encoder.encode(in, wire) == wire.size());
  std::vector<float> out(in.size());
  REQUIRE(decoder.decode(wire, out) == static_cast<int>(in.size()));
  return out;
}

// Runs `in` through the resampler in chunks of 1..max_chunk samples (seeded), appending the output.
std::vector<float> resample_chunked(Resampler& resampler, std::span<const float> in, std::size_t max_chunk,
                                    unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<std::size_t> size(1, max_chunk);
  std::vector<float> out;
  std::vector<float> buffer;
  for (std::size_t done = 0; done < in.size();) {
    const std::size_t n = std::min(size(rng), in.size() - done);
    buffer.resize(resampler.max_output(n));
    const auto result = resampler.process(in.subspan(done, n), buffer);
    REQUIRE(result.consumed == n);
    out.insert(out.end(), buffer.begin(), buffer.begin() + static_cast<long>(result.produced));
    done += n;
  }
  return out;
}

}  // namespace

TEST_CASE("PcmEncoder and PcmDecoder") {
  SUBCASE("G.711 of a tone correlates with the input (mu-law and A-law, 8 and 16 kHz)") {
    for (const auto encoding : {PcmEncoding::kPcmu, PcmEncoding::kPcma}) {
      for (const int rate : {8000, 16000}) {
        const auto in = tone(440, rate, static_cast<std::size_t>(rate));
        const auto out = round_trip({encoding, rate}, in);
        const auto alignment = pttcam::dsp::align(in, out, 0, 0);
        CAPTURE(encoding_name(encoding));
        CHECK(alignment.correlation >= 0.99);
        CHECK(pttcam::dsp::snr_db(in, out) > 30);  // G.711 gives ~38 dB on a loud tone
      }
    }
  }
  SUBCASE("L16 is bit-exact and big-endian on the wire") {
    std::vector<float> in = {0.0f, 0.5f, -0.5f, -1.0f, 32767.0f / 32768, 1.0f / 32768, -1.0f / 32768};
    PcmFormat format{PcmEncoding::kL16, 16000};
    auto encoder = PcmEncoder::create(format);
    std::vector<std::byte> wire(in.size() * 2);
    REQUIRE(encoder.encode(in, wire) == wire.size());
    CHECK(wire[2] == std::byte{0x40});  // 0.5 -> 0x4000, high byte first
    CHECK(wire[3] == std::byte{0x00});
    CHECK(wire[6] == std::byte{0x80});  // -1 -> 0x8000
    const auto out = round_trip(format, in);
    CHECK(out == in);
    // every 16-bit value survives
    std::vector<float> all(65536);
    for (int i = 0; i < 65536; ++i) all[static_cast<std::size_t>(i)] = static_cast<float>(i - 32768) / 32768;
    CHECK(round_trip(format, all) == all);
  }
  SUBCASE("out-of-range samples clip instead of wrapping") {
    const std::vector<float> in = {1.5f, -1.5f};
    const auto out = round_trip({PcmEncoding::kL16, 8000}, in);
    CHECK(out[0] == doctest::Approx(32767.0 / 32768));
    CHECK(out[1] == -1.0f);
  }
  SUBCASE("bad input is refused, not read past") {
    auto decoder = PcmDecoder::create({PcmEncoding::kL16, 8000});
    std::vector<float> out(8);
    const std::vector<std::byte> odd(3);
    CHECK_FALSE(decoder.decode(odd, out).has_value());
    CHECK_FALSE(decoder.decode({}, out).has_value());
    const std::vector<std::byte> big(20);
    CHECK_FALSE(decoder.decode(big, out).has_value());
    auto encoder = PcmEncoder::create({PcmEncoding::kPcmu, 8000});
    std::vector<std::byte> small(3);
    CHECK_FALSE(encoder.encode(std::vector<float>(4), small).has_value());
    CHECK_THROWS_WITH_AS(PcmDecoder::create({PcmEncoding::kPcma, 11025}),
                         "PCMA clock rate 11025 Hz is not supported (8000, 16000 or 48000)", std::invalid_argument);
  }
  SUBCASE("names and static payload types") {
    CHECK(pcm_encoding_from_name("pcmu") == PcmEncoding::kPcmu);
    CHECK(pcm_encoding_from_name("PCMA") == PcmEncoding::kPcma);
    CHECK(pcm_encoding_from_name("L16") == PcmEncoding::kL16);
    CHECK_FALSE(pcm_encoding_from_name("opus").has_value());
    CHECK(static_payload_type({PcmEncoding::kPcmu, 8000}) == 0);
    CHECK(static_payload_type({PcmEncoding::kPcma, 8000}) == 8);
    CHECK_FALSE(static_payload_type({PcmEncoding::kPcmu, 16000}).has_value());
    CHECK_FALSE(static_payload_type({PcmEncoding::kL16, 8000}).has_value());
  }
}

TEST_CASE("Resampler") {
  SUBCASE("48k -> 8k -> 48k keeps a 440 Hz tone's frequency and level") {
    const auto in = tone(440, 48000, 48000 * 2);
    auto down = Resampler::create(48000, 8000);
    auto up = Resampler::create(8000, 48000);
    const auto low = resample_chunked(down, in, 960, 1);
    const auto back = resample_chunked(up, low, 160, 2);
    REQUIRE(back.size() > 48000);
    // skip the filters' start-up; compare the steady part
    const std::span<const float> steady(back.data() + 4800, 48000);
    CHECK(measured_frequency(steady, 48000) == doctest::Approx(440).epsilon(0.002));
    CHECK(measured_frequency(std::span<const float>(low).subspan(800, 8000), 8000) ==
          doctest::Approx(440).epsilon(0.002));
    CHECK(pttcam::dsp::rms_dbfs(steady) ==
          doctest::Approx(pttcam::dsp::rms_dbfs(std::span<const float>(in).subspan(4800, 48000))).epsilon(0.01));
    // and it is the same waveform, delayed by the two filters
    const auto alignment = pttcam::dsp::align(std::span<const float>(in).subspan(9600, 24000), back, 9600 - 2000, 9600 + 2000);
    CHECK(alignment.correlation > 0.999);
  }
  SUBCASE("sample counts are conserved over many small chunks") {
    for (const auto& [from, to] : {std::pair{8000, 48000}, std::pair{16000, 48000}, std::pair{48000, 8000},
                                   std::pair{48000, 16000}}) {
      CAPTURE(from);
      CAPTURE(to);
      const auto in = tone(300, from, static_cast<std::size_t>(from) * 20);  // 20 s
      auto chunked = Resampler::create(from, to);
      auto whole = Resampler::create(from, to);
      const auto a = resample_chunked(chunked, in, 37, 3);
      const auto b = resample_chunked(whole, in, in.size(), 4);
      const double expected = static_cast<double>(in.size()) * to / from;
      // The output trails the input by the filter's delay only: no drift over 20 s of chunks.
      CHECK(std::abs(static_cast<double>(a.size()) - static_cast<double>(b.size())) <= 1);
      CHECK(static_cast<double>(a.size()) <= expected);
      CHECK(static_cast<double>(a.size()) >= expected - 0.01 * to);  // delay under 10 ms
      CHECK(chunked.owed() == static_cast<std::size_t>(std::llround(expected)) - a.size());
      // drain() writes the tail: then the count is exact
      std::vector<float> tail(chunked.max_output(static_cast<std::size_t>(from / 10)));
      const auto n = chunked.drain(tail);
      CHECK(a.size() + n == static_cast<std::size_t>(std::llround(expected)));
      CHECK(chunked.owed() == 0);
    }
  }
  SUBCASE("a reset starts a new stream; bad rates are refused") {
    auto r = Resampler::create(8000, 48000);
    const auto in = tone(440, 8000, 800);
    const auto first = resample_chunked(r, in, 800, 5);
    r.reset();
    const auto second = resample_chunked(r, in, 800, 6);
    CHECK(first == second);
    CHECK_THROWS_AS(Resampler::create(0, 48000), std::invalid_argument);
  }
}
