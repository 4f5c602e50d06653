#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "pttcam/measure/burst_analyzer.hpp"

using namespace pttcam;
using measure::BurstAnalyzer;
using measure::PacketInfo;
using jitter::FrameKind;
using jitter::PlayoutFrame;

namespace {

constexpr int kFrame = 960;  // 20 ms
constexpr measure::Micros kFrameUs = 20'000;

PlayoutFrame frame(FrameKind kind, std::int64_t seq, bool start = false, bool end = false) {
  PlayoutFrame f;
  f.kind = kind;
  f.samples = kind == FrameKind::silence ? 128 : kFrame;
  f.sequence = seq;
  f.burst_start = start;
  f.burst_end = end;
  return f;
}

PacketInfo packet(std::int64_t seq, std::uint32_t ts, std::uint32_t burst_ts) {
  PacketInfo p;
  p.sequence = seq;
  p.timestamp = ts;
  p.burst_start_ts = burst_ts;
  p.capture_us = 1'000'000 + (seq - 100) * kFrameUs;
  return p;
}

// Plays `kinds` as one burst starting at seq 100 (ts 0), one frame every 20 ms from t = 1.05 s.
BurstAnalyzer play(const std::vector<FrameKind>& kinds, bool terminated = true, std::uint32_t first_ts = 0) {
  BurstAnalyzer a(60);
  for (std::size_t i = 0; i < kinds.size(); ++i) {
    const auto seq = static_cast<std::int64_t>(100 + i);
    auto info = packet(seq, first_ts + static_cast<std::uint32_t>(i) * kFrame, 0);
    if (i == 0) info.key_down_us = 1'000'000 - 10'000;
    const bool last = i + 1 == kinds.size();
    if (last) info.key_up_us = 1'000'000 + static_cast<measure::Micros>(i) * kFrameUs;
    auto f = frame(kinds[i], seq, i == 0, last && terminated);
    if (last && !terminated) {
      a.on_frame(f, kinds[i] == FrameKind::normal ? &info : nullptr, 1'050'000 + static_cast<measure::Micros>(i) * kFrameUs);
      a.on_frame(frame(FrameKind::silence, -1, false, true), nullptr, 1'050'000 + static_cast<measure::Micros>(i + 1) * kFrameUs);
      break;
    }
    a.on_frame(f, kinds[i] == FrameKind::normal ? &info : nullptr, 1'050'000 + static_cast<measure::Micros>(i) * kFrameUs);
  }
  return a;
}

}  // namespace

