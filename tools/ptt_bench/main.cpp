// pttcam-bench: the measuring half of tools/ptt-bench.
//   pttcam-bench stimulus --seconds S --out STIM.wav --markers MARKERS.json
//   pttcam-bench analyze --markers MARKERS.json --stimulus STIM.wav --recording REC.wav --jack-info INFO.json
//                        [--client-events CLIENT.jsonl --camera-summary CAMERA.json
//                         --camera-packets CAMERA.csv] --out CELL.json
//   pttcam-bench report --dir OUT [--matrix NAME]
// Without --client-events the stream is taken as continuous (the GStreamer reference: no talk key),
// every marker is expected and there is no talk-start.
// The stimulus is a quiet noise bed with a marker (a 120 ms chirp) every 600 ms. pttcam-jack-io plays it into
// ptt-client's capture port and records camera-sim's playback port, both from the same JACK cycle,
// so a marker found N samples later in the recording than in the stimulus took N samples from mouth
// to ear: ground truth on one audio clock, compared here with what the programs report themselves.
// Key presses: when INFO.json has "keys" (pttcam-jack-io --key-script pressed the key through
// ptt-client --keys stdin), each press is the JACK sample jack-io reached when it wrote "down":
// talk-start is on the JACK clock alone (talk_start_source "jack_key_frames"). Otherwise the
// client's key_down events are placed on the recording through jack-io's first cycle and measured
// rate on the monotonic clock (talk_start_source "client_events_monotonic"; WAV mode: its start).
// Per press, the result lists the truth next to the camera's own figures for the burst it played
// ("presses"), and per marker its press and latency ("markers"), so a disagreement can be traced.
#include <CLI/CLI.hpp>

#include "pttcam/cli/parse.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pttcam/audio/sndfile.hpp"
#include "pttcam/dsp/align.hpp"
#include "pttcam/dsp/levels.hpp"
#include "pttcam/dsp/markers.hpp"
#include "pttcam/measure/burst_analyzer.hpp"
#include "report.hpp"

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
constexpr long kPieceSamples = 12000;  // SNR: 250 ms pieces, each aligned on its own
constexpr double kPieceSlackS = 0.07;  // within 70 ms of its stretch's delay

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

// SNR of what was played against what went in, over the given stretches of the stimulus: each
// stretch is found in the recording by cross-correlation (0 to kMaxDelayS late; the delay changes
// from burst to burst), then each 250 ms piece of it again within kPieceSlackS of that (a jitter
// buffer may grow inside a burst, a JACK xrun shifts the rest), and the aligned pieces are compared
// as one signal, so one least-squares gain covers the whole chain. Concealed and lost audio counts
// as error.
double played_snr_db(std::span<const float> stimulus, std::span<const float> recording,
                     const std::vector<std::pair<long, long>>& stretches) {
  std::vector<float> ref, got;
  const long max_lag = static_cast<long>(kMaxDelayS * kRate);
  for (const auto& [from, to] : stretches) {
    const long end = std::min<long>(to, static_cast<long>(stimulus.size()));
    if (from < 0 || end - from < 4800 || from >= static_cast<long>(recording.size())) continue;
    const auto piece = stimulus.subspan(static_cast<std::size_t>(from), static_cast<std::size_t>(end - from));
    const auto search = recording.subspan(static_cast<std::size_t>(from));
    const long coarse = dsp::align(piece, search, 0, max_lag).lag;
    const long slack = static_cast<long>(kPieceSlackS * kRate);
    for (long p = 0; p < end - from; p += kPieceSamples) {
      const auto part = piece.subspan(static_cast<std::size_t>(p), static_cast<std::size_t>(std::min(kPieceSamples, end - from - p)));
      const long lag = dsp::align(part, search, p + coarse - slack, p + coarse + slack).lag;
      for (std::size_t i = 0; i < part.size(); ++i) {
        const long at = lag + static_cast<long>(i);
        ref.push_back(part[i]);
        got.push_back(at >= 0 && at < static_cast<long>(search.size()) ? search[static_cast<std::size_t>(at)] : 0.0f);
      }
    }
  }
  return ref.empty() ? 0.0 : dsp::snr_db(ref, got);
}

struct AnalyzeArgs {
  std::string markers, stimulus, recording, info, client_events, camera_summary, camera_packets, out;
};

