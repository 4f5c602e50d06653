#pragma once
#include <string>

namespace pttcam::bench {

struct AnalyzeArgs {
  std::string markers, stimulus, recording;
  std::string info;           // pttcam-jack-io --info (JACK mode)
  std::string camera_events;  // WAV mode instead of info: the two programs' start times align the files
  std::string client_events, client_summary, camera_summary, camera_packets, out;
  // A GStreamer receiver of the reference (continuous, no client events): how it was set up.
  std::string variant, kind, sink, usage;
  double jitterbuffer_latency_ms = 200;  // rtpjitterbuffer's default
};

// Measures one recording against the stimulus and writes its Result (results_format.hpp) to
// args.out; prints one line of figures. Throws on missing or malformed input.
void analyze(const AnalyzeArgs& args);

}  // namespace pttcam::bench
