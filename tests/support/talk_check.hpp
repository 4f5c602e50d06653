#pragma once
// Checks that the camera played what the client captured while the key was held, and nothing
// else. All times are CLOCK_MONOTONIC microseconds, which every process on the machine shares.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pttcam/dsp/align.hpp"
#include "pttcam/dsp/levels.hpp"

namespace pttcam::test {

struct KeyWindow {
  std::int64_t down_us = 0;
  std::int64_t up_us = 0;
};

inline std::vector<nlohmann::json> read_events(const std::filesystem::path& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

inline std::int64_t event_time(const std::vector<nlohmann::json>& events, const std::string& name) {
  for (const auto& e : events)
    if (e["event"] == name) return e["t_us"].get<std::int64_t>();
  FAIL("no event " << name);
  return 0;
}

inline std::vector<KeyWindow> key_windows(const std::vector<nlohmann::json>& client_events) {
  std::vector<KeyWindow> w;
  for (const auto& e : client_events) {
    if (e["event"] == "key_down") w.push_back({e["t_us"].get<std::int64_t>(), 0});
    if (e["event"] == "key_up" && !w.empty()) w.back().up_us = e["t_us"].get<std::int64_t>();
  }
  return w;
}

inline long to_index(std::int64_t t_us, std::int64_t origin_us) {
  return static_cast<long>((t_us - origin_us) * 48 / 1000);
}

// Where a recording sits on the shared monotonic clock: sample 0 at t0_us, `rate` samples per
// second of that clock. File endpoints run at exactly 48000; a JACK dummy driver (not real time)
// runs measurably slower, and over seconds that is tens of milliseconds.
struct Timeline {
  std::int64_t t0_us = 0;
  double rate = 48000.0;
  long index(std::int64_t t_us) const { return static_cast<long>(static_cast<double>(t_us - t0_us) * rate / 1e6); }
  std::int64_t time_us(long index) const { return t0_us + static_cast<std::int64_t>(static_cast<double>(index) * 1e6 / rate); }
};

struct BurstMatch {
  double correlation = 0;
  double snr_db = 0;
  double delay_ms = 0;  // where the audio landed in the output, relative to when it was captured
};

// For each key window, takes the reference audio that was at the microphone during it (trimmed
// 50 ms at each end) and finds it in the speaker output within 0..max_delay after capture. The
// window is matched in 300 ms pieces and the median piece is reported: one device glitch (a JACK
// xrun shifts what follows by a period) then spoils one piece, not the verdict on the burst.
inline std::vector<BurstMatch> match_bursts(const std::vector<float>& reference, const Timeline& reference_at,
                                            const std::vector<float>& output, const Timeline& output_at,
                                            const std::vector<KeyWindow>& windows,
                                            std::int64_t max_delay_us = 300'000) {
  constexpr long kPiece = 48 * 300;
  std::vector<BurstMatch> out;
  for (const auto& w : windows) {
    const long begin = std::max(0L, reference_at.index(w.down_us + 50'000));
    const long end = std::min(static_cast<long>(reference.size()), reference_at.index(w.up_us - 50'000));
    REQUIRE(end - begin >= kPiece);
    std::vector<BurstMatch> pieces;
    for (long at_ref = begin; at_ref + kPiece <= end; at_ref += kPiece) {
      const std::span<const float> ref(reference.data() + at_ref, static_cast<std::size_t>(kPiece));
      // Sample `at_ref` of the reference was captured at this index of the output's timeline.
      const long at = output_at.index(reference_at.time_us(at_ref));
      const auto a = dsp::align(ref, output, at, at + output_at.index(output_at.t0_us + max_delay_us));
      BurstMatch m;
      m.correlation = a.correlation;
      m.delay_ms = static_cast<double>(a.lag - at) * 1000.0 / output_at.rate;
      const long from = std::clamp(a.lag, 0L, static_cast<long>(output.size()));
      const long n = std::min(kPiece, static_cast<long>(output.size()) - from);
      m.snr_db = dsp::snr_db(ref.first(static_cast<std::size_t>(n)),
                             std::span<const float>(output.data() + from, static_cast<std::size_t>(n)));
      pieces.push_back(m);
    }
    std::sort(pieces.begin(), pieces.end(), [](const BurstMatch& a, const BurstMatch& b) { return a.correlation < b.correlation; });
    out.push_back(pieces[pieces.size() / 2]);
  }
  return out;
}

// Loudest sample of the output outside [key down, key up + tail] of every window: while the key
// is up nothing may be played.
inline double peak_outside_windows(const std::vector<float>& output, const Timeline& output_at,
                                   const std::vector<KeyWindow>& windows, std::int64_t tail_us = 300'000) {
  std::vector<bool> inside(output.size(), false);
  for (const auto& w : windows) {
    const long b = std::max(0L, output_at.index(w.down_us));
    const long e = std::min(static_cast<long>(output.size()), output_at.index(w.up_us + tail_us));
    for (long i = b; i < e; ++i) inside[static_cast<std::size_t>(i)] = true;
  }
  double peak = 0;
  for (std::size_t i = 0; i < output.size(); ++i)
    if (!inside[i]) peak = std::max(peak, static_cast<double>(std::abs(output[i])));
  return peak;
}

}  // namespace pttcam::test
