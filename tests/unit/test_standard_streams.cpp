// Streams from senders that are not pttcam (RFC 3551 senders such as ffmpeg and GStreamer): no
// end flags, a marker on every packet or on none, pauses (DTX) with the sequence running on, and
// pttcam's own end repeats, which now carry numbers of their own.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "pttcam/jitter/burst_boundaries.hpp"
#include "pttcam/jitter/jitter_buffer.hpp"
#include "pttcam/rtp/packet.hpp"

using namespace pttcam;
using jitter::Micros;

namespace {

constexpr int kFrame = 960;  // 20 ms
constexpr Micros kFrameUs = 20'000;

struct Feed {
  jitter::JitterBuffer jb;
  std::array<std::byte, 3> payload{std::byte{0x78}, std::byte{1}, std::byte{2}};
  jitter::BurstBoundaries boundaries;
  std::vector<jitter::PlayoutFrame> frames;

  explicit Feed(jitter::JitterBuffer::Config c) : jb(c) {}

  // A standard sender's packet: marker as the sender set it, the burst start as the receiver
  // finds it (what media::Receiver does), no end flag.
  void send(std::uint16_t seq, std::uint32_t ts, Micros at) {
    jitter::IncomingPacket p;
    p.ssrc = 42;
    p.sequence = seq;
    p.timestamp = ts;
    p.samples = kFrame;
    p.ends_flagged = false;
    p.payload = payload;
    const bool start = boundaries.starts_burst(seq, ts, kFrame, at);
    p.marker = start;
    CHECK(jb.insert(p, at) == jitter::InsertResult::accepted);
  }
  // The speaker asks for a frame every 20 ms from `from` to `to`.
  void play(Micros from, Micros to) {
    for (Micros t = from; t < to; t += kFrameUs) frames.push_back(jb.next(t, kFrame));
  }
  std::size_t count(jitter::FrameKind kind) const {
    std::size_t n = 0;
    for (const auto& f : frames) n += f.kind == kind ? 1 : 0;
    return n;
  }
};

jitter::JitterBuffer::Config fixed_delay(Micros us) {
  jitter::JitterBuffer::Config c;
  c.min_delay_us = c.max_delay_us = c.initial_delay_us = us;
  return c;
}

}  // namespace

