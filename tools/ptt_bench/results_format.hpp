#pragma once
// The results format of tools/ptt-bench, defined once: every key pttcam-bench writes (analyze, cell,
// report) and reads back (report) is named here, and nowhere else. docs/bench-results.md shows the
// structure; tools/ptt-bench (the driver) writes none of it: it hands pttcam-bench paths and
// settings and only lists the cells' names (DIR/cells.txt).
//
// Files of a run, DIR = ptt-bench --out:
//   DIR/cells.txt                       cell names in run order (the driver)
//   DIR/cells/NAME/cell.json            one Cell (pttcam-bench cell)
//   DIR/cells/NAME/ours/result.json     the cell's Result for pttcam (pttcam-bench analyze)
//   DIR/cells/NAME/variant-V.json       a Result for one GStreamer receiver V (pttcam-bench analyze --variant)
//   DIR/idle/run/client-summary.json    the client's --summary of the idle run (read by report)
//   DIR/results.json                    {matrix, mode, idle: Idle, cells: [Cell + picked references]}
// Inputs written by the programs, not by pttcam-bench: jack-io.json (pttcam-jack-io --info), the
// client's and camera's --summary and --events, the camera's --packets CSV, and usage.json of a
// reference pass (the driver's /proc reading: {seconds, sender: Usage, receivers: {V: Usage}} with
// Usage = {cpu_s, max_rss_kb}).

