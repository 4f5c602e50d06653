// pttcam-bench analyze, in stages: load the inputs, place the presses on the recording's timeline,
// find the markers, measure talk-start, match the camera's own figures press by press, write.
// Without --client-events the stream is taken as continuous (the GStreamer reference: no talk key),
// every marker is expected and there is no talk-start.
// Key presses: when the jack-io info has "keys" (pttcam-jack-io --key-script pressed the key through
// ptt-client --keys stdin), each press is the JACK sample jack-io reached when it wrote "down":
// talk-start is on the JACK clock alone (talk_start_source "jack_key_frames"). Otherwise the
// client's key_down events are placed on the recording through jack-io's first cycle and measured
// rate on the monotonic clock (talk_start_source "client_events_monotonic"; WAV mode: its start).
#include "analyze.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <vector>

#include "bench_io.hpp"
#include "pttcam/audio/sndfile.hpp"
#include "pttcam/dsp/align.hpp"
#include "pttcam/dsp/levels.hpp"
#include "pttcam/dsp/markers.hpp"
#include "pttcam/measure/burst_analyzer.hpp"
#include "results_format.hpp"

namespace pttcam::bench {
namespace {

namespace k = key;
// A marker (120 ms) is searched for up to 450 ms after it was played, and the next one starts
// 600 ms later, so it can never be taken for the next one: latencies above 450 ms are reported as
// missed markers, not wrong ones. 0.7: a marker hit by a lost frame is rejected, not misplaced.
constexpr double kMaxDelayS = 0.45;
constexpr long kMaxDelaySamples = static_cast<long>(kMaxDelayS * kRate);
constexpr double kMinCorrelation = 0.7;
constexpr long kPieceSamples = 12000;  // SNR: 250 ms pieces, each aligned on its own
constexpr double kPieceSlackS = 0.07;  // within 70 ms of its stretch's delay
constexpr long kMargin = 960;          // a 20 ms frame of margin at both ends of a press
constexpr long kQuiet = 48;            // talk-start: 1 ms of digital silence first
constexpr float kSound = 1e-4f;        // above digital silence

struct Window {
  long down = 0;  // sample index of key-down in the stimulus/recording timeline
  long up = 0;
};

struct Inputs {
  std::vector<long> marker_at;
  std::vector<float> marker, recording, stimulus;
  Json info;  // jack-io's, or in WAV mode the equivalent built from the programs' start events
  std::string mode;
  Json camera;  // the camera's --summary, or {}
  std::vector<Json> client_log;
  bool continuous = false;
};

struct Presses {
  std::vector<Window> windows;
  std::vector<std::int64_t> press_us;  // each press on the monotonic clock
  std::vector<long> key_late;          // per press: how late jack-io's wake-up was, samples
  std::string source;                  // talk_start_source
};

struct Markers {
  std::vector<long> expected;
  std::vector<double> m2e;
  long missed = 0;
  Json list = Json::array();
  std::vector<std::vector<double>> m2e_by_press;
  std::vector<std::size_t> expected_by_press;
};

struct TalkStart {
  std::vector<double> each;
  std::vector<std::optional<double>> by_press;
  std::size_t unmeasured = 0;
};

double pct(const std::vector<double>& v, double p) { return measure::percentile(v, p); }
Json ms_of(long samples) { return samples < 0 ? Json(nullptr) : Json(samples * 1000.0 / kRate); }
Json opt(const std::optional<double>& v) { return v ? Json(*v) : Json(nullptr); }
Json or_null(const Json& j, const char* key) { return j.is_object() && j.contains(key) ? j[key] : Json(nullptr); }

// How far the sample count fell behind the monotonic clock (jack-io's per-cycle record) at a
// sample, ms: a latency in microseconds is the one in samples plus the difference of two of these.
double clock_lag_ms(const Json& info, long at) {
  if (!info.contains("clock_lag_us") || info["clock_lag_us"].empty()) return 0.0;
  const auto& lags = info["clock_lag_us"];
  const long cycle = info.value("cycle_samples", 128L);
  const auto i = std::clamp<long>(at / cycle, 0, static_cast<long>(lags.size()) - 1);
  return lags[static_cast<std::size_t>(i)].get<double>() / 1000.0;
}

// WAV mode: the stimulus starts with the client (its WAV microphone), the recording with the camera.
Json wav_timeline(const std::vector<Json>& client_log, const std::string& camera_events) {
  const auto start_of = [](const std::vector<Json>& log, const char* event, const std::string& file) {
    for (const auto& e : log)
      if (e["event"] == event) return e["t_us"].get<std::int64_t>();
    throw std::runtime_error(std::string("no ") + event + " in " + file);
  };
  const auto c0 = start_of(client_log, "client_start", "the client's events");
  const auto k0 = start_of(read_lines(camera_events), "camera_start", camera_events);
  return {{"mode", "wav"}, {"record_t0_us", c0}, {"recording_offset_us", k0 - c0}, {"samples_per_second", 48000}, {"xruns", 0}};
}

// jack: stimulus and recording start on the same JACK cycle. wav: the client's WAV microphone and
// the camera's WAV speaker start with their processes, recording_offset_us apart on the monotonic
// clock: the recording is shifted onto the stimulus's timeline.
void shift_recording(std::vector<float>& recording, std::int64_t offset_us) {
  const auto shift = static_cast<long>(std::lround(static_cast<double>(offset_us) * kRate / 1e6));
  if (shift > 0)
    recording.insert(recording.begin(), static_cast<std::size_t>(shift), 0.0f);
  else
    recording.erase(recording.begin(), recording.begin() + std::min<long>(-shift, static_cast<long>(recording.size())));
}

Inputs load(const AnalyzeArgs& args) {
  Inputs in;
  const Json m = read_json(args.markers);
  in.marker_at = m["marker_at"].get<std::vector<long>>();
  in.marker = m["marker"].get<std::vector<float>>();
  in.recording = audio::read_mono_48k(args.recording);
  in.stimulus = audio::read_mono_48k(args.stimulus);
  in.continuous = args.client_events.empty();
  if (!in.continuous) in.client_log = read_lines(args.client_events);
  if (!args.info.empty())
    in.info = read_json(args.info);
  else if (!args.camera_events.empty() && !in.continuous)
    in.info = wav_timeline(in.client_log, args.camera_events);
  else
    throw std::runtime_error("give --jack-info, or --camera-events with --client-events (WAV mode)");
  in.mode = in.info.value("mode", std::string("jack"));
  if (const auto offset_us = in.info.value("recording_offset_us", std::int64_t{0}); offset_us != 0)
    shift_recording(in.recording, offset_us);
  in.camera = args.camera_summary.empty() ? Json::object() : read_json(args.camera_summary);
  return in;
}

// Presses from jack-io's key writes: each at the JACK sample it landed on.
Presses presses_from_jack_keys(const Inputs& in) {
  Presses p;
  p.source = "jack_key_frames";
  for (const auto& key : in.info["keys"]) {
    if (key["key"] == "down") {
      p.windows.push_back({key["sample"].get<long>(), 0});
      p.key_late.push_back(key["late_samples"].get<long>());
      p.press_us.push_back(key["t_us"].get<std::int64_t>());
    }
    if (key["key"] == "up" && !p.windows.empty()) p.windows.back().up = key["sample"].get<long>();
  }
  if (p.windows.empty()) throw std::runtime_error("no key presses in the jack-io info");
  if (p.windows.back().up == 0) p.windows.back().up = static_cast<long>(in.recording.size());
  return p;
}

// Presses from the client's own key_down/key_up events, placed on the recording through the
// timeline's start and the dummy driver's measured rate against the monotonic clock.
Presses presses_from_client_events(const Inputs& in) {
  Presses p;
  p.source = in.mode == "wav" ? "client_events_wav_start" : "client_events_monotonic";
  const auto t0_us = in.info["record_t0_us"].get<std::int64_t>();
  const double jack_rate = in.info.value("samples_per_second", kRate);
  const auto to_sample = [&](std::int64_t t_us) { return static_cast<long>(std::lround((t_us - t0_us) * jack_rate / 1e6)); };
  for (const auto& e : in.client_log) {
    if (e["event"] == "key_down") {
      p.windows.push_back({to_sample(e["t_us"].get<std::int64_t>()), 0});
      p.press_us.push_back(e["t_us"].get<std::int64_t>());
    }
    if (e["event"] == "key_up" && !p.windows.empty()) p.windows.back().up = to_sample(e["t_us"].get<std::int64_t>());
  }
  if (p.windows.empty()) throw std::runtime_error("no key presses in the client's events");
  return p;
}

// The presses on the recording's timeline; continuous: one window over everything that can still
// be heard before the recording ends. Each press is on the monotonic clock too: the camera's and the
// client's events are matched to presses on that clock alone (placing them on the recording by the
// measured rate was seen 10 ms and more off when the dummy driver paused).
Presses place_presses(const Inputs& in) {
  if (in.continuous) {
    Presses p;
    p.windows.push_back({-kMargin, static_cast<long>(in.recording.size()) - kMaxDelaySamples + kMargin});
    return p;
  }
  return in.info.contains("keys") ? presses_from_jack_keys(in) : presses_from_client_events(in);
}

// The press a stimulus position falls in (from its key-down to the next one), -1 before the first.
long press_of(const std::vector<Window>& windows, long at) {
  long press = -1;
  for (std::size_t i = 0; i < windows.size(); ++i)
    if (at >= windows[i].down) press = static_cast<long>(i);
  return press;
}

// The press a monotonic time falls in (from its key-down to the next one; 10 ms of slack before it:
// the client logs its burst's key_down_us around the write), -1 before the first.
long press_at_us(const Presses& p, std::int64_t t_us) {
  long press = -1;
  for (std::size_t i = 0; i < p.press_us.size(); ++i)
    if (t_us >= p.press_us[i] - 10'000) press = static_cast<long>(i);
  return press;
}

// SNR of what was played against what went in, over the given stretches of the stimulus: each
// stretch is found in the recording by cross-correlation (0 to kMaxDelayS late; the delay changes
// from burst to burst), then each 250 ms piece of it again within kPieceSlackS of that (a jitter
// buffer may grow inside a burst, a JACK xrun shifts the rest), and the aligned pieces are compared
// as one signal, so one least-squares gain covers the whole chain. Concealed and lost audio counts
// as error.
double played_snr_db(std::span<const float> stimulus, std::span<const float> recording,
                     const std::vector<std::pair<long, long>>& stretches) {
  std::vector<float> ref, got;
  const long slack = static_cast<long>(kPieceSlackS * kRate);
  for (const auto& [from, to] : stretches) {
    const long end = std::min<long>(to, static_cast<long>(stimulus.size()));
    if (from < 0 || end - from < 4800 || from >= static_cast<long>(recording.size())) continue;
    const auto piece = stimulus.subspan(static_cast<std::size_t>(from), static_cast<std::size_t>(end - from));
    const auto search = recording.subspan(static_cast<std::size_t>(from));
    const long coarse = dsp::align(piece, search, 0, kMaxDelaySamples).lag;
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

// SNR over the stretches where markers are expected: inside each press (continuous: 2 s pieces,
// the reference's delay may drift), a frame of margin at both ends.
double snr_in_presses(const Inputs& in, const Presses& p) {
  std::vector<std::pair<long, long>> stretches;
  for (const auto& w : p.windows) {
    const long step = in.continuous ? 96000 : w.up - w.down;
    for (long from = std::max(0L, w.down + kMargin); from + 4800 < w.up - kMargin; from += step)
      stretches.emplace_back(from, std::min(from + step, w.up - kMargin));
  }
  return played_snr_db(in.stimulus, in.recording, stretches);
}

// Markers that were at the microphone while the key was down (with a frame of margin) are expected;
// those played while the key was up are not expected at the speaker and not counted either way.
Markers find_markers(const Inputs& in, const Presses& p) {
  Markers m;
  for (const long at : in.marker_at)
    for (const auto& w : p.windows)
      if (at >= w.down + kMargin && at + static_cast<long>(in.marker.size()) <= w.up - kMargin) m.expected.push_back(at);
  m.m2e_by_press.resize(p.windows.size());
  m.expected_by_press.resize(p.windows.size());
  for (const auto& f : dsp::find_markers(in.recording, in.marker, m.expected, 0, 0, kMaxDelaySamples, kMinCorrelation)) {
    const long press = in.continuous ? -1 : press_of(p.windows, f.expected_at);
    Json entry{{k::kAtMs, f.expected_at * 1000.0 / kRate}, {k::kPress, press + 1}, {k::kCorrelation, f.correlation}};
    if (press >= 0) ++m.expected_by_press[static_cast<std::size_t>(press)];
    if (f.found_at < 0) {
      ++m.missed;
      entry[k::kMouthToEarMs] = nullptr;
    } else {
      const double ms = (f.found_at - f.expected_at) * 1000.0 / kRate;
      m.m2e.push_back(ms);
      entry[k::kMouthToEarMs] = ms;
      if (in.info.contains("clock_lag_us")) entry[k::kClockPauseMs] = clock_lag_ms(in.info, f.found_at) - clock_lag_ms(in.info, f.expected_at);
      if (press >= 0) m.m2e_by_press[static_cast<std::size_t>(press)].push_back(ms);
    }
    m.list.push_back(entry);
  }
  return m;
}

// Talk-start: key-down to the first sample the speaker played for this press: the first sound
// after at least 1 ms of digital silence (the speaker plays exact zeros between bursts; the
// stimulus bed is about -45 dBFS, so a burst's first frame stands out). Requiring the silence first
// keeps the tail of the previous burst, still playing at the press, from counting; a press whose
// start cannot be seen before its release is left out (counted in talk_start_unmeasured).
TalkStart measure_talk_start(const std::vector<float>& recording, const Presses& p) {
  TalkStart t;
  for (const auto& w : p.windows) {
    long quiet = 0;
    const long end = std::min<long>(w.up, static_cast<long>(recording.size()));
    t.by_press.emplace_back();
    for (long i = std::max(0L, w.down - kQuiet); i < end; ++i) {
      if (std::abs(recording[static_cast<std::size_t>(i)]) <= kSound) {
        ++quiet;
      } else if (quiet >= kQuiet && i >= w.down) {
        t.by_press.back() = (i - w.down) * 1000.0 / kRate;
        t.each.push_back(*t.by_press.back());
        break;
      } else {
        quiet = 0;
      }
    }
    if (!t.by_press.back()) ++t.unmeasured;
  }
  return t;
}

// How the camera played each packet's frame (its --packets CSV: seq,rtp_ts,ssrc,arrival_us,fate,
// play_us): the first decision per sequence number.
std::map<long, std::string> packet_fates(const std::string& path) {
  std::map<long, std::string> fate_of;
  if (path.empty()) return fate_of;
  std::ifstream csv(path);
  if (!csv) throw std::runtime_error("cannot read " + path);
  std::string line;
  std::getline(csv, line);  // header
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
  return fate_of;
}

// The camera's and the client's figures, each matched to its press on the monotonic clock.
struct SelfReport {
  std::vector<Json> burst_of, first_packet_of;
  std::vector<int> bursts_in;
  std::vector<std::int64_t> client_down_us;  // the client's own key_down events
  std::map<long, std::string> fate_of;
  double capture_ms = 0, playback_ms = 0;    // the system ports' declared latencies
};

// The programs report latency at the sound card: capture time minus the device's input latency,
// play time plus its output latency. The recording taps the programs' JACK ports, which skips the
// system ports' declared latencies (dummy driver: 128 samples capture, 256 playback), so those are
// added to the port-to-port truth before comparing.
SelfReport match_to_presses(const Inputs& in, const Presses& p, const std::string& camera_packets) {
  SelfReport s;
  const std::size_t n = p.windows.size();
  s.burst_of.resize(n);
  s.first_packet_of.resize(n);
  s.bursts_in.resize(n);
  s.capture_ms = in.info.value("system_capture_latency_samples", 0) * 1000.0 / kRate;
  s.playback_ms = in.info.value("system_playback_latency_samples", 0) * 1000.0 / kRate;
  for (const auto& b : in.camera.value("per_burst", Json::array())) {
    const long press = press_at_us(p, b["first_play_us"].get<std::int64_t>());
    if (press < 0 || press >= static_cast<long>(n)) continue;
    if (s.bursts_in[static_cast<std::size_t>(press)]++ == 0) s.burst_of[static_cast<std::size_t>(press)] = b;
  }
  for (const auto& e : in.client_log) {
    if (e["event"] == "key_down") s.client_down_us.push_back(e["t_us"].get<std::int64_t>());
    if (e["event"] != "burst_first_packet") continue;
    const long press = press_at_us(p, e["key_down_us"].get<std::int64_t>());
    if (press >= 0 && press < static_cast<long>(n) && s.first_packet_of[static_cast<std::size_t>(press)].is_null())
      s.first_packet_of[static_cast<std::size_t>(press)] = e;
  }
  s.fate_of = packet_fates(camera_packets);
  return s;
}

// Differences of the camera's own figures from the truth, per press and over all of them.
struct Differences {
  std::vector<double> talk_start, m2e, tail;
};

// The camera's burst_summary for a press, abridged, and how its first packet played.
Json camera_of_press(const SelfReport& s, std::size_t press) {
  const Json& b = s.burst_of[press];
  Json cam{{k::kBurst, b["burst"]},
           {k::kBurstsThisPress, s.bursts_in[press]},
           {k::kTalkStartMs, b["talk_start_ms"]},
           {k::kTailMs, b.value("tail_ms", Json(nullptr))},
           {k::kMouthToEarP50Ms, b["mouth_to_ear_ms"]["p50"]},
           {k::kFramesNormal, b["frames_normal"]},
           {k::kFramesFec, b["frames_fec"]},
           {k::kFramesConcealed, b["frames_concealed"]},
           {k::kHeadClippedMs, b["head_clipped_ms"]}};
  if (const Json& fp = s.first_packet_of[press]; fp.is_object()) {
    cam[k::kFirstSeq] = fp["seq"];
    if (const auto f = s.fate_of.find(fp["seq"].get<long>()); f != s.fate_of.end()) cam[k::kFirstFrame] = f->second;
  }
  return cam;
}

// The camera's own figures for a press minus the truth (at the sound card: plus the system ports).
Json press_difference(const SelfReport& s, const Json& press, const Json& b, const std::vector<double>& m2e, Differences& d) {
  Json diff = Json::object();
  if (b["talk_start_ms"].is_number() && press[k::kTalkStartMs].is_number()) {
    const double v = b["talk_start_ms"].get<double>() - (press[k::kTalkStartMs].get<double>() + s.playback_ms);
    diff[k::kTalkStart] = v;
    d.talk_start.push_back(v);
    // The same less the time the sample clock stood still in between (the camera counts it).
    diff[k::kTalkStartLessClockPause] = v - press[k::kClockPauseInTalkStartMs].get<double>();
  }
  if (b.value("tail_ms", Json(nullptr)).is_number() && press.contains(k::kTailMs)) {
    diff[k::kTail] = b["tail_ms"].get<double>() - (press[k::kTailMs].get<double>() + s.playback_ms);
    d.tail.push_back(diff[k::kTail].get<double>());
  }
  if (!m2e.empty() && b["frames_normal"].get<double>() > 0 && b["mouth_to_ear_ms"]["max"].get<double>() > 0) {
    diff[k::kMouthToEarP50] = b["mouth_to_ear_ms"]["p50"].get<double>() - (pct(m2e, 50) + s.capture_ms + s.playback_ms);
    d.m2e.push_back(diff[k::kMouthToEarP50].get<double>());
  }
  return diff;
}

// One press: the truth (key, first and last sound before the next press, talk-start, tail,
// markers) next to the camera's own figures for the burst it played.
Json press_entry(const Inputs& in, const Presses& p, const Markers& m, const TalkStart& t, const SelfReport& s,
                 std::size_t i, Differences& d) {
  const auto& w = p.windows[i];
  const long size = static_cast<long>(in.recording.size());
  const long limit = std::min<long>(i + 1 < p.windows.size() ? p.windows[i + 1].down : size, size);
  long first = -1, last = -1;
  for (long j = std::max(0L, w.down); j < limit; ++j)
    if (std::abs(in.recording[static_cast<std::size_t>(j)]) > kSound) {
      if (first < 0) first = j;
      last = j;
    }
  Json e{{k::kPress, i + 1}, {k::kDownMs, ms_of(w.down)}, {k::kUpMs, ms_of(w.up)}, {k::kFirstSoundMs, ms_of(first)},
         {k::kLastSoundMs, ms_of(last)}, {k::kTalkStartMs, opt(t.by_press[i])}, {k::kMarkersExpected, m.expected_by_press[i]},
         {k::kMarkersFound, m.m2e_by_press[i].size()},
         {k::kMouthToEarP50Ms, m.m2e_by_press[i].empty() ? Json(nullptr) : Json(pct(m.m2e_by_press[i], 50))}};
  if (i < p.key_late.size()) e[k::kKeyLateSamples] = p.key_late[i];
  // Tail: key-up to the end of the sound played for this press (the sample after the last one
  // above digital silence before the next press): the release's own latency, negative if the sound
  // stopped before the key came up (a clipped end).
  if (last >= 0 && w.up < limit) e[k::kTailMs] = static_cast<double>(last + 1 - w.up) * 1000.0 / kRate;
  // With jack-io's keys: how long after the write the client logged the press (pipe, wake-up).
  if (p.source == "jack_key_frames")
    for (const auto c : s.client_down_us)
      if (press_at_us(p, c) == static_cast<long>(i)) {
        e[k::kClientKeyDownAfterMs] = static_cast<double>(c - p.press_us[i]) / 1000.0;
        break;
      }
  if (first >= 0 && t.by_press[i]) e[k::kClockPauseInTalkStartMs] = clock_lag_ms(in.info, first) - clock_lag_ms(in.info, w.down);
  if (!s.burst_of[i].is_object()) {
    e[k::kCamera] = nullptr;
    return e;
  }
  e[k::kCamera] = camera_of_press(s, i);
  e[k::kDifferenceMs] = press_difference(s, e, s.burst_of[i], m.m2e_by_press[i], d);
  return e;
}

Json percentiles_each(const std::vector<double>& v) { return {{k::kP50, pct(v, 50)}, {k::kP99, pct(v, 99)}, {k::kEach, v}}; }
Json p50_or_null(const std::vector<double>& v) { return v.empty() ? Json(nullptr) : Json(pct(v, 50)); }

// The camera's own figures over the whole run, against the truth. Talk-start is compared press by
// press, over the presses that have both figures: the camera has none for a burst whose first frame
// did not play from its own packet (lost, played from a redundant copy or FEC), and a p50 of its
// remaining bursts against the p50 of all presses compares different presses (see docs: the
// f10-loss5 case).
void add_self_report(Json& out, const Inputs& in, const Markers& m, const TalkStart& t, const SelfReport& s,
                     const Differences& d) {
  std::vector<double> own_talk_start;
  for (const auto& b : in.camera.value("per_burst", Json::array()))
    if (b["talk_start_ms"].is_number()) own_talk_start.push_back(b["talk_start_ms"].get<double>());
  // A sender without capture times (a browser) leaves the camera's mouth-to-ear at 0: unknown.
  const bool has_own_m2e = in.camera["mouth_to_ear_ms"].value("max", 0.0) > 0;
  const double own_m2e = in.camera["mouth_to_ear_ms"]["p50"].get<double>();
  out[k::kDeviceLatencyMs] = {{k::kCapture, s.capture_ms}, {k::kPlayback, s.playback_ms}};
  out[k::kSelfReported] = {{k::kMouthToEarP50Ms, in.camera["mouth_to_ear_ms"]["p50"]},
                           {k::kMouthToEarP99Ms, in.camera["mouth_to_ear_ms"]["p99"]},
                           {k::kTalkStartMs, own_talk_start}};
  out[k::kDifferenceMs] = {
      {k::kMouthToEarP50,
       has_own_m2e ? Json(own_m2e - (pct(m.m2e, 50) + s.capture_ms + s.playback_ms)) : Json(nullptr)},
      {k::kTalkStartP50, p50_or_null(d.talk_start)},
      {k::kTalkStartPressesCompared, d.talk_start.size()},
      {k::kTalkStartP50Unpaired,
       own_talk_start.empty() ? Json(nullptr) : Json(pct(own_talk_start, 50) - (pct(t.each, 50) + s.playback_ms))},
      {k::kMouthToEarP50ByBurst, p50_or_null(d.m2e)},
      {k::kTailP50, p50_or_null(d.tail)},
      {k::kTailPressesCompared, d.tail.size()}};
  out[k::kConcealedPct] = in.camera["concealed_pct"];
  out[k::kFramesFec] = in.camera["frames_fec"];
  out[k::kCutoffs] = in.camera["cutoff_count"];
  std::printf("ground truth: mouth-to-ear p50 %.1f ms p99 %.1f ms (%zu/%zu markers), talk-start p50 %.1f ms, "
              "SNR %.1f dB; self-reported: mouth-to-ear p50 %.1f ms, talk-start p50 %.1f ms; "
              "difference per press: talk-start p50 %+.1f ms (%zu presses)\n",
              pct(m.m2e, 50), pct(m.m2e, 99), m.m2e.size(), m.expected.size(), pct(t.each, 50), out[k::kSnrDb].get<double>(),
              own_m2e, own_talk_start.empty() ? 0.0 : pct(own_talk_start, 50), pct(d.talk_start, 50), d.talk_start.size());
}

// Push-to-talk only: talk-start, the presses one by one, the tail and the camera's own figures.
void add_presses(Json& out, const Inputs& in, const Presses& p, const Markers& m, const std::string& camera_packets) {
  const TalkStart t = measure_talk_start(in.recording, p);
  out[k::kTalkStartMs] = percentiles_each(t.each);
  out[k::kTalkStartUnmeasured] = t.unmeasured;
  out[k::kTalkStartSource] = p.source;
  if (in.info.contains("key_late_samples")) out[k::kKeyLateSamples] = in.info["key_late_samples"];
  const SelfReport s = match_to_presses(in, p, camera_packets);
  Differences d;
  Json presses = Json::array();
  std::vector<double> tails;
  for (std::size_t i = 0; i < p.windows.size(); ++i) {
    presses.push_back(press_entry(in, p, m, t, s, i, d));
    if (presses.back().contains(k::kTailMs)) tails.push_back(presses.back()[k::kTailMs].get<double>());
  }
  out[k::kPresses] = presses;
  out[k::kTailMs] = percentiles_each(tails);
  // The camera's own figures need the sender's capture times, which only ptt-client sends (a
  // GStreamer talker's cell has no burst_first_packet events).
  const bool timed = std::any_of(in.client_log.begin(), in.client_log.end(),
                                 [](const Json& e) { return e["event"] == "burst_first_packet"; });
  if (in.camera.contains("mouth_to_ear_ms") && timed) add_self_report(out, in, m, t, s, d);
}

// A program's usage from its --summary.
Json usage_of(const std::string& summary_path) {
  const Json s = read_json(summary_path);
  Json u = Json::object();
  for (const char* key : {k::kCpuUserS, k::kCpuSystemS, k::kMaxRssKb, k::kTalkSeconds, k::kCpuSplit}) u[key] = or_null(s, key);
  return u;
}

// What the result is of: pttcam's programs (their usage), or a GStreamer receiver (its settings).
void add_setup(Json& out, const AnalyzeArgs& args, const Inputs& in) {
  out[k::kJackXruns] = or_null(in.info, "xruns");
  if (!args.client_summary.empty()) out[k::kClient] = usage_of(args.client_summary);
  if (!args.camera_summary.empty()) out[k::kCamera] = usage_of(args.camera_summary);
  if (args.variant.empty()) return;
  const Json usage = args.usage.empty() ? Json::object() : read_json(args.usage);
  out[k::kVariant] = args.variant;
  out[k::kKind] = args.kind;
  out[k::kSink] = args.sink;
  out[k::kJitterbufferLatencyMs] = args.jitterbuffer_latency_ms;
  out[k::kUsage] = or_null(or_null(usage, k::kReceivers), args.variant.c_str());
  out[k::kSenderUsage] = or_null(usage, k::kSender);
  out[k::kSeconds] = or_null(usage, k::kSeconds);
}

}  // namespace

void analyze(const AnalyzeArgs& args) {
  const Inputs in = load(args);
  const Presses p = place_presses(in);
  const double snr = snr_in_presses(in, p);
  const Markers m = find_markers(in, p);
  Json out{{k::kMode, in.mode},
           {k::kContinuous, in.continuous},
           {k::kSnrDb, snr},
           {k::kMarkersExpected, m.expected.size()},
           {k::kMarkersFound, m.m2e.size()},
           {k::kMarkersMissed, m.missed},
           {k::kMouthToEarMs, {{k::kP50, pct(m.m2e, 50)}, {k::kP95, pct(m.m2e, 95)}, {k::kP99, pct(m.m2e, 99)}}},
           {k::kMouthToEarEachMs, m.m2e},
           {k::kMarkers, m.list}};
  if (in.continuous)
    std::printf("ground truth: mouth-to-ear p50 %.1f ms p99 %.1f ms (%zu/%zu markers), SNR %.1f dB (continuous)\n",
                pct(m.m2e, 50), pct(m.m2e, 99), m.m2e.size(), m.expected.size(), snr);
  else
    add_presses(out, in, p, m, args.camera_packets);
  add_setup(out, args, in);
  write_json(args.out, out);
}

}  // namespace pttcam::bench
