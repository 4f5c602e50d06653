#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pttcam/playout/fixed_delay_playout.hpp"

using namespace pttcam::playout;

namespace {

constexpr std::uint32_t kSsrc = 0x1234'5678;
constexpr int kFrame = 960;          // 20 ms at 48 kHz
constexpr Micros kPeriod = 20'000;   // one frame
constexpr int kSilence = 480;        // what next() is asked for when idle: tells silence apart

struct Pkt {
  std::uint16_t seq = 0;
  bool marker = false;
  bool end = false;
  bool fec = false;
  std::uint32_t ssrc = kSsrc;
  int samples = kFrame;
  std::size_t size = 5;
};

Pkt first(std::uint16_t seq) { return {seq, true}; }
Pkt mid(std::uint16_t seq) { return {seq}; }
Pkt last(std::uint16_t seq) { return {seq, false, true}; }
Pkt with_fec(Pkt p) {
  p.fec = true;
  return p;
}

// Bytes that identify the packet they came from.
std::vector<std::byte> payload_of(const Pkt& p) {
  std::vector<std::byte> out(p.size);
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<std::byte>((p.seq >> ((i % 2) * 8)) + p.ssrc + i * 31);
  return out;
}

Micros capture_of(std::uint16_t seq) { return 5'000'000 + Micros{seq} * 1000; }

std::string counters_text(const PlayoutCounters& c) {
  return "received=" + std::to_string(c.received) + " duplicate=" + std::to_string(c.duplicate) +
         " late=" + std::to_string(c.late) + " too_large=" + std::to_string(c.too_large) +
         " lost=" + std::to_string(c.lost) + " fec=" + std::to_string(c.fec_recovered) +
         " concealed=" + std::to_string(c.concealed) + " normal=" + std::to_string(c.normal) +
         " bursts=" + std::to_string(c.bursts) + " unterminated=" + std::to_string(c.bursts_unterminated) +
         " stream_changes=" + std::to_string(c.stream_changes);
}

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
  int samples = 0;  // 0: kFrame for frames, kSilence for silence
};

Step in(Micros t, Pkt p, InsertResult r = InsertResult::accepted) {
  Step s;
  s.t = t;
  s.is_insert = true;
  s.pkt = p;
  s.result = r;
  return s;
}

Step out(Micros t, FrameKind kind, std::int64_t seq = -1, bool start = false, bool end = false, int samples = 0) {
  Step s;
  s.t = t;
  s.kind = kind;
  s.seq = seq;
  s.start = start;
  s.end = end;
  s.samples = samples;
  return s;
}
Step idle(Micros t, bool end = false) { return out(t, FrameKind::silence, -1, false, end); }
Step play(Micros t, std::int64_t seq, bool start = false, bool end = false) {
  return out(t, FrameKind::normal, seq, start, end);
}

