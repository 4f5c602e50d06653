#pragma once
// The receiver's command-line options, shared by ptt-client (the camera's microphone) and
// camera-sim (the client's talk). Header-only: only the programs' main.cpp include it (CLI11).
#include <CLI/CLI.hpp>

#include <string>

#include "pttcam/stream/audio_receiver.hpp"

namespace pttcam::stream {

// `packets_path` receives --packets (the caller stores it in options.packets_csv after parsing).
inline void add_receiver_options(CLI::App& app, AudioReceiver::Options& options, std::string& packets_path) {
  app.add_option("--playout-delay-ms", options.fixed_delay_ms,
                 "Fixed playout delay (ms); without it the jitter buffer adapts within --jitter-min-ms/--jitter-max-ms")
      ->check(CLI::Range(0.0, 2000.0));
  app.add_option("--jitter-min-ms", options.min_delay_ms, "Smallest adaptive playout delay (ms)")
      ->check(CLI::Range(0.0, 2000.0))
      ->capture_default_str();
  app.add_option("--jitter-max-ms", options.max_delay_ms, "Largest adaptive playout delay (ms)")
      ->check(CLI::Range(1.0, 2000.0))
      ->capture_default_str();
  app.add_option("--packets", packets_path, "Write a per-packet CSV of the received audio (seq, timestamp, arrival, fate)");
  app.add_option("--cutoff-ms", options.cutoff_ms, "Concealment runs this long or longer inside a burst are cutoffs")
      ->check(CLI::Range(1.0, 10000.0))
      ->capture_default_str();
}

}  // namespace pttcam::stream
