#include "report.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "bench_io.hpp"
#include "results_format.hpp"

namespace pttcam::bench {
namespace {

namespace fs = std::filesystem;
namespace k = key;

std::string num(double v, int decimals = 1) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

double get(const Json& j, const char* key, double fallback = 0) {
  return j.is_object() && j.contains(key) && j[key].is_number() ? j[key].get<double>() : fallback;
}

Json field(const Json& j, const char* key) { return j.is_object() && j.contains(key) ? j[key] : Json(); }

bool measured(const Json& r) { return r.is_object() && get(r, k::kMarkersFound) > 0; }

double missed_fraction(const Json& r) {
  const double expected = get(r, k::kMarkersExpected);
  return expected > 0 ? 1.0 - get(r, k::kMarkersFound) / expected : 1.0;
}

double p50(const Json& r) { return get(r[k::kMouthToEarMs], k::kP50); }

std::string latency(const Json& r) {
  if (!measured(r)) return "–";
  const auto& m = r[k::kMouthToEarMs];
  return num(get(m, k::kP50)) + " / " + num(get(m, k::kP95)) + " / " + num(get(m, k::kP99)) + " ms";
}

std::string p50_p99(const Json& r) {
  return measured(r) ? num(p50(r)) + " / " + num(get(r[k::kMouthToEarMs], k::kP99)) + " ms" : std::string("–");
}

std::string ratio(const Json& ours, const Json& ref) {
  if (!measured(ours) || !measured(ref)) return "–";
  return num(p50(ours) / p50(ref), 2);
}

std::string markers(const Json& r) {
  if (!r.is_object()) return "–";
  return num(get(r, k::kMarkersFound), 0) + "/" + num(get(r, k::kMarkersExpected), 0);
}

std::string ms_or_dash(const Json& v, int decimals = 1) { return v.is_number() ? num(v.get<double>(), decimals) : "–"; }
std::string signed_ms(const Json& v) {
  return v.is_number() ? (v.get<double>() >= 0 ? "+" : "") + num(v.get<double>()) : std::string("–");
}
std::string snr(const Json& r) { return r.is_object() ? num(get(r, k::kSnrDb)) : std::string("–"); }
std::string xruns(const Json& r) { return r.is_object() ? num(get(r, k::kJackXruns), 0) : std::string("–"); }
// " (N ms)": a receiver's rtpjitterbuffer latency.
std::string latency_label(const Json& r) {
  return r.is_object() ? " (" + num(r[k::kJitterbufferLatencyMs].get<double>(), 0) + " ms)" : std::string();
}

double cpu_s(const Json& usage) { return get(usage, k::kCpuUserS) + get(usage, k::kCpuSystemS); }

// The cell's talk path: "voice" (the default: pttcam's protocol, Opus VOIP), "lowdelay", or
// "rtsp-<codec>" (ptt-client over RTSP with that backchannel codec), "onvif-<codec>" (GStreamer's
// ONVIF client talking into camera-sim's RTSP front end in that codec).
std::string codec_of(const Json& cell) { return cell.value(k::kCodec, std::string("voice")); }

std::string codec_label(const std::string& codec) {
  if (codec == "lowdelay") return " low-delay";
  if (codec.rfind("rtsp-", 0) == 0) return " RTSP " + codec.substr(5);
  if (codec == "browser-opus") return " Chromium Opus";
  if (codec == "browser-red") return " Chromium Opus+RED";
  if (codec.rfind("onvif-", 0) == 0) return " GStreamer ONVIF client " + codec.substr(6);
  return "";
}

// CPU time as a percentage of one core over `seconds`.
std::string cpu_pct(double cpu, double seconds) { return seconds > 0 ? num(100.0 * cpu / seconds, 2) + " %" : "–"; }

std::string mib(double kb) { return num(kb / 1024.0) + " MiB"; }

// A cell's reference receivers, by role.
struct References {
  Json variants = nullptr, def = nullptr, tuned = nullptr, offset = nullptr, nosync = nullptr;
};

// The lowest ladder latency that loses no more markers than ours did (same stimulus, same link).
Json pick_tuned(const Json& variants, const Json& ours) {
  std::vector<Json> ladder;
  for (const auto& v : variants)
    if (v.value(k::kKind, std::string()) == "ladder") ladder.push_back(v);
  std::sort(ladder.begin(), ladder.end(), [](const Json& a, const Json& b) {
    return a[k::kJitterbufferLatencyMs].get<double>() < b[k::kJitterbufferLatencyMs].get<double>();
  });
  for (const auto& v : ladder)
    if (measured(v) && missed_fraction(v) <= missed_fraction(ours) + 1e-9) return v;
  return nullptr;
}

// A cold-mic cell has no reference of its own: the warm cell's with the same frames, link and codec.
References references_of(const Json& cell, const std::vector<Json>& cells) {
  References r;
  if (cell[k::kReference].is_array()) r.variants = cell[k::kReference];
  for (const auto& c : cells)
    if (r.variants.is_null() && c[k::kFrameMs] == cell[k::kFrameMs] && c[k::kLink] == cell[k::kLink] &&
        codec_of(c) == codec_of(cell) && c[k::kReference].is_array())
      r.variants = c[k::kReference];
  if (!r.variants.is_array()) return r;
  for (const auto& v : r.variants) {
    const std::string kind = v.value(k::kKind, std::string());
    if (kind == "default") r.def = v;
    if (kind == "offset") r.offset = v;
    if (kind == "nosync") r.nosync = v;
  }
  r.tuned = pick_tuned(r.variants, cell[k::kOurs]);
  return r;
}

void write_cdf(const fs::path& path, const Json& r) {
  std::ofstream out(path);
  auto v = r.is_object() ? r.value(k::kMouthToEarEachMs, std::vector<double>{}) : std::vector<double>{};
  std::sort(v.begin(), v.end());
  for (std::size_t i = 0; i < v.size(); ++i) out << v[i] << ' ' << static_cast<double>(i + 1) / v.size() << '\n';
}

std::string quoted(const std::string& s) { return "'" + s + "'"; }

void write_cdf_plot(const fs::path& plots, const Json& cell, const References& r) {
  const std::string name = cell[k::kName];
  write_cdf(plots / (name + "-ours.dat"), cell[k::kOurs]);
  write_cdf(plots / (name + "-ref-default.dat"), r.def);
  write_cdf(plots / (name + "-ref-tuned.dat"), r.tuned);
  std::ofstream gp(plots / (name + "-cdf.gp"));
  gp << "set terminal svg size 720,420 dynamic background rgb 'white'\n"
     << "set output " << quoted((plots / (name + "-cdf.svg")).string()) << "\n"
     << "set title " << quoted("mouth-to-ear, " + name + " (" + cell[k::kLink].get<std::string>() + ", " +
                               num(cell[k::kFrameMs].get<double>(), 0) + " ms frames; JACK ground truth)")
     << "\nset xlabel 'mouth-to-ear latency (ms, log scale)'\nset ylabel 'fraction of markers'\nset yrange [0:1.05]\n"
     << "set logscale x 10\nset xrange [10:1000]\nset xtics (10, 20, 30, 50, 100, 200, 300, 500, 1000)\n"
     << "set key top left opaque\nset grid\n"
     << "plot " << quoted((plots / (name + "-ours.dat")).string()) << " using 1:2 with steps lw 2 title 'pttcam'";
  const auto add = [&](const char* file, const std::string& title, const Json& v) {
    if (measured(v)) gp << ", \\\n     " << quoted((plots / (name + file)).string()) << " using 1:2 with steps lw 2 title " << quoted(title);
  };
  add("-ref-default.dat", "GStreamer, rtpjitterbuffer default (200 ms)", r.def);
  if (r.tuned.is_object())
    add("-ref-tuned.dat", "GStreamer, tuned (" + num(r.tuned[k::kJitterbufferLatencyMs].get<double>(), 0) + " ms)", r.tuned);
  gp << "\n";
}

// Per press: the key held (down to up) and the sound played (first to last sample), seconds.
void write_timeline_plot(const fs::path& plots, const Json& cell) {
  const std::string name = cell[k::kName];
  const auto data = plots / (name + "-timeline.dat");
  std::ofstream out(data);
  int n = 0;
  for (const auto& p : cell[k::kOurs].value(k::kPresses, Json::array())) {
    ++n;
    const auto s = [&](const char* key) { return p[key].is_number() ? num(p[key].get<double>() / 1000.0, 4) : "NaN"; };
    out << n << ' ' << s(k::kDownMs) << ' ' << s(k::kUpMs) << ' ' << s(k::kFirstSoundMs) << ' ' << s(k::kLastSoundMs) << '\n';
  }
  std::ofstream gp(plots / (name + "-timeline.gp"));
  // Two panels on a millisecond scale (seconds would hide it): each press's start (key-down at 0
  // to the first sample played) and end (key-up at 0 to the last sample played); the absolute
  // times are in the .dat file (seconds from the stimulus start: burst, down, up, first, last).
  gp << "set terminal svg size 860,360 dynamic background rgb 'white'\n"
     << "set output " << quoted((plots / (name + "-timeline.svg")).string()) << "\n"
     << "set multiplot layout 1,2 title " << quoted("per burst, " + name + " (JACK ground truth)") << "\n"
     << "set ylabel 'burst'\nset ytics 1\nset yrange [0.5:" << n + 0.5 << "]\nset grid x\nset style fill solid\n"
     << "set xlabel 'ms after key-down'\nset title 'key-down (0) to first sample played'\n"
     << "plot " << quoted(data.string()) << " using (($4-$2)*500):1:(($4-$2)*500):(0.3) with boxxyerror lc rgb '#4477aa' notitle\n"
     << "set xlabel 'ms after key-up'\nset title 'key-up (0) to last sample played'\n"
     << "plot " << quoted(data.string()) << " using (($5-$3)*500):1:(($5-$3)*500):(0.3) with boxxyerror lc rgb '#ee6677' notitle\n"
     << "unset multiplot\n";
}

// The report's tables, filled a cell at a time.
struct Tables {
  std::ostringstream headline, latency, unlatched, talk, per_burst, quality, resources, figures;
  bool any_unlatched = false;
  bool any_browser = false;  // a browser-* cell: Chromium was the talker
};

// The first table a reader sees: per cell, what pttcam did and what GStreamer did on the same link.
void headline_row(Tables& t, const Json& cell, const References& r) {
  const Json& ours = cell[k::kOurs];
  if (codec_of(cell).rfind("browser-", 0) == 0) t.any_browser = true;
  const Json& ts = ours[k::kTalkStartMs];
  t.headline << "| " << cell[k::kName].get<std::string>() << " | "
             << (measured(ours) ? "**" + num(p50(ours)) + " ms**" : std::string("–")) << " | "
             << (ts.is_object() ? ms_or_dash(field(ts, k::kP50)) + " ms" : std::string("–")) << " | " << markers(ours)
             << " | " << (measured(r.def) ? num(p50(r.def)) + " ms" : std::string("–")) << " | " << ratio(ours, r.def)
             << " |\n";
}

void latency_row(Tables& t, const Json& cell, const References& r) {
  const Json& ours = cell[k::kOurs];
  t.latency << "| " << cell[k::kName].get<std::string>() << " | " << cell[k::kFrameMs] << " ms"
            << codec_label(codec_of(cell)) << " | " << cell[k::kLink].get<std::string>() << " | "
            << cell[k::kMic].get<std::string>() << " | " << latency(ours) << " | " << latency(r.def) << " | "
            << (r.variants.is_array() && !r.tuned.is_object() ? "no rung lost as little" : latency(r.tuned) + latency_label(r.tuned))
            << " | " << ratio(ours, r.def) << " | " << ratio(ours, r.tuned) << " |\n";
}

void unlatched_row(Tables& t, const Json& cell, const References& r) {
  if (cell[k::kMic] != "warm" || (!r.offset.is_object() && !r.nosync.is_object())) return;
  t.any_unlatched = true;
  const Json& ours = cell[k::kOurs];
  const auto snr_db = [](const Json& v) { return v.is_object() ? num(get(v, k::kSnrDb)) + " dB" : std::string("–"); };
  t.unlatched << "| " << cell[k::kName].get<std::string>() << " | "
              << (measured(r.tuned) ? num(p50(r.tuned)) + " ms" + latency_label(r.tuned) : std::string("–")) << " | "
              << p50_p99(r.offset) << latency_label(r.offset) << " | " << markers(r.offset) << " | " << snr_db(r.offset)
              << " | " << p50_p99(r.nosync) << latency_label(r.nosync) << " | " << markers(r.nosync) << " | "
              << snr_db(r.nosync) << " | " << ratio(ours, r.offset) << " | " << ratio(ours, r.nosync) << " |\n";
}

void talk_row(Tables& t, const Json& cell) {
  const Json& ours = cell[k::kOurs];
  const auto& ts = ours[k::kTalkStartMs];
  const auto own = ours.value(k::kSelfReported, Json::object());
  auto own_ts = own.value(k::kTalkStartMs, std::vector<double>{});
  std::sort(own_ts.begin(), own_ts.end());
  const auto diff = ours.value(k::kDifferenceMs, Json::object());
  const auto compared = [&](const char* p50_key, const char* count_key) {
    return field(diff, p50_key).is_number() ? num(get(diff, p50_key)) + " ms (" + num(get(diff, count_key), 0) + ")"
                                            : std::string("–");
  };
  t.talk << "| " << cell[k::kName].get<std::string>() << " | " << cell[k::kMic].get<std::string>() << " | "
         << (ours.value(k::kTalkStartSource, std::string()) == "jack_key_frames" ? "jack-io (JACK frame)" : "client (monotonic)")
         << " | " << num(get(ts, k::kP50)) << " / " << num(get(ts, k::kP99)) << " ms | "
         << ours.value(k::kTalkStartUnmeasured, 0) << " | "
         << (own_ts.empty() ? "–" : num(own_ts[own_ts.size() / 2]) + " ms") << " | "
         << compared(k::kTalkStartP50, k::kTalkStartPressesCompared) << " | " << num(get(own, k::kMouthToEarP50Ms)) << " ms ("
         << num(get(diff, k::kMouthToEarP50)) << ") | "
         << (ours.contains(k::kTailMs) ? num(get(ours[k::kTailMs], k::kP50)) + " / " + num(get(ours[k::kTailMs], k::kP99)) + " ms"
                                       : std::string("–"))
         << " | " << compared(k::kTailP50, k::kTailPressesCompared) << " |\n";
}

void per_burst_rows(Tables& t, const Json& cell) {
  const Json& ours = cell[k::kOurs];
  const bool jack_keys = ours.value(k::kTalkStartSource, std::string()) == "jack_key_frames";
  for (const auto& p : ours.value(k::kPresses, Json::array())) {
    const Json cam = p.value(k::kCamera, Json());
    const Json pd = p.value(k::kDifferenceMs, Json::object());
    t.per_burst << "| " << cell[k::kName].get<std::string>() << " | " << p[k::kPress] << " | " << ms_or_dash(p[k::kDownMs]) << " ms | "
                << (p.contains(k::kKeyLateSamples) ? num(p[k::kKeyLateSamples].get<double>(), 0) + " samples" : "–") << " | "
                << (p.contains(k::kClientKeyDownAfterMs) && jack_keys ? ms_or_dash(p[k::kClientKeyDownAfterMs], 2) + " ms" : "–")
                << " | " << (field(cam, k::kFirstFrame).is_string() ? field(cam, k::kFirstFrame).get<std::string>() : "–")
                << " | " << ms_or_dash(p[k::kTalkStartMs]) << " / " << ms_or_dash(field(cam, k::kTalkStartMs)) << " ("
                << signed_ms(field(pd, k::kTalkStart)) << ") | "
                << (p.contains(k::kClockPauseInTalkStartMs) ? ms_or_dash(p[k::kClockPauseInTalkStartMs]) + " ms" : "–") << " | "
                << ms_or_dash(p[k::kMouthToEarP50Ms]) << " / " << ms_or_dash(field(cam, k::kMouthToEarP50Ms)) << " ("
                << signed_ms(field(pd, k::kMouthToEarP50)) << ") | " << p[k::kMarkersFound] << "/" << p[k::kMarkersExpected]
                << " | " << ms_or_dash(field(cam, k::kFramesFec), 0) << " / " << ms_or_dash(field(cam, k::kFramesConcealed), 0)
                << " |\n";
  }
}

void quality_row(Tables& t, const Json& cell, const References& r) {
  const Json& ours = cell[k::kOurs];
  t.quality << "| " << cell[k::kName].get<std::string>() << " | " << markers(ours) << " / " << markers(r.def) << " / "
            << markers(r.tuned) << " | " << num(get(ours, k::kConcealedPct)) << " % | " << get(ours, k::kFramesFec) << " | "
            << get(ours, k::kCutoffs) << " | " << snr(ours) << " / " << snr(r.def) << " / " << snr(r.tuned) << " dB | "
            << xruns(ours) << " / " << xruns(r.def) << " / " << xruns(r.tuned) << " |\n";
}

void resources_row(Tables& t, const Json& cell, const References& r) {
  const Json& client = cell[k::kOurs][k::kClient];
  const Json& camera = cell[k::kOurs][k::kCamera];
  const auto ref_cpu = [](const Json& v, const char* key) {
    return v.is_object() ? cpu_pct(get(v[key], k::kCpuS), get(v, k::kSeconds)) : std::string("–");
  };
  const auto ref_rss = [](const Json& v, const char* key) { return v.is_object() ? mib(get(v[key], k::kMaxRssKb)) : std::string("–"); };
  const auto split = [](const Json& side, const char* key) {
    return field(side, k::kCpuSplit).is_object() ? num(get(side[k::kCpuSplit], key), 2) + " %" : std::string("–");
  };
  t.resources << "| " << cell[k::kName].get<std::string>() << " | " << split(client, k::kActivePct) << " / "
              << split(client, k::kIdlePct) << " | " << split(camera, k::kActivePct) << " | "
              << cpu_pct(cpu_s(client), get(client, k::kTalkSeconds)) << " / "
              << cpu_pct(cpu_s(camera), get(camera, k::kTalkSeconds)) << " | " << mib(get(client, k::kMaxRssKb)) << " / "
              << mib(get(camera, k::kMaxRssKb)) << " | " << ref_cpu(r.def, k::kSenderUsage) << " | "
              << ref_cpu(r.def, k::kUsage) << " / " << ref_cpu(r.tuned, k::kUsage) << " | "
              << ref_rss(r.def, k::kSenderUsage) << " / " << ref_rss(r.def, k::kUsage) << " |\n";
}

void start_tables(Tables& t) {
  t.headline << "| cell | pttcam mouth-to-ear p50 | pttcam talk-start p50 | markers heard | GStreamer default p50 | "
                "pttcam / GStreamer |\n|---|---|---|---|---|---|\n";
  t.latency << "| cell | frames | link | mic | pttcam p50 / p95 / p99 | GStreamer default (200 ms) p50 / p95 / p99 | "
               "GStreamer tuned p50 / p95 / p99 | ours / default | ours / tuned |\n|---|---|---|---|---|---|---|---|---|\n";
  t.talk << "| cell | mic | key pressed by | talk-start p50 / p99 (truth) | unmeasured presses | "
            "camera's own talk-start p50 | diff per press p50 (presses) | camera's own mouth-to-ear p50 (diff) | "
            "tail p50 / p99 (truth) | tail diff per press p50 |\n"
            "|---|---|---|---|---|---|---|---|---|---|\n";
  t.per_burst << "| cell | press | key-down at | key wake-up late | client took it after | camera's first frame | "
                 "talk-start truth / own (diff) | sample clock paused | mouth-to-ear p50 truth / own (diff) | markers | "
                 "FEC / concealed frames |\n|---|---|---|---|---|---|---|---|---|---|---|\n";
  t.quality << "| cell | markers pttcam / default / tuned | concealed (pttcam) | FEC frames | cutoffs | "
               "SNR pttcam / default / tuned | skipped JACK cycles pttcam / default / tuned |\n|---|---|---|---|---|---|---|\n";
  t.resources << "| cell | client CPU talking / idle | camera CPU playing | client / camera CPU per talk second (whole run) | "
                 "client / camera peak RSS | GStreamer sender CPU | receiver CPU default / tuned | sender / receiver peak RSS |\n"
                 "|---|---|---|---|---|---|---|---|\n";
  t.unlatched << "| cell | GStreamer tuned p50 | declared latency offset p50 / p99 | markers | SNR | sync=false p50 / p99 | "
                 "markers | SNR | ours / offset | ours / sync=false |\n|---|---|---|---|---|---|---|---|---|---|\n";
}

std::vector<Json> load_cells(const fs::path& dir) {
  std::ifstream list(dir / "cells.txt");
  if (!list) throw std::runtime_error("cannot read " + (dir / "cells.txt").string());
  std::vector<Json> cells;
  for (std::string name; std::getline(list, name);)
    if (!name.empty()) cells.push_back(read_json(dir / "cells" / name / "cell.json"));
  return cells;
}

// The client with the microphone open and the key up (its own split leaves start-up and the press
// out), from the idle run's summary; null without one.
Json load_idle(const fs::path& dir) {
  const auto path = dir / "idle" / "run" / "client-summary.json";
  if (!fs::exists(path)) return nullptr;
  const Json s = read_json(path);
  const Json split = field(s, k::kCpuSplit);
  return {{k::kSeconds, field(split, "idle_s")},
          {k::kClientCpuS, field(split, "idle_cpu_s")},
          {k::kClientCpuPct, field(split, k::kIdlePct)},
          {k::kMaxRssKb, field(s, k::kMaxRssKb)}};
}

void write_markdown(const fs::path& dir, const std::string& mode, const Tables& t, const Json& idle);

}  // namespace

void write_report(const std::string& dir_name, const std::string& matrix) {
  const fs::path dir(dir_name);
  const std::vector<Json> cells = load_cells(dir);
  const Json idle = load_idle(dir);
  const std::string mode = cells.empty() ? std::string("jack") : cells.front().value(k::kMode, std::string("jack"));
  const fs::path plots = dir / "plots";
  fs::create_directories(plots);
  Tables t;
  start_tables(t);
  Json out_cells = Json::array();
  for (const auto& cell : cells) {
    const References r = references_of(cell, cells);
    headline_row(t, cell, r);
    latency_row(t, cell, r);
    unlatched_row(t, cell, r);
    talk_row(t, cell);
    per_burst_rows(t, cell);
    quality_row(t, cell, r);
    resources_row(t, cell, r);
    const std::string name = cell[k::kName];
    if (cell[k::kMic] == "warm") {
      write_cdf_plot(plots, cell, r);
      t.figures << "- [" << name << ": mouth-to-ear CDF](plots/" << name << "-cdf.svg)\n";
    }
    if (out_cells.empty()) {
      write_timeline_plot(plots, cell);
      t.figures << "- [" << name << ": per-burst timeline](plots/" << name << "-timeline.svg)\n";
    }
    Json c = cell;
    c.erase(k::kReference);
    c[k::kReferenceDefault] = r.def;
    c[k::kReferenceTuned] = r.tuned;
    c[k::kReferenceVariants] = r.variants;
    out_cells.push_back(c);
  }
  write_json((dir / "results.json").string(),
             {{k::kMatrix, matrix}, {k::kMode, mode}, {k::kIdle, idle}, {k::kCells, out_cells}});
  write_markdown(dir, mode, t, idle);
}

namespace {

void write_markdown(const fs::path& dir, const std::string& mode, const Tables& t, const Json& idle) {
  std::ofstream md(dir / "results.md");
  md << (mode == "wav" ? "Every figure: mode `wav` (no JACK: the client's WAV microphone played the stimulus and the camera's "
                         "WAV speaker recorded, aligned on the monotonic clock by the two programs' start times; device "
                         "buffers are emulated, and the reference, which needs JACK, did not run).\n\n"
                       : "Every figure: mode `jack` (ground truth on the private JACK server's clock, markers found in the "
                         "recordings).\n\n")
     << (t.any_browser ? "Browser cells (`browser-opus`, `browser-red`) are on the monotonic clock in any mode: headless "
                         "Chromium talked the stimulus through a Web Audio track from a known instant and pressed Space by "
                         "the talk script; key times are the page's own key events; Chromium is the client, so there is "
                         "no client CPU. Method and what the figures include: docs/web.md.\n\n"
                       : "")
     << "### Headline\n\n" << t.headline.str()
     << "\nMouth-to-ear: a sound at the client's microphone to the same sound at the camera's speaker. Talk-start: the "
        "key press to the first sound heard. Lower is better; the tables below give p95/p99, the ladder of GStreamer "
        "settings, CPU and every press.\n\n"
     << "### Mouth-to-ear latency\n\n" << t.latency.str()
     << "\nThe reference (GStreamer: opusenc, rtpopuspay, rtpjitterbuffer, opusdec with FEC and PLC) streams continuously; "
        "\"tuned\" is the lowest rtpjitterbuffer latency of the ladder that lost no more markers than pttcam. "
        "A cold-mic cell uses the warm cell's reference (the reference has no microphone to open).\n"
     << (t.any_unlatched
             ? "\n### GStreamer without the receiver's declared latency\n\n" + t.unlatched.str() +
                   "\nBeyond rtpjitterbuffer's latency, the reference receiver declares 120 ms for opusdec (the longest "
                   "Opus packet) and 20 ms of the sink's processing deadline, and its sink plays that much later. "
                   "The offset receiver keeps playing on the pipeline clock but takes both back (processing-deadline=0 "
                   "and ts-offset=-120 ms): a sample is due rtpjitterbuffer's latency after its arrival-based "
                   "timestamp, which is what that latency is for; a sample that comes later than that is late for the "
                   "sink (dropped or resynced). sync=false removes all of it: the "
                   "sink plays whatever arrives, with no playout clock: the jitter buffer still reorders and waits for "
                   "lost packets, but nothing re-times the audio, so jitter reaches the speaker as gaps and a delay "
                   "once taken is not given back (compare its p99 and SNR under jitter). Neither is a \"tuned\" "
                   "candidate.\n"
             : std::string())
     << "\n### Talk-start (pttcam only: the reference has no talk key, talk-start is n/a for it)\n\n" << t.talk.str()
     << "\nThe camera reports latency at the sound card; the recording taps its JACK port. Its own figures are "
        "compared with the truth plus the system ports' declared latency (capture + playback for mouth-to-ear, "
        "playback for talk-start; dummy driver: 2.7 + 5.3 ms); the tables above are port to port. "
        "Key pressed by jack-io: pttcam-jack-io wrote the press to the client's standard input when the JACK frame "
        "time reached it, so talk-start runs from a known JACK sample; by the client: its own key_down event, placed "
        "on the recording through the monotonic clock. The camera's own talk-start is compared press by press over "
        "the presses where both exist (the camera has none for a burst whose first frame did not play from its own "
        "packet); the p50 column is over the presses it has. Tail: key-up to the end of the sound played for that "
        "press (negative: the sound stopped before the key came up, a clipped end); its difference is the camera's "
        "own tail (key-up to the end of the last frame it played, plus playback latency) per press.\n"
     << "\n### Per burst: truth against the camera's own figures\n\n" << t.per_burst.str()
     << "\nOne row per press. Key wake-up late: how many samples after its target jack-io's thread wrote the press; "
        "client took it after: the client's key_down event after jack-io's write (both on the monotonic clock). "
        "Sample clock paused: how much the JACK dummy driver's sample count fell behind the monotonic clock between "
        "key-down and the first sound (it paces itself with sleeps and pauses on a busy machine; the truth counts "
        "samples, the camera microseconds, so its own talk-start reads that much more). Camera's first frame: "
        "how the camera played the burst's first packet (`played`: from its own packet; `red`: from an RFC 2198 copy in a later packet; "
        "`fec`: rebuilt from the next packet; `lost`: concealed), from its packet log: the camera has its own talk-start only when it is `played`. "
        "Own figures are at the sound card, truth port to port plus the system ports' latency in the difference.\n"
     << "\n### Loss and quality\n\n" << t.quality.str()
     << "\nMarkers: found (correlation >= 0.7 at the right place) / expected (pttcam: only those spoken while the key "
        "was down; the reference: all). SNR: the played audio against the stimulus, each 250 ms aligned by "
        "cross-correlation, lost and concealed audio counting as noise. Skipped JACK cycles: cycles the recording "
        "client was not run for (an overloaded machine); such a run has holes that are not the receiver's.\n"
     << "\n### CPU (% of one core) and memory\n\n" << t.resources.str()
     << "\npttcam, talking / idle / playing: the programs' own split of their CPU time (`cpu_split` in the summaries): "
        "the client while its key was down, the client with the key up after start-up (microphone and speaker open), the "
        "camera while a burst played. Whole run: all CPU time, start-up and idle gaps included, per second of talk. "
        "GStreamer: CPU time per second of streaming (it streams all the time).\n";
  if (idle.is_object())
    md << "Client with the microphone open and the key up: " << num(get(idle, k::kClientCpuPct), 2)
       << " % of one core over " << num(get(idle, k::kSeconds), 1)
       << " s (a run with one short press at the end; the client's own split leaves start-up and the press out).\n";
  md << "\n### Plots\n\n" << t.figures.str();
}

}  // namespace

}  // namespace pttcam::bench