namespace pttcam::bench::key {

// Cell: what was run, and its results.
inline constexpr char kName[] = "name";
inline constexpr char kFrameMs[] = "frame_ms";
inline constexpr char kLink[] = "link";  // net-impair --up spec or "clean"
inline constexpr char kMic[] = "mic";    // "warm" | "cold"
inline constexpr char kCodec[] = "codec";  // "voice" | "lowdelay" | "rtsp-<codec>" | "onvif-<codec>"
inline constexpr char kMode[] = "mode";    // "jack" | "wav"
inline constexpr char kOurs[] = "ours";    // Result (pttcam)
inline constexpr char kReference[] = "reference";  // [Result of each variant] or null (cell.json only)
// results.json's cells: "reference" replaced by these three.
inline constexpr char kReferenceDefault[] = "reference_default";
inline constexpr char kReferenceTuned[] = "reference_tuned";
inline constexpr char kReferenceVariants[] = "reference_variants";

// Result: one recording measured against the stimulus.
inline constexpr char kContinuous[] = "continuous";  // the reference: no talk key
inline constexpr char kSnrDb[] = "snr_db";
inline constexpr char kMarkersExpected[] = "markers_expected";
inline constexpr char kMarkersFound[] = "markers_found";
inline constexpr char kMarkersMissed[] = "markers_missed";
inline constexpr char kMouthToEarMs[] = "mouth_to_ear_ms";  // Percentiles
inline constexpr char kMouthToEarEachMs[] = "mouth_to_ear_each_ms";
inline constexpr char kMarkers[] = "markers";  // [{at_ms, press, correlation, mouth_to_ear_ms, clock_pause_ms}]
inline constexpr char kAtMs[] = "at_ms";
inline constexpr char kPress[] = "press";
inline constexpr char kCorrelation[] = "correlation";
inline constexpr char kClockPauseMs[] = "clock_pause_ms";
inline constexpr char kJackXruns[] = "jack_xruns";
// Percentiles: p50, p95, p99 (talk-start and tail: p50, p99, each).
inline constexpr char kP50[] = "p50";
inline constexpr char kP95[] = "p95";
inline constexpr char kP99[] = "p99";
inline constexpr char kEach[] = "each";
// Result, push-to-talk only (pttcam).
inline constexpr char kTalkStartMs[] = "talk_start_ms";
inline constexpr char kTalkStartUnmeasured[] = "talk_start_unmeasured";
inline constexpr char kTalkStartSource[] = "talk_start_source";  // "jack_key_frames" | "client_events_…"
inline constexpr char kKeyLateSamples[] = "key_late_samples";
inline constexpr char kPresses[] = "presses";  // [Press]
inline constexpr char kTailMs[] = "tail_ms";
inline constexpr char kDeviceLatencyMs[] = "device_latency_ms";  // {capture, playback}
inline constexpr char kCapture[] = "capture";
inline constexpr char kPlayback[] = "playback";
inline constexpr char kSelfReported[] = "self_reported";  // {mouth_to_ear_p50_ms, mouth_to_ear_p99_ms, talk_start_ms: []}
inline constexpr char kMouthToEarP50Ms[] = "mouth_to_ear_p50_ms";
inline constexpr char kMouthToEarP99Ms[] = "mouth_to_ear_p99_ms";
inline constexpr char kDifferenceMs[] = "difference_ms";  // the camera's own figure minus the truth
inline constexpr char kMouthToEarP50[] = "mouth_to_ear_p50";
inline constexpr char kTalkStartP50[] = "talk_start_p50";
inline constexpr char kTalkStartPressesCompared[] = "talk_start_presses_compared";
inline constexpr char kTalkStartP50Unpaired[] = "talk_start_p50_unpaired";
inline constexpr char kMouthToEarP50ByBurst[] = "mouth_to_ear_p50_by_burst";
inline constexpr char kTailP50[] = "tail_p50";
inline constexpr char kTailPressesCompared[] = "tail_presses_compared";
inline constexpr char kConcealedPct[] = "concealed_pct";
inline constexpr char kFramesFec[] = "frames_fec";
inline constexpr char kCutoffs[] = "cutoffs";
inline constexpr char kClient[] = "client";  // Usage of a program, from its --summary:
inline constexpr char kCamera[] = "camera";  // {cpu_user_s, cpu_system_s, max_rss_kb, talk_seconds, cpu_split}
inline constexpr char kCpuUserS[] = "cpu_user_s";
inline constexpr char kCpuSystemS[] = "cpu_system_s";
inline constexpr char kMaxRssKb[] = "max_rss_kb";
inline constexpr char kTalkSeconds[] = "talk_seconds";
inline constexpr char kCpuSplit[] = "cpu_split";  // the programs' own: active_pct, idle_pct, idle_s, idle_cpu_s
inline constexpr char kActivePct[] = "active_pct";
inline constexpr char kIdlePct[] = "idle_pct";

// Press: one key press, the truth next to the camera's own figures for the burst it played.
inline constexpr char kDownMs[] = "down_ms";
inline constexpr char kUpMs[] = "up_ms";
inline constexpr char kFirstSoundMs[] = "first_sound_ms";
inline constexpr char kLastSoundMs[] = "last_sound_ms";
inline constexpr char kClientKeyDownAfterMs[] = "client_key_down_after_ms";
inline constexpr char kClockPauseInTalkStartMs[] = "clock_pause_in_talk_start_ms";
// Press "camera" (null when no burst played in the press): the camera's burst_summary, abridged.
inline constexpr char kBurst[] = "burst";
inline constexpr char kBurstsThisPress[] = "bursts_this_press";
inline constexpr char kFramesNormal[] = "frames_normal";
inline constexpr char kFramesConcealed[] = "frames_concealed";
inline constexpr char kHeadClippedMs[] = "head_clipped_ms";
inline constexpr char kFirstSeq[] = "first_seq";
inline constexpr char kFirstFrame[] = "first_frame";  // played | red | fec | lost
// Press "difference_ms": talk_start, talk_start_less_clock_pause, tail, mouth_to_ear_p50.
inline constexpr char kTalkStart[] = "talk_start";
inline constexpr char kTalkStartLessClockPause[] = "talk_start_less_clock_pause";
inline constexpr char kTail[] = "tail";

// Result of a GStreamer receiver (analyze --variant).
inline constexpr char kVariant[] = "variant";  // default | lN | offset-N | nosync-N
inline constexpr char kKind[] = "kind";        // default | ladder | offset | nosync
inline constexpr char kSink[] = "sink";        // the jackaudiosink settings
inline constexpr char kJitterbufferLatencyMs[] = "jitterbuffer_latency_ms";
inline constexpr char kUsage[] = "usage";            // the receiver's {cpu_s, max_rss_kb}
inline constexpr char kSenderUsage[] = "sender_usage";  // the sender's
inline constexpr char kSeconds[] = "seconds";
inline constexpr char kCpuS[] = "cpu_s";
inline constexpr char kReceivers[] = "receivers";  // usage.json
inline constexpr char kSender[] = "sender";        // usage.json

// results.json.
inline constexpr char kMatrix[] = "matrix";
inline constexpr char kIdle[] = "idle";  // {seconds, client_cpu_s, client_cpu_pct, max_rss_kb} or null
inline constexpr char kCells[] = "cells";
inline constexpr char kClientCpuS[] = "client_cpu_s";
inline constexpr char kClientCpuPct[] = "client_cpu_pct";

}  // namespace pttcam::bench::key
