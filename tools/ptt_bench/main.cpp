// pttcam-bench: the measuring half of tools/ptt-bench.
//   pttcam-bench stimulus --seconds S --out STIM.wav --markers MARKERS.json
//   pttcam-bench analyze --markers MARKERS.json --recording REC.wav --jack-info INFO.json
//                        --client-events CLIENT.jsonl --camera-summary CAMERA.json --out CELL.json
// The stimulus is a quiet noise bed with a marker (a 120 ms chirp) every 600 ms. pttcam-jack-io plays it into
// ptt-client's capture port and records camera-sim's playback port, both from the same JACK cycle,
// so a marker found N samples later in the recording than in the stimulus took N samples from mouth
// to ear: ground truth on one audio clock, compared here with what the programs report themselves.
#include <CLI/CLI.hpp>

#include "pttcam/cli/parse.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pttcam/audio/sndfile.hpp"
#include "pttcam/dsp/markers.hpp"
#include "pttcam/stream/burst_analyzer.hpp"

namespace {

using namespace pttcam;
using Json = nlohmann::json;
constexpr double kRate = 48000.0;
// A marker (120 ms) is searched for up to 450 ms after it was played, and the next one starts
// 600 ms later, so it can never be taken for the next one: latencies above 450 ms are reported as
// missed markers, not wrong ones. 0.7: a marker hit by a lost frame is rejected, not misplaced.
constexpr double kMarkerSpacingS = 0.6;
constexpr double kMaxDelayS = 0.45;
constexpr double kMinCorrelation = 0.7;

Json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  return Json::parse(in);
}

std::vector<Json> read_lines(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::vector<Json> out;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(Json::parse(line));
  return out;
}

int stimulus(double seconds, const std::string& wav, const std::string& markers_path) {
  const auto s = dsp::make_marker_stimulus(seconds, kMarkerSpacingS, kMarkerSpacingS);
  audio::write_wav(wav, s.samples);
  std::ofstream(markers_path) << Json{{"marker_at", s.marker_at}, {"marker", s.marker}}.dump() << '\n';
  return 0;
}

struct Window {
  long down = 0;  // sample index of key-down in the stimulus/recording timeline
  long up = 0;
};

