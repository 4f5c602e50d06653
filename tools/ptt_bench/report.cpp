#include "report.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <vector>

#include <nlohmann/json.hpp>

namespace pttcam::bench {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

Json read_json(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  return Json::parse(in);
}

std::string num(double v, int decimals = 1) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

double get(const Json& j, const char* key, double fallback = 0) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : fallback;
}

bool measured(const Json& r) { return r.is_object() && get(r, "markers_found") > 0; }

double missed_fraction(const Json& r) {
  const double expected = get(r, "markers_expected");
  return expected > 0 ? 1.0 - get(r, "markers_found") / expected : 1.0;
}

std::string latency(const Json& r) {
  if (!measured(r)) return "–";
  const auto& m = r["mouth_to_ear_ms"];
  return num(get(m, "p50")) + " / " + num(get(m, "p95")) + " / " + num(get(m, "p99")) + " ms";
}

std::string ratio(const Json& ours, const Json& ref) {
  if (!measured(ours) || !measured(ref)) return "–";
  return num(get(ours["mouth_to_ear_ms"], "p50") / get(ref["mouth_to_ear_ms"], "p50"), 2);
}

std::string markers(const Json& r) {
  if (!r.is_object()) return "–";
  return num(get(r, "markers_found"), 0) + "/" + num(get(r, "markers_expected"), 0);
}

double cpu_s(const Json& usage) { return get(usage, "cpu_user_s") + get(usage, "cpu_system_s"); }

// The cell's Opus mode: "voice" (the default) or "lowdelay".
std::string codec_of(const Json& cell) { return cell.value("codec", std::string("voice")); }

// CPU time as a percentage of one core over `seconds`.
std::string cpu_pct(double cpu, double seconds) { return seconds > 0 ? num(100.0 * cpu / seconds, 2) + " %" : "–"; }

std::string mib(double kb) { return num(kb / 1024.0) + " MiB"; }

// The lowest ladder latency that loses no more markers than ours did (same stimulus, same link).
Json pick_tuned(const Json& variants, const Json& ours) {
  std::vector<Json> ladder;
  for (const auto& v : variants)
    if (v.value("kind", v["variant"] == "default" ? std::string("default") : std::string("ladder")) == "ladder")
      ladder.push_back(v);
  std::sort(ladder.begin(), ladder.end(), [](const Json& a, const Json& b) {
    return a["jitterbuffer_latency_ms"].get<double>() < b["jitterbuffer_latency_ms"].get<double>();
  });
  for (const auto& v : ladder)
    if (measured(v) && missed_fraction(v) <= missed_fraction(ours) + 1e-9) return v;
  return nullptr;
}

void write_cdf(const fs::path& path, const Json& r) {
  std::ofstream out(path);
  auto v = r.is_object() ? r.value("mouth_to_ear_each_ms", std::vector<double>{}) : std::vector<double>{};
  std::sort(v.begin(), v.end());
  for (std::size_t i = 0; i < v.size(); ++i) out << v[i] << ' ' << static_cast<double>(i + 1) / v.size() << '\n';
}

std::string quoted(const std::string& s) { return "'" + s + "'"; }

void write_cdf_plot(const fs::path& plots, const Json& cell, const Json& def, const Json& tuned) {
  const std::string name = cell["name"];
  write_cdf(plots / (name + "-ours.dat"), cell["ours"]);
  write_cdf(plots / (name + "-ref-default.dat"), def);
  write_cdf(plots / (name + "-ref-tuned.dat"), tuned);
  std::ofstream gp(plots / (name + "-cdf.gp"));
  gp << "set terminal svg size 720,420 dynamic background rgb 'white'\n"
     << "set output " << quoted((plots / (name + "-cdf.svg")).string()) << "\n"
     << "set title " << quoted("mouth-to-ear, " + name + " (" + cell["link"].get<std::string>() + ", " +
                               num(cell["frame_ms"].get<double>(), 0) + " ms frames; JACK ground truth)")
     << "\nset xlabel 'mouth-to-ear latency (ms)'\nset ylabel 'fraction of markers'\nset yrange [0:1.05]\n"
     << "set key bottom right\nset grid\n"
     << "plot " << quoted((plots / (name + "-ours.dat")).string()) << " using 1:2 with steps lw 2 title 'pttcam'";
  const auto add = [&](const char* file, const std::string& title, const Json& r) {
    if (measured(r)) gp << ", \\\n     " << quoted((plots / (name + file)).string()) << " using 1:2 with steps lw 2 title " << quoted(title);
  };
  add("-ref-default.dat", "GStreamer, rtpjitterbuffer default (200 ms)", def);
  if (tuned.is_object())
    add("-ref-tuned.dat", "GStreamer, tuned (" + num(tuned["jitterbuffer_latency_ms"].get<double>(), 0) + " ms)", tuned);
  gp << "\n";
}

