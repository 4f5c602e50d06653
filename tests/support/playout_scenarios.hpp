#pragma once
// Talk-burst playout scenarios: a table of packets arriving and frames the speaker asks for, each
// with what must happen, and one driver that checks any playout against such a table.
//
// The driver is a template because two classes answer to the same interface: FixedDelayPlayout,
// the reference, and JitterBuffer, which with min = max = delay must play exactly like it. Both
// run the same tables (test_jitter.cpp), so each table and each expectation is written once.
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "fixed_delay_playout.hpp"

namespace pttcam::test {

// The JitterBuffer's types are these very ones (pttcam/jitter/types.hpp), so nothing here needs
// to know which of the two classes it drives.
using test::FixedDelayPlayout;
using jitter::FrameKind;
using jitter::IncomingPacket;
using jitter::InsertResult;
using jitter::Micros;
using jitter::PlayoutFrame;
using jitter::to_string;

inline constexpr std::uint32_t kSsrc = 0x1234'5678;
inline constexpr int kFrame = 960;         // 20 ms at 48 kHz
inline constexpr Micros kPeriod = 20'000;  // one frame
inline constexpr int kSilence = 480;       // what next() is asked for when idle: tells silence apart

// ---------------------------------------------------------------------------------------------
// Packets

struct Pkt {
  std::uint16_t seq = 0;
  bool marker = false;
  bool end = false;
  bool fec = false;
  std::uint32_t ssrc = kSsrc;
  int samples = kFrame;
  std::size_t size = 5;
  std::optional<std::uint32_t> ts{};  // default: seq * kFrame
};

inline Pkt first(std::uint16_t seq) { return {seq, true}; }
inline Pkt mid(std::uint16_t seq) { return {seq}; }
inline Pkt last(std::uint16_t seq) { return {seq, false, true}; }
inline Pkt with_fec(Pkt p) {
  p.fec = true;
  return p;
}
inline Pkt at_ts(Pkt p, std::uint32_t ts) {
  p.ts = ts;
  return p;
}

// Bytes that identify the packet they came from, so a frame's payload shows which packet it played.
inline std::vector<std::byte> payload_of(const Pkt& p) {
  std::vector<std::byte> out(p.size);
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<std::byte>((p.seq >> ((i % 2) * 8)) + p.ssrc + i * 31);
  return out;
}

inline Micros capture_of(std::uint16_t seq) { return 5'000'000 + Micros{seq} * 1000; }

// `bytes` must outlive the packet: IncomingPacket only points at its payload.
inline IncomingPacket packet_of(const Pkt& p, const std::vector<std::byte>& bytes) {
  IncomingPacket packet;
  packet.ssrc = p.ssrc;
  packet.sequence = p.seq;
  packet.timestamp = p.ts.value_or(static_cast<std::uint32_t>(p.seq) * kFrame);
  packet.marker = p.marker;
  packet.end_of_burst = p.end;
  packet.has_fec = p.fec;
  packet.samples = p.samples;
  packet.capture_us = capture_of(p.seq);
  packet.payload = bytes;
  return packet;
}

inline std::vector<std::byte> bytes_of(std::span<const std::byte> s) { return {s.begin(), s.end()}; }

// The counters both classes have (same names): one string, so a failure shows them all at once.
template <typename Counters>
std::string counters_text(const Counters& c) {
  return "received=" + std::to_string(c.received) + " duplicate=" + std::to_string(c.duplicate) +
         " late=" + std::to_string(c.late) + " too_large=" + std::to_string(c.too_large) +
         " lost=" + std::to_string(c.lost) + " fec=" + std::to_string(c.fec_recovered) +
         " concealed=" + std::to_string(c.concealed) + " normal=" + std::to_string(c.normal) +
         " bursts=" + std::to_string(c.bursts) + " unterminated=" + std::to_string(c.bursts_unterminated) +
         " stream_changes=" + std::to_string(c.stream_changes);
}

// ---------------------------------------------------------------------------------------------
// Scenarios

// One step of a scenario: a packet arriving, or the speaker asking for the next frame.
struct Step {
  Micros t = 0;
  bool is_insert = false;
  Pkt pkt{};
  InsertResult result = InsertResult::accepted;
  FrameKind kind = FrameKind::silence;
  std::int64_t seq = -1;  // unwrapped
  bool start = false;
  bool end = false;
  // 0: kFrame for frames, kSilence for silence. A silence step with a length asks next() for
  // exactly that much, which checks that idle silence is as long as the speaker asked.
  int samples = 0;
};

inline Step in(Micros t, Pkt p, InsertResult r = InsertResult::accepted) {
  return {.t = t, .is_insert = true, .pkt = p, .result = r};
}

inline Step out(Micros t, FrameKind kind, std::int64_t seq = -1, bool start = false, bool end = false,
                int samples = 0) {
  return {.t = t, .kind = kind, .seq = seq, .start = start, .end = end, .samples = samples};
}
inline Step idle(Micros t, bool end = false) { return out(t, FrameKind::silence, -1, false, end); }
inline Step play(Micros t, std::int64_t seq, bool start = false, bool end = false) {
  return out(t, FrameKind::normal, seq, start, end);
}

// Steps are in time order: a packet inserted at t comes before a frame asked for at t.
struct Scenario {
  const char* name;
  std::vector<Step> steps;
  const char* counters;                            // counters_text() at the end
  FixedDelayPlayout::Config config{40'000, 4800};  // for a JitterBuffer: min = max = this delay
  const char* extra = nullptr;  // counters only the JitterBuffer has: its caller checks them, when given
};

// Does nothing: for playouts with nothing of their own to check after each frame.
struct NoFrameCheck {
  template <typename Playout>
  void operator()(const Playout&) const {}
};

// Drives `playout` (new, built by the caller from sc.config) through the steps, checking every
// insert result, every frame against its step (kind, number, burst flags, length, payload bytes,
// capture time), whether a burst is in progress after it, and the counters at the end.
// `after_frame(playout)` runs after each frame's checks, for what only one implementation can
// tell (e.g. the JitterBuffer's current delay).
template <typename Playout, typename AfterFrame = NoFrameCheck>
void run_scenario(Playout& playout, const Scenario& sc, AfterFrame after_frame = {}) {
  const std::string scenario = sc.name;
  CAPTURE(scenario);
  std::map<std::uint16_t, Pkt> sent;  // newest packet inserted per 16-bit sequence number
  for (std::size_t i = 0; i < sc.steps.size(); ++i) {
    const Step& s = sc.steps[i];
    CAPTURE(i);
    CAPTURE(s.t);
    if (s.is_insert) {
      const auto bytes = payload_of(s.pkt);
      const InsertResult r = playout.insert(packet_of(s.pkt, bytes), s.t);
      CHECK(static_cast<int>(r) == static_cast<int>(s.result));
      if (r == InsertResult::accepted) sent[s.pkt.seq] = s.pkt;
      continue;
    }
    const bool silence = s.kind == FrameKind::silence;
    const PlayoutFrame f = playout.next(s.t, silence && s.samples ? s.samples : kSilence);
    CHECK(std::string(to_string(f.kind)) == std::string(to_string(s.kind)));
    CHECK(f.sequence == s.seq);
    CHECK(f.burst_start == s.start);
    CHECK(f.burst_end == s.end);
    CHECK(f.samples == (s.samples ? s.samples : silence ? kSilence : kFrame));
    if (s.kind == FrameKind::normal || s.kind == FrameKind::fec) {
      // normal: this packet's bytes; fec: the *next* packet's bytes, whose FEC rebuilds this one.
      const auto from = static_cast<std::uint16_t>(s.seq + (s.kind == FrameKind::fec ? 1 : 0));
      CHECK(sent.count(from) == 1);
      if (sent.count(from) == 1) CHECK(bytes_of(f.payload) == payload_of(sent[from]));
    } else {
      CHECK(f.payload.empty());
    }
    if (s.kind == FrameKind::normal)
      CHECK(f.capture_us == std::optional<Micros>(capture_of(static_cast<std::uint16_t>(s.seq))));
    else
      CHECK_FALSE(f.capture_us.has_value());
    // A burst goes on after each of its frames but the one that ends it; silence is never part of one.
    CHECK(playout.in_burst() == (!silence && !s.end));
    after_frame(std::as_const(playout));
  }
  CHECK(counters_text(playout.counters()) == std::string(sc.counters));
}

// flush() on either playout (scenarios have no flush step): packet 100 plays, 101..104 wait; a
// flush cuts the burst and drops them, so they are late if they come again, and the sender's next
// burst plays after its own delay. `after_flush` adds checks only one class can answer.
template <typename Playout, typename AfterFlush>
void check_flush(Playout& playout, AfterFlush&& after_flush) {
  const auto bytes = std::vector<std::byte>(5, std::byte{1});
  const auto packet = [&](std::uint16_t seq, bool marker) {
    jitter::IncomingPacket p;
    p.ssrc = kSsrc;
    p.sequence = seq;
    p.marker = marker;
    p.samples = kFrame;
    p.payload = bytes;
    return p;
  };
  using jitter::FrameKind;
  using jitter::InsertResult;
  for (std::uint16_t s = 100; s < 105; ++s) CHECK(playout.insert(packet(s, s == 100), 0) == InsertResult::accepted);
  CHECK(playout.next(10'000, kSilence).kind == FrameKind::normal);  // 100 plays
  CHECK(playout.in_burst());

  SUBCASE("cuts the burst, drops what waits; those packets are late if they come again") {
    playout.flush();
    CHECK_FALSE(playout.in_burst());
    after_flush();
    CHECK(playout.next(20'000, kSilence).kind == FrameKind::silence);
    CHECK(playout.insert(packet(103, false), 21'000) == InsertResult::late);
    CHECK(playout.insert(packet(105, true), 30'000) == InsertResult::accepted);
    CHECK(playout.next(39'000, kSilence).kind == FrameKind::silence);
    const auto f = playout.next(40'000, kSilence);
    CHECK(f.kind == FrameKind::normal);
    CHECK(f.burst_start);
    CHECK(playout.counters().late == 1);
  }
  SUBCASE("flush while idle keeps the stream") {
    playout.flush();
    playout.flush();
    CHECK(playout.counters().stream_changes == 0);
    CHECK(playout.insert(packet(101, false), 21'000) == InsertResult::late);
  }
}

}  // namespace pttcam::test
