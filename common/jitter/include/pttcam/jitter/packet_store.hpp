#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "pttcam/jitter/types.hpp"

namespace pttcam::jitter {

// One packet waiting for its turn. `seq` is the unwrapped (64-bit) sequence number.
struct StoredPacket {
  // The largest RTP payload of a 1500-byte datagram: holds the largest Opus packet (1275 bytes)
  // and a G.711/L16 packet as large as a sender's MTU allows.
  static constexpr std::size_t kMaxPayload = 1488;

  std::int64_t seq = 0;
  bool marker = false;
  bool end_of_burst = false;
  bool has_fec = false;
  int samples = 0;
  Micros arrival_us = 0;
  Micros above_floor_us = 0;  // how late it came, as the BurstClock saw it (0 if not measured)
  bool redundant = false;     // a copy carried by a later packet (RFC 2198), not the packet itself
  std::optional<Micros> capture_us;
  std::size_t size = 0;
  std::array<std::byte, kMaxPayload> data{};

  std::span<const std::byte> payload() const noexcept { return {data.data(), size}; }
};

// Fixed slots for the packets waiting to be played, indexed by unwrapped sequence number. Never
// allocates. It holds at most kSlots consecutive sequence numbers at once (so no two packets share
// a slot) and refuses anything at or below its floor: the newest number played or given up on.
// A packet that does not fit is refused with an explicit result; the caller picks the policy.
// Called from one thread.
class PacketStore {
 public:
  static constexpr std::size_t kSlots = 128;  // 2.56 s of 20 ms frames; a power of two
  static constexpr std::size_t kMaxPayload = StoredPacket::kMaxPayload;

  enum class Result {
    stored,
    duplicate,  // that sequence number is already waiting
    too_late,   // at or below the floor: its frame was played or given up on
    too_old,    // kSlots or more below the newest waiting packet
    full,       // kSlots or more above the oldest waiting packet
    too_large,  // payload over kMaxPayload
  };

  Result insert(std::int64_t seq, const IncomingPacket& packet, Micros arrival_us, Micros above_floor_us = 0,
                bool redundant = false) noexcept;

  const StoredPacket* find(std::int64_t seq) const noexcept;
  const StoredPacket* oldest() const noexcept;
  std::optional<std::int64_t> newest() const noexcept;
  bool has_after(std::int64_t seq) const noexcept;  // anything waiting with a higher number
  const StoredPacket* earliest() const noexcept;  // the first to arrive of those waiting
  std::size_t size() const noexcept { return count_; }
  bool empty() const noexcept { return count_ == 0; }

  // Takes the packet out; its bytes stay readable until the next insert().
  void erase(std::int64_t seq) noexcept;

  std::optional<std::int64_t> floor() const noexcept { return floor_; }
  // Moves the floor either way; waiting packets at or below a raised floor are dropped.
  void set_floor(std::optional<std::int64_t> floor) noexcept;
  // Raises the floor to `seq` (never lowers it) and drops what waits at or below it. Returns how
  // many waiting packets were dropped.
  std::size_t give_up_through(std::int64_t seq) noexcept;

  void clear() noexcept;  // drops every waiting packet, keeps the floor
  void reset() noexcept;  // a new stream: no packets, no floor

 private:
  struct Slot {
    bool used = false;
    StoredPacket packet;
  };
  static std::size_t index(std::int64_t seq) noexcept {
    return static_cast<std::size_t>(static_cast<std::uint64_t>(seq) & (kSlots - 1));
  }
  std::size_t drop_through(std::int64_t seq) noexcept;
  template <class Before>
  const StoredPacket* first_by(Before before) const noexcept;

  std::array<Slot, kSlots> slots_{};
  std::size_t count_ = 0;
  std::optional<std::int64_t> floor_;
};

const char* to_string(PacketStore::Result) noexcept;

}  // namespace pttcam::jitter
