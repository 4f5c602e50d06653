#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <numbers>
#include <random>
#include <span>
#include <stdexcept>
#include <vector>

#include "pttcam/dsp/align.hpp"
#include "pttcam/dsp/fft.hpp"
#include "pttcam/dsp/levels.hpp"

namespace {

using pttcam::dsp::align;
using Complex = std::complex<double>;

constexpr double kPi = std::numbers::pi;
constexpr double kRate = 48000.0;

std::vector<float> white_noise(std::size_t n, float sigma, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, sigma);
  std::vector<float> out(n);
  for (auto& x : out) x = dist(rng);
  return out;
}

// Noise in [start, start + len) with 5 ms raised-cosine edges, silence elsewhere.
std::vector<float> noise_burst(std::size_t n, std::size_t start, std::size_t len, unsigned seed) {
  auto noise = white_noise(len, 0.3f, seed);
  std::vector<float> out(n, 0.0f);
  const std::size_t ramp = 240;
  for (std::size_t i = 0; i < len; ++i) {
    const std::size_t edge = std::min(i, len - 1 - i);
    const double gain = edge >= ramp ? 1.0 : 0.5 - 0.5 * std::cos(kPi * static_cast<double>(edge) / ramp);
    out[start + i] = static_cast<float>(gain * noise[i]);
  }
  return out;
}

// Sweep 200 Hz -> 3.4 kHz (the speech band) with a 4 Hz syllable-like envelope.
std::vector<float> speech_chirp(std::size_t n) {
  std::vector<float> out(n);
  const double duration = static_cast<double>(n) / kRate;
  double phase = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double t = static_cast<double>(i) / kRate;
    const double freq = 200.0 + (3400.0 - 200.0) * t / duration;
    phase += 2 * kPi * freq / kRate;
    const double envelope = 0.6 + 0.4 * std::sin(2 * kPi * 4.0 * t);
    out[i] = static_cast<float>(0.5 * envelope * std::sin(phase));
  }
  return out;
}

// The chirp inside silence, so that every tested lag keeps all of it within the signal.
std::vector<float> utterance(std::size_t n, std::size_t start, std::size_t len) {
  const auto chirp = speech_chirp(len);
  std::vector<float> out(n, 0.0f);
  std::copy(chirp.begin(), chirp.end(), out.begin() + static_cast<long>(start));
  return out;
}

// signal[j] = source[ref_start + j - lag], so reference = source[ref_start, +ref_len) sits at
// signal[i + lag]: the lag that align() must report.
std::vector<float> delayed(const std::vector<float>& source, long ref_start, long lag, std::size_t len) {
  std::vector<float> out(len, 0.0f);
  for (std::size_t j = 0; j < len; ++j) {
    const long s = ref_start + static_cast<long>(j) - lag;
    if (s >= 0 && s < static_cast<long>(source.size())) out[j] = source[static_cast<std::size_t>(s)];
  }
  return out;
}

double power(std::span<const float> x) {
  double e = 0;
  for (const float v : x) e += double{v} * v;
  return e / static_cast<double>(x.size());
}

// Adds white noise at snr_db relative to the power of `level_of`.
void add_noise(std::vector<float>& x, std::span<const float> level_of, double snr_db, unsigned seed) {
  const double sigma = std::sqrt(power(level_of) / std::pow(10.0, snr_db / 10.0));
  const auto noise = white_noise(x.size(), static_cast<float>(sigma), seed);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] += noise[i];
}

std::vector<Complex> naive_dft(const std::vector<Complex>& x) {
  const std::size_t n = x.size();
  std::vector<Complex> out(n);
  for (std::size_t k = 0; k < n; ++k)
    for (std::size_t t = 0; t < n; ++t)
      out[k] += x[t] * std::polar(1.0, -2 * kPi * static_cast<double>(k * t % n) / static_cast<double>(n));
  return out;
}

