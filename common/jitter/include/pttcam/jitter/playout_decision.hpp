#pragma once
#include <cstdint>
#include <optional>

#include "pttcam/jitter/packet_store.hpp"
#include "pttcam/jitter/types.hpp"

namespace pttcam::jitter {

struct FrameCounters {
  std::uint64_t lost = 0;                // frames whose packet was not there when due
  std::uint64_t fec_recovered = 0;       // ... of which rebuilt from the next packet's FEC
  std::uint64_t concealed = 0;           // ... of which played by PLC
  std::uint64_t concealment_events = 0;  // runs of consecutive PLC frames
  std::uint64_t normal = 0;
  std::uint64_t bursts = 0;
  std::uint64_t bursts_unterminated = 0;    // ended by timeout or by the next burst: end packet lost
  std::uint64_t bursts_stopped = 0;  // ... the same on a stream without end flags: the sender stopped
  std::uint64_t bursts_without_marker = 0;  // started at a packet without marker: the first was lost
  std::uint64_t stretched = 0;  // concealed frames that waited for a stalled packet (delay +1 frame)
  std::uint64_t redundancy_recovered = 0;  // fec_recovered frames played from an RFC 2198 copy
};

// What the speaker plays next, frame by frame, from the packets in a PacketStore; the same
// decisions as the fixed-delay playout (tests/support), with the start delay chosen per burst by the caller.
//
// A burst's delay clock starts at the first packet stored while idle, or, for a burst whose
// packets arrived while the previous one played, at the earliest of them when that one ends
// (a marker met in place of the lost end starts it at that marker's arrival). Its delay is fixed
// then: the `delay_us` passed with that call, less how late that packet already was
// (`above_floor_us`, 0 for a fixed delay), never below the least wait (set_min_wait()). The burst starts playing at clock +
// that wait from the oldest waiting packet, or, if an older packet of the burst came after the
// one that started the clock, when that older one is due: its arrival - its above_floor_us +
// the delay, if that is sooner (with a fixed delay it never is). Then one frame per next():
//   - the due packet is there: normal (unless it carries a marker: a new burst began while this
//     one waited for its lost end, so this one ends, unterminated, with a silence frame); if
//     only a redundant copy of it came (RFC 2198, in a later packet): fec, from that copy;
//   - else the next packet carries FEC at least as long as the frame: fec, from that packet;
//   - else concealed; with nothing waiting, concealment stops after max_conceal_samples and the
//     burst ends unterminated. Only the first concealed number of that run stood for a packet
//     that was due (most likely the lost end); the rest were guesses the sender will reuse, so
//     the store's floor goes back to that first one, and a marker packet inside the guessed
//     range re-points the playout to it (admit()).
// A burst also ends at the frame of its end packet. Numbers given up on by the store (its floor
// was raised past them) are skipped. Pure; called from one thread.
class PlayoutDecision {
 public:
  PlayoutDecision(PacketStore& store, int max_conceal_samples) noexcept
      : store_(store), max_conceal_samples_(max_conceal_samples) {}
  PlayoutDecision(const PlayoutDecision&) = delete;
  PlayoutDecision& operator=(const PlayoutDecision&) = delete;

  // Before a packet goes into the store: a marker packet numbered inside the range concealed
  // with nothing buffered lowers the floor so that it is stored and plays next.
  // Without end flags, a burst-start packet numbered at the first concealed frame does too (the
  // sender paused: DTX). So does the packet after a timestamp jump inside the burst (`jumped`:
  // the sender's capture stalled; the concealment was its gap), its own number included.
  void admit(std::int64_t seq, bool marker, bool jumped = false) noexcept;
  // After a packet was stored: starts the delay clock if idle and not started.
  void on_stored(const StoredPacket& packet, Micros delay_us) noexcept;
  PlayoutFrame next(Micros now_us, int silence_samples, Micros delay_us) noexcept;
  // Ends the burst, drops what waits; those numbers become late (floor at the newest seen).
  void flush() noexcept;
  void reset() noexcept;  // a new stream
  // Whether the stream flags its bursts' ends (IncomingPacket::ends_flagged; true by default).
  // Without: a burst that runs out is the sender stopping or pausing (RFC 3551 streams, DTX);
  // the concealment that waited for it is not loss, and its numbers stay free for the sender.
  void set_ends_flagged(bool flagged) noexcept { ends_flagged_ = flagged; }