int analyze(const std::string& markers_path, const std::string& recording_path, const std::string& info_path,
            const std::string& client_events, const std::string& camera_summary, const std::string& out_path) {
  const Json m = read_json(markers_path);
  const auto marker_at = m["marker_at"].get<std::vector<long>>();
  const auto marker = m["marker"].get<std::vector<float>>();
  const auto recording = audio::read_mono_48k(recording_path);
  const Json info = read_json(info_path);
  const auto t0_us = info["record_t0_us"].get<std::int64_t>();
  // The dummy driver's own rate against the monotonic clock (pttcam-jack-io measures it).
  const double jack_rate = info.value("samples_per_second", kRate);
  const Json camera = read_json(camera_summary);
  const auto to_sample = [&](std::int64_t t_us) { return static_cast<long>(std::lround((t_us - t0_us) * jack_rate / 1e6)); };

  std::vector<Window> windows;
  for (const auto& e : read_lines(client_events)) {
    if (e["event"] == "key_down") windows.push_back({to_sample(e["t_us"].get<std::int64_t>()), 0});
    if (e["event"] == "key_up" && !windows.empty()) windows.back().up = to_sample(e["t_us"].get<std::int64_t>());
  }
  if (windows.empty()) throw std::runtime_error("no key presses in " + client_events);

  // Markers that were at the microphone while the key was down (with a frame of margin).
  std::vector<long> expected;
  for (const long at : marker_at)
    for (const auto& w : windows)
      if (at >= w.down + 960 && at + static_cast<long>(marker.size()) <= w.up - 960) expected.push_back(at);
  const auto found =
      dsp::find_markers(recording, marker, expected, 0, 0, static_cast<long>(kMaxDelayS * kRate), kMinCorrelation);
  std::vector<double> m2e;
  long missed = 0;
  for (const auto& f : found) {
    if (f.found_at < 0) {
      ++missed;
      continue;
    }
    m2e.push_back((f.found_at - f.expected_at) * 1000.0 / kRate);
  }
  // Talk-start: key-down to the first sample the speaker played for this press: the first sound
  // after at least 1 ms of digital silence (the speaker plays exact zeros between bursts; the
  // stimulus bed is about -45 dBFS, so a burst's first frame stands out). Requiring the silence
  // first keeps the tail of the previous burst, still playing at the press, from counting; a press
  // whose start cannot be seen before its release is left out (counted in talk_start_unmeasured).
  std::vector<double> talk_start;
  constexpr long kQuiet = 48;
  std::size_t unmeasured = 0;
  constexpr float kSound = 1e-4f;
  for (const auto& w : windows) {
    long quiet = 0;
    const long end = std::min<long>(w.up, static_cast<long>(recording.size()));
    const std::size_t before = talk_start.size();
    for (long i = std::max(0L, w.down - kQuiet); i < end; ++i) {
      if (std::abs(recording[static_cast<std::size_t>(i)]) <= kSound) {
        ++quiet;
      } else if (quiet >= kQuiet && i >= w.down) {
        talk_start.push_back((i - w.down) * 1000.0 / kRate);
        break;
      } else {
        quiet = 0;
      }
    }
    if (talk_start.size() == before) ++unmeasured;
  }
  std::vector<double> own_talk_start;
  for (const auto& b : camera["per_burst"])
    if (b["talk_start_ms"].is_number()) own_talk_start.push_back(b["talk_start_ms"].get<double>());

  const auto pct = [](const std::vector<double>& v, double p) { return stream::percentile(v, p); };
  Json out{{"markers_expected", expected.size()},
           {"markers_found", m2e.size()},
           {"markers_missed", missed},
           {"mouth_to_ear_ms", {{"p50", pct(m2e, 50)}, {"p95", pct(m2e, 95)}, {"p99", pct(m2e, 99)}}},
           {"talk_start_ms", {{"p50", pct(talk_start, 50)}, {"p99", pct(talk_start, 99)}, {"each", talk_start}}},
           {"talk_start_unmeasured", unmeasured},
           {"self_reported",
            {{"mouth_to_ear_p50_ms", camera["mouth_to_ear_ms"]["p50"]},
             {"mouth_to_ear_p99_ms", camera["mouth_to_ear_ms"]["p99"]},
             {"talk_start_ms", own_talk_start}}},
           {"difference_ms",
            {{"mouth_to_ear_p50", camera["mouth_to_ear_ms"]["p50"].get<double>() - pct(m2e, 50)},
             {"talk_start_p50", own_talk_start.empty() ? 0.0 : pct(own_talk_start, 50) - pct(talk_start, 50)}}},
           {"concealed_pct", camera["concealed_pct"]},
           {"frames_fec", camera["frames_fec"]},
           {"cutoffs", camera["cutoff_count"]},
           {"mouth_to_ear_each_ms", m2e}};
  std::ofstream(out_path) << out.dump(2) << '\n';
  std::printf("ground truth: mouth-to-ear p50 %.1f ms p99 %.1f ms (%zu/%zu markers), talk-start p50 %.1f ms; "
              "self-reported: mouth-to-ear p50 %.1f ms, talk-start p50 %.1f ms\n",
              pct(m2e, 50), pct(m2e, 99), m2e.size(), expected.size(), pct(talk_start, 50),
              camera["mouth_to_ear_ms"]["p50"].get<double>(), own_talk_start.empty() ? 0.0 : pct(own_talk_start, 50));
  return 0;
}

int run(int argc, char** argv) {
  CLI::App app{"pttcam-bench: stimulus generation and ground-truth analysis for tools/ptt-bench"};
  app.require_subcommand(1);
  auto* stim = app.add_subcommand("stimulus", "Write the marker stimulus");
  double seconds = 10;
  std::string wav, markers;
  stim->add_option("--seconds", seconds)->check(CLI::Range(1.0, 3600.0));
  stim->add_option("--out", wav)->required();
  stim->add_option("--markers", markers)->required();
  auto* an = app.add_subcommand("analyze", "Measure a recording against the stimulus");
  std::string recording, info, events, summary, out;
  an->add_option("--markers", markers)->required();
  an->add_option("--recording", recording)->required();
  an->add_option("--jack-info", info)->required();
  an->add_option("--client-events", events)->required();
  an->add_option("--camera-summary", summary)->required();
  an->add_option("--out", out)->required();
  if (const auto code = cli::parse(app, argc, argv, "pttcam-bench")) return *code;
  if (*stim) return stimulus(seconds, wav, markers);
  return analyze(markers, recording, info, events, summary, out);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pttcam-bench: %s\n", e.what());
    return 1;
  }
}
