#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace pttcam::playout {

using Micros = std::int64_t;

// What the receiver knows of one RTP/Opus packet before it is stored. The caller has already
// parsed the RTP header and asked the codec for the packet's duration and whether it carries FEC.
struct IncomingPacket {
  std::uint32_t ssrc = 0;
  std::uint16_t sequence = 0;
  std::uint32_t timestamp = 0;
  bool marker = false;        // first packet of a talk burst
  bool end_of_burst = false;  // last packet of a talk burst
  bool has_fec = false;       // carries in-band FEC for the packet before it
  int samples = 0;            // duration at 48 kHz
  std::optional<Micros> capture_us;
  std::span<const std::byte> payload;
};

enum class InsertResult { accepted, duplicate, late, too_large };

enum class FrameKind { silence, normal, fec, concealed };
const char* to_string(FrameKind) noexcept;

// One decision of the playout: what the speaker plays next, and for how many samples.
struct PlayoutFrame {
  FrameKind kind = FrameKind::silence;
  int samples = 0;
  // normal: the packet to decode; fec: the *next* packet, whose FEC rebuilds this frame.
  // Valid until the next insert().
  std::span<const std::byte> payload;
  std::optional<Micros> capture_us;  // normal frames: when the sender captured its first sample
  std::int64_t sequence = -1;        // unwrapped sequence number of the frame (-1 for silence)
  bool burst_start = false;
  bool burst_end = false;  // this frame ends the burst (end flag seen, or it timed out)
  // fec only: `payload` is a whole copy of this frame from a later packet (RFC 2198
  // redundancy), to decode as a normal packet rather than for its in-band FEC.
  bool redundant = false;
};

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
  static constexpr std::size_t kMaxPayload = 1275;

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

}  // namespace pttcam::playout