struct Scenario {
  const char* name;
  std::vector<Step> steps;
  const char* counters;
  FixedDelayPlayout::Config config{40'000, 4800};
};

// Drives the playout through the steps, checking every result, frame and payload.
void run(const Scenario& sc) {
  const std::string scenario = sc.name;
  CAPTURE(scenario);
  FixedDelayPlayout playout(sc.config);
  std::map<std::uint16_t, Pkt> sent;  // newest packet inserted per 16-bit sequence number
  for (std::size_t i = 0; i < sc.steps.size(); ++i) {
    const Step& s = sc.steps[i];
    CAPTURE(i);
    CAPTURE(s.t);
    if (s.is_insert) {
      const auto bytes = payload_of(s.pkt);
      IncomingPacket p;
      p.ssrc = s.pkt.ssrc;
      p.sequence = s.pkt.seq;
      p.timestamp = static_cast<std::uint32_t>(s.pkt.seq) * kFrame;
      p.marker = s.pkt.marker;
      p.end_of_burst = s.pkt.end;
      p.has_fec = s.pkt.fec;
      p.samples = s.pkt.samples;
      p.capture_us = capture_of(s.pkt.seq);
      p.payload = bytes;
      const InsertResult r = playout.insert(p, s.t);
      CHECK(static_cast<int>(r) == static_cast<int>(s.result));
      if (r == InsertResult::accepted) sent[s.pkt.seq] = s.pkt;
      continue;
    }
    const PlayoutFrame f = playout.next(s.t, kSilence);
    CHECK(std::string(to_string(f.kind)) == std::string(to_string(s.kind)));
    CHECK(f.sequence == s.seq);
    CHECK(f.burst_start == s.start);
    CHECK(f.burst_end == s.end);
    const int want_samples = s.samples ? s.samples : s.kind == FrameKind::silence ? kSilence : kFrame;
    CHECK(f.samples == want_samples);
    if (s.kind == FrameKind::normal || s.kind == FrameKind::fec) {
      // normal: this packet's bytes; fec: the *next* packet's bytes, whose FEC rebuilds this one.
      const auto from = static_cast<std::uint16_t>(s.seq + (s.kind == FrameKind::fec ? 1 : 0));
      CHECK(sent.count(from) == 1);
      if (sent.count(from) == 1)
        CHECK(std::vector<std::byte>(f.payload.begin(), f.payload.end()) == payload_of(sent[from]));
    } else {
      CHECK(f.payload.empty());
    }
    if (s.kind == FrameKind::normal)
      CHECK(f.capture_us == std::optional<Micros>(capture_of(static_cast<std::uint16_t>(s.seq))));
    else
      CHECK_FALSE(f.capture_us.has_value());
  }
  CHECK(counters_text(playout.counters()) == std::string(sc.counters));
}

}  // namespace

