#pragma once
// The fixed-delay playout the jitter buffer replaced, kept as the tests' reference: the scenario
// table (playout_scenarios.hpp) runs against both and shows where adaptive playout differs.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "pttcam/jitter/types.hpp"

namespace pttcam::test {

using jitter::FrameKind;
using jitter::IncomingPacket;
using jitter::InsertResult;
using jitter::Micros;
using jitter::PlayoutFrame;

struct PlayoutCounters {
  std::uint64_t received = 0;
  std::uint64_t duplicate = 0;
  std::uint64_t late = 0;
  std::uint64_t too_large = 0;
  std::uint64_t lost = 0;            // frames whose packet was not there when due
  std::uint64_t fec_recovered = 0;
  std::uint64_t concealed = 0;       // frames played by PLC
  std::uint64_t normal = 0;
  std::uint64_t bursts = 0;
  std::uint64_t bursts_unterminated = 0;  // ended by timeout: their last packet never came
  std::uint64_t stream_changes = 0;       // new SSRC (sender restarted)
};

// Talk-burst playout with a fixed delay: a burst starts playing `delay` after its first packet
// arrived, then one frame is taken per call as the speaker needs it; a missing frame is rebuilt
// from the next packet's FEC if it is there, else concealed; a burst ends at its end flag, or
// after `max_conceal_samples` of concealment with nothing buffered. Pure: time is passed in.
// Called from one thread.
class FixedDelayPlayout {
 public:
  struct Config {
    Micros delay_us = 10'000;
    int max_conceal_samples = 4800;  // 100 ms
  };
  static constexpr std::size_t kSlots = 128;
  static constexpr std::size_t kMaxPayload = 1488;  // as jitter::PacketStore

  explicit FixedDelayPlayout(Config config) : config_(config) {}

  InsertResult insert(const IncomingPacket& packet, Micros arrival_us) noexcept;
  // The next frame to play; `silence_samples` is how much silence to return when idle.
  PlayoutFrame next(Micros now_us, int silence_samples) noexcept;

  // Ends the burst in progress and drops every waiting packet (a session cap cut the talk):
  // those packets, if they come again, count as late. The stream (SSRC) is kept.
  void flush() noexcept;

  bool in_burst() const noexcept { return active_; }
  const PlayoutCounters& counters() const noexcept { return counters_; }

 private:
  struct Slot {
    bool used = false;
    std::int64_t seq = 0;
    bool marker = false;
    bool end_of_burst = false;
    bool has_fec = false;
    int samples = 0;
    Micros arrival_us = 0;
    std::optional<Micros> capture_us;
    std::size_t size = 0;
    std::array<std::byte, kMaxPayload> data{};
  };

  Slot* find(std::int64_t seq) noexcept;
  Slot* lowest() noexcept;
  std::int64_t unwrap(std::uint16_t seq) noexcept;
  void reset_stream() noexcept;
  PlayoutFrame play(Slot& slot) noexcept;
  PlayoutFrame lose(Micros now_us) noexcept;

  Config config_;
  PlayoutCounters counters_;
  std::array<Slot, kSlots> slots_{};
  bool have_stream_ = false;
  std::uint32_t ssrc_ = 0;
  std::int64_t last_unwrapped_ = 0;
  std::optional<std::int64_t> played_up_to_;  // newest sequence played or given up on
  std::optional<Micros> burst_arrival_;       // first arrival while idle: starts the delay
  bool active_ = false;
  bool burst_first_ = false;
  std::int64_t next_seq_ = 0;
  int last_samples_ = 960;
  int conceal_run_ = 0;  // samples concealed in a row with nothing buffered
  std::int64_t conceal_from_ = 0;  // sequence number of the first frame of that run
};

}  // namespace pttcam::test
