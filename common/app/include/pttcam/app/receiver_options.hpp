#pragma once
// The receiver's settings and command-line options, shared by ptt-client (the camera's
// microphone) and camera-sim (the client's talk): the media engine's playout and what is
// measured about it. Header-only: only the programs' main.cpp include the CLI11 part.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <string>

#include "pttcam/cli/parse.hpp"
#include "pttcam/codec/opus_settings.hpp"
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

// The RTP payload types a program sends and expects (one pair for both directions, as an SDP's
// m-line gives one). apply_payload_types() copies them to the receiver after parsing.
inline void add_payload_type_options(CLI::App& app, codec::OpusSettings& opus) {
  const auto rule = CLI::Validator(
      [](std::string& text) -> std::string {
        int pt = -1;
        if (!CLI::detail::lexical_cast(text, pt)) return "not a number: '" + text + "'";
        return codec::OpusSettings::check_payload_type(pt);
      },
      "PT");
  app.add_option("--payload-type", opus.payload_type,
                 "RTP payload type of Opus, sent and expected (ffmpeg sends 97, GStreamer's rtpopuspay 96)")
      ->check(rule)
      ->capture_default_str();
  app.add_option("--red-payload-type", opus.red_payload_type,
                 "RTP payload type of RFC 2198 redundancy around Opus, sent and expected")
      ->check(rule)
      ->capture_default_str();
}

inline void apply_payload_types(const codec::OpusSettings& opus, ReceiverSettings& settings) {
  settings.playout.payload_type = static_cast<std::uint8_t>(opus.payload_type);
  settings.playout.red_payload_type = static_cast<std::uint8_t>(opus.red_payload_type);
}

// What the far end's latest RTCP report said about this program's stream, one line starting with
// `prefix` ("" when no report came), for the exit summary.
inline std::string far_end_line(const nlohmann::json& s, const std::string& prefix) {
  const auto it = s.find("far_end_report");
  if (it == s.end() || it->is_null()) return {};
  const auto& r = *it;
  char line[200];
  std::snprintf(line, sizeof line, "the far end reports (RTCP): %lld lost, %.1f %% lately, jitter %.2f ms\n",
                static_cast<long long>(r.value("cumulative_lost", 0)), r.value("fraction_lost_pct", 0.0),
                r.value("jitter_ms", 0.0));
  return prefix + line;
}

// Why packets were dropped, one line each starting with `prefix`, for the exit summary on stderr.
inline std::string drop_reasons(const nlohmann::json& s, const std::string& prefix) {
  std::string out;
  const auto u = [&](const char* k) { return s.value(k, 0ULL); };
  const auto line = [&](std::uint64_t n, const std::string& why) {
    if (n > 0) out += prefix + std::to_string(n) + " dropped: " + why + "\n";
  };
  line(u("wrong_payload_type"), "wrong payload type " + std::to_string(s.value("last_wrong_payload_type", -1)) +
                                    ", expected " + std::to_string(s.value("payload_type", 0)) + " (Opus) or " +
                                    std::to_string(s.value("red_payload_type", 0)) +
                                    " (RED); set --payload-type or --sdp");
  line(u("malformed"), "not RTP (see malformed_by_reason in --summary)");
  line(u("bad_opus"), "not an Opus packet");
  line(u("bad_payload"), "G.711/L16 payloads that are not whole samples");
  line(u("bad_red"), "RED blocks that do not add up");
  line(u("rtcp_malformed"), "malformed RTCP");
  return out;
}

}  // namespace pttcam::app