int analyze(const AnalyzeArgs& args) {
  const Json m = read_json(args.markers);
  const auto marker_at = m["marker_at"].get<std::vector<long>>();
  const auto marker = m["marker"].get<std::vector<float>>();
  auto recording = audio::read_mono_48k(args.recording);
  const auto stimulus_samples = audio::read_mono_48k(args.stimulus);
  const Json info = read_json(args.info);
  // jack: stimulus and recording start on the same JACK cycle. wav: the client's WAV microphone
  // and the camera's WAV speaker start with their processes, recording_offset_us apart on the
  // monotonic clock: the recording is shifted onto the stimulus's timeline.
  const std::string mode = info.value("mode", std::string("jack"));
  if (const auto offset_us = info.value("recording_offset_us", std::int64_t{0}); offset_us != 0) {
    const auto shift = static_cast<long>(std::lround(static_cast<double>(offset_us) * kRate / 1e6));
    if (shift > 0)
      recording.insert(recording.begin(), static_cast<std::size_t>(shift), 0.0f);
    else
      recording.erase(recording.begin(), recording.begin() + std::min<long>(-shift, static_cast<long>(recording.size())));
  }
  const auto t0_us = info["record_t0_us"].get<std::int64_t>();
  // The dummy driver's own rate against the monotonic clock (pttcam-jack-io measures it).
  const double jack_rate = info.value("samples_per_second", kRate);
  const bool continuous = args.client_events.empty();
  const Json camera = args.camera_summary.empty() ? Json::object() : read_json(args.camera_summary);
  const auto to_sample = [&](std::int64_t t_us) { return static_cast<long>(std::lround((t_us - t0_us) * jack_rate / 1e6)); };

  // Push-to-talk: the presses on the recording's timeline. Continuous: one window over everything
  // that can still be heard before the recording ends.
  std::vector<Window> windows;
  std::vector<Json> client_log;
  if (!continuous) client_log = read_lines(args.client_events);
  std::vector<std::int64_t> client_down_us;  // the client's own key_down events (monotonic)
  std::vector<Json> first_packets;             // the client's burst_first_packet events, in order
  for (const auto& e : client_log) {
    if (e["event"] == "key_down") client_down_us.push_back(e["t_us"].get<std::int64_t>());
    if (e["event"] == "burst_first_packet") first_packets.push_back(e);
  }
  // Each press on the monotonic clock too: the camera's and the client's events are matched to
  // presses on that clock alone (placing them on the recording by the measured rate was seen 10 ms
  // and more off when the dummy driver paused).
  std::vector<std::int64_t> press_us;
  std::string talk_start_source;
  std::vector<long> key_late;  // per press: how late jack-io's wake-up for the press was, samples
  if (continuous) {
    windows.push_back({-960, static_cast<long>(recording.size()) - static_cast<long>(kMaxDelayS * kRate) + 960});
  } else if (info.contains("keys")) {
    talk_start_source = "jack_key_frames";
    for (const auto& k : info["keys"]) {
      if (k["key"] == "down") {
        windows.push_back({k["sample"].get<long>(), 0});
        key_late.push_back(k["late_samples"].get<long>());
        press_us.push_back(k["t_us"].get<std::int64_t>());
      }
      if (k["key"] == "up" && !windows.empty()) windows.back().up = k["sample"].get<long>();
    }
    if (windows.empty()) throw std::runtime_error("no key presses in " + args.info);
    if (windows.back().up == 0) windows.back().up = static_cast<long>(recording.size());
  } else {
    talk_start_source = mode == "wav" ? "client_events_wav_start" : "client_events_monotonic";
    for (const auto& e : client_log) {
      if (e["event"] == "key_down") {
        windows.push_back({to_sample(e["t_us"].get<std::int64_t>()), 0});
        press_us.push_back(e["t_us"].get<std::int64_t>());
      }
      if (e["event"] == "key_up" && !windows.empty()) windows.back().up = to_sample(e["t_us"].get<std::int64_t>());
    }
    if (windows.empty()) throw std::runtime_error("no key presses in " + args.client_events);
  }
  // The press a stimulus position falls in (from its key-down to the next one), -1 before the first.
  const auto press_of = [&](long at) {
    long k = -1;
    for (std::size_t i = 0; i < windows.size(); ++i)
      if (at >= windows[i].down) k = static_cast<long>(i);
    return k;
  };

  // Markers that were at the microphone while the key was down (with a frame of margin). Markers
  // played while the key was up are not expected at the speaker and not counted either way.
  std::vector<long> expected;
  for (const long at : marker_at)
    for (const auto& w : windows)
      if (at >= w.down + 960 && at + static_cast<long>(marker.size()) <= w.up - 960) expected.push_back(at);
  // SNR over the same stretches: inside each press (continuous: 2 s pieces, the reference's delay
  // may drift), a frame of margin at both ends.
  std::vector<std::pair<long, long>> stretches;
  for (const auto& w : windows) {
    const long step = continuous ? 96000 : w.up - w.down;
    for (long from = std::max(0L, w.down + 960); from + 4800 < w.up - 960; from += step)
      stretches.emplace_back(from, std::min(from + step, w.up - 960));
  }
  const double snr = played_snr_db(stimulus_samples, recording, stretches);
  const auto found =
      dsp::find_markers(recording, marker, expected, 0, 0, static_cast<long>(kMaxDelayS * kRate), kMinCorrelation);
  std::vector<double> m2e;
  long missed = 0;
  Json marker_list = Json::array();
  std::vector<std::vector<double>> m2e_by_press(windows.size());
  std::vector<std::size_t> expected_by_press(windows.size());
  for (const auto& f : found) {
    const long press = continuous ? -1 : press_of(f.expected_at);
    Json entry{{"at_ms", f.expected_at * 1000.0 / kRate}, {"press", press + 1}, {"correlation", f.correlation}};
    if (press >= 0) ++expected_by_press[static_cast<std::size_t>(press)];
    if (f.found_at < 0) {
      ++missed;
      entry["mouth_to_ear_ms"] = nullptr;
    } else {
      const double ms = (f.found_at - f.expected_at) * 1000.0 / kRate;
      m2e.push_back(ms);
      entry["mouth_to_ear_ms"] = ms;
      if (info.contains("clock_lag_us")) {
        const auto& lags = info["clock_lag_us"];
        const long cyc = info.value("cycle_samples", 128L);
        const auto at = [&](long smp) {
          return lags.empty() ? 0.0
                              : lags[static_cast<std::size_t>(std::clamp<long>(smp / cyc, 0, static_cast<long>(lags.size()) - 1))]
                                        .get<double>() / 1000.0;
        };
        entry["clock_pause_ms"] = at(f.found_at) - at(f.expected_at);
      }
      if (press >= 0) m2e_by_press[static_cast<std::size_t>(press)].push_back(ms);
    }
    marker_list.push_back(entry);
  }
  // Talk-start: key-down to the first sample the speaker played for this press: the first sound
  // after at least 1 ms of digital silence (the speaker plays exact zeros between bursts; the
  // stimulus bed is about -45 dBFS, so a burst's first frame stands out). Requiring the silence
  // first keeps the tail of the previous burst, still playing at the press, from counting; a press
  // whose start cannot be seen before its release is left out (counted in talk_start_unmeasured).
  std::vector<double> talk_start;
  std::vector<std::optional<double>> talk_start_by_press;
  constexpr long kQuiet = 48;
  std::size_t unmeasured = 0;
  constexpr float kSound = 1e-4f;
  for (const auto& w : continuous ? std::vector<Window>{} : windows) {
    long quiet = 0;
    const long end = std::min<long>(w.up, static_cast<long>(recording.size()));
    talk_start_by_press.emplace_back();
    for (long i = std::max(0L, w.down - kQuiet); i < end; ++i) {
      if (std::abs(recording[static_cast<std::size_t>(i)]) <= kSound) {
        ++quiet;
      } else if (quiet >= kQuiet && i >= w.down) {
        talk_start_by_press.back() = (i - w.down) * 1000.0 / kRate;
        talk_start.push_back(*talk_start_by_press.back());
        break;
      } else {
        quiet = 0;
      }
    }
    if (!talk_start_by_press.back()) ++unmeasured;
  }
  std::vector<double> own_talk_start;
  if (camera.contains("per_burst"))
    for (const auto& b : camera["per_burst"])
      if (b["talk_start_ms"].is_number()) own_talk_start.push_back(b["talk_start_ms"].get<double>());
  // How the camera played each packet's frame (its --packets CSV): the first decision per sequence.
  std::map<long, std::string> fate_of;
  if (!args.camera_packets.empty()) {
    std::ifstream csv(args.camera_packets);
    if (!csv) throw std::runtime_error("cannot read " + args.camera_packets);
    std::string line;
    std::getline(csv, line);  // seq,rtp_ts,ssrc,arrival_us,fate,play_us
    while (std::getline(csv, line)) {
      std::vector<std::string> f;
      for (std::size_t at = 0;;) {
        const auto comma = line.find(',', at);
        f.push_back(line.substr(at, comma == std::string::npos ? std::string::npos : comma - at));
        if (comma == std::string::npos) break;
        at = comma + 1;
      }
      if (f.size() >= 5 && f[4] != "late" && f[4] != "duplicate" && !f[0].empty()) fate_of.emplace(std::stol(f[0]), f[4]);
    }
  }

  const auto pct = [](const std::vector<double>& v, double p) { return measure::percentile(v, p); };
  Json out{{"mode", mode},
           {"continuous", continuous},
           {"snr_db", snr},
           {"markers_expected", expected.size()},
           {"markers_found", m2e.size()},
           {"markers_missed", missed},
           {"mouth_to_ear_ms", {{"p50", pct(m2e, 50)}, {"p95", pct(m2e, 95)}, {"p99", pct(m2e, 99)}}},
           {"mouth_to_ear_each_ms", m2e},
           {"markers", marker_list}};
  if (continuous) {
    std::printf("ground truth: mouth-to-ear p50 %.1f ms p99 %.1f ms (%zu/%zu markers), SNR %.1f dB (continuous)\n",
                pct(m2e, 50), pct(m2e, 99), m2e.size(), expected.size(), snr);
    std::ofstream(args.out) << out.dump(2) << '\n';
    return 0;
  }
  out["talk_start_ms"] = {{"p50", pct(talk_start, 50)}, {"p99", pct(talk_start, 99)}, {"each", talk_start}};
  out["talk_start_unmeasured"] = unmeasured;
  out["talk_start_source"] = talk_start_source;
  if (info.contains("key_late_samples")) out["key_late_samples"] = info["key_late_samples"];
  // The programs report latency at the sound card: capture time minus the device's input
  // latency, play time plus its output latency. The recording taps the programs' JACK ports, which
  // skips the system ports' declared latencies (dummy driver: 128 samples capture, 256 playback),
  // so those are added to the port-to-port truth before comparing.
  const double capture_ms = info.value("system_capture_latency_samples", 0) * 1000.0 / kRate;
  const double playback_ms = info.value("system_playback_latency_samples", 0) * 1000.0 / kRate;
  // The press a monotonic time falls in (from its key-down to the next one; 10 ms of slack before
  // it: the client logs its burst's key_down_us around the write), -1 before the first.
  const auto press_at_us = [&](std::int64_t t_us) {
    long k = -1;
    for (std::size_t i = 0; i < press_us.size(); ++i)
      if (t_us >= press_us[i] - 10'000) k = static_cast<long>(i);
    return k;
  };
  // How far the sample count fell behind the monotonic clock (jack-io's per-cycle record) between
  // two samples, ms: a latency in microseconds is the one in samples plus this.
  const auto lag = info.value("clock_lag_us", std::vector<std::int64_t>{});
  const long cycle = info.value("cycle_samples", 128L);
  const auto lag_ms = [&](long at) {
    if (lag.empty()) return 0.0;
    const auto i = std::clamp<long>(at / cycle, 0, static_cast<long>(lag.size()) - 1);
    return static_cast<double>(lag[static_cast<std::size_t>(i)]) / 1000.0;
  };
  std::vector<Json> burst_of(windows.size());
  std::vector<int> bursts_in(windows.size());
  for (const auto& b : camera.value("per_burst", Json::array())) {
    const long k = press_at_us(b["first_play_us"].get<std::int64_t>());
    if (k < 0 || k >= static_cast<long>(windows.size())) continue;
    if (bursts_in[static_cast<std::size_t>(k)]++ == 0) burst_of[static_cast<std::size_t>(k)] = b;
  }
  std::vector<Json> first_packet_of(windows.size());
  for (const auto& e : first_packets) {
    const long k = press_at_us(e["key_down_us"].get<std::int64_t>());
    if (k >= 0 && k < static_cast<long>(windows.size()) && first_packet_of[static_cast<std::size_t>(k)].is_null())
      first_packet_of[static_cast<std::size_t>(k)] = e;
  }
  const auto ms = [](long s) { return s < 0 ? Json(nullptr) : Json(s * 1000.0 / kRate); };
  const auto opt = [](const std::optional<double>& v) { return v ? Json(*v) : Json(nullptr); };
  Json presses = Json::array();
  std::vector<double> talk_start_diffs, m2e_diffs, tails, tail_diffs;
  for (std::size_t k = 0; k < windows.size(); ++k) {
    const auto& w = windows[k];
    const long next = k + 1 < windows.size() ? windows[k + 1].down : static_cast<long>(recording.size());
    const long limit = std::min<long>(next, static_cast<long>(recording.size()));
    long first = -1, last = -1;
    for (long i = std::max(0L, w.down); i < limit; ++i)
      if (std::abs(recording[static_cast<std::size_t>(i)]) > kSound) {
        if (first < 0) first = i;
        last = i;
      }
    Json p{{"press", k + 1},
           {"down_ms", ms(w.down)},
           {"up_ms", ms(w.up)},
           {"first_sound_ms", ms(first)},
           {"last_sound_ms", ms(last)},
           {"talk_start_ms", opt(talk_start_by_press[k])},
           {"markers_expected", expected_by_press[k]},
           {"markers_found", m2e_by_press[k].size()},
           {"mouth_to_ear_p50_ms", m2e_by_press[k].empty() ? Json(nullptr) : Json(pct(m2e_by_press[k], 50))}};
    if (k < key_late.size()) p["key_late_samples"] = key_late[k];
    // Tail: key-up to the end of the sound played for this press (the sample after the last one
    // above digital silence before the next press): the release's own latency, negative if the
    // sound stopped before the key came up (a clipped end).
    if (last >= 0 && w.up < limit) {
      p["tail_ms"] = static_cast<double>(last + 1 - w.up) * 1000.0 / kRate;
      tails.push_back(p["tail_ms"].get<double>());
    }
    // With jack-io's keys: how long after the write the client logged the press (pipe, wake-up).
    if (talk_start_source == "jack_key_frames")
      for (const auto c : client_down_us)
        if (press_at_us(c) == static_cast<long>(k)) {
          p["client_key_down_after_ms"] = static_cast<double>(c - press_us[k]) / 1000.0;
          break;
        }
    if (first >= 0 && talk_start_by_press[k]) p["clock_pause_in_talk_start_ms"] = lag_ms(first) - lag_ms(w.down);
    const Json& b = burst_of[k];
    if (b.is_object()) {
      Json cam{{"burst", b["burst"]},
               {"bursts_this_press", bursts_in[k]},
               {"talk_start_ms", b["talk_start_ms"]},
               {"tail_ms", b.value("tail_ms", Json(nullptr))},
               {"mouth_to_ear_p50_ms", b["mouth_to_ear_ms"]["p50"]},
               {"frames_normal", b["frames_normal"]},
               {"frames_fec", b["frames_fec"]},
               {"frames_concealed", b["frames_concealed"]},
               {"head_clipped_ms", b["head_clipped_ms"]}};
      if (const Json& fp = first_packet_of[k]; fp.is_object()) {
        cam["first_seq"] = fp["seq"];
        if (const auto f = fate_of.find(fp["seq"].get<long>()); f != fate_of.end()) cam["first_frame"] = f->second;
      }
      Json diff = Json::object();
      if (b["talk_start_ms"].is_number() && talk_start_by_press[k]) {
        diff["talk_start"] = b["talk_start_ms"].get<double>() - (*talk_start_by_press[k] + playback_ms);
        talk_start_diffs.push_back(diff["talk_start"].get<double>());
        // The same less the time the sample clock stood still in between (the camera counts it).
        diff["talk_start_less_clock_pause"] = diff["talk_start"].get<double>() - p["clock_pause_in_talk_start_ms"].get<double>();
      }
      if (b.value("tail_ms", Json(nullptr)).is_number() && p.contains("tail_ms")) {
        diff["tail"] = b["tail_ms"].get<double>() - (p["tail_ms"].get<double>() + playback_ms);
        tail_diffs.push_back(diff["tail"].get<double>());
      }
      if (!m2e_by_press[k].empty() && b["frames_normal"].get<double>() > 0) {
        diff["mouth_to_ear_p50"] = b["mouth_to_ear_ms"]["p50"].get<double>() - (pct(m2e_by_press[k], 50) + capture_ms + playback_ms);
        m2e_diffs.push_back(diff["mouth_to_ear_p50"].get<double>());
      }
      p["camera"] = cam;
      p["difference_ms"] = diff;
    } else {
      p["camera"] = nullptr;
    }
    presses.push_back(p);
  }
  out["presses"] = presses;
  out["tail_ms"] = {{"p50", pct(tails, 50)}, {"p99", pct(tails, 99)}, {"each", tails}};
  if (camera.contains("mouth_to_ear_ms")) {
    out["device_latency_ms"] = {{"capture", capture_ms}, {"playback", playback_ms}};
    out["self_reported"] = {{"mouth_to_ear_p50_ms", camera["mouth_to_ear_ms"]["p50"]},
                            {"mouth_to_ear_p99_ms", camera["mouth_to_ear_ms"]["p99"]},
                            {"talk_start_ms", own_talk_start}};
    // Talk-start is compared press by press, over the presses that have both figures: the camera
    // has none for a burst whose first frame did not play from its own packet (lost, played from a
    // redundant copy or FEC), and a p50 of its remaining bursts against the p50 of all presses
    // compares different presses (see docs: the f10-loss5 case).
    out["difference_ms"] = {
        {"mouth_to_ear_p50", camera["mouth_to_ear_ms"]["p50"].get<double>() - (pct(m2e, 50) + capture_ms + playback_ms)},
        {"talk_start_p50", talk_start_diffs.empty() ? Json(nullptr) : Json(pct(talk_start_diffs, 50))},
        {"talk_start_presses_compared", talk_start_diffs.size()},
        {"talk_start_p50_unpaired",
         own_talk_start.empty() ? Json(nullptr) : Json(pct(own_talk_start, 50) - (pct(talk_start, 50) + playback_ms))},
        {"mouth_to_ear_p50_by_burst", m2e_diffs.empty() ? Json(nullptr) : Json(pct(m2e_diffs, 50))},
        {"tail_p50", tail_diffs.empty() ? Json(nullptr) : Json(pct(tail_diffs, 50))},
        {"tail_presses_compared", tail_diffs.size()}};
    out["concealed_pct"] = camera["concealed_pct"];
    out["frames_fec"] = camera["frames_fec"];
    out["cutoffs"] = camera["cutoff_count"];
    std::printf("ground truth: mouth-to-ear p50 %.1f ms p99 %.1f ms (%zu/%zu markers), talk-start p50 %.1f ms, "
                "SNR %.1f dB; self-reported: mouth-to-ear p50 %.1f ms, talk-start p50 %.1f ms; "
                "difference per press: talk-start p50 %+.1f ms (%zu presses)\n",
                pct(m2e, 50), pct(m2e, 99), m2e.size(), expected.size(), pct(talk_start, 50), snr,
                camera["mouth_to_ear_ms"]["p50"].get<double>(), own_talk_start.empty() ? 0.0 : pct(own_talk_start, 50),
                pct(talk_start_diffs, 50), talk_start_diffs.size());
  }
  std::ofstream(args.out) << out.dump(2) << '\n';
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
  AnalyzeArgs a;
  an->add_option("--markers", a.markers)->required();
  an->add_option("--stimulus", a.stimulus, "The stimulus WAV (for SNR)")->required();
  an->add_option("--recording", a.recording)->required();
  an->add_option("--jack-info", a.info)->required();
  an->add_option("--client-events", a.client_events, "Key presses; without it the stream is continuous");
  an->add_option("--camera-summary", a.camera_summary, "The camera's own figures, to compare");
  an->add_option("--camera-packets", a.camera_packets, "The camera's --packets CSV: how each burst's first frame played");
  an->add_option("--out", a.out)->required();
  auto* rep = app.add_subcommand("report", "Write results.json, results.md and the plot scripts of a run");
  std::string dir, matrix = "quick";
  rep->add_option("--dir", dir, "The run's --out directory")->required();
  rep->add_option("--matrix", matrix);
  if (const auto code = cli::parse(app, argc, argv, "pttcam-bench")) return *code;
  if (*stim) return stimulus(seconds, wav, markers);
  if (*rep) {
    bench::write_report(dir, matrix);
    return 0;
  }
  return analyze(a);
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
