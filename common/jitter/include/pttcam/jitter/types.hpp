#pragma once
// The jitter buffer speaks the same language as playout::FixedDelayPlayout, which it replaces:
// the packet the receiver hands in, the insert result and the frame the speaker gets are the
// playout area's types, so swapping one class for the other changes no caller code.
#include "pttcam/playout/fixed_delay_playout.hpp"

namespace pttcam::jitter {

using playout::FrameKind;
using playout::IncomingPacket;
using playout::InsertResult;
using playout::Micros;
using playout::PlayoutFrame;
using playout::to_string;

// Opus over RTP always uses a 48 kHz timestamp clock (RFC 7587), whatever the audio bandwidth.
inline constexpr std::int64_t kRtpClockHz = 48'000;

// RTP timestamp units to microseconds (truncated toward zero).
constexpr Micros rtp_to_us(std::int64_t ticks) noexcept { return ticks * 1'000'000 / kRtpClockHz; }

}  // namespace pttcam::jitter