double max_abs_diff(const std::vector<Complex>& a, const std::vector<Complex>& b) {
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  return worst;
}

}  // namespace

TEST_CASE("fft") {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  std::vector<Complex> x(64);
  for (auto& v : x) v = {dist(rng), dist(rng)};

  SUBCASE("matches a naive DFT") {
    auto y = x;
    pttcam::dsp::fft(y, false);
    CHECK(max_abs_diff(y, naive_dft(x)) < 1e-9);
  }
  SUBCASE("inverse undoes forward") {
    auto y = x;
    pttcam::dsp::fft(y, false);
    pttcam::dsp::fft(y, true);
    CHECK(max_abs_diff(y, x) < 1e-12);
  }
  SUBCASE("size one is the identity") {
    std::vector<Complex> one{{0.25, -0.5}};
    pttcam::dsp::fft(one, false);
    CHECK(one[0] == Complex{0.25, -0.5});
  }
  SUBCASE("rejects sizes that are not a power of two") {
    std::vector<Complex> bad(48);
    CHECK_THROWS_WITH_AS(pttcam::dsp::fft(bad, false), "fft size 48 is not a power of two",
                         std::invalid_argument);
    std::vector<Complex> empty;
    CHECK_THROWS_AS(pttcam::dsp::fft(empty, true), std::invalid_argument);
  }
}

TEST_CASE("align") {
  constexpr long kRefStart = 5000;
  constexpr std::size_t kRefLen = 6000;
  constexpr std::size_t kSignalLen = 9000;
  constexpr long kMinLag = -1500;
  constexpr long kMaxLag = 1500;
  // Lags at both ends of the search range, next to them, at zero and in between.
  const std::vector<long> lags{kMinLag, kMinLag + 1, -321, 0, 1, 777, kMaxLag - 1, kMaxLag};

  const auto check_source = [&](const std::vector<float>& source, bool noisy) {
    const std::span<const float> reference(source.data() + kRefStart, kRefLen);
    for (const long lag : lags) {
      CAPTURE(lag);
      auto signal = delayed(source, kRefStart, lag, kSignalLen);
      if (noisy) add_noise(signal, reference, 10.0, static_cast<unsigned>(lag + 5000));
      const auto found = align(reference, signal, kMinLag, kMaxLag);
      CHECK(found.lag == lag);
      CHECK(found.correlation <= 1.0);
      CHECK(found.correlation > (noisy ? 0.9 : 0.999));
    }
  };

  SUBCASE("noise burst, exact") { check_source(noise_burst(20000, 7000, 2000, 1), false); }
  SUBCASE("noise burst at 10 dB SNR") { check_source(noise_burst(20000, 7000, 2000, 2), true); }
  SUBCASE("speech-like chirp, exact") { check_source(utterance(20000, 6500, 3000), false); }
  SUBCASE("speech-like chirp at 10 dB SNR") { check_source(utterance(20000, 6500, 3000), true); }

  SUBCASE("an inverted signal scores low: the maximum is signed") {
    const auto source = noise_burst(20000, 7000, 2000, 3);
    const std::span<const float> reference(source.data() + kRefStart, kRefLen);
    auto signal = delayed(source, kRefStart, 200, kSignalLen);
    for (auto& x : signal) x = -x;
    const auto found = align(reference, signal, kMinLag, kMaxLag);
    CHECK(found.correlation < 0.5);  // maximised, not |maximised|
  }

  SUBCASE("5 s reference in a 10 s recording") {
    const std::size_t ref_len = 5 * 48000;
    const auto source = white_noise(ref_len, 0.2f, 3);
    const long lag = 123457;
    auto signal = delayed(source, 0, lag, 10 * 48000);
    add_noise(signal, source, 10.0, 4);
    const auto found = align(source, signal, 0, 5 * 48000);
    CHECK(found.lag == lag);
    CHECK(found.correlation > 0.9);
  }

  SUBCASE("no overlap, silence and misuse") {
    const auto source = speech_chirp(1000);
    CHECK(align(source, source, 5000, 6000).correlation == 0.0);
    const std::vector<float> silence(2000, 0.0f);
    CHECK(align(source, silence, -100, 100).correlation == 0.0);
    CHECK(align(silence, source, -100, 100).correlation == 0.0);
    CHECK_THROWS_AS(align(source, source, 1, 0), std::invalid_argument);
  }
}

