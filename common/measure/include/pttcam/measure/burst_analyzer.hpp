#pragma once
// Per-burst timeline and cutoff detection at a receiver. Pure: it is told what the playout
// decided for each frame and when that frame will be heard; it never sees a clock or a socket.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <deque>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "pttcam/jitter/types.hpp"
#include "pttcam/measure/latency_histogram.hpp"
#include "pttcam/media/observer.hpp"

namespace pttcam::measure {

using Micros = std::int64_t;

using media::PacketInfo;

struct Cutoff {
  std::uint64_t burst = 0;
  Micros at_us = 0;        // play time where the gap starts (heard from then on)
  double duration_ms = 0;  // how much of the talk was not heard as sent (0: unknown, see cause)
  // loss (packets never came), bandwidth (they never came or came late, and before that the
  // packets' delay had been climbing: a queue filled up on a link slower than the stream),
  // late_packets (they came after their time: jitter), head_clipped, tail_clipped (the end never came), or what
  // ended the burst: session_cap, keepalive_timeout, power_cycle, session_end
  std::string cause;
};

struct Percentiles {
  double p50 = 0, p95 = 0, p99 = 0, max = 0;
  std::uint64_t count = 0;
};

struct BurstSummary {
  std::uint64_t index = 0;
  Micros first_play_us = 0;
  Micros last_play_end_us = 0;
  std::optional<double> talk_start_ms;  // key-down at the sender -> first sample heard
  std::optional<double> tail_ms;        // key-up at the sender -> last sample heard
  double head_clipped_ms = 0;           // start of the burst that never played
  std::uint64_t frames_normal = 0;
  std::uint64_t frames_fec = 0;
  std::uint64_t frames_concealed = 0;
  // Mouth-to-ear of the burst's normally played frames, once the burst is over (while it plays they
  // go into a LatencyHistogram: 0.1 ms resolution, max exact).
  Percentiles mouth_to_ear;
  std::vector<Cutoff> cutoffs;
  bool terminated = false;  // its last packet played
  std::string ended_by;     // "end" | "timeout" | cut cause
};

class BurstAnalyzer {
 public:
  explicit BurstAnalyzer(double cutoff_ms = 60) : cutoff_ms_(cutoff_ms) {}

  // One playout decision; `packet` describes the packet a normal frame plays (null otherwise).
  // `play_us` is when the frame's first sample will be heard.
  void on_frame(const jitter::PlayoutFrame& frame, const PacketInfo* packet, Micros play_us);
  // A packet arrived after its frame had been played or concealed (its wire sequence number).
  void on_late(std::uint16_t sequence);
  // The burst in progress was cut short (session cap, power cycle, ...).
  void on_cut(const std::string& cause, Micros play_us);
  // Time passes with nothing to play: a burst that timed out long enough ago is final.
  void on_idle(Micros now_us);
  // Makes everything final (the receiver is stopping).
  // A burst still playing ends here, with what it played so far (ended_by "receiver_stopped").
  void finish_all();

  // Bursts that ended since the last call (their cutoffs are final then).
  std::vector<BurstSummary> take_finished();
  // The finished bursts, the newest kKeptBursts of them (a soak must not grow); bursts() counts all.
  const std::deque<BurstSummary>& all() const noexcept { return done_; }
  std::uint64_t bursts() const noexcept { return finished_; }
  // Talk heard, over every finished burst: first to last sample played.
  double talk_seconds() const noexcept { return talk_seconds_; }
  static constexpr std::size_t kKeptBursts = 1000;
  // Every normally played frame's mouth-to-ear and every burst's talk-start, in fixed memory.
  const LatencyHistogram& mouth_to_ear() const noexcept { return mouth_to_ear_; }
  const LatencyHistogram& talk_start() const noexcept { return talk_start_; }
  bool in_burst() const noexcept { return current_.has_value(); }
  bool suspended() const noexcept { return suspended_.has_value(); }

 private:
  struct Run {
    Micros at_us = 0;
    int samples = 0;
    std::vector<std::int64_t> sequences;
    Micros queue_growth_us = 0;  // how far a queue had pushed the delay up before the run
  };
  // How far the packets' one-way delay (arrival - RTP timestamp) stands above the burst's lowest:
  // the median of the newest quarter of the last second of played frames, minus that lowest.
  Micros queue_growth_us() const;
  const char* loss_cause(const Run& r, bool any_late) const;
  struct Suspended {
    BurstSummary summary;
    Run tail;  // the concealment that ran until the timeout
    std::uint32_t burst_start_ts = 0;
    Micros since_us = 0;
    std::unique_ptr<LatencyHistogram> mouth_to_ear;  // its frames so far
  };
  void begin(const PacketInfo* packet, Micros play_us);
  void count(const jitter::PlayoutFrame& frame, const PacketInfo* packet, Micros play_us, Micros end_us);
  void note_delay(const PacketInfo& packet, Micros play_us);
  void end(const jitter::PlayoutFrame& frame, Micros play_us);
  void take_back_waiting(int stopped_frames);
  void close_run();
  void finish(const std::string& ended_by, Micros end_us);
  void cut_current(const std::string& cause, Micros play_us);
  void resume(const PacketInfo& packet, Micros play_us);
  void finish_suspended();

  double cutoff_ms_;
  std::optional<BurstSummary> current_;
  std::vector<Run> runs_;  // concealment runs of the current burst, classified at its end
  std::optional<Run> run_;
  std::optional<std::uint32_t> burst_start_ts_;  // of the burst playing now
  std::optional<Suspended> suspended_;           // timed out, may resume
  // The newest late packets of the burst (a ring: a long stream with steady jitter must not grow);
  // a run is classified from those that came while or soon after it played.
  static constexpr std::size_t kLateKept = 512;
  std::array<std::uint16_t, kLateKept> late_{};
  std::size_t late_count_ = 0;
  bool was_late(std::uint16_t sequence) const noexcept;
  struct Delay {
    Micros play_us;
    Micros delay_us;
  };
  std::vector<Delay> delays_;  // normal frames of the burst in the last kQueueWindowUs
  std::optional<Micros> lowest_delay_us_;  // of the burst so far
  std::deque<BurstSummary> done_;
  std::uint64_t finished_ = 0;
  double talk_seconds_ = 0;
  LatencyHistogram mouth_to_ear_;
  LatencyHistogram talk_start_;
  std::unique_ptr<LatencyHistogram> burst_mouth_to_ear_;  // of the burst playing now (heap: 80 kB)
  std::size_t reported_ = 0;
  std::uint64_t next_index_ = 1;
};

nlohmann::json to_json(const BurstSummary& b);
nlohmann::json to_json(const Cutoff& c);
double percentile(std::vector<double> values, double p);

}  // namespace pttcam::measure