  // Lets a burst's delay grow while it plays: when the packet due is missing, a concealed frame is
  // played *without* giving up on that packet, which buys it one more frame, if
  //   - nothing after it has arrived yet (a stall) and `on_stall` allows it, or
  //   - the burst plays more than half a frame below `grow_to_us` (the jitter grew: packets
  //     came later than the delay this burst started with);
  // up to `max_extra_us` per burst. Off (0) by default: a fixed delay.
  void set_stretch(Micros max_extra_us, bool on_stall, Micros grow_to_us) noexcept {
    max_stretch_us_ = max_extra_us;
    stretch_on_stall_ = on_stall;
    grow_to_us_ = grow_to_us;
  }

  // However late a burst's first packet came, the burst waits at least this long after it (up to
  // the whole delay): the timeline is only as exact as the sender's timestamps across a pause,
  // which a few milliseconds of scheduling can shift. 0 by default.
  void set_min_wait(Micros us) noexcept { min_wait_us_ = std::max<Micros>(us, 0); }

  bool in_burst() const noexcept { return active_; }
  // The playing burst's delay above the fastest recent packet: its first packet's lateness +
  // the wait + what it stretched. 0 when idle.
  Micros current_delay_us() const noexcept {
    return active_ ? current_offset_us_ + current_delay_us_ + stretched_us_ : 0;
  }
  // When the waiting burst may start, if one waits.
  std::optional<Micros> start_at_us() const noexcept;
  const FrameCounters& counters() const noexcept { return counters_; }

 private:
  void arm(const StoredPacket& anchor, Micros delay_us) noexcept;
  // A packet of the waiting burst older than its anchor, that is due before the anchor's start.
  const StoredPacket* due_before_anchor() const noexcept;
  Micros own_due(const StoredPacket& p) const noexcept;  // its timeline's due time, after the least wait
  PlayoutFrame play(const StoredPacket& packet) noexcept;
  bool start_burst(Micros now_us) noexcept;
  std::optional<PlayoutFrame> missing(const PlayoutFrame& silence, Micros frame_us, bool behind_may_stretch,
                                      bool may_stretch) noexcept;
  PlayoutFrame conceal_missing() noexcept;
  PlayoutFrame advance(PlayoutFrame f, Micros delay_us) noexcept;
  PlayoutFrame lose() noexcept;
  PlayoutFrame stretch_frame(Micros frame_us) noexcept;  // concealed, the packet still awaited
  PlayoutFrame end_unterminated(PlayoutFrame silence) noexcept;
  // Frames concealed since the last packet played while nothing after them was buffered.
  struct Tail {
    std::uint64_t lost = 0, concealed = 0, events = 0, stretched = 0;
    int frames = 0;
  };
  void add_to_tail(const FrameCounters& before) noexcept;

  PacketStore& store_;
  int max_conceal_samples_;
  Micros max_stretch_us_ = 0;
  Micros min_wait_us_ = 0;
  bool stretch_on_stall_ = false;
  Micros grow_to_us_ = 0;
  Micros stretched_us_ = 0;  // delay added inside the playing burst
  FrameCounters counters_;
  std::optional<Micros> burst_arrival_;  // the waiting burst's delay clock
  Micros pending_delay_us_ = 0;          // ... and its wait
  Micros pending_offset_us_ = 0;         // ... and how late its first packet was
  Micros pending_target_us_ = 0;         // ... and the delay it was armed with
  std::int64_t anchor_seq_ = 0;          // ... and that packet's number
  Micros current_delay_us_ = 0;          // wait of the burst playing
  Micros current_offset_us_ = 0;         // ... and its first packet's lateness
  bool active_ = false;
  bool burst_first_ = false;
  bool last_concealed_ = false;
  std::int64_t next_seq_ = 0;
  int last_samples_ = 960;
  int conceal_run_ = 0;            // samples concealed in a row with nothing buffered
  std::int64_t conceal_from_ = 0;  // sequence number of the first frame of that run
  bool ends_flagged_ = true;
  Tail tail_;
};

}  // namespace pttcam::jitter
