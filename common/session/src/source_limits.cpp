#include "pttcam/session/source_limits.hpp"

#include <algorithm>

namespace pttcam::session {

SourceLimits::Slot& SourceLimits::slot(const Peer& from) noexcept {
  // FNV-1a over the address bytes: the port is left out, an attacker chooses it freely.
  std::uint64_t h = 14695981039346656037ull;
  const auto mix = [&h](unsigned char c) { h = (h ^ c) * 1099511628211ull; };
  const auto address = from.address();
  if (address.is_v6()) {
    for (const auto c : address.to_v6().to_bytes()) mix(c);
  } else {
    for (const auto c : address.to_v4().to_bytes()) mix(c);
  }
  return slots_[h % kSlots];
}

bool SourceLimits::allow_answer(const Peer& from, Micros now) noexcept {
  Slot& s = slot(from);
  if (!s.used) {
    s.used = true;
    s.tokens = kBurst;
    s.refilled_at = now;
  } else if (now > s.refilled_at) {
    const Micros periods = (now - s.refilled_at) / kRefillUs;
    if (periods > 0) {
      s.tokens = static_cast<std::uint32_t>(std::min<Micros>(kBurst, s.tokens + periods));
      s.refilled_at += periods * kRefillUs;
    }
  }
  if (s.tokens == 0) {
    ++answers_refused_;
    return false;
  }
  --s.tokens;
  return true;
}

SourceLimits::Line SourceLimits::line(const Peer& from) noexcept {
  Slot& s = slot(from);
  if (s.lines < kLinesPerSource) {
    ++s.lines;
    return s.lines == kLinesPerSource ? Line::write_last : Line::write;
  }
  ++lines_suppressed_;
  return Line::suppress;
}

}  // namespace pttcam::session