TEST_CASE("BurstBoundaries") {
  jitter::BurstBoundaries b;
  SUBCASE("a continuous stream is one burst, whatever its markers") {
    CHECK(b.starts_burst(100, 5000, kFrame, 0));
    for (int i = 1; i < 50; ++i)
      CHECK_FALSE(b.starts_burst(static_cast<std::uint16_t>(100 + i), 5000 + i * kFrame, kFrame, i * kFrameUs));
  }
  SUBCASE("a lost packet is not a pause; a reordered one starts nothing") {
    CHECK(b.starts_burst(1, 0, kFrame, 0));
    CHECK_FALSE(b.starts_burst(3, 2 * kFrame, kFrame, 2 * kFrameUs));
    CHECK_FALSE(b.starts_burst(2, kFrame, kFrame, 2 * kFrameUs + 100));
  }
  SUBCASE("sequence and timestamp wrap inside a burst") {
    CHECK(b.starts_burst(0xFFFE, 0xFFFFFFFFu - kFrame + 1, kFrame, 0));
    CHECK_FALSE(b.starts_burst(0xFFFF, 1, kFrame, kFrameUs));
    CHECK_FALSE(b.starts_burst(0, 1 + kFrame, kFrame, 2 * kFrameUs));
  }
  SUBCASE("a timestamp jump with the sequence running on is a pause (DTX, a new talk spurt)") {
    CHECK(b.starts_burst(10, 0, kFrame, 0));
    CHECK_FALSE(b.starts_burst(11, kFrame, kFrame, kFrameUs));
    CHECK(b.starts_burst(12, 30 * kFrame, kFrame, 30 * kFrameUs));
    // A few ticks of timestamp jitter from a live source are not.
    CHECK_FALSE(b.starts_burst(13, 31 * kFrame + 7, kFrame, 31 * kFrameUs));
  }
  SUBCASE("an arrival gap the timestamps do not explain is a stop") {
    CHECK(b.starts_burst(10, 0, kFrame, 0));
    CHECK_FALSE(b.starts_burst(11, kFrame, kFrame, kFrameUs + 100'000));  // a stall the buffer absorbs
    CHECK(b.starts_burst(12, 2 * kFrame, kFrame, 2 * kFrameUs + 100'000 + 200'000));
  }
  SUBCASE("reset: the next packet starts a stream") {
    CHECK(b.starts_burst(10, 0, kFrame, 0));
    b.reset();
    CHECK(b.starts_burst(9000, 123456, kFrame, kFrameUs));
  }
}

TEST_CASE("JitterBuffer with a stream that flags no ends") {
  Feed f(fixed_delay(40'000));
  SUBCASE("a marker on every packet inserts no silence") {
    for (int i = 0; i < 50; ++i) f.send(static_cast<std::uint16_t>(7 + i), 1000u + i * kFrame, i * kFrameUs);
    f.play(0, 50 * kFrameUs + 40'000 + kFrameUs);
    CHECK(f.count(jitter::FrameKind::normal) == 50);
    CHECK(f.jb.counters().bursts == 1);
    // No silence between the first and the last frame played.
    std::size_t first = 0;
    while (f.frames[first].kind == jitter::FrameKind::silence) ++first;
    for (std::size_t i = first; i < first + 50; ++i) CHECK(f.frames[i].kind == jitter::FrameKind::normal);
  }
  SUBCASE("the stream just stops: the sender stopped, nothing lost") {
    for (int i = 0; i < 20; ++i) f.send(static_cast<std::uint16_t>(7 + i), 1000u + i * kFrame, i * kFrameUs);
    f.play(0, 2'000'000);
    const auto& c = f.jb.counters();
    CHECK(c.normal == 20);
    CHECK(c.lost == 0);
    CHECK(c.concealed == 0);
    CHECK(c.concealment_events == 0);
    CHECK(c.bursts_unterminated == 0);
    CHECK(c.bursts_stopped == 1);
    const auto end = std::find_if(f.frames.begin(), f.frames.end(), [](const auto& x) { return x.burst_end; });
    REQUIRE(end != f.frames.end());
    CHECK(end->sender_stopped);
    CHECK(end->stopped_frames == 5);  // 100 ms of concealment waited for a packet never sent
  }
  SUBCASE("a DTX pause with the sequence running on: no loss, no late packet, two bursts") {
    for (int i = 0; i < 10; ++i) f.send(static_cast<std::uint16_t>(7 + i), 1000u + i * kFrame, i * kFrameUs);
    SUBCASE("shorter than the concealment limit") {
      f.play(0, 260'000);  // 60 ms waiting for packet 17
      for (int i = 0; i < 10; ++i)
        f.send(static_cast<std::uint16_t>(17 + i), 1000u + (14 + i) * kFrame, 260'000 + i * kFrameUs);
    }
    SUBCASE("longer") {
      f.play(0, 1'000'000);
      for (int i = 0; i < 10; ++i)
        f.send(static_cast<std::uint16_t>(17 + i), 1000u + (60 + i) * kFrame, 1'000'000 + i * kFrameUs);
    }
    f.play(f.frames.size() * kFrameUs, f.frames.size() * kFrameUs + 3'000'000);
    const auto& c = f.jb.counters();
    CHECK(c.normal == 20);
    CHECK(c.late == 0);
    CHECK(c.lost == 0);
    CHECK(c.concealed == 0);
    CHECK(c.bursts == 2);
    CHECK(c.bursts_stopped == 2);
  }
  SUBCASE("a stop buys no FEC headroom for the next burst") {
    jitter::JitterBuffer::Config c;
    c.min_delay_us = 20'000;
    c.max_delay_us = 200'000;
    jitter::JitterBuffer jb(c);
    jitter::BurstBoundaries b;
    const std::array<std::byte, 3> opus{std::byte{0x78}, std::byte{1}, std::byte{2}};
    for (int i = 0; i < 20; ++i) {
      jitter::IncomingPacket p;
      p.sequence = static_cast<std::uint16_t>(i);
      p.timestamp = static_cast<std::uint32_t>(i * kFrame);
      p.samples = kFrame;
      p.has_fec = true;  // headroom is only ever added for streams that carry FEC
      p.ends_flagged = false;
      p.payload = opus;
      p.marker = b.starts_burst(p.sequence, p.timestamp, kFrame, i * kFrameUs);
      jb.insert(p, i * kFrameUs);
    }
    for (Micros t = 0; t < 1'000'000; t += kFrameUs) (void)jb.next(t, kFrame);
    CHECK(jb.counters().bursts_stopped == 1);
    CHECK(jb.target_delay_us() == jb.estimator().target_us());  // no frame of FEC headroom
  }
  SUBCASE("a packet lost mid-stream still is loss") {
    for (int i = 0; i < 20; ++i)
      if (i != 8) f.send(static_cast<std::uint16_t>(7 + i), 1000u + i * kFrame, i * kFrameUs);
    f.play(0, 2'000'000);
    CHECK(f.jb.counters().normal == 19);
    CHECK(f.jb.counters().lost == 1);
    CHECK(f.jb.counters().bursts == 1);
  }
}

TEST_CASE("JitterBuffer restart_stream: the same SSRC from new bases") {
  Feed f(fixed_delay(40'000));
  for (int i = 0; i < 10; ++i) f.send(static_cast<std::uint16_t>(60000 + i), 5u + i * kFrame, i * kFrameUs);
  f.play(0, 500'000);
  f.jb.restart_stream();
  f.boundaries.reset();
  for (int i = 0; i < 10; ++i) f.send(static_cast<std::uint16_t>(300 + i), 99999u + i * kFrame, 600'000 + i * kFrameUs);
  f.play(600'000, 1'500'000);
  CHECK(f.jb.counters().normal == 20);
  CHECK(f.jb.counters().late == 0);
  CHECK(f.jb.counters().stream_changes == 1);
}

TEST_CASE("RTP end repeats carry how far back their original is") {
  rtp::RtpWriter w;
  rtp::RtpHeader h;
  h.sequence = 1000;
  rtp::RtpExtras e;
  e.end_of_burst = true;
  e.repeat = true;
  std::array<std::byte, 2> payload{std::byte{0x78}, std::byte{0}};
  for (const std::uint8_t distance : {0, 1, 2, 63}) {
    CAPTURE(int(distance));
    e.repeat_distance = distance;
    const auto d = w.write(h, e, payload);
    const auto parsed = rtp::parse(d);
    REQUIRE(parsed);
    CHECK(parsed.packet->extras.repeat);
    CHECK(parsed.packet->extras.end_of_burst);
    CHECK(parsed.packet->extras.repeat_distance == distance);
  }
  SUBCASE("not a repeat: no distance") {
    e.repeat = false;
    e.repeat_distance = 5;
    const auto parsed = rtp::parse(w.write(h, e, payload));
    REQUIRE(parsed);
    CHECK(parsed.packet->extras.repeat_distance == 0);
  }
}
