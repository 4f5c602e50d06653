#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>

#include "pttcam/jitter/burst_clock.hpp"
#include "pttcam/jitter/delay_estimator.hpp"
#include "pttcam/jitter/interarrival_jitter.hpp"
#include "pttcam/jitter/packet_store.hpp"
#include "pttcam/jitter/playout_decision.hpp"
#include "pttcam/jitter/types.hpp"
#include "pttcam/rtp/sequence.hpp"

namespace pttcam::jitter {

// A superset of the fixed-delay reference's counters (same names for the same things).
struct JitterCounters : FrameCounters {
  std::uint64_t received = 0;
  std::uint64_t duplicate = 0;
  std::uint64_t late = 0;        // arrived after its frame was played, concealed or given up on
  std::uint64_t reordered = 0;   // stored although a higher number had arrived before it
  std::uint64_t too_large = 0;
  std::uint64_t overflow = 0;    // waiting packets dropped because the sender ran kSlots ahead
  std::uint64_t stream_changes = 0;  // new SSRC (sender restarted)
  std::uint64_t timestamp_jumps = 0;  // inside a burst: the sender's capture stalled (a gap, not loss)
  std::uint64_t redundant_received = 0;  // RFC 2198 copies handed in
  std::uint64_t redundant_stored = 0;    // ... of which were kept (their own packet was missing)
  double interarrival_jitter_us = 0;  // RFC 3550 §6.4.1, per talk burst, in microseconds
};

// Adaptive talk-burst playout: a drop-in for the fixed-delay playout it replaced (tests/support), whose start delay is
// re-chosen at every burst start as the DelayEstimator's current target, the smallest delay that
// would have made at most late_target of the recent packets late. Inside a burst nothing is
// stretched: frames are taken one per next() as the speaker needs them, exactly as
// FixedDelayPlayout does (with min_delay_us == max_delay_us the two behave identically).
//
// insert(): the packet's timing on its burst's clock (BurstClock) feeds the estimator and the
// RFC 3550 jitter (duplicates and oversize packets excepted; late packets included: they are
// what the estimator must learn from); then it is stored, or refused as late, duplicate or
// too_large. When the sender runs kSlots ahead of the speaker the newer packets win: the store
// gives up on the oldest numbers (counted in `overflow`), the playout skips them, and copies
// that come later are late.
// A new SSRC starts a new stream, and nothing learned from the old one is kept (a stranger's or an
// earlier session's audio must not delay this one); so does forget_stream() with the same SSRC.
// Pure: time is passed in. Called from one thread.
class JitterBuffer {
 public:
  struct Config {
    Micros min_delay_us = 0;
    Micros max_delay_us = 500'000;
    double late_target = 0.005;  // at most 0.5 % of packets late
    int max_conceal_samples = 4800;  // 100 ms of PLC with nothing buffered ends a burst
    Micros initial_delay_us = 20'000;  // until 1 s of packets has been seen
  };
  static constexpr std::size_t kSlots = PacketStore::kSlots;
  static constexpr std::size_t kMaxPayload = PacketStore::kMaxPayload;

  explicit JitterBuffer(Config config) noexcept;
  // Frames point into the store, which the decision refers to: not copyable, not movable.
  JitterBuffer(const JitterBuffer&) = delete;
  JitterBuffer& operator=(const JitterBuffer&) = delete;

  InsertResult insert(const IncomingPacket& packet, Micros arrival_us) noexcept;
  // A copy of an earlier frame that a packet carried (RFC 2198 redundancy), handed in right after
  // that packet's insert(): stored when its frame is neither waiting nor played nor given up on
  // (accepted), else ignored (duplicate). Never timed, never counted as received, duplicate or
  // late; played, its frame counts as lost and FEC-recovered (redundancy_recovered).
  InsertResult insert_redundant(const IncomingPacket& copy, Micros arrival_us) noexcept;
  // The next frame to play; `silence_samples` is how much silence to return when idle.
  // Payloads are valid until the next insert().
  PlayoutFrame next(Micros now_us, int silence_samples) noexcept;
  // Ends the burst in progress and drops every waiting packet (a session cap cut the talk):
  // those packets, if they come again, count as late. The stream (SSRC) is kept.
  void flush() noexcept;
  // The sender restarted with the same SSRC (new sequence and timestamp bases, RFC 3550 A.1
  // resynchronisation): as for a new SSRC, nothing waiting or playing belongs to the new stream.
  void restart_stream() noexcept;
  // A new session: the next packet starts a new stream even with the same SSRC (delay estimate,
  // loss history and timing start afresh). Call while nothing plays or waits.
  void forget_stream() noexcept;

  bool in_burst() const noexcept { return decision_.in_burst(); }
  bool waiting() const noexcept { return !store_.empty(); }  // packets stored, not played yet
  // When the waiting burst may start playing, if one waits (next() before then gives silence).
  std::optional<Micros> start_at_us() const noexcept { return decision_.start_at_us(); }
  // The delay the next burst gets: the estimator's, plus a frame of FEC headroom while frames
  // go missing (more than kFecHeadroomLossRate of them, and the stream carries FEC or RFC 2198
  // copies), two with copies two frames back and more than kDeepHeadroomLossRate missing.
  Micros target_delay_us() const noexcept;
  static constexpr double kFecHeadroomLossRate = 0.005;
  static constexpr double kDeepHeadroomLossRate = 0.03;
  static constexpr Micros kMaxStretchUs = 60'000;
  // About one second of memory (50 frames of 20 ms) for how often frames go missing.
  static constexpr double kLossAlpha = 1.0 / 50;
  Micros current_delay_us() const noexcept { return decision_.current_delay_us(); }  // 0 when idle
  const JitterCounters& counters() const noexcept { return counters_; }
  const DelayEstimator& estimator() const noexcept { return estimator_; }

 private:
  void new_stream(std::uint32_t ssrc) noexcept;
  void observe_timing(std::int64_t seq, const IncomingPacket& p, Micros arrival_us, bool idle) noexcept;

  JitterCounters counters_;
  PacketStore store_;
  PlayoutDecision decision_;
  DelayEstimator estimator_;
  BurstClock clock_;
  InterarrivalJitter jitter_;
  rtp::SeqUnwrapper seq_;
  std::optional<std::uint32_t> ssrc_;
  std::optional<std::int64_t> newest_seq_;
  std::uint32_t newest_ts_ = 0;  // ... its timestamp and length
  int newest_samples_ = 0;
  Micros max_delay_us_;
  double loss_rate_ = 0;  // moving average of frames not played from their own packet
  double loss_rate_at_last_packet_ = 0;  // ... as the last packet played left it
  int recovery_depth_ = 0;  // how many frames back a later packet can rebuild (FEC, copies): 0-2
  Micros above_floor_us_ = 0;  // the last packet's lateness (BurstClock), 0 with a fixed delay
  std::uint32_t last_timestamp_ = 0;  // the last packet's, for the copies it carries
  bool stretch_enabled_ = false;
  Micros frame_us_ = 20'000;
};

}  // namespace pttcam::jitter