TEST_CASE("FixedDelayPlayout") {
  SUBCASE("idle: silence of the requested length") {
    FixedDelayPlayout playout({40'000, 4800});
    for (const int n : {1, 128, 960}) {
      const auto f = playout.next(1'000, n);
      CHECK(f.kind == FrameKind::silence);
      CHECK(f.samples == n);
      CHECK(f.sequence == -1);
      CHECK_FALSE(f.burst_start);
      CHECK_FALSE(f.burst_end);
    }
    CHECK_FALSE(playout.in_burst());
    CHECK(playout.counters().bursts == 0);
  }

  SUBCASE("a burst starts exactly at first arrival + delay") {
    for (const Micros delay : {Micros{0}, Micros{1}, Micros{10'000}, Micros{40'000}, Micros{123'457}}) {
      for (const Micros arrival : {Micros{0}, Micros{1'000'000}}) {
        CAPTURE(delay);
        CAPTURE(arrival);
        FixedDelayPlayout playout({delay, 4800});
        CHECK(playout.next(arrival - 1, kSilence).kind == FrameKind::silence);  // nothing yet
        const std::byte data[3]{};
        IncomingPacket p;
        p.ssrc = kSsrc;
        p.sequence = 7;
        p.marker = true;
        p.samples = kFrame;
        p.payload = data;
        REQUIRE(playout.insert(p, arrival) == InsertResult::accepted);
        if (delay > 0) {
          CHECK(playout.next(arrival, kSilence).kind == FrameKind::silence);
          CHECK(playout.next(arrival + delay - 1, kSilence).kind == FrameKind::silence);
          CHECK_FALSE(playout.in_burst());
        }
        const auto f = playout.next(arrival + delay, kSilence);
        CHECK(f.kind == FrameKind::normal);
        CHECK(f.sequence == 7);
        CHECK(f.burst_start);
        CHECK(playout.in_burst());
      }
    }
  }

  SUBCASE("in-order bursts of N packets, including across 0xFFFF -> 0") {
    struct Row {
      std::uint16_t first_seq;
      int n;
    };
    const Row rows[] = {{100, 1}, {100, 2}, {100, 5}, {0xFFFF, 2}, {0xFFFE, 4}, {0xFFF0, 50}, {0, 3}};
    for (const auto& row : rows) {
      CAPTURE(row.first_seq);
      CAPTURE(row.n);
      std::vector<Step> steps;
      const Micros arrival = 1'000'000;
      for (int i = 0; i < row.n; ++i) {
        Pkt p = mid(static_cast<std::uint16_t>(row.first_seq + i));
        p.marker = i == 0;
        p.end = i == row.n - 1;
        steps.push_back(in(arrival + i * kPeriod, p));
      }
      steps.push_back(idle(arrival + 40'000 - 1));
      for (int i = 0; i < row.n; ++i)
        steps.push_back(play(arrival + 40'000 + i * kPeriod, Micros{row.first_seq} + i, i == 0, i == row.n - 1));
      steps.push_back(idle(arrival + 40'000 + row.n * kPeriod));
      // Time order; a packet arriving at t is inserted before the frame asked for at t.
      std::stable_sort(steps.begin(), steps.end(), [](const Step& a, const Step& b) {
        return a.t < b.t || (a.t == b.t && a.is_insert && !b.is_insert);
      });
      const std::string counters = "received=" + std::to_string(row.n) +
                                   " duplicate=0 late=0 too_large=0 lost=0 fec=0 concealed=0 normal=" +
                                   std::to_string(row.n) + " bursts=1 unterminated=0 stream_changes=0";
      run({"in order", steps, counters.c_str()});
    }
  }

  SUBCASE("scenarios") {
    using enum InsertResult;
    constexpr auto concealed = FrameKind::concealed;
    constexpr auto fec = FrameKind::fec;
    const char* const clean_one_burst = "received=4 duplicate=0 late=0 too_large=0 lost=0 fec=0 concealed=0 normal=4 "
                                        "bursts=1 unterminated=0 stream_changes=0";
    // Steps are in time order: a packet inserted at t comes before a frame asked for at t.
    const Scenario scenarios[] = {
        {"reordered arrival plays in sequence order",
         {in(0, first(10)), in(1'000, mid(12)), in(2'000, mid(11)), in(3'000, last(13)), play(40'000, 10, true),
          play(60'000, 11), play(80'000, 12), play(100'000, 13, false, true), idle(120'000)},
         clean_one_burst},

        {"reordered arrival while playing",
         {in(0, first(10)), play(40'000, 10, true), in(45'000, last(13)), in(46'000, mid(12)), in(47'000, mid(11)),
          play(60'000, 11), play(80'000, 12), play(100'000, 13, false, true), idle(120'000)},
         clean_one_burst},

        {"the delay runs from the first arrival even if it is not the marker",
         {in(0, mid(11)), in(5'000, first(10)), in(6'000, last(12)), idle(39'999), play(40'000, 10, true),
          play(60'000, 11), play(80'000, 12, false, true)},
         "received=3 duplicate=0 late=0 too_large=0 lost=0 fec=0 concealed=0 normal=3 bursts=1 unterminated=0 "
         "stream_changes=0"},

        {"reordering across 0xFFFF -> 0 inside a burst",
         {in(0, first(0xFFFE)), in(1'000, mid(0)), in(2'000, mid(0xFFFF)), in(3'000, last(1)),
          play(40'000, 0xFFFE, true), play(60'000, 0xFFFF), play(80'000, 0x10000), play(100'000, 0x10001, false, true)},
         clean_one_burst},

        {"duplicates are refused and counted; a copy of a played packet is late",
         {in(0, first(10)), in(1'000, first(10), duplicate), in(20'000, last(11)), in(20'001, last(11), duplicate),
          play(40'000, 10, true), play(60'000, 11, false, true), in(70'000, last(11), late), idle(80'000)},
         "received=5 duplicate=2 late=1 too_large=0 lost=0 fec=0 concealed=0 normal=2 bursts=1 unterminated=0 "
         "stream_changes=0"},

        {"a packet arriving after its turn is late",
         {in(0, first(10)), in(40'000, last(12)), play(40'000, 10, true), out(60'000, concealed, 11),
          in(65'000, mid(11), late), play(80'000, 12, false, true)},
         "received=3 duplicate=0 late=1 too_large=0 lost=1 fec=0 concealed=1 normal=2 bursts=1 unterminated=0 "
         "stream_changes=0"},

        {"a lost packet is rebuilt from the next packet's FEC",
         {in(0, first(10)), in(40'000, with_fec(mid(12))), play(40'000, 10, true), in(60'000, last(13)),
          out(60'000, fec, 11), play(80'000, 12), play(100'000, 13, false, true)},
         "received=3 duplicate=0 late=0 too_large=0 lost=1 fec=1 concealed=0 normal=3 bursts=1 unterminated=0 "
         "stream_changes=0"},

        {"without FEC a lost packet is concealed",
         {in(0, first(10)), in(40'000, mid(12)), play(40'000, 10, true), in(60'000, last(13)),
          out(60'000, concealed, 11), play(80'000, 12), play(100'000, 13, false, true)},
         "received=3 duplicate=0 late=0 too_large=0 lost=1 fec=0 concealed=1 normal=3 bursts=1 unterminated=0 "
         "stream_changes=0"},

        {"two losses: PLC for the first, FEC for the one before the FEC packet",
         {in(0, first(10)), play(40'000, 10, true), in(50'000, with_fec(mid(13))), in(60'000, last(14)),
          out(60'000, concealed, 11), out(80'000, fec, 12), play(100'000, 13), play(120'000, 14, false, true)},
         "received=3 duplicate=0 late=0 too_large=0 lost=2 fec=1 concealed=1 normal=3 bursts=1 unterminated=0 "
         "stream_changes=0"},

        {"FEC shorter than the missing frame is not used",
         {in(0, first(10)), in(40'000, with_fec(Pkt{12, false, true, false, kSsrc, 480})), play(40'000, 10, true),
          out(60'000, concealed, 11), out(80'000, FrameKind::normal, 12, false, true, 480)},
         "received=2 duplicate=0 late=0 too_large=0 lost=1 fec=0 concealed=1 normal=2 bursts=1 unterminated=0 "
         "stream_changes=0"},

        {"end packet lost: conceal up to max_conceal_samples, end the burst, the next burst still plays",
         {in(0, first(10)), in(20'000, mid(11)), in(40'000, mid(12)),  // 13 (end) lost
          play(40'000, 10, true), play(60'000, 11), play(80'000, 12), out(100'000, concealed, 13),
          out(120'000, concealed, 14), out(140'000, concealed, 15), out(160'000, concealed, 16),
          out(180'000, concealed, 17),  // 5 x 960 = 4800 samples
          idle(200'000, true), idle(220'000),
          in(250'000, last(13), late),  // the lost end, far too late
          // The sender numbers on from 14: the numbers concealed after 13 were never used.
          in(300'000, first(14)), in(320'000, last(15)), idle(339'999), play(340'000, 14, true),
          play(360'000, 15, false, true), idle(380'000)},
         "received=6 duplicate=0 late=1 too_large=0 lost=5 fec=0 concealed=5 normal=5 bursts=2 unterminated=1 "
         "stream_changes=0"},

        {"max_conceal_samples is honoured as configured",
         {in(0, first(10)), play(40'000, 10, true), out(60'000, concealed, 11), out(80'000, concealed, 12),
          idle(100'000, true)},
         "received=1 duplicate=0 late=0 too_large=0 lost=2 fec=0 concealed=2 normal=1 bursts=1 unterminated=1 "
         "stream_changes=0",
         {40'000, 2 * kFrame}},

        {"a new burst arriving while the previous one waits for its lost end",
         {in(0, first(10)), in(20'000, mid(11)),  // 12 (end) lost
          play(40'000, 10, true), play(60'000, 11), in(75'000, first(13)),
          out(80'000, concealed, 12),  // 13 is buffered: 12 was lost
          in(95'000, last(14)),
          idle(100'000, true),  // 13 starts a new burst: the old one ends unterminated
          idle(114'999), play(115'000, 13, true), play(135'000, 14, false, true)},
         "received=4 duplicate=0 late=0 too_large=0 lost=1 fec=0 concealed=1 normal=4 bursts=2 unterminated=1 "
         "stream_changes=0"},

        {"a new burst arriving while the lost end is concealed with nothing buffered",
         {in(0, first(10)), in(20'000, mid(11)),  // 12 (end) lost
          play(40'000, 10, true), play(60'000, 11), out(80'000, concealed, 12), out(100'000, concealed, 13),
          out(120'000, concealed, 14),
          in(125'000, first(13)),  // the sender numbers on from 12
          idle(140'000, true), in(145'000, last(14)), idle(164'999), play(165'000, 13, true),
          play(185'000, 14, false, true)},
         "received=4 duplicate=0 late=0 too_large=0 lost=3 fec=0 concealed=3 normal=4 bursts=2 unterminated=1 "
         "stream_changes=0"},

        {"a burst arriving while the previous one still plays gets its full delay from its own arrival",
         {in(0, first(10)), in(20'000, last(11)), play(40'000, 10, true),
          in(50'000, Pkt{12, true, true}),  // a one-packet burst
          play(60'000, 11, false, true), idle(80'000), idle(89'999), play(90'000, 12, true, true), idle(110'000)},
         "received=3 duplicate=0 late=0 too_large=0 lost=0 fec=0 concealed=0 normal=3 bursts=2 unterminated=0 "
         "stream_changes=0"},

        {"an SSRC change resets the stream and the new stream plays",
         {in(0, first(10)), in(20'000, mid(11)), play(40'000, 10, true),
          in(50'000, Pkt{500, true, false, false, 0xBEEF}), in(55'000, Pkt{501, false, true, false, 0xBEEF}),
          idle(60'000), idle(89'999), play(90'000, 500, true), play(110'000, 501, false, true), idle(130'000)},
         "received=4 duplicate=0 late=0 too_large=0 lost=0 fec=0 concealed=0 normal=3 bursts=2 unterminated=0 "
         "stream_changes=1"},

        {"a payload larger than kMaxPayload is refused",
         {in(0, Pkt{10, true, false, false, kSsrc, kFrame, FixedDelayPlayout::kMaxPayload + 1}, too_large),
          idle(100'000), in(100'000, Pkt{11, true, true, false, kSsrc, kFrame, FixedDelayPlayout::kMaxPayload}),
          idle(139'999), play(140'000, 11, true, true)},
         "received=2 duplicate=0 late=0 too_large=1 lost=0 fec=0 concealed=0 normal=1 bursts=1 unterminated=0 "
         "stream_changes=0"},
    };
    for (const auto& sc : scenarios) run(sc);
  }
}

TEST_CASE("FixedDelayPlayout::flush") {
  FixedDelayPlayout playout({10'000, 4800});
  const auto bytes = std::vector<std::byte>(5, std::byte{1});
  const auto packet = [&](std::uint16_t seq, bool marker) {
    IncomingPacket p;
    p.ssrc = kSsrc;
    p.sequence = seq;
    p.marker = marker;
    p.samples = kFrame;
    p.payload = bytes;
    return p;
  };
  for (std::uint16_t s = 100; s < 105; ++s) CHECK(playout.insert(packet(s, s == 100), 0) == InsertResult::accepted);
  CHECK(playout.next(10'000, kSilence).kind == FrameKind::normal);  // 100 plays
  CHECK(playout.in_burst());

  SUBCASE("cuts the burst, drops what waits; those packets are late if they come again") {
    playout.flush();
    CHECK_FALSE(playout.in_burst());
    CHECK(playout.next(20'000, kSilence).kind == FrameKind::silence);
    CHECK(playout.insert(packet(103, false), 21'000) == InsertResult::late);
    // The sender's next burst plays after its own delay.
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