TEST_CASE("snr_db") {
  const auto reference = speech_chirp(48000);

  SUBCASE("a level change is not noise") {
    std::vector<float> half(reference);
    for (auto& x : half) x *= 0.5f;
    CHECK(pttcam::dsp::snr_db(reference, half) > 100.0);
    CHECK(pttcam::dsp::snr_db(reference, reference) == pttcam::dsp::kMaxSnrDb);
  }

  SUBCASE("added noise at a known SNR") {
    for (const double snr : {10.0, 15.0, 20.0, 30.0, 40.0}) {
      CAPTURE(snr);
      // Noise made orthogonal to the reference and scaled to the exact energy ratio.
      auto noise = white_noise(reference.size(), 0.1f, 11);
      double cross = 0;
      double ref_energy = 0;
      for (std::size_t i = 0; i < noise.size(); ++i) {
        cross += double{noise[i]} * reference[i];
        ref_energy += double{reference[i]} * reference[i];
      }
      double noise_energy = 0;
      for (std::size_t i = 0; i < noise.size(); ++i) {
        noise[i] -= static_cast<float>(cross / ref_energy * reference[i]);
        noise_energy += double{noise[i]} * noise[i];
      }
      const double scale = std::sqrt(ref_energy / noise_energy / std::pow(10.0, snr / 10.0));
      std::vector<float> noisy(reference.size());
      for (std::size_t i = 0; i < noisy.size(); ++i)
        noisy[i] = 0.7f * (reference[i] + static_cast<float>(scale * noise[i]));
      const double measured = pttcam::dsp::snr_db(reference, noisy);
      MESSAGE("nominal " << snr << " dB -> measured " << measured << " dB");
      CHECK(std::abs(measured - snr) <= 0.5);
    }
  }

  SUBCASE("unrelated signal and silence") {
    const auto noise = white_noise(reference.size(), 0.3f, 12);
    CHECK(std::abs(pttcam::dsp::snr_db(reference, noise)) < 0.1);
    const std::vector<float> silence(reference.size(), 0.0f);
    CHECK(pttcam::dsp::snr_db(reference, silence) == doctest::Approx(0.0));
  }
}

TEST_CASE("levels") {
  std::vector<float> sine(48000);
  for (std::size_t i = 0; i < sine.size(); ++i)
    sine[i] = static_cast<float>(std::sin(2 * kPi * 1000.0 * static_cast<double>(i) / kRate));

  SUBCASE("full-scale sine") {
    CHECK(pttcam::dsp::rms_dbfs(sine) == doctest::Approx(-3.0103).epsilon(0.001));
    CHECK(pttcam::dsp::peak_abs(sine) == doctest::Approx(1.0).epsilon(1e-6));
  }
  SUBCASE("-20 dB and negative peaks") {
    for (auto& x : sine) x *= -0.1f;
    CHECK(pttcam::dsp::rms_dbfs(sine) == doctest::Approx(-23.0103).epsilon(0.001));
    CHECK(pttcam::dsp::peak_abs(sine) == doctest::Approx(0.1).epsilon(1e-6));
  }
  SUBCASE("digital silence") {
    const std::vector<float> silence(480, 0.0f);
    CHECK(pttcam::dsp::rms_dbfs(silence) == pttcam::dsp::kSilenceDbfs);
    CHECK(pttcam::dsp::rms_dbfs({}) == pttcam::dsp::kSilenceDbfs);
    CHECK(pttcam::dsp::peak_abs(silence) == 0.0);
  }
}
