#pragma once
// Whether speech a talker sent is in what the far end wrote: the piece of the speech from
// `from_s` to `to_s` (what was talked), in 300 ms windows that are not near-silent, each found
// by cross-correlation near where the window before it was (the far end's playout may shift a
// little on a loaded machine). One lag is found first from a 1 s probe in the middle.
#include <doctest/doctest.h>

#include <algorithm>
#include <span>
#include <vector>

#include "pttcam/dsp/align.hpp"
#include "pttcam/dsp/levels.hpp"

namespace pttcam::test {

inline std::vector<double> speech_windows_in(const std::vector<float>& speech, const std::vector<float>& heard,
                                             double from_s, double to_s) {
  constexpr long kRate = 48000;
  constexpr long kWindow = kRate * 3 / 10;
  constexpr long kDrift = kRate * 3 / 10;
  const long from = static_cast<long>(from_s * kRate);
  const long to = std::min(static_cast<long>(to_s * kRate), static_cast<long>(speech.size()));
  REQUIRE(to - from > 2 * kRate);
  REQUIRE(heard.size() > static_cast<std::size_t>(kRate));
  const long probe_at = (from + to) / 2 - kRate / 2;
  const std::span<const float> probe(speech.data() + probe_at, kRate);
  const auto a = dsp::align(probe, heard, -probe_at, static_cast<long>(heard.size()));
  MESSAGE("speech found with correlation " << a.correlation << ", shifted " << (a.lag - probe_at) / 48.0 << " ms");
  long offset = a.lag - probe_at;  // speech[i] ~ heard[i + offset]
  std::vector<double> out;
  for (long at = from; at + kWindow <= to; at += kWindow) {
    const std::span<const float> w(speech.data() + at, kWindow);
    if (dsp::rms_dbfs(w) < -40) continue;  // pauses between words say nothing
    const auto m = dsp::align(w, heard, at + offset - kDrift, at + offset + kDrift);
    if (m.correlation >= 0.85) offset = m.lag - at;
    else MESSAGE("window at " << at / 48 << " ms: correlation " << m.correlation);
    out.push_back(m.correlation);
  }
  return out;
}

}  // namespace pttcam::test