// Per press: the key held (down to up) and the sound played (first to last sample), seconds.
void write_timeline_plot(const fs::path& plots, const Json& cell) {
  const std::string name = cell["name"];
  const auto data = plots / (name + "-timeline.dat");
  std::ofstream out(data);
  int k = 0;
  for (const auto& p : cell["ours"].value("presses", Json::array())) {
    ++k;
    const auto s = [&](const char* key) { return p[key].is_number() ? num(p[key].get<double>() / 1000.0, 4) : "NaN"; };
    out << k << ' ' << s("down_ms") << ' ' << s("up_ms") << ' ' << s("first_sound_ms") << ' ' << s("last_sound_ms") << '\n';
  }
  std::ofstream gp(plots / (name + "-timeline.gp"));
  // Two panels on a millisecond scale (seconds would hide it): each press's start (key-down at 0
  // to the first sample played) and end (key-up at 0 to the last sample played); the absolute
  // times are in the .dat file (seconds from the stimulus start: burst, down, up, first, last).
  gp << "set terminal svg size 860,360 dynamic background rgb 'white'\n"
     << "set output " << quoted((plots / (name + "-timeline.svg")).string()) << "\n"
     << "set multiplot layout 1,2 title " << quoted("per burst, " + name + " (JACK ground truth)") << "\n"
     << "set ylabel 'burst'\nset ytics 1\nset yrange [0.5:" << k + 0.5 << "]\nset grid x\nset style fill solid\n"
     << "set xlabel 'ms after key-down'\nset title 'key-down (0) to first sample played'\n"
     << "plot " << quoted(data.string()) << " using (($4-$2)*500):1:(($4-$2)*500):(0.3) with boxxyerror lc rgb '#4477aa' notitle\n"
     << "set xlabel 'ms after key-up'\nset title 'key-up (0) to last sample played'\n"
     << "plot " << quoted(data.string()) << " using (($5-$3)*500):1:(($5-$3)*500):(0.3) with boxxyerror lc rgb '#ee6677' notitle\n"
     << "unset multiplot\n";
}

}  // namespace

