#pragma once
// The receiver's settings and command-line options, shared by ptt-client (the camera's
// microphone) and camera-sim (the client's talk): the media engine's playout and what is
// measured about it. Header-only: only the programs' main.cpp include the CLI11 part.
#include <filesystem>
#include <string>

#include <CLI/CLI.hpp>

#include "pttcam/cli/parse.hpp"
#include "pttcam/measure/receiver_metrics.hpp"
#include "pttcam/media/receiver.hpp"

namespace pttcam::app {

struct ReceiverSettings {
  media::Receiver::Options playout;
  measure::ReceiverMetrics::Options metrics;
};

// `packets_path` receives --packets (the caller stores it in settings.metrics.packets_csv after parsing).
inline void add_receiver_options(CLI::App& app, ReceiverSettings& settings, std::string& packets_path) {
  auto& p = settings.playout;
  app.add_option("--playout-delay-ms", p.fixed_delay_ms,
                 "Fixed playout delay (ms); without it the jitter buffer adapts within --jitter-min-ms/--jitter-max-ms")
      ->check(CLI::Range(0.0, 2000.0));
  app.add_option("--jitter-min-ms", p.min_delay_ms, "Smallest adaptive playout delay (ms)")
      ->check(CLI::Range(0.0, 2000.0))
      ->capture_default_str();
  app.add_option("--jitter-max-ms", p.max_delay_ms, "Largest adaptive playout delay (ms)")
      ->check(CLI::Range(1.0, 2000.0))
      ->capture_default_str();
  app.add_option("--packets", packets_path,
                 "Write a per-packet CSV of the received audio (seq, timestamp, arrival, fate)");
  app.add_option("--cutoff-ms", settings.metrics.cutoff_ms,
                 "Concealment runs this long or longer inside a burst are cutoffs")
      ->check(CLI::Range(1.0, 10000.0))
      ->capture_default_str();
}

// After parsing: options that contradict each other are a usage error naming both.
inline void check_receiver_options(const ReceiverSettings& settings) {
  cli::require_not_above("--jitter-min-ms", settings.playout.min_delay_ms, "--jitter-max-ms",
                         settings.playout.max_delay_ms);
}

}  // namespace pttcam::app
