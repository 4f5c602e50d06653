// pttcam-bench: the measuring half of tools/ptt-bench, and the one writer of its results format
// (results_format.hpp).
//   pttcam-bench stimulus --seconds S --out STIM.wav --markers MARKERS.json
//   pttcam-bench analyze --markers MARKERS.json --stimulus STIM.wav --recording REC.wav
//                        (--jack-info INFO.json | --camera-events CAMERA.jsonl)
//                        [--client-events CLIENT.jsonl --client-summary CLIENT.json
//                         --camera-summary CAMERA.json --camera-packets CAMERA.csv]
//                        [--variant V --kind K --sink S --jitterbuffer-latency-ms L --usage USAGE.json]
//                        --out RESULT.json
//   pttcam-bench cell --out CELL.json --name N --frame-ms F --link L --mic M --codec C --mode M
//                     --ours RESULT.json [--variant-result RESULT.json]...
//   pttcam-bench report --dir OUT [--matrix NAME]
// The stimulus is a quiet noise bed with a marker (a 120 ms chirp) every 600 ms. pttcam-jack-io plays it into
// ptt-client's capture port and records camera-sim's playback port, both from the same JACK cycle,
// so a marker found N samples later in the recording than in the stimulus took N samples from mouth
// to ear: ground truth on one audio clock, compared here with what the programs report themselves.
// Per press, the result lists the truth next to the camera's own figures for the burst it played
// ("presses"), and per marker its press and latency ("markers"), so a disagreement can be traced.
#include <CLI/CLI.hpp>

#include "pttcam/cli/parse.hpp"

#include <cstdio>
#include <string>

#include "analyze.hpp"
#include "bench_io.hpp"
#include "cell.hpp"
#include "pttcam/audio/sndfile.hpp"
#include "pttcam/dsp/markers.hpp"
#include "report.hpp"

namespace {

using namespace pttcam;
constexpr double kMarkerSpacingS = 0.6;

int stimulus(double seconds, const std::string& wav, const std::string& markers_path) {
  const auto s = dsp::make_marker_stimulus(seconds, kMarkerSpacingS, kMarkerSpacingS);
  audio::write_wav(wav, s.samples);
  std::ofstream(markers_path) << bench::Json{{"marker_at", s.marker_at}, {"marker", s.marker}}.dump() << '\n';
  return 0;
}

void add_analyze(CLI::App& app, bench::AnalyzeArgs& a) {
  auto* an = app.add_subcommand("analyze", "Measure a recording against the stimulus, write its results");
  an->add_option("--markers", a.markers)->required();
  an->add_option("--stimulus", a.stimulus, "The stimulus WAV (for SNR)")->required();
  an->add_option("--recording", a.recording)->required();
  auto* info = an->add_option("--jack-info", a.info, "pttcam-jack-io's --info (JACK mode)");
  an->add_option("--camera-events", a.camera_events, "WAV mode: the camera's events (its start aligns the recording)")
      ->excludes(info);
  an->add_option("--client-events", a.client_events, "Key presses; without it the stream is continuous");
  an->add_option("--client-summary", a.client_summary, "The client's --summary (its CPU and memory)");
  an->add_option("--camera-summary", a.camera_summary, "The camera's own figures, to compare");
  an->add_option("--camera-packets", a.camera_packets, "The camera's --packets CSV: how each burst's first frame played");
  an->add_option("--variant", a.variant, "A GStreamer receiver's name (default, lN, offset-N, nosync-N)");
  an->add_option("--kind", a.kind, "default, ladder, offset or nosync");
  an->add_option("--sink", a.sink, "The receiver's jackaudiosink settings");
  an->add_option("--jitterbuffer-latency-ms", a.jitterbuffer_latency_ms)->check(CLI::Range(0.0, 10000.0));
  an->add_option("--usage", a.usage, "The reference pass's usage.json (CPU and memory from /proc)");
  an->add_option("--out", a.out)->required();
}

void add_cell(CLI::App& app, bench::CellArgs& c) {
  auto* cell = app.add_subcommand("cell", "Write a cell's results: its settings, pttcam's and the reference's");
  cell->add_option("--out", c.out)->required();
  cell->add_option("--name", c.name)->required();
  cell->add_option("--frame-ms", c.frame_ms)->required();
  cell->add_option("--link", c.link)->required();
  cell->add_option("--mic", c.mic)->required()->check(CLI::IsMember({"warm", "cold"}));
  cell->add_option("--codec", c.codec)
      ->check(CLI::IsMember({"voice", "lowdelay", "rtsp-opus", "rtsp-pcmu", "rtsp-pcma", "rtsp-l16", "browser-opus",
                             "browser-red", "onvif-opus", "onvif-pcmu", "onvif-pcma", "onvif-l16"}));
  cell->add_option("--mode", c.mode)->required()->check(CLI::IsMember({"jack", "wav"}));
  cell->add_option("--ours", c.ours, "pttcam's result (analyze --out)")->required();
  cell->add_option("--variant-result", c.variants, "A GStreamer receiver's result (repeatable)");
}

int run(int argc, char** argv) {
  CLI::App app{"pttcam-bench: stimulus, ground-truth analysis and results of tools/ptt-bench"};
  app.require_subcommand(1);
  auto* stim = app.add_subcommand("stimulus", "Write the marker stimulus");
  double seconds = 10;
  std::string wav, markers;
  stim->add_option("--seconds", seconds)->check(CLI::Range(1.0, 3600.0));
  stim->add_option("--out", wav)->required();
  stim->add_option("--markers", markers)->required();
  bench::AnalyzeArgs a;
  add_analyze(app, a);
  bench::CellArgs c;
  add_cell(app, c);
  auto* rep = app.add_subcommand("report", "Write results.json, results.md and the plot scripts of a run");
  std::string dir, matrix = "quick";
  rep->add_option("--dir", dir, "The run's --out directory")->required();
  rep->add_option("--matrix", matrix);
  if (const auto code = cli::parse(app, argc, argv, "pttcam-bench")) return *code;
  if (*stim) return stimulus(seconds, wav, markers);
  if (*rep) {
    bench::write_report(dir, matrix);
  } else if (app.got_subcommand("cell")) {
    bench::write_cell(c);
  } else {
    bench::analyze(a);
  }
  return 0;
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