void write_report(const std::string& dir_name, const std::string& matrix) {
  const fs::path dir(dir_name);
  std::ifstream list(dir / "cells.txt");
  if (!list) throw std::runtime_error("cannot read " + (dir / "cells.txt").string());
  std::vector<Json> cells;
  for (std::string name; std::getline(list, name);)
    if (!name.empty()) cells.push_back(read_json(dir / "cells" / name / "cell.json"));
  const Json idle = fs::exists(dir / "idle" / "idle.json") ? read_json(dir / "idle" / "idle.json") : Json(nullptr);
  const std::string mode = cells.empty() ? std::string("jack") : cells.front().value("mode", std::string("jack"));
  const fs::path plots = dir / "plots";
  fs::create_directories(plots);

  // A cold-mic cell has no reference of its own: the warm cell with the same frames and link.
  const auto reference_of = [&](const Json& cell) -> Json {
    if (cell["reference"].is_array()) return cell["reference"];
    for (const auto& c : cells)
      if (c["frame_ms"] == cell["frame_ms"] && c["link"] == cell["link"] && codec_of(c) == codec_of(cell) &&
          c["reference"].is_array())
        return c["reference"];
    return nullptr;
  };

  std::ostringstream lat, talk, quality, res, figures;
  lat << "| cell | frames | link | mic | pttcam p50 / p95 / p99 | GStreamer default (200 ms) p50 / p95 / p99 | "
         "GStreamer tuned p50 / p95 / p99 | ours / default | ours / tuned |\n|---|---|---|---|---|---|---|---|---|\n";
  talk << "| cell | mic | key pressed by | talk-start p50 / p99 (truth) | unmeasured presses | "
          "camera's own talk-start p50 | diff per press p50 (presses) | camera's own mouth-to-ear p50 (diff) | "
          "tail p50 / p99 (truth) | tail diff per press p50 |\n"
          "|---|---|---|---|---|---|---|---|---|---|\n";
  std::ostringstream per_burst;
  per_burst << "| cell | press | key-down at | key wake-up late | client took it after | camera's first frame | "
               "talk-start truth / own (diff) | sample clock paused | mouth-to-ear p50 truth / own (diff) | markers | "
               "FEC / concealed frames |\n|---|---|---|---|---|---|---|---|---|---|---|\n";
  quality << "| cell | markers pttcam / default / tuned | concealed (pttcam) | FEC frames | cutoffs | "
             "SNR pttcam / default / tuned | skipped JACK cycles pttcam / default / tuned |\n|---|---|---|---|---|---|---|\n";
  res << "| cell | client CPU talking / idle | camera CPU playing | client / camera CPU per talk second (whole run) | "
         "client / camera peak RSS | GStreamer sender CPU | receiver CPU default / tuned | sender / receiver peak RSS |\n"
         "|---|---|---|---|---|---|---|---|\n";
  std::ostringstream unlatched;
  bool any_unlatched = false;
  unlatched << "| cell | GStreamer tuned p50 | declared latency offset p50 / p99 | markers | SNR | sync=false p50 / p99 | "
               "markers | SNR | ours / offset | ours / sync=false |\n|---|---|---|---|---|---|---|---|---|---|\n";
  Json out_cells = Json::array();
  bool first_cell = true;
  for (auto cell : cells) {
    const Json& ours = cell["ours"];
    const Json variants = reference_of(cell);
    Json def = nullptr, tuned = nullptr;
    if (variants.is_array()) {
      for (const auto& v : variants)
        if (v["variant"] == "default") def = v;
      tuned = pick_tuned(variants, ours);
    }
    const std::string name = cell["name"];
    Json offset = nullptr, nosync = nullptr;
    if (variants.is_array())
      for (const auto& v : variants) {
        if (v.value("kind", std::string()) == "offset") offset = v;
        if (v.value("kind", std::string()) == "nosync") nosync = v;
      }
    if (cell["mic"] == "warm" && (offset.is_object() || nosync.is_object())) {
      any_unlatched = true;
      const auto p50_p99 = [](const Json& r) {
        return measured(r) ? num(get(r["mouth_to_ear_ms"], "p50")) + " / " + num(get(r["mouth_to_ear_ms"], "p99")) + " ms"
                           : std::string("–");
      };
      const auto snr_of = [](const Json& r) { return r.is_object() ? num(get(r, "snr_db")) + " dB" : std::string("–"); };
      const auto label = [](const Json& r) {
        return r.is_object() ? " (" + num(r["jitterbuffer_latency_ms"].get<double>(), 0) + " ms)" : std::string();
      };
      unlatched << "| " << name << " | "
                << (measured(tuned) ? num(get(tuned["mouth_to_ear_ms"], "p50")) + " ms" + label(tuned) : std::string("–"))
                << " | " << p50_p99(offset) << label(offset) << " | " << markers(offset) << " | "
                << snr_of(offset) << " | " << p50_p99(nosync) << label(nosync) << " | " << markers(nosync) << " | "
                << snr_of(nosync) << " | " << ratio(ours, offset) << " | " << ratio(ours, nosync) << " |\n";
    }
    const std::string tuned_label =
        tuned.is_object() ? " (" + num(tuned["jitterbuffer_latency_ms"].get<double>(), 0) + " ms)" : "";
    lat << "| " << name << " | " << cell["frame_ms"] << " ms" << (codec_of(cell) == "lowdelay" ? " low-delay" : "")
        << " | " << cell["link"].get<std::string>() << " | "
        << cell["mic"].get<std::string>() << " | " << latency(ours) << " | " << latency(def) << " | "
        << (variants.is_array() && !tuned.is_object() ? "no rung lost as little" : latency(tuned) + tuned_label)
        << " | " << ratio(ours, def) << " | " << ratio(ours, tuned) << " |\n";
    const auto& ts = ours["talk_start_ms"];
    const auto& own = ours.value("self_reported", Json::object());
    const auto own_ts = own.value("talk_start_ms", std::vector<double>{});
    std::vector<double> sorted = own_ts;
    std::sort(sorted.begin(), sorted.end());
    const auto& diff = ours.value("difference_ms", Json::object());
    const std::string source = ours.value("talk_start_source", std::string());
    talk << "| " << name << " | " << cell["mic"].get<std::string>() << " | "
         << (source == "jack_key_frames" ? "jack-io (JACK frame)" : "client (monotonic)") << " | " << num(get(ts, "p50"))
         << " / " << num(get(ts, "p99")) << " ms | " << ours.value("talk_start_unmeasured", 0) << " | "
         << (sorted.empty() ? "–" : num(sorted[sorted.size() / 2]) + " ms") << " | "
         << (diff.contains("talk_start_p50") && diff["talk_start_p50"].is_number()
                 ? num(get(diff, "talk_start_p50")) + " ms (" + num(get(diff, "talk_start_presses_compared"), 0) + ")"
                 : std::string("–"))
         << " | " << num(get(own, "mouth_to_ear_p50_ms")) << " ms (" << num(get(diff, "mouth_to_ear_p50")) << ") | "
         << (ours.contains("tail_ms") ? num(get(ours["tail_ms"], "p50")) + " / " + num(get(ours["tail_ms"], "p99")) + " ms"
                                      : std::string("–"))
         << " | "
         << (diff.contains("tail_p50") && diff["tail_p50"].is_number()
                 ? num(get(diff, "tail_p50")) + " ms (" + num(get(diff, "tail_presses_compared"), 0) + ")"
                 : std::string("–"))
         << " |\n";
    for (const auto& p : ours.value("presses", Json::array())) {
      const auto ms = [](const Json& v, int d = 1) { return v.is_number() ? num(v.get<double>(), d) : std::string("–"); };
      const Json cam = p.value("camera", Json());
      const Json pd = p.value("difference_ms", Json::object());
      const auto field = [](const Json& j, const char* k) { return j.is_object() && j.contains(k) ? j[k] : Json(); };
      const auto signed_ms = [&](const Json& v) { return v.is_number() ? (v.get<double>() >= 0 ? "+" : "") + num(v.get<double>()) : std::string("–"); };
      per_burst << "| " << name << " | " << p["press"] << " | " << ms(p["down_ms"]) << " ms | "
                << (p.contains("key_late_samples") ? num(p["key_late_samples"].get<double>(), 0) + " samples" : "–") << " | "
                << (p.contains("client_key_down_after_ms") && source == "jack_key_frames" ? ms(p["client_key_down_after_ms"], 2) + " ms" : "–")
                << " | " << (field(cam, "first_frame").is_string() ? field(cam, "first_frame").get<std::string>() : "–") << " | "
                << ms(p["talk_start_ms"]) << " / " << ms(field(cam, "talk_start_ms")) << " (" << signed_ms(field(pd, "talk_start"))
                << ") | " << (p.contains("clock_pause_in_talk_start_ms") ? ms(p["clock_pause_in_talk_start_ms"]) + " ms" : "–")
                << " | " << ms(p["mouth_to_ear_p50_ms"]) << " / " << ms(field(cam, "mouth_to_ear_p50_ms")) << " ("
                << signed_ms(field(pd, "mouth_to_ear_p50")) << ") | " << p["markers_found"] << "/" << p["markers_expected"]
                << " | " << ms(field(cam, "frames_fec"), 0) << " / " << ms(field(cam, "frames_concealed"), 0) << " |\n";
    }
    const auto snr = [](const Json& r) { return r.is_object() ? num(get(r, "snr_db")) : std::string("–"); };
    const auto xruns = [](const Json& r) { return r.is_object() ? num(get(r, "jack_xruns"), 0) : std::string("–"); };
    quality << "| " << name << " | " << markers(ours) << " / " << markers(def) << " / " << markers(tuned) << " | "
            << num(get(ours, "concealed_pct")) << " % | " << get(ours, "frames_fec") << " | " << get(ours, "cutoffs")
            << " | " << snr(ours) << " / " << snr(def) << " / " << snr(tuned) << " dB | " << xruns(ours) << " / "
            << xruns(def) << " / " << xruns(tuned) << " |\n";
    const Json& client = ours["client"];
    const Json& camera = ours["camera"];
    const auto ref_cpu = [](const Json& v, const char* key) {
      return v.is_object() ? cpu_pct(get(v[key], "cpu_s"), get(v, "seconds")) : std::string("–");
    };
    const auto ref_rss = [](const Json& v, const char* key) {
      return v.is_object() ? mib(get(v[key], "max_rss_kb")) : std::string("–");
    };
    const auto split = [](const Json& side, const char* key) {
      return side.contains("cpu_split") && side["cpu_split"].is_object() ? num(get(side["cpu_split"], key), 2) + " %"
                                                                         : std::string("–");
    };
    res << "| " << name << " | " << split(client, "active_pct") << " / " << split(client, "idle_pct") << " | "
        << split(camera, "active_pct") << " | " << cpu_pct(cpu_s(client), get(client, "talk_seconds")) << " / "
        << cpu_pct(cpu_s(camera), get(camera, "talk_seconds")) << " | " << mib(get(client, "max_rss_kb")) << " / "
        << mib(get(camera, "max_rss_kb")) << " | " << ref_cpu(def, "sender_usage") << " | " << ref_cpu(def, "usage")
        << " / " << ref_cpu(tuned, "usage") << " | " << ref_rss(def, "sender_usage") << " / " << ref_rss(def, "usage")
        << " |\n";
    if (cell["mic"] == "warm") {
      write_cdf_plot(plots, cell, def, tuned);
      figures << "- [" << name << ": mouth-to-ear CDF](plots/" << name << "-cdf.svg)\n";
    }
    if (first_cell) {
      write_timeline_plot(plots, cell);
      figures << "- [" << name << ": per-burst timeline](plots/" << name << "-timeline.svg)\n";
      first_cell = false;
    }
    cell["reference_default"] = def;
    cell["reference_tuned"] = tuned;
    cell.erase("reference");
    cell["reference_variants"] = variants;
    out_cells.push_back(cell);
  }

  std::ofstream(dir / "results.json") << Json{{"matrix", matrix}, {"mode", mode}, {"idle", idle}, {"cells", out_cells}}.dump(2)
                                      << '\n';
  std::ofstream md(dir / "results.md");
  md << (mode == "wav" ? "Every figure: mode `wav` (no JACK: the client's WAV microphone played the stimulus and the camera's "
                         "WAV speaker recorded, aligned on the monotonic clock by the two programs' start times; device "
                         "buffers are emulated, and the reference, which needs JACK, did not run).\n\n"
                       : "Every figure: mode `jack` (ground truth on the private JACK server's clock, markers found in the "
                         "recordings).\n\n")
     << "### Mouth-to-ear latency\n\n" << lat.str()
     << "\nThe reference (GStreamer: opusenc, rtpopuspay, rtpjitterbuffer, opusdec with FEC and PLC) streams continuously; "
        "\"tuned\" is the lowest rtpjitterbuffer latency of the ladder that lost no more markers than pttcam. "
        "A cold-mic cell uses the warm cell's reference (the reference has no microphone to open).\n"
     << (any_unlatched
             ? "\n### GStreamer without the receiver's declared latency\n\n" + unlatched.str() +
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
     << "\n### Talk-start (pttcam only: the reference has no talk key, talk-start is n/a for it)\n\n" << talk.str()
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
     << "\n### Per burst: truth against the camera's own figures\n\n" << per_burst.str()
     << "\nOne row per press. Key wake-up late: how many samples after its target jack-io's thread wrote the press; "
        "client took it after: the client's key_down event after jack-io's write (both on the monotonic clock). "
        "Sample clock paused: how much the JACK dummy driver's sample count fell behind the monotonic clock between "
        "key-down and the first sound (it paces itself with sleeps and pauses on a busy machine; the truth counts "
        "samples, the camera microseconds, so its own talk-start reads that much more). Camera's first frame: "
        "how the camera played the burst's first packet (`played`: from its own packet; `red`: from an RFC 2198 copy in a later packet; "
        "`fec`: rebuilt from the next packet; `lost`: concealed), from its packet log: the camera has its own talk-start only when it is `played`. "
        "Own figures are at the sound card, truth port to port plus the system ports' latency in the difference.\n"
     << "\n### Loss and quality\n\n" << quality.str()
     << "\nMarkers: found (correlation >= 0.7 at the right place) / expected (pttcam: only those spoken while the key "
        "was down; the reference: all). SNR: the played audio against the stimulus, each 250 ms aligned by "
        "cross-correlation, lost and concealed audio counting as noise. Skipped JACK cycles: cycles the recording "
        "client was not run for (an overloaded machine); such a run has holes that are not the receiver's.\n"
     << "\n### CPU (% of one core) and memory\n\n" << res.str()
     << "\npttcam, talking / idle / playing: the programs' own split of their CPU time (`cpu_split` in the summaries): "
        "the client while its key was down, the client with the key up after start-up (microphone and speaker open), the "
        "camera while a burst played. Whole run: all CPU time, start-up and idle gaps included, per second of talk. "
        "GStreamer: CPU time per second of streaming (it streams all the time).\n";
  if (idle.is_object())
    md << "Client with the microphone open and the key up: " << num(get(idle, "client_cpu_pct"), 2)
       << " % of one core over " << num(get(idle, "seconds"), 1)
       << " s (a run with one short press at the end; the client's own split leaves start-up and the press out).\n";
  md << "\n### Plots\n\n" << figures.str();
}

}  // namespace pttcam::bench