TEST_CASE("BurstAnalyzer") {
  using enum FrameKind;
  SUBCASE("a clean burst: timeline, no cutoff") {
    auto a = play({normal, normal, normal, normal});
    const auto done = a.take_finished();
    REQUIRE(done.size() == 1);
    const auto& b = done[0];
    CHECK(b.talk_start_ms == doctest::Approx(60.0));  // key-down 0.99 s, heard 1.05 s
    CHECK(b.mouth_to_ear.count == 4);
    CHECK(b.mouth_to_ear.p50 == doctest::Approx(50.0).epsilon(0.001));  // to the histogram's 0.1 ms
    CHECK(b.mouth_to_ear.max == 50.0);
    CHECK(a.mouth_to_ear().count() == 4);
    CHECK(b.tail_ms == doctest::Approx(70.0));  // key-up 1.06 s, last sample ends 1.13 s
    CHECK(b.cutoffs.empty());
    CHECK(b.terminated);
    CHECK(b.ended_by == "end");
    CHECK(a.take_finished().empty());  // reported once
  }
  SUBCASE("a concealment run at the threshold is a cutoff (loss); a shorter one is not") {
    auto a = play({normal, concealed, concealed, normal, concealed, concealed, concealed, normal});
    const auto b = a.take_finished().at(0);
    REQUIRE(b.cutoffs.size() == 1);
    CHECK(b.cutoffs[0].cause == "loss");
    CHECK(b.cutoffs[0].duration_ms == doctest::Approx(60.0));
    CHECK(b.cutoffs[0].at_us == 1'050'000 + 4 * kFrameUs);
    CHECK(b.frames_concealed == 5);
  }
  SUBCASE("a run whose packets arrived late is blamed on jitter") {
    BurstAnalyzer a(60);
    const auto p0 = packet(100, 0, 0);
    a.on_frame(frame(normal, 100, true), &p0, 0);
    for (int i = 1; i <= 4; ++i) a.on_frame(frame(concealed, 100 + i), nullptr, i * kFrameUs);
    a.on_late(102);  // came after its frame was concealed
    const auto p5 = packet(105, 5 * kFrame, 0);
    a.on_frame(frame(normal, 105, false, true), &p5, 5 * kFrameUs);
    const auto b = a.take_finished().at(0);
    REQUIRE(b.cutoffs.size() == 1);
    CHECK(b.cutoffs[0].cause == "late_packets");
    CHECK(b.cutoffs[0].duration_ms == doctest::Approx(80.0));
  }
  SUBCASE("late packets are matched by 16-bit sequence across the wrap") {
    BurstAnalyzer a(40);
    const auto p0 = packet(65534, 0, 0);
    a.on_frame(frame(normal, 65534, true), &p0, 0);
    a.on_frame(frame(concealed, 65535), nullptr, kFrameUs);
    a.on_frame(frame(concealed, 65536), nullptr, 2 * kFrameUs);
    a.on_late(0);  // 65536 on the wire
    const auto p3 = packet(65537, 3 * kFrame, 0);
    a.on_frame(frame(normal, 65537, false, true), &p3, 3 * kFrameUs);
    CHECK(a.take_finished().at(0).cutoffs.at(0).cause == "late_packets");
  }
  SUBCASE("the head of the burst never arrived") {
    auto a = play({normal, normal, normal}, true, 3 * kFrame);  // first packet played is the 4th sent
    const auto b = a.take_finished().at(0);
    REQUIRE(b.cutoffs.size() == 1);
    CHECK(b.cutoffs[0].cause == "head_clipped");
    CHECK(b.cutoffs[0].duration_ms == doctest::Approx(60.0));
    CHECK(b.head_clipped_ms == doctest::Approx(60.0));
  }
  SUBCASE("the end never arrived: the timeout's concealment is the clipped tail") {
    auto a = play({normal, normal, concealed, concealed, concealed, concealed, concealed}, false);
    // The rest of the burst may still come (an outage): nothing is final for a while.
    CHECK(a.suspended());
    CHECK(a.take_finished().empty());
    a.on_idle(1'200'000);
    CHECK(a.take_finished().empty());
    a.on_idle(1'200'000 + 10'000'001);
    const auto b = a.take_finished().at(0);
    CHECK_FALSE(b.terminated);
    CHECK(b.ended_by == "timeout");
    REQUIRE(b.cutoffs.size() == 1);
    CHECK(b.cutoffs[0].cause == "tail_clipped");
    CHECK(b.cutoffs[0].duration_ms == doctest::Approx(100.0));
  }
  SUBCASE("a gap after the delay climbed is bandwidth; after steady delay (jitter included) it is loss") {
    // 30 frames played; each arrives `climb` us later than the one before, plus +-25 ms of jitter;
    // then 4 frames (80 ms) are concealed and the burst ends.
    // Named copies, not a structured binding: CAPTURE's lambda cannot capture a binding before C++20's
    // P1091 (clang 14).
    for (const auto& row : {std::pair{measure::Micros{2'500}, "bandwidth"}, std::pair{measure::Micros{0}, "loss"}}) {
      const measure::Micros climb = row.first;
      const char* const cause = row.second;
      CAPTURE(climb);
      BurstAnalyzer a(60);
      for (int i = 0; i < 30; ++i) {
        auto p = packet(100 + i, static_cast<std::uint32_t>(i * kFrame), 0);
        p.arrival_us = 10'000 + i * (kFrameUs + climb) + ((i * 7) % 5 - 2) * 12'500;
        a.on_frame(frame(normal, 100 + i, i == 0), &p, 40'000 + i * kFrameUs);
      }
      for (int i = 30; i < 34; ++i) a.on_frame(frame(concealed, 100 + i), nullptr, 40'000 + i * kFrameUs);
      auto end = packet(134, 34 * kFrame, 0);
      end.arrival_us = 10'000 + 34 * (kFrameUs + climb);
      a.on_frame(frame(normal, 134, false, true), &end, 40'000 + 34 * kFrameUs);
      const auto done = a.take_finished();
      REQUIRE(done.size() == 1);
      REQUIRE(done[0].cutoffs.size() == 1);
      CHECK(done[0].cutoffs[0].cause == std::string(cause));
      CHECK(done[0].cutoffs[0].duration_ms == doctest::Approx(80.0));
    }
  }
  SUBCASE("an outage longer than the concealment timeout is one cutoff from silence to sound") {
    BurstAnalyzer a(60);
    auto p = packet(100, 0, 5000);
    p.timestamp = 5000;  // the burst's first packet
    a.on_frame(frame(normal, 100, true), &p, 0);
    for (int i = 1; i <= 5; ++i) a.on_frame(frame(concealed, 100 + i), nullptr, i * kFrameUs);
    a.on_frame(frame(silence, -1, false, true), nullptr, 6 * kFrameUs);  // timed out
    CHECK(a.suspended());
    // 25 packets later the same burst resumes: a new playout burst without a marker.
    auto q = packet(126, 5000 + 26 * kFrame, 5000);
    a.on_frame(frame(normal, 126, true), &q, 520'000);
    CHECK_FALSE(a.suspended());
    const auto r = packet(127, 5000 + 27 * kFrame, 5000);
    a.on_frame(frame(normal, 127, false, true), &r, 540'000);
    const auto done = a.take_finished();
    REQUIRE(done.size() == 1);
    REQUIRE(done[0].cutoffs.size() == 1);
    CHECK(done[0].cutoffs[0].cause == "loss");
    CHECK(done[0].cutoffs[0].duration_ms == doctest::Approx(500.0));
    CHECK(done[0].terminated);
    CHECK(done[0].frames_normal == 3);
  }
  SUBCASE("a different burst after a timeout makes the timed-out one final") {
    BurstAnalyzer a(60);
    auto p = packet(100, 0, 0);
    a.on_frame(frame(normal, 100, true), &p, 0);
    for (int i = 1; i <= 5; ++i) a.on_frame(frame(concealed, 100 + i), nullptr, i * kFrameUs);
    a.on_frame(frame(silence, -1, false, true), nullptr, 6 * kFrameUs);
    auto q = packet(200, 90'000, 90'000);
    a.on_frame(frame(normal, 200, true, true), &q, 900'000);
    const auto done = a.take_finished();
    REQUIRE(done.size() == 2);
    CHECK(done[0].cutoffs.at(0).cause == "tail_clipped");
    CHECK(done[1].cutoffs.empty());
  }
  SUBCASE("a cut (session cap) ends the burst with that cause") {
    BurstAnalyzer a(60);
    const auto p0 = packet(100, 0, 0);
    a.on_frame(frame(normal, 100, true), &p0, 0);
    CHECK(a.in_burst());
    a.on_cut("session_cap", 30'000);
    CHECK_FALSE(a.in_burst());
    const auto b = a.take_finished().at(0);
    CHECK(b.ended_by == "session_cap");
    REQUIRE(b.cutoffs.size() == 1);
    CHECK(b.cutoffs[0].cause == "session_cap");
    a.on_cut("session_cap", 40'000);  // nothing playing: nothing to cut
    CHECK(a.take_finished().empty());
  }
  SUBCASE("json carries the figures") {
    auto a = play({normal, normal});
    const auto j = measure::to_json(a.all().at(0));
    CHECK(j["burst"] == 1);
    CHECK(j["frames_normal"] == 2);
    CHECK(j["mouth_to_ear_ms"]["p50"].get<double>() == doctest::Approx(50.0).epsilon(0.001));
    CHECK(j["cutoffs"].empty());
  }
}

TEST_CASE("BurstAnalyzer::finish_all closes a burst still playing with what it played") {
  BurstAnalyzer a(60);
  for (std::int64_t i = 0; i < 5; ++i) {
    auto info = packet(100 + i, static_cast<std::uint32_t>(i) * kFrame, 0);
    a.on_frame(frame(FrameKind::normal, 100 + i, i == 0), &info, 1'050'000 + i * kFrameUs);
  }
  CHECK(a.all().empty());
  a.finish_all();
  REQUIRE(a.all().size() == 1);
  CHECK(a.all()[0].ended_by == "receiver_stopped");
  CHECK(a.all()[0].frames_normal == 5);
  CHECK(a.all()[0].cutoffs.empty());
  CHECK(a.take_finished().size() == 1);
}

TEST_CASE("LatencyHistogram and the burst list hold a soak in fixed memory") {
  measure::LatencyHistogram h;
  CHECK(h.percentile(50) == 0.0);
  for (int i = 1; i <= 100; ++i) h.add(i);  // 1..100 ms
  CHECK(h.count() == 100);
  CHECK(h.percentile(50) == doctest::Approx(measure::percentile([] {
                                            std::vector<double> v;
                                            for (int i = 1; i <= 100; ++i) v.push_back(i);
                                            return v;
                                          }(), 50)).epsilon(0.01));
  CHECK(h.percentile(99) == doctest::Approx(99.05).epsilon(0.001));
  h.add(5000);  // beyond the bins: the largest seen answers for the top
  CHECK(h.max() == 5000);
  CHECK(h.percentile(100) == 5000);

  BurstAnalyzer a(60);
  for (std::int64_t burst = 0; burst < 1100; ++burst) {
    const std::int64_t seq = 100 + burst * 2;
    auto info = packet(seq, 0, 0);
    info.capture_us = 1'000'000;
    a.on_frame(frame(FrameKind::normal, seq, true), &info, 1'050'000 + burst * 100'000);
    a.on_frame(frame(FrameKind::normal, seq + 1, false, true), nullptr, 1'070'000 + burst * 100'000);
  }
  CHECK(a.bursts() == 1100);
  CHECK(a.all().size() == BurstAnalyzer::kKeptBursts);
  CHECK(a.all().front().index == 101);  // the oldest went
  CHECK(a.take_finished().size() == BurstAnalyzer::kKeptBursts);
  CHECK(a.mouth_to_ear().count() == 1100);
}

TEST_CASE("BurstAnalyzer: a burst as long as a live view keeps fixed-size state") {
  using enum FrameKind;
  SUBCASE("per-burst mouth-to-ear percentiles from the histogram match the exact ones to 0.05 ms") {
    BurstAnalyzer a(60);
    std::vector<double> exact;
    constexpr int kFrames = 50 * 600;  // ten minutes of 20 ms frames in one burst
    for (int i = 0; i < kFrames; ++i) {
      auto info = packet(100 + i, static_cast<std::uint32_t>(i * kFrame), 0);
      const measure::Micros play_us = 1'050'000 + static_cast<measure::Micros>(i) * kFrameUs;
      info.capture_us = play_us - 40'000 - (i * 7919) % 23'000;  // 40 to 63 ms, spread
      exact.push_back(static_cast<double>(play_us - *info.capture_us) / 1000.0);
      a.on_frame(frame(normal, 100 + i, i == 0, i + 1 == kFrames), &info, play_us);
    }
    const auto b = a.take_finished().at(0);
    CHECK(b.mouth_to_ear.count == static_cast<std::uint64_t>(kFrames));
    CHECK(std::abs(b.mouth_to_ear.p50 - measure::percentile(exact, 50)) <= 0.05 + 1e-9);
    CHECK(std::abs(b.mouth_to_ear.p95 - measure::percentile(exact, 95)) <= 0.05 + 1e-9);
    CHECK(std::abs(b.mouth_to_ear.p99 - measure::percentile(exact, 99)) <= 0.05 + 1e-9);
    CHECK(b.mouth_to_ear.max == *std::max_element(exact.begin(), exact.end()));
  }
  SUBCASE("a burst suspended by an outage keeps its own figures, apart from a burst played meanwhile") {
    BurstAnalyzer a(60);
    // Burst 1 (ts base 0): 3 frames at 50 ms, then concealment until the timeout ends it.
    for (int i = 0; i < 3; ++i) {
      const auto p = packet(100 + i, static_cast<std::uint32_t>(i * kFrame), 0);
      a.on_frame(frame(normal, 100 + i, i == 0), &p, p.capture_us.value() + 50'000);
    }
    a.on_frame(frame(concealed, 103), nullptr, 1'200'000);
    a.on_frame(frame(silence, -1, false, true), nullptr, 1'220'000);
    REQUIRE(a.suspended());
    // Burst 2, another talk (ts base 90000), 2 frames at 30 ms, plays and ends meanwhile.
    for (int i = 0; i < 2; ++i) {
      auto p = packet(200 + i, 90'000 + static_cast<std::uint32_t>(i * kFrame), 90'000);
      p.capture_us = 2'000'000 + i * kFrameUs;
      a.on_frame(frame(normal, 200 + i, i == 0, i == 1), &p, *p.capture_us + 30'000);
    }
    a.on_idle(20'000'000);  // burst 1 is final now
    const auto done = a.take_finished();
    REQUIRE(done.size() == 2);
    const auto& one = done[0].index == 1 ? done[0] : done[1];
    const auto& two = done[0].index == 1 ? done[1] : done[0];
    CHECK(one.mouth_to_ear.count == 3);
    CHECK(one.mouth_to_ear.max == doctest::Approx(50.0));
    CHECK(two.mouth_to_ear.count == 2);
    CHECK(two.mouth_to_ear.max == doctest::Approx(30.0));
    CHECK(a.mouth_to_ear().count() == 5);
  }
  SUBCASE("a burst that resumes after an outage counts its frames from both sides of it") {
    BurstAnalyzer a(60);
    for (int i = 0; i < 3; ++i) {
      const auto p = packet(100 + i, static_cast<std::uint32_t>(i * kFrame), 0);
      a.on_frame(frame(normal, 100 + i, i == 0), &p, p.capture_us.value() + 50'000);
    }
    a.on_frame(frame(concealed, 103), nullptr, 1'200'000);
    a.on_frame(frame(silence, -1, false, true), nullptr, 1'220'000);
    REQUIRE(a.suspended());
    for (int i = 0; i < 2; ++i) {  // the same talk, back: its frames now 70 ms late
      const auto p = packet(150 + i, static_cast<std::uint32_t>((50 + i) * kFrame), 0);
      a.on_frame(frame(normal, 150 + i, i == 0, i == 1), &p, p.capture_us.value() + 70'000);
    }
    const auto done = a.take_finished();
    REQUIRE(done.size() == 1);
    CHECK(done[0].mouth_to_ear.count == 5);
    CHECK(done[0].mouth_to_ear.p50 == doctest::Approx(50.0).epsilon(0.001));
    CHECK(done[0].mouth_to_ear.max == doctest::Approx(70.0));
  }
  SUBCASE("many late packets and short concealments: only the newest late ones and the long runs are kept") {
    BurstAnalyzer a(60);
    std::int64_t seq = 100;
    measure::Micros t = 0;
    auto normal_frame = [&](bool start = false, bool end = false) {
      auto p = packet(seq, static_cast<std::uint32_t>((seq - 100) * kFrame), 0);
      p.arrival_us = t;  // a steady one-way delay: no queue builds up
      a.on_frame(frame(normal, seq++, start, end), &p, t);
      t += kFrameUs;
    };
    normal_frame(true);
    for (int i = 0; i < 5000; ++i) {  // 5,000 single concealed frames, each late: jitter, not cutoffs
      a.on_frame(frame(concealed, seq), nullptr, t);
      a.on_late(static_cast<std::uint16_t>(seq++));
      t += kFrameUs;
      normal_frame();
    }
    // Then one real gap whose packets came late, after thousands of other late packets.
    for (int i = 0; i < 4; ++i) {
      a.on_frame(frame(concealed, seq), nullptr, t);
      a.on_late(static_cast<std::uint16_t>(seq++));
      t += kFrameUs;
    }
    normal_frame(false, true);
    const auto b = a.take_finished().at(0);
    REQUIRE(b.cutoffs.size() == 1);
    CHECK(b.cutoffs[0].cause == "late_packets");
    CHECK(b.cutoffs[0].duration_ms == doctest::Approx(80.0));
    CHECK(b.frames_concealed == 5004);
  }
}
