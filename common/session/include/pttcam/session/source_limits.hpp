#pragma once
// What the camera grants a source before it has a session: a few answers a second (a token bucket
// per source address) and a few lines in the event log (then counted, not written), so that a
// flood of STARTs, spoofed or not, can neither reflect traffic at a victim nor fill the disk.
// Sources share kSlots slots by a hash of their address: memory stays fixed however many there
// are; a colliding address only shares the limits. Pure; one thread (the camera's io thread).
#include <array>
#include <cstddef>
#include <cstdint>

#include "pttcam/session/output.hpp"

namespace pttcam::session {

class SourceLimits {
 public:
  static constexpr std::size_t kSlots = 1024;
  static constexpr std::uint32_t kBurst = 8;                 // answers at once
  static constexpr Micros kRefillUs = 250'000;               // then one per 250 ms (4 a second)
  static constexpr std::uint32_t kLinesPerSource = 20;       // event-log lines, then counted

  enum class Line { write, write_last, suppress };

  // True while the source has an answer left; a refused answer is counted.
  bool allow_answer(const Peer& from, Micros now) noexcept;
  // write: log it; write_last: log it and say that further lines are counted; suppress: count it.
  Line line(const Peer& from) noexcept;

  std::uint64_t answers_refused() const noexcept { return answers_refused_; }
  std::uint64_t lines_suppressed() const noexcept { return lines_suppressed_; }

 private:
  struct Slot {
    bool used = false;
    std::uint32_t tokens = 0;
    Micros refilled_at = 0;
    std::uint32_t lines = 0;
  };
  Slot& slot(const Peer& from) noexcept;

  std::array<Slot, kSlots> slots_{};
  std::uint64_t answers_refused_ = 0;
  std::uint64_t lines_suppressed_ = 0;
};

}  // namespace pttcam::session
