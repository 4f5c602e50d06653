#include "pttcam/jitter/packet_store.hpp"

#include <algorithm>

namespace pttcam::jitter {

static_assert((PacketStore::kSlots & (PacketStore::kSlots - 1)) == 0, "index() masks: kSlots must be a power of two");

const char* to_string(PacketStore::Result result) noexcept {
  switch (result) {
    case PacketStore::Result::stored: return "stored";
    case PacketStore::Result::duplicate: return "duplicate";
    case PacketStore::Result::too_late: return "too_late";
    case PacketStore::Result::too_old: return "too_old";
    case PacketStore::Result::full: return "full";
    case PacketStore::Result::too_large: return "too_large";
  }
  return "?";
}

PacketStore::Result PacketStore::insert(std::int64_t seq, const IncomingPacket& p, Micros arrival_us,
                                       Micros above_floor_us, bool redundant) noexcept {
  if (p.payload.size() > kMaxPayload) return Result::too_large;
  if (floor_ && seq <= *floor_) return Result::too_late;
  if (find(seq)) return Result::duplicate;
  if (count_ > 0) {
    // Keeping every waiting number inside one window of kSlots means each has a slot of its own.
    constexpr auto kSpan = static_cast<std::int64_t>(kSlots);
    if (seq >= oldest()->seq + kSpan) return Result::full;
    if (seq <= *newest() - kSpan) return Result::too_old;
  }
  Slot& slot = slots_[index(seq)];
  slot.used = true;
  StoredPacket& s = slot.packet;
  s.seq = seq;
  s.marker = p.marker;
  s.end_of_burst = p.end_of_burst;
  s.has_fec = p.has_fec;
  s.samples = p.samples;
  s.arrival_us = arrival_us;
  s.above_floor_us = above_floor_us;
  s.redundant = redundant;
  s.capture_us = p.capture_us;
  s.size = p.payload.size();
  std::copy(p.payload.begin(), p.payload.end(), s.data.begin());
  ++count_;
  return Result::stored;
}

const StoredPacket* PacketStore::find(std::int64_t seq) const noexcept {
  const Slot& slot = slots_[index(seq)];
  return slot.used && slot.packet.seq == seq ? &slot.packet : nullptr;
}

// The waiting packet that comes first in `before`'s order, if any (a scan of the slots).
template <class Before>
const StoredPacket* PacketStore::first_by(Before before) const noexcept {
  const StoredPacket* best = nullptr;
  if (count_ == 0) return best;
  for (const auto& slot : slots_)
    if (slot.used && (!best || before(slot.packet, *best))) best = &slot.packet;
  return best;
}

const StoredPacket* PacketStore::oldest() const noexcept {
  return first_by([](const StoredPacket& a, const StoredPacket& b) { return a.seq < b.seq; });
}

std::optional<std::int64_t> PacketStore::newest() const noexcept {
  const StoredPacket* p = first_by([](const StoredPacket& a, const StoredPacket& b) { return a.seq > b.seq; });
  return p ? std::optional<std::int64_t>(p->seq) : std::nullopt;
}

bool PacketStore::has_after(std::int64_t seq) const noexcept {
  const auto n = newest();
  return n && *n > seq;
}

const StoredPacket* PacketStore::earliest() const noexcept {
  return first_by([](const StoredPacket& a, const StoredPacket& b) { return a.arrival_us < b.arrival_us; });
}

void PacketStore::erase(std::int64_t seq) noexcept {
  Slot& slot = slots_[index(seq)];
  if (slot.used && slot.packet.seq == seq) {
    slot.used = false;
    --count_;
  }
}

std::size_t PacketStore::drop_through(std::int64_t seq) noexcept {
  std::size_t dropped = 0;
  if (count_ == 0) return dropped;
  for (auto& slot : slots_) {
    if (slot.used && slot.packet.seq <= seq) {
      slot.used = false;
      ++dropped;
    }
  }
  count_ -= dropped;
  return dropped;
}

void PacketStore::set_floor(std::optional<std::int64_t> floor) noexcept {
  floor_ = floor;
  if (floor_) drop_through(*floor_);
}

std::size_t PacketStore::give_up_through(std::int64_t seq) noexcept {
  if (floor_ && *floor_ >= seq) return 0;
  floor_ = seq;
  return drop_through(seq);
}

void PacketStore::clear() noexcept {
  for (auto& slot : slots_) slot.used = false;
  count_ = 0;
}

void PacketStore::reset() noexcept {
  clear();
  floor_.reset();
}

}  // namespace pttcam::jitter
