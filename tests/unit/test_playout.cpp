#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "playout_scenarios.hpp"
#include "pttcam/playout/fixed_delay_playout.hpp"

using namespace pttcam::playout;
using pttcam::test::kFrame;
using pttcam::test::kSilence;
using pttcam::test::kSsrc;

// FixedDelayPlayout's behaviour (idle silence, burst start, in-order bursts, the scenario table) is
// tested in test_jitter.cpp: it is the reference the JitterBuffer is held to, and there every
// scenario runs against both classes (tests/support/playout_scenarios.hpp). What stays here is
// what the scenarios cannot express.

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
